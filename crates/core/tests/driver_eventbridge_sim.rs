//! The tokio driver against the local Twilio stand-in, over real sockets on 127.0.0.1: sign in (token, EventBridge
//! `init`, resync, Available), a task routed to the worker rings once, Answer accepts the reservation through the
//! REST proxy before the call, wrap-up completes the task; and a canceled task stops the ring.
//!
//! The webview's side (the Voice SDK `Device`) is played by the test: it answers the driver's Device actions.

mod stand_in;

use std::time::Duration;

use serde_json::json;
use stand_in::*;
use tsunagi_core::backoff::Backoff;
use tsunagi_core::driver::DriverIo;
use tsunagi_core::{
    Action, CallSid, ConnectionState, Event, PresenceState, RingStopReason, SessionConfig,
    SocketKind, SupervisorConfig, Target, TaskSid,
};
use tsunagi_twilio_sim::Sim;

async fn signed_in_eventbridge(session: SessionConfig) -> (Sim, DriverIo) {
    signed_in(session, MintedTokens::default(), false).await
}

async fn inbound_task(sim: &Sim) -> TaskSid {
    create_task(
        sim,
        &json!({
            "type": "inbound_call",
            "from": "+81312345678",
            "customer_id": "C-000123",
            "customer_name_enc": "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90",
        }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_call_rings_answers_in_order_and_completes() {
    let (sim, mut io) = signed_in_eventbridge(SessionConfig::default()).await;
    let task = inbound_task(&sim).await;

    let ring = wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    let Action::Emit(Event::Ringing { crm, caller, .. }) = ring else {
        unreachable!()
    };
    assert_eq!(caller.unwrap().expose(), "+81312345678");
    assert_eq!(crm.unwrap().customer_name.as_deref(), Some("山田 花子"));

    // The webview forwards Device.incoming with the TaskSid custom parameter, then the agent answers.
    let call = CallSid::from_u128(77);
    answer(&mut io, task, call).await;
    // The reservation was accepted (through the proxy) before the driver asked the Device to accept the call.
    let t = rest(
        &sim,
        reqwest::Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[],
    )
    .await;
    assert_eq!(t["assignment_status"], "assigned", "{t}");

    accepted(&mut io, call).await;
    hang_up_and_wrap_up(&mut io, task, call).await;
    wait_task_completed(&sim, task).await;
    wait_for(&mut io.actions, "presence restored", |a| {
        matches!(
            a,
            Action::Emit(Event::Presence {
                state: PresenceState::Available,
                ..
            })
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_task_stops_the_ring() {
    let (sim, mut io) = signed_in_eventbridge(SessionConfig::default()).await;
    let task = inbound_task(&sim).await;
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    rest(
        &sim,
        reqwest::Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[("AssignmentStatus", "canceled"), ("Reason", "caller left")],
    )
    .await;
    let stopped = wait_for(&mut io.actions, "ring stopped", |a| {
        matches!(a, Action::Emit(Event::RingStopped { .. }))
    })
    .await;
    assert_eq!(
        stopped,
        Action::Emit(Event::RingStopped {
            target: Target::Task(task),
            reason: RingStopReason::Canceled
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_reconnects_and_the_resync_recovers_a_missed_reservation() {
    // A slow, deterministic (seeded) first retry leaves a gap in which TaskRouter pushes to nobody.
    let mut session = SessionConfig::default();
    let mut tr = SupervisorConfig::for_socket(SocketKind::TaskRouter);
    tr.backoff = Backoff {
        base: Duration::from_secs(3),
        cap: Duration::from_secs(3),
    };
    session.sockets = vec![(SocketKind::TaskRouter, tr)];
    session.seed = 0x7475_6e61_676a; // an own seed is kept by the driver (the default one is replaced)
    let (sim, mut io) = signed_in_eventbridge(session).await;

    control(&sim, "/_sim/sockets/drop", json!({})).await;
    let Action::Emit(Event::Connection {
        state: ConnectionState::Reconnecting { retry_in_ms, .. },
        ..
    }) = wait_for(&mut io.actions, "reconnecting", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                state: ConnectionState::Reconnecting { .. },
                ..
            })
        )
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        retry_in_ms >= 500,
        "the seeded retry leaves a gap: {retry_in_ms} ms"
    );

    // Routed while the socket is down: reservation.created goes nowhere.
    let task = inbound_task(&sim).await;
    let mut rings = 0;
    let mut reconnected = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, io.actions.recv()).await {
        match a {
            Action::Emit(Event::Ringing { target, .. }) => {
                assert!(
                    reconnected,
                    "no socket, no push: the ring comes from the resync"
                );
                assert_eq!(target, Target::Task(task));
                rings += 1;
            }
            Action::Emit(Event::Connection {
                state: ConnectionState::Connected,
                ..
            }) => reconnected = true,
            _ => {}
        }
        if rings == 1 {
            // Let any duplicate (a replayed push) show up before concluding.
            tokio::time::sleep(Duration::from_millis(300)).await;
            while let Ok(a) = io.actions.try_recv() {
                assert!(
                    !matches!(a, Action::Emit(Event::Ringing { .. })),
                    "one ring per task"
                );
            }
            break;
        }
    }
    assert_eq!(
        rings, 1,
        "the missed reservation rings once after the resync"
    );
}
