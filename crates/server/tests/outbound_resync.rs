//! The resync snapshot (`GET /v1/agents/me/active-call`) carries the agent's own outbound attempt with its stage
//! (`outbound: {attempt, status, conference_sid}`), so a client whose push socket dropped while the customer rang,
//! answered or hung up catches up on reconnect: the live attempt first, else the latest closed one; 204 when the
//! agent has neither a routed call nor any attempt; never another agent's attempt. Whole way through the stand-in:
//! the Device's `connect({To, TsunagiAttempt})`, the server's TwiML application and conference callbacks.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const CUSTOMER: &str = "+81398765432";

async fn snapshot(s: &Stack, session: &str) -> (StatusCode, Value) {
    let req = authed("GET", "/v1/agents/me/active-call", session, Some("1.0.0"));
    s.app.json(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_carries_the_agents_outbound_attempt_and_its_stage() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.app.add_colleague().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let sato = s.app.login("sato", "pw2").await;
    let mut events = events_socket(&s, &session).await;
    assert_eq!(snapshot(&s, &session).await.0, StatusCode::NO_CONTENT);

    // The customer's phone rings (and would until the ring timeout): `dialing`, no routed call's fields.
    let ringing = json!({"number": CUSTOMER, "answer": "no-answer"});
    assert_eq!(s.control("/_sim/calls/numbers", ringing).await.0, 200);
    device
        .connect("To=%2B81398765432&TsunagiAttempt=resync-1")
        .await;
    let dialing = event_of(&mut events, "outbound.dialing").await;
    let (status, snap) = snapshot(&s, &session).await;
    assert_eq!(status, StatusCode::OK, "{snap}");
    assert_eq!(
        snap["outbound"],
        json!({"attempt": "resync-1", "status": "dialing", "conference_sid": dialing["conference_sid"]})
    );
    assert!(snap.get("task_sid").is_none(), "{snap}");
    assert_eq!(
        snapshot(&s, &sato).await.0,
        StatusCode::NO_CONTENT,
        "not sato's"
    );

    // The call ends before the answer (the agent's leg leaves): the closed attempt is still told (a client that missed the end).
    let cf = dialing["conference_sid"].as_str().unwrap();
    let end = [("Status", "completed")];
    let (status, _) = s
        .voice(Method::POST, &format!("Conferences/{cf}.json"), &end)
        .await;
    assert_eq!(status, 200);
    event_of(&mut events, "outbound.ended").await;
    device.hung_up().await;
    let (_, snap) = snapshot(&s, &session).await;
    assert_eq!(snap["outbound"]["attempt"], "resync-1");
    assert_eq!(snap["outbound"]["status"], "ended");

    // The redial is answered: the live attempt wins over the older closed one.
    let answer = json!({"number": CUSTOMER, "answer": "answer"});
    assert_eq!(s.control("/_sim/calls/numbers", answer).await.0, 200);
    device
        .connect("To=%2B81398765432&TsunagiAttempt=resync-2")
        .await;
    let connected = event_of(&mut events, "outbound.connected").await;
    let (_, snap) = snapshot(&s, &session).await;
    assert_eq!(
        snap["outbound"],
        json!({"attempt": "resync-2", "status": "connected", "conference_sid": connected["conference_sid"]})
    );
    assert_eq!(snapshot(&s, &sato).await.0, StatusCode::NO_CONTENT);
}
