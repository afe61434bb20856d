//! An outgoing call's `outbound.*` push lost during a reconnect of the server's `/v1/events` socket: the real
//! companion server's attempt changes while the connection is down (no push reaches the agent), and the
//! reconnect's resync (`GET /v1/agents/me/active-call`, its `outbound`) brings the call up to date: the customer's
//! answer becomes `Event::Outgoing {answered}` (what lets the screen offer Hold), an attempt that ended meanwhile
//! ends the call (Device leg disconnected, the server's hang-up sent: an idempotent no-op there).

#[path = "stand_in/stack.rs"]
mod stack;
mod stand_in;

use std::time::Duration;

use stack::*;
use stand_in::{wait_connected, wait_for, wait_phase};
use tsunagi_core::backoff::Backoff;
use tsunagi_core::driver::DriverIo;
use tsunagi_core::{
    Action, AttemptId, CallPhase, CallSid, Caller, Command, ConnectionState, ControlOp,
    ControlTarget, DeviceEvent, Event, Input, OutgoingStage, SessionConfig, SocketKind,
    SupervisorConfig, Target,
};
use tsunagi_server::outbound::store;
use tsunagi_server::outbound::Status;

/// The events socket retries after a fixed 1.5 s (seeded: the first retry's jitter leaves ≥ 300 ms), so what the
/// test changes at the server after seeing `Reconnecting` happens while the socket is down.
fn session_config() -> SessionConfig {
    let mut events = SupervisorConfig::for_socket(SocketKind::Events);
    events.backoff = Backoff {
        base: Duration::from_millis(1500),
        cap: Duration::from_millis(1500),
    };
    SessionConfig {
        seed: 0x5eed_0001,
        sockets: vec![
            (
                SocketKind::TaskRouter,
                SupervisorConfig::for_socket(SocketKind::TaskRouter),
            ),
            (SocketKind::Events, events),
        ],
        ..SessionConfig::default()
    }
}

fn outgoing_stage(a: &Action) -> Option<OutgoingStage> {
    match a {
        Action::Emit(Event::Outgoing { stage, .. }) => Some(*stage),
        _ => None,
    }
}

/// Dials, plays the webview's Device (CallSid, leg connected) and records the attempt at the server as the
/// TwiML application and the agent's conference join do: `dialing`, the customer's phone ringing.
async fn dialled(stack: &Stack, io: &mut DriverIo, call: CallSid) -> AttemptId {
    wait_connected(&mut io.actions, 2).await;
    io.inputs
        .send(Input::Command(Command::Dial {
            to: Caller::new("+81312345678"),
        }))
        .await
        .unwrap();
    let Action::ConnectCall { attempt, .. } = wait_for(&mut io.actions, "connect", |a| {
        matches!(a, Action::ConnectCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    for ev in [
        DeviceEvent::Outgoing { call, attempt },
        DeviceEvent::Accepted { call },
    ] {
        io.inputs.send(Input::Device(ev)).await.unwrap();
    }
    wait_phase(&mut io.actions, CallPhase::Connected).await;
    let db = &stack.state.db;
    let key = attempt.to_string();
    store::create_or_get(db, &key, AGENT, "+81312345678", call.as_str())
        .await
        .expect("attempt")
        .expect("stored");
    assert!(
        store::transition(db, &key, &[Status::Init], Status::Dialing, None)
            .await
            .expect("dialing")
    );
    attempt
}

/// Cuts the connection to the server and waits until the events socket says it is reconnecting.
async fn cut(stack: &Stack, io: &mut DriverIo) {
    assert!(stack.proxy.cut() >= 1, "the events socket was live");
    wait_for(&mut io.actions, "events reconnecting", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                socket: SocketKind::Events,
                state: ConnectionState::Reconnecting { .. }
            })
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_missed_while_disconnected_arrives_with_the_resync() {
    let stack = Stack::start(3600).await;
    let mut io = stack.agent_driver_with(session_config()).await;
    let attempt = dialled(&stack, &mut io, CallSid::from_u128(41)).await;

    cut(&stack, &mut io).await;
    // The customer answers while the agent's push socket is down: the push is lost.
    let key = attempt.to_string();
    let answered = store::transition(
        &stack.state.db,
        &key,
        &[Status::Dialing],
        Status::Connected,
        None,
    );
    assert!(answered.await.expect("connected"));

    // Back up: the next word about the call is the answer (the resync's `dialing` would repeat nothing).
    let a = wait_for(&mut io.actions, "answered from the resync", |a| {
        outgoing_stage(a).is_some() || matches!(a, Action::Emit(Event::CallState { .. }))
    })
    .await;
    assert_eq!(
        a,
        Action::Emit(Event::Outgoing {
            target: Target::Outgoing(attempt),
            stage: OutgoingStage::Answered,
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_ended_while_disconnected_ends_the_call_on_resync() {
    let stack = Stack::start(3600).await;
    let mut io = stack.agent_driver_with(session_config()).await;
    let call = CallSid::from_u128(42);
    let attempt = dialled(&stack, &mut io, call).await;

    cut(&stack, &mut io).await;
    let key = attempt.to_string();
    let ended = store::transition(
        &stack.state.db,
        &key,
        &[Status::Dialing],
        Status::Ended,
        Some("busy"),
    );
    assert!(ended.await.expect("ended"));

    // The resync ends it here: shown ended, the server's hang-up (a no-op there), the Device leg disconnected.
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let a = wait_for(&mut io.actions, "the call ended by the resync", |a| {
            matches!(
                a,
                Action::Emit(Event::CallState {
                    phase: CallPhase::Ended,
                    ..
                }) | Action::CallControl {
                    op: ControlOp::Hangup,
                    ..
                } | Action::DisconnectCall { .. }
            )
        })
        .await;
        seen.push(a);
    }
    assert!(seen.contains(&Action::DisconnectCall { call }), "{seen:?}");
    assert!(
        seen.contains(&Action::CallControl {
            target: ControlTarget::Outgoing(attempt),
            op: ControlOp::Hangup
        }),
        "{seen:?}"
    );
}
