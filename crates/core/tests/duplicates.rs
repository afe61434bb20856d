//! Replayed or duplicate events (after a reconnect) change nothing.

mod common;

use common::*;
use tsunagi_core::{Command, DeviceEvent, ReservationEnd, RestResult, Target};

#[test]
fn duplicate_halves_do_not_ring_again() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    assert!(t.reservation_created(1).is_empty());
    assert!(t.incoming(1).is_empty());
}

#[test]
fn replays_after_the_task_ended_change_nothing() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    t.complete_result(1, RestResult::Ok);
    assert_eq!(t.session.reconciler().offers().count(), 0);
    for _ in 0..2 {
        assert_eq!(count_ringing(&t.reservation_created(1)), 0);
        let a = t.incoming(1);
        assert_eq!(count_ringing(&a), 0);
        t.reservation_ended(1, ReservationEnd::Completed);
        t.device(DeviceEvent::Disconnected { call: call(1) });
        t.accept_result(1, RestResult::Ok);
    }
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn duplicate_answer_is_a_double_click() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    let a = t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    assert!(a
        .iter()
        .all(|x| !matches!(x, tsunagi_core::Action::AcceptReservation { .. })));
}
