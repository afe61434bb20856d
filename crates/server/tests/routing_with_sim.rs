//! Inbound routing end to end against the local Twilio stand-in (spec §9 scenarios 1–3): the server's `<Enqueue>`
//! attributes drive the real routing engine, the engine calls the server's signed assignment callback, and the
//! server's REST calls (owner pre-check, reservation reject, task completion) change the engine's state.

mod common;

use axum::http::StatusCode;
use common::sim::*;
use common::*;
use serde_json::Value;
use tsunagi_twilio::twiml::{Verb, VoiceResponse};

async fn enqueue_attributes(s: &Stack, from: &str) -> Value {
    let params = [
        ("CallSid", CUSTOMER_CALL),
        ("From", from),
        ("To", "+81501234567"),
        ("CallStatus", "ringing"),
    ];
    for _ in 0..2 {
        let (status, _, _) = s
            .app
            .send(signed_form_for(&s.public, "/twilio/voice/inbound", &params))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body, _) = s
        .app
        .send(signed_form_for(&s.public, "/twilio/voice/inbound", &params))
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc = VoiceResponse::parse(std::str::from_utf8(&body).unwrap()).unwrap();
    let Some(Verb::Enqueue(e)) = doc.verbs.first() else {
        panic!("no Enqueue")
    };
    serde_json::from_str(&e.task.as_ref().unwrap().attributes).unwrap()
}

fn worker_of(r: &Value) -> &str {
    r["worker_sid"].as_str().unwrap_or("")
}

#[tokio::test]
async fn available_owner_gets_the_call_with_a_jp1_conference_instruction() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    for w in [OWNER_WORKER, DEPT_WORKER, OTHER_WORKER] {
        s.set_activity(w, AVAILABLE).await;
    }
    let attrs = enqueue_attributes(&s, "+81312345678").await;
    assert_eq!(
        attrs["route_owner"], true,
        "the pre-check saw the owner available: {attrs}"
    );
    let task = s.create_task(&attrs).await;

    let res = s
        .eventually(
            "the owner's reservation to be accepted by our instruction",
            || async {
                s.reservations(&task)
                    .await
                    .into_iter()
                    .find(|r| r["reservation_status"] == "accepted")
            },
        )
        .await;
    assert_eq!(worker_of(&res), OWNER_WORKER);
    let instruction = &res["instruction"];
    assert_eq!(instruction["instruction"], "conference", "{res}");
    // The stand-in records the instruction in its REST form (PascalCase keys).
    assert_eq!(instruction["Region"], "jp1", "{res}");
    let res_sid = res["sid"].as_str().unwrap();
    assert_eq!(
        instruction["To"],
        format!("client:agent_1024?TaskSid={task}&ReservationSid={res_sid}")
    );
    let row = tsunagi_server::calls::get(&s.app.state.db, &task)
        .await
        .unwrap()
        .expect("call row");
    assert_eq!(row.agent_id.as_deref(), Some("agent_1024"));
    assert_eq!(row.customer_call_sid.as_deref(), Some(CUSTOMER_CALL));
    assert_eq!(row.customer_id.as_deref(), Some("C-000123"));
}

#[tokio::test]
async fn unavailable_owner_is_skipped_and_the_department_gets_the_call() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.set_activity(OTHER_WORKER, AVAILABLE).await;
    s.set_activity(DEPT_WORKER, AVAILABLE).await;
    // The owner stays Offline.
    let attrs = enqueue_attributes(&s, "+81312345678").await;
    assert_eq!(attrs["route_owner"], false);
    let task = s.create_task(&attrs).await;
    let res = s
        .eventually("a reservation", || async {
            s.reservations(&task).await.into_iter().next()
        })
        .await;
    assert_eq!(
        worker_of(&res),
        DEPT_WORKER,
        "same department before anyone: {res}"
    );
}

