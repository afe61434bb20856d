//! A customer's phone call end to end against the local Twilio stand-in, with nothing simulated on the server side:
//! a scripted PSTN caller dials the stand-in number → the stand-in POSTs the server's signed Voice webhook →
//! the server's `<Enqueue>` creates the TaskRouter task → reservation → the server's assignment callback answers
//! the `conference` instruction → the agent's registered Voice client (token issued by the server) rings with
//! `TaskSid`/`ReservationSid` → answers → caller and agent are in one conference, the server learns the
//! conference from its status callbacks → the server's hang-up ends it → the task wraps and completes.
//! The call is brought up by the shared [`common::live::live_call`]; this test checks what the wire carried.

mod common;

use axum::http::StatusCode;
use common::device::param;
use common::live::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_call_reaches_the_agent_device_through_the_server() {
    let mut l = live_call().await;
    let (s, task, customer) = (&l.s, l.task.clone(), l.customer.clone());

    // The agent's Device rang with the reconciler's join keys and the customer's caller id.
    let reservation = param(&l.invite, "ReservationSid");
    assert_eq!(
        l.invite.parameters.from, CUSTOMER_PHONE,
        "caller id is the customer's number"
    );
    assert_eq!(l.invite.parameters.to, "client:agent_1024");

    // The task carries the server's CRM attributes (the multibyte name only percent-encoded).
    let (_, t) = s.tr(Method::GET, &format!("Tasks/{task}"), &[]).await;
    let attrs: Value =
        serde_json::from_str(t["attributes"].as_str().expect("attributes")).expect("json");
    assert_eq!(attrs["call_sid"], customer.as_str());
    assert_eq!(attrs["customer_id"], "C-000123");
    assert_eq!(
        attrs["customer_name_enc"],
        "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90"
    );

    // The server learns the whole tuple from the stand-in's callbacks.
    let active = s
        .eventually("the server's active call with its conference", || async {
            let req = authed(
                "GET",
                "/v1/agents/me/active-call",
                &l.session,
                Some("1.0.0"),
            );
            let (status, v) = s.app.json(req).await;
            (status == StatusCode::OK
                && v["conference_sid"].is_string()
                && v["agent_call_sid"].is_string())
            .then_some(v)
        })
        .await;
    assert_eq!(active["task_sid"], task.as_str());
    assert_eq!(active["reservation_sid"], reservation.as_str());
    assert_eq!(active["customer_call_sid"], customer.as_str());
    assert_eq!(active["agent_call_sid"], l.agent_leg.as_str());
    assert_eq!(active["customer"]["name"], "山田 花子");
    assert_eq!(active["conference_sid"], l.cf.as_str());
    assert_eq!(l.participants().await.len(), 2, "caller and agent");

    // The agent hangs up through the server: the conference ends, the Device gets `hangup`, the caller's call
    // completes, the task wraps; finishing wrap-up completes it.
    let (status, body) = l.control(&l.session, "hangup", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    l.device.hung_up().await;
    let s = &l.s;
    s.eventually("the task to wrap", || async {
        let (_, t) = s.tr(Method::GET, &format!("Tasks/{task}"), &[]).await;
        (t["assignment_status"] == "wrapping").then_some(())
    })
    .await;
    let c = s
        .eventually("the customer's call to complete", || async {
            let c = s.sim_get(&format!("/_sim/calls/{customer}")).await;
            (c["status"] == "completed").then_some(c)
        })
        .await;
    // Every webhook the call fetched (inbound, wait URL by GET, Enqueue action) passed the server's signature check.
    assert_eq!(c["errors"], json!([]), "{c}");
    assert_eq!(
        c["heard"][0]["detail"], "ja-JP:ただいま電話が混み合っております。このままお待ちください。",
        "{c}"
    );
    let (status, body) = l.control(&l.session, "complete", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, t) = l.s.tr(Method::GET, &format!("Tasks/{task}"), &[]).await;
    assert_eq!(t["assignment_status"], "completed");
}
