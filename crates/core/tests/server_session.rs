//! The agent's server session (s14 contract §1) against the real companion server (`tsunagi-server` in-process,
//! SQLite, real sockets on 127.0.0.1): sign-in hands out a refresh token; a refresh rotates it; a spent one
//! presented again revokes the sign-in; a request that answers 401 is renewed once, whoever else asks at the
//! same time; a session within 10 minutes of expiry is renewed before it is used; sign-out revokes the sign-in;
//! a session token without a refresh token (remembered by an older version) works until the server refuses it.

#[allow(dead_code)] // the stand-in half of the stack is for the driver tests
#[path = "stand_in/stack.rs"]
mod stack;

use stack::*;
use tsunagi_core::driver::{
    AuthFailure, AuthState, ServerSession, ServerTokens, TokenReply, TokenSource,
};
use tsunagi_twilio::Pii;

async fn sign_in(stack: &Stack) -> ServerSession {
    let (session, agent) = ServerSession::login(&stack.server_url, VERSION, AGENT, PASSWORD)
        .await
        .expect("login");
    assert_eq!(agent.id, AGENT);
    session
}

fn ended(session: &ServerSession) -> Option<AuthFailure> {
    match &*session.subscribe().borrow() {
        AuthState::Ended(why) => Some(why.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_rotates_both_tokens_and_a_spent_one_revokes_the_sign_in() {
    let stack = Stack::start(3600).await;
    let first = sign_in(&stack).await;
    let spent = first
        .refresh_token()
        .expect("login answers a refresh token");
    assert!(spent.expose().len() >= 43, "≥ 32 random bytes, base64url");
    assert_eq!(
        *first.subscribe().borrow(),
        AuthState::Active {
            refresh: Some(spent.clone())
        },
        "the refresh token to remember is published"
    );

    let (second, agent) = ServerSession::resume(&stack.server_url, VERSION, &spent)
        .await
        .expect("refresh");
    assert_eq!(agent.id, AGENT);
    let kept = second.refresh_token().expect("a new refresh token");
    assert_ne!(kept, spent, "rotated");
    assert_ne!(second.token(), first.token(), "a new session token");
    assert_eq!(second.me().await.expect("the new session works").id, AGENT);

    // The spent token again: someone copied it. The server revokes the whole sign-in.
    assert_eq!(
        ServerSession::resume(&stack.server_url, VERSION, &spent)
            .await
            .err(),
        Some(AuthFailure::RefreshReused)
    );
    // The agent's live session is gone too: its next request answers 401, the renewal is refused, and the
    // session ends (the shell then shows the sign-in screen).
    assert!(second.me().await.is_err());
    assert!(ended(&second).is_some(), "the session ended");
    assert_eq!(
        ServerSession::resume(&stack.server_url, VERSION, &kept)
            .await
            .err()
            .map(|f| f.ends_session()),
        Some(true),
        "every token of the family is revoked"
    );
    assert_eq!(
        ServerSession::resume(&stack.server_url, VERSION, &Pii("not-a-token".into()))
            .await
            .err(),
        Some(AuthFailure::RefreshInvalid)
    );
    assert_eq!(
        ServerSession::login(&stack.server_url, VERSION, AGENT, "wrong")
            .await
            .err(),
        Some(AuthFailure::BadCredentials)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_renews_the_session_once_for_every_caller_and_the_request_is_sent_again() {
    let stack = Stack::start(3600).await;
    let session = sign_in(&stack).await;
    let stale = session.token();
    // The server drops the session token (as when it expires); the refresh token stays valid.
    tsunagi_server::auth::delete_session(&stack.state.db, stale.expose())
        .await
        .expect("delete session");

    // An Access Token fetch answers 401, renews and asks again.
    let tokens = ServerTokens::for_session(session.clone());
    assert!(
        matches!(tokens.fetch().await, TokenReply::Issued { .. }),
        "the token fetch went through after the renewal"
    );
    let renewed = session.token();
    assert_ne!(renewed, stale);

    // Eight callers holding the same stale token at once: one refresh, one answer for all.
    let rotated = session.refresh_token();
    tsunagi_server::auth::delete_session(&stack.state.db, renewed.expose())
        .await
        .expect("delete session");
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (session, stale) = (session.clone(), renewed.clone());
        callers.spawn(async move { session.renew_after_401(&stale).await });
    }
    let mut answers = Vec::new();
    while let Some(answer) = callers.join_next().await {
        answers.push(answer.expect("caller").expect("renewed"));
    }
    assert!(
        answers.iter().all(|t| *t == answers[0]),
        "everyone got the one new token"
    );
    assert_ne!(answers[0], renewed);
    assert_ne!(session.refresh_token(), rotated, "rotated once more");
    // Had two refreshes raced with one refresh token, the server would have revoked the sign-in.
    assert_eq!(ended(&session), None);
    assert_eq!(session.me().await.expect("still signed in").id, AGENT);
    let kept = session.refresh_token().expect("refresh token");
    assert!(
        ServerSession::resume(&stack.server_url, VERSION, &kept)
            .await
            .is_ok(),
        "the refresh token kept is the live one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_within_ten_minutes_of_expiry_is_renewed_before_use() {
    // Sessions live 5 minutes: inside the 10-minute margin from the start.
    let stack = Stack::start_with_sessions(3600, 300).await;
    let session = sign_in(&stack).await;
    let (token, refresh) = (session.token(), session.refresh_token());
    let fresh = session.fresh().await;
    assert_ne!(fresh, token, "renewed ahead of expiry");
    assert_ne!(
        session.refresh_token(),
        refresh,
        "and the refresh token rotated"
    );
    assert_eq!(
        *session.subscribe().borrow(),
        AuthState::Active {
            refresh: session.refresh_token()
        }
    );
    assert!(session.expires_at().is_some());
    assert_eq!(session.me().await.expect("works").id, AGENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_revokes_the_sign_in_at_the_server() {
    let stack = Stack::start(3600).await;
    let session = sign_in(&stack).await;
    let refresh = session.refresh_token().expect("refresh token");
    assert!(session.logout().await, "the server confirmed");
    assert_eq!(*session.subscribe().borrow(), AuthState::SignedOut);
    assert!(session.me().await.is_err(), "the session token is revoked");
    assert!(
        ServerSession::resume(&stack.server_url, VERSION, &refresh)
            .await
            .is_err(),
        "and so is the refresh token"
    );
    // Best effort: an unreachable server does not hold sign-out up (3 s at most).
    let gone = ServerSession::from_session_token("http://127.0.0.1:9", VERSION, Pii("t".into()));
    assert!(!gone.logout().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_session_token_works_until_the_server_refuses_it() {
    let stack = Stack::start(3600).await;
    let token = stack.login().await;
    let old = ServerSession::from_session_token(&stack.server_url, VERSION, Pii(token.clone()));
    assert_eq!(old.me().await.expect("still valid").id, AGENT);
    assert_eq!(
        *old.subscribe().borrow(),
        AuthState::Active { refresh: None }
    );
    tsunagi_server::auth::delete_session(&stack.state.db, &token)
        .await
        .expect("delete session");
    assert_eq!(old.me().await.err(), Some(AuthFailure::SessionExpired));
    assert_eq!(ended(&old), Some(AuthFailure::SessionExpired));
}
