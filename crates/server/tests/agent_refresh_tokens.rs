//! Refresh tokens (s14 contract §1): login hands out a refresh token (stored as SHA-256 only); a refresh
//! rotates both tokens and spends the old refresh token; reusing a spent one revokes the whole family (every
//! session descended from that login gets 401) but not another login's; logout revokes the family.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};
use tsunagi_server::auth::Role;

struct Login {
    session: String,
    refresh: String,
}

fn tokens(body: &Value) -> Login {
    Login {
        session: body["session_token"]
            .as_str()
            .expect("session_token")
            .to_owned(),
        refresh: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
    }
}

async fn login(t: &TestApp) -> (Login, Value) {
    let (status, body) = t
        .json(post_json(
            "/v1/login",
            &json!({"login": "tanaka", "password": "pw"}),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (tokens(&body), body)
}

async fn refresh(t: &TestApp, token: &str) -> (StatusCode, Value) {
    t.json(post_json(
        "/v1/session/refresh",
        &json!({"refresh_token": token}),
    ))
    .await
}

async fn me(t: &TestApp, session: &str) -> StatusCode {
    t.json(authed("GET", "/v1/me", session, None)).await.0
}

async fn app() -> TestApp {
    let t = test_app().await;
    t.add_agent("agent_1024", "tanaka", "pw", None, Role::Agent)
        .await;
    t
}

#[tokio::test]
async fn login_gives_a_refresh_token_stored_only_as_a_hash() {
    let t = app().await;
    let (first, body) = login(&t).await;
    let raw = base64_len(&first.refresh);
    assert!(raw >= 32, "refresh token has {raw} random bytes");
    let now = tsunagi_server::db::now_unix();
    let expires = body["refresh_expires_at"].as_i64().unwrap();
    assert!(
        (now + 30 * 86_400 - 5..=now + 30 * 86_400 + 5).contains(&expires),
        "default TTL is 30 days: {expires} vs {now}"
    );
    assert!(body["expires_at"].as_i64().unwrap() < expires);
    assert_eq!(body["agent"]["id"], "agent_1024");
    let stored = t
        .count(&format!(
            "SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = '{}'",
            first.refresh
        ))
        .await;
    assert_eq!(stored, 0, "the token itself is never stored");
    assert_eq!(t.count("SELECT COUNT(*) FROM refresh_tokens").await, 1);
}

fn base64_len(s: &str) -> usize {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
        .len()
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family_only() {
    let t = app().await;
    let (first, login_body) = login(&t).await;
    let (other_login, _) = login(&t).await;

    // Rotation: a new session and refresh token, the same answer shape as login.
    let (status, body) = refresh(&t, &first.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&body), keys(&login_body));
    let second = tokens(&body);
    assert_ne!(second.session, first.session);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(me(&t, &second.session).await, StatusCode::OK);
    assert_eq!(
        me(&t, &first.session).await,
        StatusCode::OK,
        "the old session lives on until reuse"
    );

    // A third generation.
    let (status, body) = refresh(&t, &second.refresh).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let third = tokens(&body);

    // The spent first token comes back (stolen, or a double refresh): the whole family is revoked.
    let (status, body) = refresh(&t, &first.refresh).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_REUSED"))
    );
    for session in [&first.session, &second.session, &third.session] {
        assert_eq!(me(&t, session).await, StatusCode::UNAUTHORIZED);
    }
    // The family's live refresh token is dead too.
    let (status, body) = refresh(&t, &third.refresh).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_INVALID"))
    );

    // Another login (another device) is untouched.
    assert_eq!(me(&t, &other_login.session).await, StatusCode::OK);
    let (status, _) = refresh(&t, &other_login.refresh).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_expired_and_malformed_refresh_tokens() {
    let t = app().await;
    let (first, _) = login(&t).await;
    let (status, body) = refresh(&t, "not-a-token").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_INVALID"))
    );
    let (status, body) = refresh(&t, &"x".repeat(300)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_INVALID"))
    );
    let (status, body) = t
        .json(post_json(
            "/v1/session/refresh",
            &json!({"token": first.refresh}),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BAD_REQUEST"))
    );

    t.exec("UPDATE refresh_tokens SET expires_at = 1").await;
    let (status, body) = refresh(&t, &first.refresh).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_INVALID"))
    );
    assert_eq!(
        me(&t, &first.session).await,
        StatusCode::OK,
        "an expired token is not a reuse"
    );
}

#[tokio::test]
async fn logout_revokes_the_session_and_its_family() {
    let t = app().await;
    let (first, _) = login(&t).await;
    let (status, body) = refresh(&t, &first.refresh).await;
    assert_eq!(status, StatusCode::OK);
    let second = tokens(&body);
    let (other, _) = login(&t).await;

    let (status, _) = t
        .json(authed("POST", "/v1/logout", &second.session, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(&t, &second.session).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&t, &first.session).await,
        StatusCode::UNAUTHORIZED,
        "a sibling of the family"
    );
    let (status, body) = refresh(&t, &second.refresh).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("REFRESH_INVALID"))
    );
    assert_eq!(me(&t, &other.session).await, StatusCode::OK);

    // With only a refresh token (the session already gone): still revokes; nothing valid at all: 401.
    t.exec("DELETE FROM sessions").await;
    let (status, _) = t
        .json(post_json(
            "/v1/logout",
            &json!({"refresh_token": other.refresh}),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = refresh(&t, &other.refresh).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t.json(authed("POST", "/v1/logout", "nope", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_let_exactly_one_win() {
    let t = app().await;
    let (first, _) = login(&t).await;
    let (a, b) = tokio::join!(refresh(&t, &first.refresh), refresh(&t, &first.refresh));
    let oks = [a.0, b.0].iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    let loser = if a.0 == StatusCode::OK { &b.1 } else { &a.1 };
    assert_eq!(loser["code"], "REFRESH_REUSED");
    assert_eq!(
        t.count("SELECT COUNT(*) FROM sessions").await,
        0,
        "the reuse revoked the winner's session too"
    );
}
