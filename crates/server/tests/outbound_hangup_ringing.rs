//! The dialling agent hangs up an outgoing call while the customer's phone still rings (a stand-in number that
//! never answers): `POST /v1/calls/ob-<attempt>/hangup` answers at once, the customer's ringing leg is canceled
//! at the stand-in, the conference is ended and the agent is told `outbound.failed` (canceled); a conference ended
//! before the answer (the agent's leg left) cancels the ringing leg too. Whole way through
//! the stand-in: the Device's `connect({To, TsunagiAttempt})`, the TwiML application and conference callbacks.

mod common;

use axum::http::StatusCode;
use common::device::Device;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "+81398765432";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_a_ringing_outgoing_call_answers_at_once_and_cancels_the_customer_leg() {
    let Ringing {
        s,
        session,
        mut device,
        mut events,
        cf,
    } = dial_a_ringing_customer("hangup-ringing-1").await;

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
    let legs = customer_legs(&s).await;
    assert_eq!(legs.len(), 1, "{legs:?}");
    assert_eq!(
        legs[0]["status"], "canceled",
        "the customer's phone stops ringing: {legs:?}"
    );
    device.hung_up().await;
}

/// The outgoing call ends before the answer at Twilio's side (the agent's leg left, the conference ended): the
/// customer's phone, still ringing outside the conference, stops too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_ended_before_the_answer_cancels_the_customer_leg() {
    let Ringing {
        s,
        mut device,
        mut events,
        cf,
        ..
    } = dial_a_ringing_customer("conference-ended-1").await;
    let end = [("Status", "completed")];
    let (status, _) = s
        .voice(Method::POST, &format!("Conferences/{cf}.json"), &end)
        .await;
    assert_eq!(status, 200);
    let ended = event_of(&mut events, "outbound.ended").await;
    assert_eq!(ended["attempt"], "conference-ended-1");
    device.hung_up().await;
    let legs = customer_legs(&s).await;
    assert_eq!(legs.len(), 1, "{legs:?}");
    assert_eq!(
        legs[0]["status"], "canceled",
        "the customer's phone stops ringing: {legs:?}"
    );
}

/// tanaka, signed in with the event socket open, has dialled [`CUSTOMER`] (a number that never answers) as
/// `attempt`; the server said `outbound.dialing`.
struct Ringing {
    s: Stack,
    session: String,
    device: Device,
    events: Ws,
    /// The attempt's conference.
    cf: String,
}

async fn dial_a_ringing_customer(attempt: &str) -> Ringing {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;
    let ringing = json!({"number": CUSTOMER, "answer": "no-answer"});
    assert_eq!(s.control("/_sim/calls/numbers", ringing).await.0, 200);
    device
        .connect(&format!("To=%2B81398765432&TsunagiAttempt={attempt}"))
        .await;
    let dialing = event_of(&mut events, "outbound.dialing").await;
    let cf = dialing["conference_sid"].as_str().unwrap().to_owned();
    Ringing {
        s,
        session,
        device,
        events,
        cf,
    }
}

/// The stand-in's calls to the customer (the agent's Device leg is `inbound` with the same `To`).
async fn customer_legs(s: &Stack) -> Vec<Value> {
    let (_, calls) = s
        .voice(Method::GET, "Calls.json", &[("To", CUSTOMER)])
        .await;
    calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["direction"] == "outbound-api")
        .cloned()
        .collect()
}
