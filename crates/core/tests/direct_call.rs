//! A call without a `task_sid` parameter is a direct call: it rings on its own and answers without TaskRouter.

mod common;

use common::*;
use tsunagi_core::{Action, CallPhase, Command, DeviceEvent, Event, Target};

#[test]
fn direct_call_rings_and_answers_without_a_reservation() {
    let mut t = TestSession::logged_in();
    let target = Target::Call(call(9));
    let a = t.incoming_direct(9);
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Ringing { target: tg, task: None, .. } if *tg == target
    )));
    let a = t.command(Command::Answer { target });
    assert!(has(&a, &Action::AcceptCall { call: call(9) }));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::AcceptReservation { .. })));
    t.device(DeviceEvent::Accepted { call: call(9) });
    let a = t.device(DeviceEvent::Disconnected { call: call(9) });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::Ended,
            ..
        }
    )));
    assert!(
        !a.iter().any(|x| matches!(x, Action::CompleteTask { .. })),
        "no task, no wrap-up"
    );
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn direct_and_routed_calls_ring_side_by_side() {
    let mut t = TestSession::logged_in();
    assert_eq!(count_ringing(&t.incoming_direct(9)), 1);
    assert_eq!(count_ringing(&t.reservation_created(1)), 1);
    assert_eq!(count_ringing(&t.incoming(1)), 0);
}

#[test]
fn hold_is_refused_on_a_direct_call() {
    let mut t = TestSession::logged_in();
    let target = Target::Call(call(9));
    t.incoming_direct(9);
    t.command(Command::Answer { target });
    t.device(DeviceEvent::Accepted { call: call(9) });
    let a = t.command(Command::Hold { target });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Error(err) if err.kind == tsunagi_core::ErrorKind::NotARoutedCall
    )));
    assert!(!a.iter().any(|x| matches!(x, Action::CallControl { .. })));
}
