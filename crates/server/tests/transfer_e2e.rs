//! Scenario 6 through the stand-in: cold transfer to another agent (availability checked, the target's
//! `client:` leg joins with `EndConferenceOnExit`, the first agent is removed, the customer stays), warm
//! transfer to a busy number (customer held, then resumed, `transfer.failed` pushed), warm transfer to a number
//! that answers then `complete`, a warm transfer canceled while the target rings, and the refusals.

mod common;

use axum::http::StatusCode;
use common::device::Device;
use common::live::*;
use common::sim::*;
use common::OWNER_WORKER;
use reqwest::Method;
use serde_json::{json, Value};
use tsunagi_server::auth::Role;

const EXTERNAL: &str = "+81398765432";

/// These scenarios each run a stand-in with several media legs: one at a time, so a loaded CI machine does not
/// starve them into timeouts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn to_worker(worker: &str, mode: &str) -> Value {
    json!({"to": {"kind": "worker", "worker": worker}, "mode": mode})
}

fn to_number(number: &str, mode: &str) -> Value {
    json!({"to": {"kind": "number", "number": number}, "mode": mode})
}

async fn with_sato(l: &Live, available: bool) -> (String, Device, Ws) {
    l.s.app
        .add_agent("agent_2048", "sato", "pw2", Some(DEPT_WORKER), Role::Agent)
        .await;
    if available {
        l.s.set_activity(DEPT_WORKER, AVAILABLE).await;
    }
    let (session, device) = signed_in(&l.s, "sato", "pw2").await;
    let events = events_socket(&l.s, &session).await;
    (session, device, events)
}

