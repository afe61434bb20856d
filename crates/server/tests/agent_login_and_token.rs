//! Agent login (Argon2 local accounts), sessions, and `POST /v1/token` with the version gate.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use tsunagi_server::auth::Role;
use tsunagi_server::policy::{parse_list, ClientPolicy};
use tsunagi_twilio::AccountSid;

const WORKER: &str = "WK44444444444444444444444444444444";

#[tokio::test]
async fn login_then_token_carries_voice_taskrouter_and_sync_grants() {
    let t = test_app().await;
    t.add_agent(
        "agent_1024",
        "tanaka",
        "pa55word",
        Some(WORKER),
        Role::Agent,
    )
    .await;
    let session = t.login("tanaka", "pa55word").await;

    let (status, body) = t
        .json(authed("POST", "/v1/token", &session, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["identity"], "agent_1024");
    assert!(body["ttl_secs"].as_u64().unwrap() <= 3600);
    let jwt = body["token"].as_str().unwrap();
    let now = body["expires_at"].as_u64().unwrap() - body["ttl_secs"].as_u64().unwrap();
    let claims = tsunagi_twilio::token::verify(
        jwt,
        KEY_SECRET,
        &AccountSid::parse(ACCOUNT).unwrap(),
        now,
        5,
    )
    .unwrap();
    assert_eq!(claims.grants.identity, "agent_1024");
    assert!(claims.grants.voice.as_ref().unwrap().allows_incoming());
    let tr = claims.grants.task_router.unwrap();
    assert_eq!(tr.worker_sid.unwrap().as_str(), WORKER);
    assert_eq!(tr.workspace_sid.unwrap().as_str(), WORKSPACE);
    assert_eq!(tr.role.as_deref(), Some("worker"));
    assert!(claims.grants.data_sync.unwrap().service_sid.is_some());
    assert!(claims.exp - claims.iat <= 3600);

    // The alias path and a second call (refresh) both work.
    let (status, _) = t
        .json(authed("POST", "/v1/tokens", &session, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_password_unknown_login_and_bad_sessions_are_401() {
    let t = test_app().await;
    t.add_agent("agent_1", "sato", "right", None, Role::Agent)
        .await;
    for (login, pw) in [("sato", "wrong"), ("nobody", "right")] {
        let (status, body) = t
            .json(post_json(
                "/v1/login",
                &serde_json::json!({"login": login, "password": pw}),
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "UNAUTHORIZED");
    }
    let (status, _) = t
        .json(authed("POST", "/v1/token", "not-a-session", Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .json(Request::post("/v1/token").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Logout kills the session.
    let session = t.login("sato", "right").await;
    let (status, _) = t.json(authed("GET", "/v1/me", &session, None)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = t.json(authed("POST", "/v1/logout", &session, None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = t.json(authed("GET", "/v1/me", &session, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn malformed_login_bodies_get_400_with_the_api_shape() {
    let t = test_app().await;
    let req = Request::post("/v1/login")
        .header("content-type", "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    let (status, body) = t.json(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "BAD_REQUEST");
    let (status, _) = t
        .json(post_json("/v1/login", &serde_json::json!({"login": ""})))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let huge = "x".repeat(20_000);
    let (status, _) = t
        .json(post_json(
            "/v1/login",
            &serde_json::json!({"login": huge, "password": "p"}),
        ))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn client_below_min_supported_or_blocked_or_unversioned_gets_426_and_no_token() {
    let t = test_app().await;
    t.add_agent("agent_2", "suzuki", "pw", Some(WORKER), Role::Agent)
        .await;
    let session = t.login("suzuki", "pw").await;
    ClientPolicy {
        min_supported: semver::Version::new(1, 6, 0),
        blocked: parse_list("1.7.1"),
    }
    .store(&t.state.db)
    .await
    .unwrap();
    for version in [Some("1.5.9"), Some("1.7.1"), None, Some("garbage")] {
        let (status, body) = t.json(authed("POST", "/v1/token", &session, version)).await;
        assert_eq!(status, StatusCode::UPGRADE_REQUIRED, "{version:?}");
        assert_eq!(body["code"], "CLIENT_UPGRADE_REQUIRED");
        assert_eq!(body["min_supported"], "1.6.0");
        assert_eq!(body["blocked"], version == Some("1.7.1"));
        assert_eq!(body["channel"], "stable");
        assert!(body.get("token").is_none());
    }
    let (status, _) = t
        .json(authed("POST", "/v1/token", &session, Some("1.6.0")))
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn healthz_and_metrics() {
    let t = test_app().await;
    let (status, body, _) = t
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, b"ok".as_slice())
    );
    let (status, body, headers) = t
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("tsunagi_http_responses_total{class=\"2xx\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn suite_runs_on_the_database_named_by_database_url() {
    let t = test_app().await;
    let expected = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => tsunagi_server::db::Backend::Postgres,
        _ => tsunagi_server::db::Backend::Sqlite,
    };
    assert_eq!(t.state.db.backend, expected);
}

#[tokio::test]
async fn expired_sessions_are_refused_and_purged() {
    let t = test_app().await;
    t.add_agent("agent_3", "kato", "pw", None, Role::Agent)
        .await;
    let session = t.login("kato", "pw").await;
    let now = tsunagi_server::db::now_unix();
    let (sessions, _) = tsunagi_server::background::purge(&t.state.db, now)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "a live session is kept");
    t.exec("UPDATE sessions SET expires_at = 1").await;
    let (status, _) = t.json(authed("GET", "/v1/me", &session, None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (sessions, _) = tsunagi_server::background::purge(&t.state.db, now)
        .await
        .unwrap();
    assert_eq!(sessions, 1);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_per_login() {
    let t = test_app().await;
    t.add_agent("agent_4", "ito", "right", None, Role::Agent)
        .await;
    t.add_agent("agent_5", "abe", "right", None, Role::Agent)
        .await;
    let attempt = |login: &'static str, pw: &'static str| {
        post_json(
            "/v1/login",
            &serde_json::json!({"login": login, "password": pw}),
        )
    };
    for _ in 0..tsunagi_server::auth::MAX_FAILURES {
        assert_eq!(
            t.json(attempt("ito", "wrong")).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (status, body) = t.json(attempt("ito", "right")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    // Another login is unaffected.
    assert_eq!(t.json(attempt("abe", "right")).await.0, StatusCode::OK);
}
