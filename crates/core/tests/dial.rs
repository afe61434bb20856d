//! Outgoing calls: Dial → `ConnectCall` → the CallSid report → connected → ended; refusals with messages; the
//! agent is Busy meanwhile and nothing rings; unknown or late CallSid reports are hung up, never shown.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tsunagi_core::{
    Action, ActionResult, AttemptId, CallPhase, Caller, Command, ControlOp, ControlTarget,
    DeviceEvent, ErrorKind, Event, Input, PresenceState, RestResult, Target, TransferMode,
    TransferTo,
};

fn dial(t: &mut TestSession, to: &str) -> Vec<Action> {
    t.command(Command::Dial {
        to: Caller::new(to),
    })
}

/// The attempt of the `ConnectCall` in `actions`.
fn attempt_of(actions: &[Action]) -> AttemptId {
    actions
        .iter()
        .find_map(|a| match a {
            Action::ConnectCall { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .expect("a ConnectCall")
}

fn errors(actions: &[Action]) -> Vec<ErrorKind> {
    events(actions)
        .iter()
        .filter_map(|e| match e {
            Event::Error(u) => Some(u.kind),
            _ => None,
        })
        .collect()
}

fn phases(actions: &[Action], target: Target) -> Vec<CallPhase> {
    events(actions)
        .iter()
        .filter_map(|e| match e {
            Event::CallState {
                target: t, phase, ..
            } if *t == target => Some(*phase),
            _ => None,
        })
        .collect()
}

#[test]
fn dial_connects_and_ends_with_busy_presence_meanwhile() {
    let mut t = TestSession::logged_in();
    let a = dial(&mut t, "+81312345678");
    let attempt = attempt_of(&a);
    let target = Target::Outgoing(attempt);
    assert!(has(
        &a,
        &Action::ConnectCall {
            to: Caller::new("+81312345678"),
            attempt
        }
    ));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Dialing { target: tg, to } if *tg == target && to.expose() == "+81312345678"
    )));
    assert_eq!(phases(&a, target), [CallPhase::Connecting]);
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Busy));

    t.device(DeviceEvent::Outgoing {
        call: call(1),
        attempt,
    });
    let a = t.device(DeviceEvent::Accepted { call: call(1) });
    assert_eq!(phases(&a, target), [CallPhase::Connected]);

    // Mute and digits work on the outgoing call; hold goes to the server by the attempt (its `ob-` id), and the
    // screen says "on hold" only once the server confirmed it. Transfers stay routed-only.
    let a = t.command(Command::Mute { target });
    assert!(has(
        &a,
        &Action::MuteCall {
            call: call(1),
            muted: true
        }
    ));
    let a = t.command(Command::Hold { target });
    let ctl = ControlTarget::Outgoing(attempt);
    assert_eq!(ctl.to_string(), format!("ob-{attempt}"));
    assert!(has(
        &a,
        &Action::CallControl {
            target: ctl,
            op: ControlOp::Hold
        }
    ));
    assert!(errors(&a).is_empty());
    assert!(!events(&a)
        .iter()
        .any(|e| matches!(e, Event::CallState { on_hold: true, .. })));
    let a = t.input(Input::Result(ActionResult::CallControl {
        target: ctl,
        op: ControlOp::Hold,
        result: RestResult::Ok,
    }));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState { target: tg, on_hold: true, phase: CallPhase::Connected, .. } if *tg == target
    )));
    let a = t.command(Command::Unhold { target });
    assert!(has(
        &a,
        &Action::CallControl {
            target: ctl,
            op: ControlOp::Unhold
        }
    ));
    let a = t.input(Input::Result(ActionResult::CallControl {
        target: ctl,
        op: ControlOp::Unhold,
        result: RestResult::Failed,
    }));
    assert_eq!(errors(&a), [ErrorKind::CallControlFailed]);
    assert!(
        !events(&a)
            .iter()
            .any(|e| matches!(e, Event::CallState { on_hold: false, .. })),
        "a refused unhold leaves the screen saying 'on hold'"
    );
    let a = t.command(Command::Transfer {
        target,
        to: TransferTo::Number {
            number: Caller::new("+81300000000"),
        },
        mode: TransferMode::Cold,
    });
    assert_eq!(errors(&a), [ErrorKind::NotARoutedCall]);
    assert!(!a.iter().any(|x| matches!(x, Action::CallControl { .. })));

    let a = t.command(Command::Hangup { target });
    assert!(has(&a, &Action::DisconnectCall { call: call(1) }));
    let a = t.device(DeviceEvent::Disconnected { call: call(1) });
    assert_eq!(phases(&a, target), [CallPhase::Ended]);
    assert!(errors(&a).is_empty(), "a hang-up is no error");
    assert!(
        !a.iter()
            .any(|x| matches!(x, Action::CompleteTask { .. } | Action::SetActivity { .. })),
        "no task, and the activity at TaskRouter never changed"
    );
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Available));
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn every_press_gets_a_fresh_v4_attempt() {
    let mut t = TestSession::logged_in();
    let first = attempt_of(&dial(&mut t, "+81312345678"));
    t.command(Command::Hangup {
        target: Target::Outgoing(first),
    });
    let second = attempt_of(&dial(&mut t, "+81312345678"));
    assert_ne!(first, second);
    let text = first.to_string();
    assert_eq!(text.len(), 36);
    assert_eq!(&text[14..15], "4", "version 4: {text}");
    assert!(
        matches!(&text[19..20], "8" | "9" | "a" | "b"),
        "RFC 4122 variant: {text}"
    );
    assert_eq!(AttemptId::parse(&text), Some(first));
    assert_eq!(serde_json::to_value(first).unwrap(), json!(text));
}

