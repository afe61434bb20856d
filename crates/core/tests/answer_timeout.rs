//! Answer waits for a missing half only so long; then it gives up and undoes.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{Action, Command, ErrorKind, Event, Target};

#[test]
fn answer_without_a_call_gives_up_and_reroutes() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    let a = t.advance(Duration::from_secs(9));
    assert!(a
        .iter()
        .all(|x| !matches!(x, Action::RejectReservation { .. })));
    let a = t.advance(Duration::from_secs(2));
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Error(err) if err.kind == ErrorKind::AnswerTimedOut
    )));
    // The call that finally shows up is refused, not rung.
    let a = t.incoming(1);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
}

#[test]
fn answer_without_a_reservation_gives_up_and_rejects_the_call() {
    let mut t = TestSession::logged_in();
    t.incoming(1);
    t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    let a = t.advance(Duration::from_secs(11));
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
    let a = t.reservation_created(1);
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    assert_eq!(count_ringing(&a), 0);
}
