//! The driver against the real companion server (`tsunagi-server`, in-process, SQLite) and the stand-in, over
//! real sockets on 127.0.0.1: tokens from `POST /v1/token`, the agent's `/v1/events` push joined to the ring and
//! the call, and after a dropped connection the resync through `GET /v1/agents/me/active-call`.

#[path = "stand_in/stack.rs"]
mod stack;
mod stand_in;

use std::time::Duration;

use serde_json::json;
use stack::*;
use stand_in::{accepted, answer, wait_connected, wait_for};
use tsunagi_core::backoff::Backoff;
use tsunagi_core::driver::{
    Driver, DriverConfig, DriverIo, EventsConfig, ServerSession, ServerTokens,
};
use tsunagi_core::{
    Action, CallSid, Command, ConferenceSid, ConnectionState, Event, Input, SessionConfig,
    SocketKind, SupervisorConfig, Target, TaskSid,
};
use tsunagi_server::events::{AgentEvent, CustomerInfo};
use tsunagi_twilio::Pii;

fn session_config() -> SessionConfig {
    let mut session = SessionConfig {
        seed: 0x5eed_0001, // kept by the driver: a deterministic first retry (see the gap asserted below)
        ..SessionConfig::default()
    };
    let mut events = SupervisorConfig::for_socket(SocketKind::Events);
    events.backoff = Backoff {
        base: Duration::from_millis(1500),
        cap: Duration::from_millis(1500),
    };
    session.sockets = vec![
        (
            SocketKind::TaskRouter,
            SupervisorConfig::for_socket(SocketKind::TaskRouter),
        ),
        (SocketKind::Events, events),
    ];
    session
}

