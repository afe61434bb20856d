//! Hanging up goes through the server for routed and outgoing calls alike (one path): the server ends the call's
//! conference, so the customer's leg ends even if the agent's Device leg already dropped, and the Device leaves
//! too. An outgoing call whose Device leg drops by itself is ended at the server as well; the server is asked
//! once per call. Direct calls have no server side. A failed server hang-up is told to the agent.

mod common;

use common::*;
use tsunagi_core::{
    Action, ActionResult, AttemptId, CallPhase, Caller, Command, ControlOp, ControlTarget,
    DeviceEvent, ErrorKind, Event, Input, RestResult, Target,
};

fn server_hangups(actions: &[Action]) -> Vec<ControlTarget> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::CallControl {
                target,
                op: ControlOp::Hangup,
            } => Some(*target),
            _ => None,
        })
        .collect()
}

fn disconnects(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::DisconnectCall { .. }))
        .count()
}

fn ended(actions: &[Action], target: Target) -> bool {
    events(actions).iter().any(|e| {
        matches!(e, Event::CallState { target: t, phase: CallPhase::Ended, .. } if *t == target)
    })
}

/// Dials and connects the agent's leg of an outgoing call (`call(n)`).
fn outgoing(t: &mut TestSession, n: u128) -> AttemptId {
    let a = t.command(Command::Dial {
        to: Caller::new("+81312345678"),
    });
    let attempt = a
        .iter()
        .find_map(|a| match a {
            Action::ConnectCall { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .expect("a ConnectCall");
    t.device(DeviceEvent::Outgoing {
        call: call(n),
        attempt,
    });
    t.device(DeviceEvent::Accepted { call: call(n) });
    attempt
}

#[test]
fn a_routed_and_an_outgoing_call_hang_up_the_same_way() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.command(Command::Hangup {
        target: Target::Task(task(1)),
    });
    assert_eq!(server_hangups(&a), [ControlTarget::Task(task(1))]);
    assert!(has(&a, &Action::DisconnectCall { call: call(1) }));
    let a = t.device(DeviceEvent::Disconnected { call: call(1) });
    assert!(server_hangups(&a).is_empty(), "asked once");
    t.command(Command::CompleteWrapup { task: task(1) });
    t.complete_result(1, RestResult::Ok);

    let attempt = outgoing(&mut t, 2);
    let target = Target::Outgoing(attempt);
    let a = t.command(Command::Hangup { target });
    assert_eq!(server_hangups(&a), [ControlTarget::Outgoing(attempt)]);
    assert_eq!(
        ControlTarget::Outgoing(attempt).to_string(),
        format!("ob-{attempt}")
    );
    assert!(has(&a, &Action::DisconnectCall { call: call(2) }));
    let a = t.device(DeviceEvent::Disconnected { call: call(2) });
    assert!(server_hangups(&a).is_empty(), "asked once");
    assert!(ended(&a, target));
}

#[test]
fn an_outgoing_call_whose_device_leg_dropped_is_ended_at_the_server() {
    let mut t = TestSession::logged_in();
    let attempt = outgoing(&mut t, 3);
    let target = Target::Outgoing(attempt);
    // The Device leg drops by itself (network): the customer must not stay alone in the conference.
    let a = t.device(DeviceEvent::Disconnected { call: call(3) });
    assert_eq!(server_hangups(&a), [ControlTarget::Outgoing(attempt)]);
    assert_eq!(disconnects(&a), 0, "the Device leg is gone already");
    assert!(ended(&a, target));
    // The agent presses Hang up on the stale screen: nothing more to do, no second request.
    let a = t.command(Command::Hangup { target });
    assert!(server_hangups(&a).is_empty());
}

#[test]
fn hanging_up_while_the_customer_rings_cancels_at_the_server() {
    let mut t = TestSession::logged_in();
    let a = t.command(Command::Dial {
        to: Caller::new("+81312345678"),
    });
    let attempt = a
        .iter()
        .find_map(|a| match a {
            Action::ConnectCall { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .unwrap();
    t.device(DeviceEvent::Outgoing {
        call: call(4),
        attempt,
    });
    let a = t.command(Command::Hangup {
        target: Target::Outgoing(attempt),
    });
    assert_eq!(server_hangups(&a), [ControlTarget::Outgoing(attempt)]);
    assert!(has(&a, &Action::DisconnectCall { call: call(4) }));
    let a = t.device(DeviceEvent::Disconnected { call: call(4) });
    assert!(server_hangups(&a).is_empty());
    assert!(ended(&a, Target::Outgoing(attempt)));
}

#[test]
fn direct_calls_hang_up_on_the_device_only_and_failures_are_told() {
    let mut t = TestSession::logged_in();
    t.incoming_direct(5);
    let target = Target::Call(call(5));
    t.command(Command::Answer { target });
    t.device(DeviceEvent::Accepted { call: call(5) });
    let a = t.command(Command::Hangup { target });
    assert!(server_hangups(&a).is_empty());
    assert!(has(&a, &Action::DisconnectCall { call: call(5) }));
    t.device(DeviceEvent::Disconnected { call: call(5) });

    // The answer to a hang-up comes after the call ended here: a failure still reaches the agent, a 403/404 not.
    let attempt = outgoing(&mut t, 6);
    t.command(Command::Hangup {
        target: Target::Outgoing(attempt),
    });
    t.device(DeviceEvent::Disconnected { call: call(6) });
    let answer = |result| {
        Input::Result(ActionResult::CallControl {
            target: ControlTarget::Outgoing(attempt),
            op: ControlOp::Hangup,
            result,
        })
    };
    for quiet in [
        RestResult::Ok,
        RestResult::NotPending,
        RestResult::Forbidden,
    ] {
        assert!(t.input(answer(quiet)).is_empty(), "{quiet:?}");
    }
    let a = t.input(answer(RestResult::Failed));
    assert!(matches!(
        events(&a)[..],
        [Event::Error(e)] if e.kind == ErrorKind::HangupFailed
    ));
}
