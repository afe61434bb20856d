//! Reservation first, then the call: one ring; Answer accepts the reservation, then the call.

mod common;

use common::*;
use tsunagi_core::{
    Action, CallPhase, Command, DeviceEvent, Event, PresenceState, RestResult, RingStopReason,
    Target,
};

#[test]
fn reservation_then_call_rings_once_and_answers_in_order() {
    let mut t = TestSession::logged_in();
    let target = Target::Task(task(1));

    let a = t.reservation_created(1);
    assert_eq!(count_ringing(&a), 1, "the reservation rings at once");
    let a = t.incoming(1);
    assert_eq!(count_ringing(&a), 0, "the call attaches to the same ring");
    assert!(events(&a)
        .iter()
        .any(|e| matches!(e, Event::RingUpdated { call: Some(c), .. } if *c == call(1))));

    let a = t.command(Command::Answer { target });
    assert!(has(
        &a,
        &Action::Emit(Event::RingStopped {
            target,
            reason: RingStopReason::Answered
        })
    ));
    assert!(has(
        &a,
        &Action::AcceptReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    assert!(
        !a.iter().any(|x| matches!(x, Action::AcceptCall { .. })),
        "the call waits for the accepted reservation"
    );

    let a = t.accept_result(1, RestResult::Ok);
    assert_eq!(a, vec![Action::AcceptCall { call: call(1) }]);

    let a = t.device(DeviceEvent::Accepted { call: call(1) });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::Connected,
            ..
        }
    )));
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Busy));
}

#[test]
fn reservation_accepted_push_before_the_rest_response_is_enough() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    // The push may arrive before the HTTP response (taskrouter-protocol §6.2).
    let a = t.input(tsunagi_core::Input::TaskRouter(
        tsunagi_core::TaskRouterEvent::ReservationAccepted {
            reservation: res(1),
            task: task(1),
        },
    ));
    assert_eq!(a, vec![Action::AcceptCall { call: call(1) }]);
    let a = t.accept_result(1, RestResult::Ok);
    assert!(a.is_empty(), "the late response changes nothing: {a:?}");
}
