//! The dialling agent hangs up an outgoing call while the customer's phone still rings (a stand-in number that
//! never answers): `POST /v1/calls/ob-<attempt>/hangup` answers at once, the customer's ringing leg is canceled
//! at the stand-in, the conference is ended and the agent is told `outbound.failed` (canceled). Whole way through
//! the stand-in: the Device's `connect({To, TsunagiAttempt})`, the TwiML application and conference callbacks.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "+81398765432";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_a_ringing_outgoing_call_answers_at_once_and_cancels_the_customer_leg() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;

    let ringing = json!({"number": CUSTOMER, "answer": "no-answer"});
    assert_eq!(s.control("/_sim/calls/numbers", ringing).await.0, 200);
    device
        .connect("To=%2B81398765432&TsunagiAttempt=hangup-ringing-1")
        .await;
    let dialing = event_of(&mut events, "outbound.dialing").await;
    let cf = dialing["conference_sid"].as_str().unwrap().to_owned();

    let req = authed_post("/v1/calls/ob-hangup-ringing-1/hangup", &session, None);
    let (status, body, _) = tokio::time::timeout(Duration::from_secs(10), s.app.send(req))
        .await
        .expect("the hang-up of a ringing outgoing call answers within 10 s");
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let failed = event_of(&mut events, "outbound.failed").await;
    assert_eq!(
        (failed["attempt"].as_str(), failed["reason"].as_str()),
        (Some("hangup-ringing-1"), Some("canceled"))
    );
    let (_, conf) = s
        .voice(Method::GET, &format!("Conferences/{cf}.json"), &[])
        .await;
    assert_eq!(conf["status"], "completed", "{conf}");
    let (_, calls) = s
        .voice(Method::GET, "Calls.json", &[("To", CUSTOMER)])
        .await;
    let customer: Vec<&Value> = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["direction"] == "outbound-api")
        .collect();
    assert_eq!(customer.len(), 1, "{calls}");
    assert_eq!(
        customer[0]["status"], "canceled",
        "the customer's phone stops ringing: {calls}"
    );
    device.hung_up().await;
}
