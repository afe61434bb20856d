//! Scenario 1 end to end over real sockets: a PSTN caller dials the company number on the stand-in, the stand-in
//! fetches the server's Voice webhook (CRM lookup, `<Enqueue>`), routes the task to the available owner, the
//! server's assignment callback answers the jp1 conference instruction, the agent's Device (registered with a
//! token from the server) rings with the TaskSid and answers; the server pushes the ConferenceSid and the
//! customer to the agent, and hold, unhold, hang-up and completion act on the real conference and task.
//! Scenario 3: the owner's Device does not answer; the server rejects the reservation and the department's agent
//! gets the call. Scenario 7: a supervisor monitors, then coaches, then barges into the same conference.

mod common;

use axum::http::StatusCode;
use common::device::param;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_call_to_the_owner_with_context_push_hold_hangup_and_completion() {
    let Live {
        s,
        session,
        mut events,
        task,
        cf,
        customer,
        ..
    } = live_call().await;

    // Hold and unhold the customer through the server.
    for (action, held) in [("hold", true), ("unhold", false)] {
        let (status, body) = s
            .app
            .json(authed(
                "POST",
                &format!("/v1/calls/{task}/{action}"),
                &session,
                Some("1.0.0"),
            ))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{action}: {body}");
        let (_, p) = s
            .voice(
                Method::GET,
                &format!("Conferences/{cf}/Participants/{customer}.json"),
                &[],
            )
            .await;
        assert_eq!(p["hold"], held, "{p}");
    }

    // Hang up through the server (twice: idempotent): the conference ends, the agent is told, the task wraps.
    for _ in 0..2 {
        let (status, body) = s
            .app
            .json(authed(
                "POST",
                &format!("/v1/calls/{task}/hangup"),
                &session,
                Some("1.0.0"),
            ))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let ended = loop {
        let e = next_event(&mut events).await;
        if e["type"] == "call.ended" {
            break e;
        }
    };
    assert_eq!(ended["task_sid"], task.as_str());
    let (_, conf) = s
        .voice(Method::GET, &format!("Conferences/{cf}.json"), &[])
        .await;
    assert_eq!(conf["status"], "completed");
    s.eventually("the task to wrap up", || async {
        let (_, t) = s.tr(Method::GET, &format!("Tasks/{task}"), &[]).await;
        (t["assignment_status"] == "wrapping").then_some(())
    })
    .await;

    // Finishing wrap-up completes the task.
    let (status, _) = s
        .app
        .json(authed(
            "POST",
            &format!("/v1/calls/{task}/complete"),
            &session,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, t) = s.tr(Method::GET, &format!("Tasks/{task}"), &[]).await;
    assert_eq!(t["assignment_status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_monitors_then_coaches_then_barges() {
    let Live {
        s,
        task,
        cf,
        agent_leg,
        ..
    } = live_call().await;
    s.app.add_supervisor().await;
    let (sup, mut sup_device) = signed_in(&s, "yamamoto", "pw9").await;
    let supervise = |mode: &'static str| {
        let body = json!({ "mode": mode }).to_string();
        authed_post(&format!("/v1/supervise/{task}"), &sup, Some(&body))
    };
    let participant = || async {
        s.voice(
            Method::GET,
            &format!("Conferences/{cf}/Participants/supervisor-agent_9001.json"),
            &[],
        )
        .await
        .1
    };

    let (status, body) = s.app.json(supervise("monitor")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let invite = sup_device.invite().await;
    assert_eq!(invite.parameters.to, "client:agent_9001");
    sup_device.answer(&invite).await;
    let p = s
        .eventually("the supervisor to join", || async {
            let p = participant().await;
            (p["status"] == "connected" || p["muted"].is_boolean()).then_some(p)
        })
        .await;
    assert_eq!(
        (p["muted"].clone(), p["coaching"].clone()),
        (json!(true), json!(false)),
        "{p}"
    );

    let (status, _) = s.app.json(supervise("coach")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let p = participant().await;
    assert_eq!(
        (p["muted"].clone(), p["coaching"].clone()),
        (json!(false), json!(true)),
        "{p}"
    );
    assert_eq!(p["call_sid_to_coach"], agent_leg.as_str());

    let (status, _) = s.app.json(supervise("barge")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let p = participant().await;
    assert_eq!(
        (p["muted"].clone(), p["coaching"].clone()),
        (json!(false), json!(false)),
        "{p}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_owner_is_rejected_and_the_department_agent_gets_the_call() {
    let s = stack_with_ring(2).await;
    s.app.seed_crm().await;
    s.app.add_colleague().await;
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    s.set_activity(DEPT_WORKER, AVAILABLE).await;
    let mut owner = signed_in(&s, "tanaka", "pw").await;
    let mut sato = signed_in(&s, "sato", "pw2").await;
    let mut sato_events = events_socket(&s, &sato.0).await;

    let customer = customer_dials(&s, None).await;
    // The owner's Device rings and is left ringing.
    let first = owner.1.invite().await;
    let task = param(&first, "TaskSid");
    let owner_res = param(&first, "ReservationSid");
    s.eventually(
        "the server to reject the unanswered owner's reservation",
        || async {
            let r = s.reservations(&task).await;
            r.iter()
                .any(|r| r["sid"] == owner_res.as_str() && r["reservation_status"] == "rejected")
                .then_some(())
        },
    )
    .await;
    // The owner's 10 s window passes; the department step offers the call to sato.
    s.advance(10_500).await;
    let second = sato.1.invite().await;
    assert_eq!(param(&second, "TaskSid"), task);
    assert_ne!(param(&second, "ReservationSid"), owner_res);
    sato.1.answer(&second).await;
    let ctx = context_for(&mut sato_events, &customer).await;
    assert_eq!(ctx["task_sid"], task.as_str());
    assert_eq!(ctx["customer"]["name"], "山田 花子");
    let missed = s.app.count("SELECT COUNT(*) FROM call_events WHERE kind = 'agent-leg' AND status = 'no-answer' AND agent_id = 'agent_1024'").await;
    assert_eq!(missed, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_abandoning_in_queue_is_reported_as_abandoned() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.app.add_supervisor().await;
    // Nobody is available: the caller waits in the queue, then hangs up.
    let customer = customer_dials(&s, None).await;
    // The server learns the task from the workspace's task.created event.
    let task = s
        .eventually("the server to record the queued task", || async {
            use sqlx::Row as _;
            let row = sqlx::query("SELECT task_sid FROM calls WHERE customer_call_sid = $1")
                .bind(customer.as_str())
                .fetch_optional(&s.app.state.db.pool)
                .await
                .unwrap();
            row.map(|r| r.try_get::<String, _>(0).unwrap())
        })
        .await;
    let (status, _) = s
        .control(&format!("/_sim/calls/{customer}/hangup"), json!({}))
        .await;
    assert_eq!(status, 200);
    s.eventually("the server to see the task canceled", || async {
        let row = tsunagi_server::calls::get(&s.app.state.db, &task)
            .await
            .unwrap();
        row.filter(|r| r.status == tsunagi_server::calls::CallStatus::Abandoned)
    })
    .await;
    let sup = s.app.login("yamamoto", "pw9").await;
    let now = tsunagi_server::db::now_unix();
    let uri = format!("/v1/reports/calls?from={}&to={}", now - 60, now + 60);
    let (status, r) = s.app.json(authed("GET", &uri, &sup, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            r["interactions"].clone(),
            r["abandoned"].clone(),
            r["answered"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{r}"
    );
}
