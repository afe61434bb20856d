//! The call first (the usual order with `Device.incoming`), then the reservation: one ring; Answer waits.

mod common;

use common::*;
use tsunagi_core::{Action, Command, DeviceEvent, Event, RestResult, Target};

#[test]
fn call_then_reservation_rings_once() {
    let mut t = TestSession::logged_in();
    let a = t.incoming(1);
    assert_eq!(count_ringing(&a), 1);
    let a = t.reservation_created(1);
    assert_eq!(
        count_ringing(&a),
        0,
        "the reservation attaches to the call's ring"
    );
}

#[test]
fn answer_before_the_reservation_waits_for_it_then_accepts_in_order() {
    let mut t = TestSession::logged_in();
    t.incoming(1);
    let a = t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    assert!(
        !a.iter().any(|x| matches!(
            x,
            Action::AcceptCall { .. } | Action::AcceptReservation { .. }
        )),
        "nothing is accepted before the reservation is known: {a:?}"
    );
    let a = t.reservation_created(1);
    assert!(has(
        &a,
        &Action::AcceptReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    let a = t.accept_result(1, RestResult::Ok);
    assert_eq!(a, vec![Action::AcceptCall { call: call(1) }]);
    t.device(DeviceEvent::Accepted { call: call(1) });
}

#[test]
fn reservation_sid_in_the_call_parameters_lets_answer_proceed_at_once() {
    let mut t = TestSession::logged_in();
    t.device(DeviceEvent::Incoming {
        call: call(1),
        params: tsunagi_core::CallParams {
            task: Some(task(1)),
            reservation: Some(res(1)),
            caller: None,
        },
    });
    let a = t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    assert!(has(
        &a,
        &Action::AcceptReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    let a = t.reservation_created(1);
    assert!(
        events(&a)
            .iter()
            .all(|e| !matches!(e, Event::Ringing { .. })),
        "the late reservation.created is the same reservation: no second ring"
    );
}