#[tokio::test]
async fn agent_no_answer_rejects_the_reservation_and_the_task_moves_on() {
    // No assignment callback: the reservation stays pending, as when the agent leg is ringing.
    let s = stack(false).await;
    s.app.seed_crm().await;
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    s.set_activity(DEPT_WORKER, AVAILABLE).await;
    let attrs = enqueue_attributes(&s, "+81312345678").await;
    let task = s.create_task(&attrs).await;
    let first = s
        .eventually("the owner's reservation", || async {
            s.reservations(&task).await.into_iter().next()
        })
        .await;
    assert_eq!(worker_of(&first), OWNER_WORKER);
    let res = first["sid"].as_str().unwrap().to_owned();

    // Twilio reports the agent leg: ringing, then no-answer (each delivered twice).
    let leg = format!("/twilio/taskrouter/agent-leg?task={task}&res={res}");
    for status in ["initiated", "ringing", "no-answer"] {
        for _ in 0..2 {
            let req = signed_form_for(
                &s.public,
                &leg,
                &[
                    ("CallSid", AGENT_CALL),
                    ("CallStatus", status),
                    ("To", "client:agent_1024"),
                ],
            );
            assert_eq!(s.app.send(req).await.0, StatusCode::NO_CONTENT, "{status}");
        }
    }
    // The owner step's 10 s window elapses; the department step offers the task to the next agent.
    s.advance(10_500).await;
    let next = s
        .eventually("a second reservation", || async {
            let all = s.reservations(&task).await;
            let rejected = all
                .iter()
                .any(|r| r["sid"] == res.as_str() && r["reservation_status"] == "rejected");
            all.into_iter()
                .find(|r| r["sid"] != res.as_str())
                .filter(|_| rejected)
        })
        .await;
    assert_eq!(worker_of(&next), DEPT_WORKER);
    assert_eq!(
        s.app
            .count("SELECT COUNT(*) FROM call_events WHERE kind = 'agent-leg'")
            .await,
        3
    );
}

#[tokio::test]
async fn completing_the_task_is_idempotent_and_only_for_its_agent() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.app.add_colleague().await;
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    let attrs = enqueue_attributes(&s, "+81312345678").await;
    let task = s.create_task(&attrs).await;
    s.eventually("assignment", || async {
        tsunagi_server::calls::get(&s.app.state.db, &task)
            .await
            .unwrap()
            .filter(|r| r.agent_id.is_some())
    })
    .await;

    let owner = s.app.login("tanaka", "pw").await;
    let other = s.app.login("sato", "pw2").await;
    let path = format!("/v1/calls/{task}/complete");
    let (status, body) = s
        .app
        .json(authed("POST", &path, &other, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = s
        .app
        .json(authed(
            "POST",
            "/v1/calls/WT00000000000000000000000000000000/complete",
            &owner,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for _ in 0..2 {
        let (status, body) = s
            .app
            .json(authed("POST", &path, &owner, Some("1.0.0")))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let (_, t) = s
        .tr(reqwest::Method::GET, &format!("Tasks/{task}"), &[])
        .await;
    assert_eq!(t["assignment_status"], "completed");
}

#[tokio::test]
async fn sync_workflow_installs_the_routing_and_callbacks() {
    let s = bare_stack().await;
    s.app.seed_crm().await;
    tsunagi_server::workflow::sync(&s.app.state.config, &s.app.state.rest, QUEUE)
        .await
        .expect("sync");
    let (_, wf) = s
        .tr(reqwest::Method::GET, &format!("Workflows/{WORKFLOW}"), &[])
        .await;
    assert_eq!(
        wf["assignment_callback_url"],
        format!("{}/twilio/taskrouter/assignment", s.public)
    );
    assert_eq!(wf["task_reservation_timeout"], 25);
    let (_, ws) = s.tr(reqwest::Method::GET, "", &[]).await;
    assert_eq!(
        ws["event_callback_url"],
        format!("{}/twilio/taskrouter/events", s.public)
    );

    // The installed routing works end to end: the available owner gets the call through the callback.
    s.set_activity(DEPT_WORKER, AVAILABLE).await;
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    let attrs = enqueue_attributes(&s, "+81312345678").await;
    let task = s.create_task(&attrs).await;
    let res = s
        .eventually("an accepted reservation", || async {
            s.reservations(&task)
                .await
                .into_iter()
                .find(|r| r["reservation_status"] == "accepted")
        })
        .await;
    assert_eq!(worker_of(&res), OWNER_WORKER);
    // The workspace events now reach the server too (presence).
    s.eventually("presence from worker events", || async {
        let n = s.app.count("SELECT COUNT(*) FROM presence").await;
        (n >= 2).then_some(())
    })
    .await;
}