#[test]
fn invalid_numbers_are_refused_with_a_message() {
    let mut t = TestSession::logged_in();
    for bad in [
        "",
        "0312345678",
        "+0312345678",
        "+81-3-1234-5678",
        "+8",
        "+1234567890123456",
        "＋81312345678",
    ] {
        let a = dial(&mut t, bad);
        assert_eq!(errors(&a), [ErrorKind::InvalidNumber], "{bad:?}");
        assert!(
            !a.iter().any(|x| matches!(x, Action::ConnectCall { .. })),
            "{bad:?}"
        );
    }
    let a = dial(&mut t, "+12");
    assert!(
        a.iter().any(|x| matches!(x, Action::ConnectCall { .. })),
        "shortest E.164"
    );
    let (ja, en) = ErrorKind::InvalidNumber.messages();
    assert!(ja.contains("+81312345678") && en.contains("+81312345678"));
}

#[test]
fn dialling_is_refused_while_ringing_in_a_call_or_wrapping_up() {
    // Ringing.
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    let a = dial(&mut t, "+81312345678");
    assert_eq!(errors(&a), [ErrorKind::DialRefused]);
    assert!(!a.iter().any(|x| matches!(x, Action::ConnectCall { .. })));
    // In a call.
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    assert_eq!(
        errors(&dial(&mut t, "+81312345678")),
        [ErrorKind::DialRefused]
    );
    // In wrap-up.
    t.device(DeviceEvent::Disconnected { call: call(1) });
    assert_eq!(
        errors(&dial(&mut t, "+81312345678")),
        [ErrorKind::DialRefused]
    );
    // During another outgoing call.
    let mut t = TestSession::logged_in();
    dial(&mut t, "+81312345678");
    assert_eq!(
        errors(&dial(&mut t, "+81312345679")),
        [ErrorKind::DialRefused]
    );
}

#[test]
fn dialling_is_refused_signed_out_and_when_an_update_is_required() {
    let mut t = TestSession::new(Default::default());
    assert_eq!(
        errors(&dial(&mut t, "+81312345678")),
        [ErrorKind::NotLoggedIn]
    );
    let mut t = TestSession::logged_in();
    t.input(Input::UpgradeRequired {
        min_supported: Some("9.9.9".into()),
    });
    let a = dial(&mut t, "+81312345678");
    assert_eq!(errors(&a), [ErrorKind::UpdateRequired]);
    assert!(!a.iter().any(|x| matches!(x, Action::ConnectCall { .. })));
}

#[test]
fn nothing_rings_during_an_outgoing_call_and_refused_work_re_routes() {
    let mut t = TestSession::logged_in();
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    let a = t.reservation_created(1);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    let a = t.incoming_direct(7);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(&a, &Action::RejectCall { call: call(7) }));
    // Once the outgoing call is over, rings come again.
    t.command(Command::Hangup {
        target: Target::Outgoing(attempt),
    });
    assert_eq!(count_ringing(&t.reservation_created(2)), 1);
}

#[test]
fn an_unknown_or_late_outgoing_report_is_hung_up_never_shown() {
    let mut t = TestSession::logged_in();
    // A report for an attempt the core never made.
    let stray = AttemptId::from_random(42);
    let a = t.device(DeviceEvent::Outgoing {
        call: call(5),
        attempt: stray,
    });
    assert_eq!(a, [Action::DisconnectCall { call: call(5) }]);
    assert_eq!(t.session.reconciler().offers().count(), 0);
    // Hung up before the CallSid was known: the late report is hung up.
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    let target = Target::Outgoing(attempt);
    let a = t.command(Command::Hangup { target });
    assert_eq!(phases(&a, target), [CallPhase::Ended]);
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Available));
    let a = t.device(DeviceEvent::Outgoing {
        call: call(6),
        attempt,
    });
    assert_eq!(a, [Action::DisconnectCall { call: call(6) }]);
    // Its later Accepted / Disconnected reports change nothing.
    assert!(t.device(DeviceEvent::Accepted { call: call(6) }).is_empty());
    assert!(t
        .device(DeviceEvent::Disconnected { call: call(6) })
        .is_empty());
    // A duplicate report of a known call is ignored.
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    t.device(DeviceEvent::Outgoing {
        call: call(8),
        attempt,
    });
    assert!(t
        .device(DeviceEvent::Outgoing {
            call: call(8),
            attempt
        })
        .is_empty());
}