async fn phone(l: &Live, number: &str, answer: &str) {
    let (status, body) =
        l.s.control(
            "/_sim/calls/numbers",
            json!({"number": number, "answer": answer}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn label_of(p: &Value) -> &str {
    p["label"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_transfer_to_an_agent_hands_the_customer_over() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut l = live_call().await;
    let (sato, mut sato_device, mut sato_events) = with_sato(&l, true).await;
    let (status, body) = l
        .control(
            &l.session.clone(),
            "transfer",
            Some(to_worker(DEPT_WORKER, "cold")),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["transfer_id"].as_str().unwrap().to_owned();
    // A second press while it rings is refused, never a second leg.
    let (status, body) = l
        .control(
            &l.session.clone(),
            "transfer",
            Some(to_worker(DEPT_WORKER, "cold")),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("TRANSFER_IN_PROGRESS"))
    );

    let invite = sato_device.invite().await;
    assert_eq!(invite.parameters.to, "client:agent_2048");
    sato_device.answer(&invite).await;
    // The hand-over is several REST round trips after Twilio's join callback: be patient on a loaded machine.
    let done = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        event_of(&mut l.events, "transfer.completed"),
    )
    .await
    .expect("transfer.completed within 60 s");
    assert_eq!(
        (done["task_sid"].as_str(), done["transfer_id"].as_str()),
        (Some(l.task.as_str()), Some(id.as_str()))
    );
    // Sato is told which task and conference the call belongs to, with the customer.
    let ctx = event_of(&mut sato_events, "call.context").await;
    assert_eq!(ctx["task_sid"], l.task.as_str());
    assert_eq!(ctx["conference_sid"], l.cf.as_str());
    assert_eq!(ctx["agent_call_sid"], invite.callsid.to_string().as_str());
    assert_eq!(ctx["customer"]["name"], "山田 花子");

    // The conference goes on with the customer and sato (who now ends it on exit); tanaka is gone.
    let parts = l.participants().await;
    let sids: Vec<&str> = parts
        .iter()
        .filter_map(|p| p["call_sid"].as_str())
        .collect();
    assert!(
        sids.contains(&l.customer.as_str()) && !sids.contains(&l.agent_leg.as_str()),
        "{parts:?}"
    );
    let target = parts
        .iter()
        .find(|p| label_of(p) == format!("transfer-{id}"))
        .expect("sato's leg");
    assert_eq!(target["end_conference_on_exit"], true);
    let (_, conf) =
        l.s.voice(Method::GET, &format!("Conferences/{}.json", l.cf), &[])
            .await;
    assert_eq!(conf["status"], "in-progress");
    l.s.eventually("tanaka's task to wrap up", || async {
        let (_, t) = l.s.tr(Method::GET, &format!("Tasks/{}", l.task), &[]).await;
        (t["assignment_status"] == "wrapping").then_some(())
    })
    .await;

    // Only sato controls the call now: tanaka's hold is refused, sato's works, sato's hang-up ends it.
    let (status, _) = l.control(&l.session.clone(), "hold", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = l.control(&sato, "hold", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(l.customer_participant().await["hold"], true);
    let (status, _) = l.control(&sato, "hangup", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let ended = event_of(&mut sato_events, "call.ended").await;
    assert_eq!(ended["task_sid"], l.task.as_str());
    // Tanaka still finishes their wrap-up on the task.
    let (status, _) = l.control(&l.session.clone(), "complete", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_transfer_to_a_busy_number_resumes_the_customer_then_a_second_one_completes() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut l = live_call().await;
    phone(&l, EXTERNAL, "busy").await;
    let session = l.session.clone();
    let (status, body) = l
        .control(&session, "transfer", Some(to_number(EXTERNAL, "warm")))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let failed = event_of(&mut l.events, "transfer.failed").await;
    assert_eq!(
        (failed["task_sid"].as_str(), failed["reason"].as_str()),
        (Some(l.task.as_str()), Some("busy"))
    );
    let p = l.customer_participant().await;
    assert_eq!(p["hold"], false, "customer resumed: {p}");
    assert_eq!(l.participants().await.len(), 2);

    // The number answers this time: consult, then complete.
    phone(&l, EXTERNAL, "answer").await;
    let (status, body) = l
        .control(&session, "transfer", Some(to_number(EXTERNAL, "warm")))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = body["transfer_id"].as_str().unwrap().to_owned();
    assert_eq!(
        l.customer_participant().await["hold"],
        true,
        "held during the consult"
    );
    let (status, body) = l.control(&session, "transfer/complete", None).await;
    assert!(
        status == StatusCode::CONFLICT && body["code"] == "TRANSFER_NOT_CONNECTED"
            || status == StatusCode::NO_CONTENT,
        "{status} {body}"
    );
    let connected = event_of(&mut l.events, "transfer.connected").await;
    assert_eq!(connected["transfer_id"], id.as_str());
    let target = l
        .participants()
        .await
        .into_iter()
        .find(|p| label_of(p) == format!("transfer-{id}"))
        .expect("the number joined");
    assert_eq!(
        target["end_conference_on_exit"], false,
        "consulting: the target must not end the call"
    );
    let (status, body) = l.control(&session, "transfer/complete", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    event_of(&mut l.events, "transfer.completed").await;
    let parts = l.participants().await;
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert!(parts.iter().all(|p| p["call_sid"] != l.agent_leg.as_str()));
    let target = parts
        .iter()
        .find(|p| label_of(p) == format!("transfer-{id}"))
        .expect("target stays");
    assert_eq!(target["end_conference_on_exit"], true);
    assert_eq!(l.customer_participant().await["hold"], false);
    // Completing again is refused cleanly: nothing is under way.
    let (status, body) = l.control(&session, "transfer/complete", None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "tanaka no longer has the call: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warm_transfer_canceled_while_the_target_rings() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut l = live_call().await;
    let (_sato, mut sato_device, _sato_events) = with_sato(&l, true).await;
    let session = l.session.clone();
    let (status, body) = l
        .control(&session, "transfer", Some(to_worker(DEPT_WORKER, "warm")))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let _ringing = sato_device.invite().await;
    assert_eq!(l.customer_participant().await["hold"], true);
    let (status, body) = l.control(&session, "transfer/cancel", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(l.customer_participant().await["hold"], false);
    let (status, body) = l.control(&session, "transfer/cancel", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("NO_TRANSFER"))
    );
    // The canceled leg's late callbacks change nothing: no failure is pushed, tanaka keeps the call.
    let (status, _) = l.control(&session, "hold", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let _ = &mut l.events;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_refusals_have_clear_codes() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let l = live_call().await;
    let (sato, _d, _e) = with_sato(&l, false).await;
    let session = l.session.clone();
    let cases = [
        (
            to_worker(DEPT_WORKER, "cold"),
            StatusCode::CONFLICT,
            "TARGET_UNAVAILABLE",
        ),
        (
            to_worker(OWNER_WORKER, "cold"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
        (
            to_worker("WK00000000000000000000000000000999", "cold"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
        (
            to_worker("agent_2048", "cold"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
        (
            to_number("0312345678", "warm"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
        (
            json!({"to": {"kind": "queue"}, "mode": "cold"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
        (
            to_number(EXTERNAL, "sideways"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_TARGET",
        ),
    ];
    for (body, status, code) in cases {
        let (got, reply) = l.control(&session, "transfer", Some(body.clone())).await;
        assert_eq!(
            (got, reply["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    // Only the agent on the call may transfer it.
    let (status, _) = l
        .control(&sato, "transfer", Some(to_number(EXTERNAL, "cold")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Unknown task, malformed task.
    let req = |task: &str| {
        axum::http::Request::post(format!("/v1/calls/{task}/transfer"))
            .header("authorization", format!("Bearer {session}"))
            .header("x-client-version", "1.0.0")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                to_number(EXTERNAL, "cold").to_string(),
            ))
            .unwrap()
    };
    let (status, body) =
        l.s.app
            .json(req("WT00000000000000000000000000000999"))
            .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (status, _) = l.s.app.json(req("nope")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Nothing was dialled by any refused request.
    assert_eq!(l.participants().await.len(), 2);
}
