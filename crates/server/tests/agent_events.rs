//! `/v1/events` over a real socket on 127.0.0.1: the conference join pushes the ConferenceSid, both call legs and
//! the CRM context (Japanese name intact) to the reserved agent, once, even when Twilio retries the callback.

mod common;

use axum::http::StatusCode;
use common::live::{next_event, open_events};
use common::*;
use futures_util::StreamExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn conference_join_pushes_context_to_the_agent_once() {
    let t = test_app().await;
    t.seed_crm().await;
    let session = t.login("tanaka", "pw").await;

    let public = t.serve().await;

    // An outdated client cannot open the socket.
    let err = open_events(&public, &session, None)
        .await
        .expect_err("426 refuses the upgrade");
    assert!(err.to_string().contains("426"), "{err}");

    let mut ws = open_events(&public, &session, Some("1.0.0"))
        .await
        .expect("connect");

    let task_attrs = serde_json::json!({"call_sid": CUSTOMER_CALL, "from": "+81312345678", "customer_id": "C-000123"}).to_string();
    let assignment = [
        ("TaskSid", TASK),
        ("ReservationSid", RES),
        ("WorkerSid", OWNER_WORKER),
        ("TaskAttributes", task_attrs.as_str()),
    ];
    let leg = format!("/twilio/taskrouter/agent-leg?task={TASK}&res={RES}");
    let conf = format!("/twilio/conference/status?task={TASK}");
    let join = |call: &'static str, seq: &'static str| {
        vec![
            ("ConferenceSid", CONF),
            ("FriendlyName", TASK),
            ("StatusCallbackEvent", "participant-join"),
            ("CallSid", call),
            ("SequenceNumber", seq),
        ]
    };
    for _ in 0..2 {
        assert_eq!(
            t.send(signed_form("/twilio/taskrouter/assignment", &assignment))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            t.send(signed_form(
                &leg,
                &[("CallSid", AGENT_CALL), ("CallStatus", "initiated")]
            ))
            .await
            .0,
            StatusCode::NO_CONTENT
        );
    }
    let start = [
        ("ConferenceSid", CONF),
        ("FriendlyName", TASK),
        ("StatusCallbackEvent", "conference-start"),
        ("SequenceNumber", "1"),
    ];
    for _ in 0..2 {
        assert_eq!(
            t.send(signed_form(&conf, &start)).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            t.send(signed_form(&conf, &join(AGENT_CALL, "2"))).await.0,
            StatusCode::NO_CONTENT
        );
    }

    let ctx = next_event(&mut ws).await;
    assert_eq!(ctx["type"], "call.context");
    assert_eq!(ctx["task_sid"], TASK);
    assert_eq!(ctx["reservation_sid"], RES);
    assert_eq!(ctx["conference_sid"], CONF);
    assert_eq!(ctx["customer_call_sid"], CUSTOMER_CALL);
    assert_eq!(ctx["agent_call_sid"], AGENT_CALL);
    assert_eq!(ctx["customer"]["name"], "山田 花子");
    // The CRM owner and department (s14 contract §8).
    assert_eq!(
        ctx["customer"]["owner"],
        serde_json::json!({"agent_id": "agent_1024", "display_name": "田中 太郎"})
    );
    assert_eq!(
        ctx["customer"]["department"],
        serde_json::json!({"id": "d12", "name": "法人営業"})
    );
    assert!(ctx["seq"].as_u64().is_some());

    // The customer joins (a new sequence number): one more context push with the same tuple.
    assert_eq!(
        t.send(signed_form(&conf, &join(CUSTOMER_CALL, "3")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let again = next_event(&mut ws).await;
    assert_eq!(
        (again["type"].clone(), again["agent_call_sid"].clone()),
        (Value::from("call.context"), Value::from(AGENT_CALL))
    );

    // Then the end; the retried join above produced no extra message, so the next one is the end.
    let end = [
        ("ConferenceSid", CONF),
        ("StatusCallbackEvent", "conference-end"),
        ("SequenceNumber", "9"),
        (
            "ReasonConferenceEnded",
            "participant-with-end-conference-on-exit-left",
        ),
    ];
    for _ in 0..2 {
        assert_eq!(
            t.send(signed_form(&conf, &end)).await.0,
            StatusCode::NO_CONTENT
        );
    }
    let ended = next_event(&mut ws).await;
    assert_eq!(ended["type"], "call.ended");
    assert_eq!(
        ended["reason"],
        "participant-with-end-conference-on-exit-left"
    );

    // The resync snapshot agrees.
    let (status, snap) = t
        .json(authed(
            "GET",
            "/v1/agents/me/active-call",
            &session,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snap["conference_sid"], CONF);
    assert_eq!(snap["status"], "ended");
    assert_eq!(snap["customer"]["owner"]["display_name"], "田中 太郎");
    assert_eq!(snap["customer"]["department"]["name"], "法人営業");
    assert_eq!(
        t.count("SELECT COUNT(*) FROM call_events WHERE kind = 'conference'")
            .await,
        4
    );
}

#[tokio::test]
async fn shutdown_closes_event_sockets_with_going_away() {
    let t = test_app().await;
    t.seed_crm().await;
    let session = t.login("tanaka", "pw").await;
    let public = t.serve().await;
    let mut ws = open_events(&public, &session, Some("1.0.0"))
        .await
        .expect("connect");
    t.state.begin_shutdown();
    loop {
        match ws
            .next()
            .await
            .expect("a frame before the end")
            .expect("frame")
        {
            Message::Close(Some(frame)) => {
                assert_eq!(u16::from(frame.code), 1001);
                break;
            }
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}