#[test]
fn hang_up_while_connecting_ends_quietly_once_the_device_reports_it() {
    let mut t = TestSession::logged_in();
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    let target = Target::Outgoing(attempt);
    t.device(DeviceEvent::Outgoing {
        call: call(1),
        attempt,
    });
    let a = t.command(Command::Hangup { target });
    assert!(has(&a, &Action::DisconnectCall { call: call(1) }));
    // The accept races the hang-up: still not shown as connected.
    let a = t.device(DeviceEvent::Accepted { call: call(1) });
    assert!(phases(&a, target).is_empty());
    let a = t.device(DeviceEvent::Disconnected { call: call(1) });
    assert_eq!(phases(&a, target), [CallPhase::Ended]);
    assert!(errors(&a).is_empty());
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn failures_end_the_call_with_a_message() {
    // connect() failed before a CallSid.
    let mut t = TestSession::logged_in();
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    let a = t.device(DeviceEvent::OutgoingFailed { attempt });
    assert_eq!(errors(&a), [ErrorKind::DialFailed]);
    assert_eq!(phases(&a, Target::Outgoing(attempt)), [CallPhase::Ended]);
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Available));

    // The call ended before it connected (e.g. the server refused it).
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    t.device(DeviceEvent::Outgoing {
        call: call(2),
        attempt,
    });
    let a = t.device(DeviceEvent::Disconnected { call: call(2) });
    assert_eq!(errors(&a), [ErrorKind::DialFailed]);

    // No CallSid within the dial wait: given up, and the late report is hung up.
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    let a = t.advance(Duration::from_secs(46));
    assert_eq!(errors(&a), [ErrorKind::DialFailed]);
    assert_eq!(phases(&a, Target::Outgoing(attempt)), [CallPhase::Ended]);
    let a = t.device(DeviceEvent::Outgoing {
        call: call(3),
        attempt,
    });
    assert_eq!(a, [Action::DisconnectCall { call: call(3) }]);

    // CallSid known but never connected: given up and hung up.
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    t.device(DeviceEvent::Outgoing {
        call: call(4),
        attempt,
    });
    let a = t.advance(Duration::from_secs(46));
    assert!(has(&a, &Action::DisconnectCall { call: call(4) }));
    assert_eq!(errors(&a), [ErrorKind::DialFailed]);
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn an_outgoing_call_outlives_an_update_requirement_and_blocks_sign_out() {
    let mut t = TestSession::logged_in();
    let attempt = attempt_of(&dial(&mut t, "+81312345678"));
    t.device(DeviceEvent::Outgoing {
        call: call(1),
        attempt,
    });
    t.device(DeviceEvent::Accepted { call: call(1) });
    assert_eq!(
        errors(&t.command(Command::Logout)),
        [ErrorKind::CallInProgress]
    );
    let a = t.input(Input::UpgradeRequired {
        min_supported: None,
    });
    assert!(!a.iter().any(|x| matches!(x, Action::DisconnectCall { .. })));
    let view = t.session.view(t.now);
    assert_eq!(view.calls.len(), 1);
    assert_eq!(view.calls[0].target, Target::Outgoing(attempt));
    assert_eq!(view.calls[0].call, Some(call(1)));
}

#[test]
fn wire_shapes_for_the_ui_and_the_shell() {
    let c: Command =
        serde_json::from_value(json!({"command": "dial", "to": "+81312345678"})).unwrap();
    assert_eq!(
        c,
        Command::Dial {
            to: Caller::new("+81312345678")
        }
    );
    let attempt = AttemptId::parse("6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab").unwrap();
    let target = Target::Outgoing(attempt);
    assert_eq!(
        serde_json::to_value(target).unwrap(),
        json!({"kind": "outgoing", "sid": "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"})
    );
    let hangup: Command = serde_json::from_value(json!({
        "command": "hangup",
        "target": {"kind": "outgoing", "sid": "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"}
    }))
    .unwrap();
    assert_eq!(hangup, Command::Hangup { target });
    let ev = Event::Dialing {
        target,
        to: Caller::new("+81312345678"),
    };
    assert_eq!(
        serde_json::to_value(&ev).unwrap(),
        json!({"type": "dialing", "target": {"kind": "outgoing", "sid": "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"}, "to": "+81312345678"})
    );
    for bad in [
        "",
        "6f1c2d3e4a5b4c6d8e7f0123456789ab",
        "6f1c2d3e-4a5b-4c6d-8e7f-0123456789zz",
        "6f1c2d3e-4a5b-4c6d-8e7f_0123456789ab",
    ] {
        assert!(AttemptId::parse(bad).is_none(), "{bad:?}");
        assert!(serde_json::from_value::<Target>(json!({"kind": "outgoing", "sid": bad})).is_err());
    }
    // The number never reaches a log through Debug.
    let debug = format!(
        "{:?}",
        Action::ConnectCall {
            to: Caller::new("+81312345678"),
            attempt
        }
    );
    assert!(!debug.contains("312345678"), "{debug}");
}
