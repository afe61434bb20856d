//! Registration over a real WebSocket: `listen` → `connected`, `register` → `ready`/`offline`, heartbeats, and
//! Twilio's error codes for bad tokens; malformed frames are skipped without closing the session.

mod voice_support;

use std::time::Duration;

use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::pstream::{ClientMessage, Register, RegisterMedia, ServerMessage};
use voice_support::*;

fn register(audio: bool) -> ClientMessage {
    ClientMessage::Register(Register {
        media: RegisterMedia { audio },
    })
}

#[tokio::test]
async fn listen_register_heartbeat_unregister() {
    let edge = Edge::start().await;
    let mut c = edge.connect().await;
    c.send(&listen(&token("alice", voice_grant(), now(), 600)))
        .await;
    let ServerMessage::Connected(conn) = c.recv().await else {
        panic!("expected connected")
    };
    let t = conn.token.expect("token info");
    assert_eq!(t.identity, "alice");
    assert!((598..=600).contains(&t.ttl), "ttl {}", t.ttl);
    assert_eq!(conn.region.as_deref(), Some("US_EAST_VIRGINIA"));

    c.send(&register(true)).await;
    assert!(matches!(c.recv().await, ServerMessage::Ready(_)));
    assert_eq!(
        edge.get("/_sim/voice/clients").await["registered"][0],
        "alice"
    );

    // Nothing else is pending, so only heartbeats arrive (and get echoed).
    assert!(c.try_recv(Duration::from_millis(700)).await.is_none());
    assert!(
        c.heartbeats >= 1,
        "heartbeat within 700 ms at a 300 ms cadence"
    );

    c.send(&register(false)).await;
    assert!(matches!(c.recv().await, ServerMessage::Offline(_)));
    assert!(edge.get("/_sim/voice/clients").await["registered"]
        .as_array()
        .unwrap()
        .is_empty());
}

async fn refused(edge: &Edge, jwt: &str) -> u32 {
    let mut c = edge.connect().await;
    c.send(&listen(jwt)).await;
    match c.recv().await {
        ServerMessage::Error(e) => e.error.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn bad_tokens_get_voice_error_codes() {
    let edge = Edge::start().await;
    assert_eq!(refused(&edge, "not.a.jwt").await, 31204);
    assert_eq!(refused(&edge, "garbage").await, 31204);
    assert_eq!(
        refused(&edge, &token("alice", voice_grant(), now() - 7200, 3600)).await,
        31205
    );
    assert_eq!(
        refused(
            &edge,
            &token_signed("alice", voice_grant(), now(), 3600, "wrong-secret")
        )
        .await,
        31204
    );
    assert_eq!(
        refused(&edge, &token("alice", None, now(), 3600)).await,
        31204,
        "no voice grant"
    );
}

#[tokio::test]
async fn register_needs_an_accepted_listen() {
    let edge = Edge::start().await;
    let mut c = edge.connect().await;
    c.send(&register(true)).await;
    let ServerMessage::Error(e) = c.recv().await else {
        panic!("expected error")
    };
    assert_eq!(e.error.code, 31204);
    // An expired token on an authenticated socket revokes the registration.
    c.send(&listen(&token("alice", voice_grant(), now(), 3600)))
        .await;
    assert!(matches!(c.recv().await, ServerMessage::Connected(_)));
    c.send(&register(true)).await;
    assert!(matches!(c.recv().await, ServerMessage::Ready(_)));
    c.send(&listen(&token("alice", voice_grant(), now() - 7200, 3600)))
        .await;
    let ServerMessage::Error(e) = c.recv().await else {
        panic!("expected error")
    };
    assert_eq!(e.error.code, 31205);
    assert!(edge.get("/_sim/voice/clients").await["registered"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn malformed_frames_are_skipped() {
    let edge = Edge::start().await;
    let mut c = edge.connect().await;
    for raw in [
        "{",
        "[]",
        r#"{"type":"bogus"}"#,
        r#"{"type":"answer","payload":{"callsid":"CA1"}}"#,
    ] {
        assert!(c.send_raw(Message::Text(raw.into())).await);
    }
    assert!(c.send_raw(Message::Binary(vec![0xff, 0, 1].into())).await);
    // Still the same session: it answers `listen`.
    c.send(&listen(&token("alice", voice_grant(), now(), 3600)))
        .await;
    assert!(matches!(c.recv().await, ServerMessage::Connected(_)));
    c.send_raw(Message::Text(" ".repeat(70 * 1024).into()))
        .await;
    // The session may have been closed for the oversize frame; a fresh one must work either way.
    let mut c = edge.registered("bob").await;
    c.send(&register(false)).await;
    assert!(matches!(c.recv().await, ServerMessage::Offline(_)));
    let events = edge.get("/_sim/voice/clients").await;
    assert!(events["registered"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn update_token_relistens_on_the_same_socket() {
    let edge = Edge::start().await;
    let mut c = edge.registered("alice").await;
    // device.updateToken(t) re-sends `listen` on the open socket; the reply re-arms tokenWillExpire.
    c.send(&listen(&token("alice", voice_grant(), now(), 120)))
        .await;
    let ServerMessage::Connected(conn) = c.recv().await else {
        panic!("expected connected")
    };
    assert!((118..=120).contains(&conn.token.unwrap().ttl));
    assert_eq!(
        edge.get("/_sim/voice/clients").await["registered"][0],
        "alice",
        "still registered"
    );
}
