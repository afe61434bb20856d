//! Call control (spec §5): hang-up while the agent leg rings rejects the reservation in the stand-in; hang-up
//! after the agent answered but before the conference exists is queued (the seed's race); hold and supervise
//! need the conference; only the task's agent (or a supervisor) may act.

mod common;

use axum::http::StatusCode;
use common::sim::*;
use common::*;

/// Twilio's assignment callback for the stand-in's pending reservation (the stand-in has no callback URL here,
/// so the reservation stays pending, as while the agent leg rings).
async fn reserved(s: &Stack) -> (String, String) {
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    let attrs = serde_json::json!({"type": "inbound_call", "call_sid": CUSTOMER_CALL, "route_owner": true,
        "owner_worker_sid": OWNER_WORKER, "department_id": "d12", "customer_id": "C-000123"});
    let task = s.create_task(&attrs).await;
    let r = s
        .eventually("a reservation", || async {
            s.reservations(&task).await.into_iter().next()
        })
        .await;
    let res = r["sid"].as_str().unwrap().to_owned();
    let attrs = attrs.to_string();
    let params = [
        ("TaskSid", task.as_str()),
        ("ReservationSid", res.as_str()),
        ("WorkerSid", OWNER_WORKER),
        ("TaskAttributes", attrs.as_str()),
    ];
    assert_eq!(
        s.app
            .send(signed_form_for(
                &s.public,
                "/twilio/taskrouter/assignment",
                &params
            ))
            .await
            .0,
        StatusCode::OK
    );
    (task, res)
}

use common::authed_post as post;

#[tokio::test]
async fn hangup_while_ringing_rejects_the_reservation() {
    let s = stack(false).await;
    s.app.seed_crm().await;
    let (task, res) = reserved(&s).await;
    let owner = s.app.login("tanaka", "pw").await;
    let leg = format!("/twilio/taskrouter/agent-leg?task={task}&res={res}");
    for status in ["initiated", "ringing"] {
        let req = signed_form_for(
            &s.public,
            &leg,
            &[("CallSid", AGENT_CALL), ("CallStatus", status)],
        );
        assert_eq!(s.app.send(req).await.0, StatusCode::NO_CONTENT);
    }
    let (status, body) = s
        .app
        .json(post(&format!("/v1/calls/{task}/hangup"), &owner, None))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let r = s.reservations(&task).await;
    assert_eq!(r[0]["reservation_status"], "rejected", "{r:?}");
}

#[tokio::test]
async fn hangup_after_answer_before_the_conference_is_queued_then_done() {
    let s = stack(false).await;
    s.app.seed_crm().await;
    let (task, res) = reserved(&s).await;
    let owner = s.app.login("tanaka", "pw").await;
    let leg = format!("/twilio/taskrouter/agent-leg?task={task}&res={res}");
    for status in ["initiated", "ringing", "in-progress"] {
        let req = signed_form_for(
            &s.public,
            &leg,
            &[("CallSid", AGENT_CALL), ("CallStatus", status)],
        );
        assert_eq!(s.app.send(req).await.0, StatusCode::NO_CONTENT);
    }
    // Hold is refused until the conference exists; hang-up is remembered (twice: idempotent).
    let (status, body) = s
        .app
        .json(post(&format!("/v1/calls/{task}/hold"), &owner, None))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFERENCE_NOT_READY"))
    );
    for _ in 0..2 {
        let (status, body) = s
            .app
            .json(post(&format!("/v1/calls/{task}/hangup"), &owner, None))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let row = tsunagi_server::calls::get(&s.app.state.db, &task)
        .await
        .unwrap()
        .unwrap();
    assert!(row.hangup_requested);
    assert_eq!(
        s.reservations(&task).await[0]["reservation_status"],
        "pending",
        "an answered leg is not rejected"
    );
    // Once the conference has ended, hang-up is a no-op success.
    let end = [
        ("ConferenceSid", CONF),
        ("StatusCallbackEvent", "conference-end"),
        ("SequenceNumber", "9"),
    ];
    let conf = format!("/twilio/conference/status?task={task}");
    assert_eq!(
        s.app.send(signed_form_for(&s.public, &conf, &end)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = s
        .app
        .json(post(&format!("/v1/calls/{task}/hangup"), &owner, None))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn only_the_holder_or_a_supervisor_may_act_and_inputs_are_checked() {
    let t = test_app().await;
    t.seed_crm().await;
    t.add_colleague().await;
    t.add_supervisor().await;
    let attrs = serde_json::json!({"call_sid": CUSTOMER_CALL}).to_string();
    let params = [
        ("TaskSid", TASK),
        ("ReservationSid", RES),
        ("WorkerSid", OWNER_WORKER),
        ("TaskAttributes", attrs.as_str()),
    ];
    assert_eq!(
        t.send(signed_form("/twilio/taskrouter/assignment", &params))
            .await
            .0,
        StatusCode::OK
    );
    let other = t.login("sato", "pw2").await;
    let owner = t.login("tanaka", "pw").await;
    let sup = t.login("yamamoto", "pw9").await;
    for action in ["hold", "unhold", "hangup", "complete"] {
        let (status, _) = t
            .json(post(&format!("/v1/calls/{TASK}/{action}"), &other, None))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{action}");
    }
    let (status, _) = t
        .json(post("/v1/calls/not-a-task/hold", &owner, None))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .json(post(
            &format!("/v1/supervise/{TASK}"),
            &owner,
            Some(r#"{"mode":"monitor"}"#),
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "agents cannot supervise");
    let (status, body) = t
        .json(post(
            &format!("/v1/supervise/{TASK}"),
            &sup,
            Some(r#"{"mode":"monitor"}"#),
        ))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFERENCE_NOT_READY"))
    );
    let (status, _) = t
        .json(post(
            &format!("/v1/supervise/{TASK}"),
            &sup,
            Some(r#"{"mode":"shout"}"#),
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn transfer_before_the_conference_exists_is_409() {
    let s = stack(false).await;
    s.app.seed_crm().await;
    let (task, _res) = reserved(&s).await;
    let owner = s.app.login("tanaka", "pw").await;
    let body = r#"{"to":{"kind":"number","number":"+81398765432"},"mode":"cold"}"#;
    let (status, reply) = s
        .app
        .json(post(
            &format!("/v1/calls/{task}/transfer"),
            &owner,
            Some(body),
        ))
        .await;
    assert_eq!(
        (status, reply["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFERENCE_NOT_READY"))
    );
}