/// Alice signed in at the server, her driver running with the server's push; both sockets connected.
async fn signed_in(stack: &Stack, version: &str) -> DriverIo {
    let session = stack.login().await;
    let (driver, io) = Driver::new(
        DriverConfig {
            eventbridge_ws: format!("{}/v1/wschannels", stack.sim.ws_url()),
            eventbridge_rest: format!("{}/v1/wschannels", stack.sim.base_url()),
            session: session_config(),
        },
        ServerTokens::new(&stack.proxy.url, session.clone(), version),
    );
    let driver = driver.with_server_events(EventsConfig {
        session: ServerSession::from_session_token(&stack.proxy.url, version, Pii(session)),
    });
    tokio::spawn(driver.run());
    io.inputs
        .send(Input::Command(Command::Login))
        .await
        .unwrap();
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_push_joins_the_call_and_a_reconnect_resyncs_from_active_call() {
    let stack = Stack::start(3600).await;
    let mut io = signed_in(&stack, VERSION).await;
    wait_connected(&mut io.actions, 2).await;

    let task = stack
        .create_task(&json!({"type": "inbound_call", "from": "+81312345678"}))
        .await;
    let task_sid = TaskSid::parse(&task).unwrap();
    let target = Target::Task(task_sid);
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;

    // The server pushes the call context (as on the conference's participant-join).
    let first = ConferenceSid::from_u128(1);
    stack
        .state
        .hub
        .publish(
            AGENT,
            &AgentEvent::CallContext {
                task_sid: task.clone(),
                reservation_sid: None,
                conference_sid: first.to_string(),
                customer_call_sid: None,
                agent_call_sid: None,
                // Built from JSON so the test reads the same whether or not the server's struct has grown fields.
                customer: Some(
                    serde_json::from_value::<CustomerInfo>(
                        json!({"id": "C-000123", "name": "山田 花子"}),
                    )
                    .expect("a customer"),
                ),
            },
        )
        .await
        .expect("publish");
    let Action::Emit(Event::RingUpdated { crm, .. }) =
        wait_for(&mut io.actions, "ring updated by the push", |a| {
            matches!(a, Action::Emit(Event::RingUpdated { .. }))
        })
        .await
    else {
        unreachable!()
    };
    assert_eq!(crm.unwrap().customer_name.as_deref(), Some("山田 花子"));

    // Answer (the test plays the webview's Device).
    let call = CallSid::from_u128(5);
    answer(&mut io, task_sid, call).await;
    accepted(&mut io, call).await;

    // The connection to the server drops; meanwhile the conference changes, and no push reaches the agent.
    assert!(stack.proxy.cut() >= 1, "the events socket was live");
    let Action::Emit(Event::Connection {
        state: ConnectionState::Reconnecting { retry_in_ms, .. },
        ..
    }) = wait_for(&mut io.actions, "events reconnecting", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                socket: SocketKind::Events,
                state: ConnectionState::Reconnecting { .. }
            })
        )
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        retry_in_ms >= 300,
        "the seeded retry leaves a gap: {retry_in_ms} ms"
    );
    let second = ConferenceSid::from_u128(2);
    let reservations: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/Workspaces/{WORKSPACE}/Tasks/{task}/Reservations",
            stack.sim.base_url()
        ))
        .basic_auth(API_KEY, Some(API_SECRET))
        .send()
        .await
        .expect("reservations")
        .json()
        .await
        .expect("reservations JSON");
    let reservation = reservations["reservations"][0]["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no reservation: {reservations}"))
        .to_owned();
    let db = &stack.state.db;
    tsunagi_server::calls::upsert_reserved(
        db,
        &tsunagi_server::calls::Reservation {
            task_sid: &task,
            reservation_sid: &reservation,
            worker_sid: WORKER,
            agent_id: Some(AGENT),
            customer_call_sid: None,
            customer_id: None,
        },
    )
    .await
    .expect("row");
    tsunagi_server::calls::on_conference(db, &task, second.as_str(), None)
        .await
        .expect("conference");

    // Back up: the resync reads the active call and the call learns the new conference.
    let Action::Emit(Event::CallContext {
        target: t,
        conference,
        ..
    }) = wait_for(&mut io.actions, "context from the resync", |a| {
        matches!(a, Action::Emit(Event::CallContext { .. }))
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(t, target);
    assert_eq!(conference, Some(second));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_426_from_the_server_requires_an_update_and_no_more_rings() {
    let stack = Stack::start(3600).await;
    let mut io = signed_in(&stack, VERSION).await;
    wait_connected(&mut io.actions, 2).await;
    let first = stack
        .create_task(&json!({"type": "inbound_call", "from": "+81312345678"}))
        .await;
    let first = Target::Task(TaskSid::parse(&first).unwrap());
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;

    // The operators raise the floor above this version; the next contact with the server says 426.
    tsunagi_server::admin::set_policy(&stack.state.db, Some("9.0.0"), None)
        .await
        .expect("policy");
    stack.proxy.cut();
    let required = wait_for(&mut io.actions, "update required", |a| {
        matches!(a, Action::Emit(Event::UpdateRequired { .. }))
    })
    .await;
    assert_eq!(
        required,
        Action::Emit(Event::UpdateRequired {
            min_supported: Some("9.0.0".into())
        })
    );
    wait_for(&mut io.actions, "the ring stops", |a| {
        *a == Action::Emit(Event::RingStopped {
            target: first,
            reason: tsunagi_core::RingStopReason::NotTakingCalls,
        })
    })
    .await;
    wait_for(&mut io.actions, "events socket stopped for good", |a| {
        *a == Action::Emit(Event::Connection {
            socket: SocketKind::Events,
            state: ConnectionState::Stopped {
                reason: tsunagi_core::StopReason::UpdateRequired,
            },
        })
    })
    .await;

    // The worker goes Offline at TaskRouter, so nothing routes here; a new call does not ring.
    let worker_url = format!(
        "{}/v1/Workspaces/{WORKSPACE}/Workers/{WORKER}",
        stack.sim.base_url()
    );
    stand_in::wait_until("worker Offline in TaskRouter", async || {
        let w: serde_json::Value = reqwest::Client::new()
            .get(&worker_url)
            .basic_auth(API_KEY, Some(API_SECRET))
            .send()
            .await
            .expect("worker")
            .json()
            .await
            .unwrap_or_default();
        w["activity_name"] == "Offline"
    })
    .await;
    stack
        .create_task(&json!({"type": "inbound_call", "from": "+81312345679"}))
        .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, io.actions.recv()).await {
        assert!(
            !matches!(a, Action::Emit(Event::Ringing { .. })),
            "no ring after 426: {a:?}"
        );
        assert!(
            !matches!(
                a,
                Action::Emit(Event::Connection {
                    socket: SocketKind::Events,
                    state: ConnectionState::Connecting
                })
            ),
            "the events socket does not retry"
        );
    }
}
