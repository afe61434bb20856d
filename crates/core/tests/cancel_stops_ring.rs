//! Canceled, rescinded, timed-out reservations and caller hang-ups stop the ring at once, and a late other half
//! is refused, never rung.

mod common;

use common::*;
use tsunagi_core::{Action, Event, ReservationEnd, RingStopReason, Target};

fn stopped(a: &[Action], reason: RingStopReason) -> bool {
    has(
        a,
        &Action::Emit(Event::RingStopped {
            target: Target::Task(task(1)),
            reason,
        }),
    )
}

#[test]
fn canceled_reservation_stops_the_ring_and_rejects_the_call() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    let a = t.reservation_ended(1, ReservationEnd::Canceled);
    assert!(stopped(&a, RingStopReason::Canceled));
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
}

#[test]
fn late_call_after_cancel_is_rejected_not_rung() {
    for end in [
        ReservationEnd::Canceled,
        ReservationEnd::Rescinded,
        ReservationEnd::Timeout,
    ] {
        let mut t = TestSession::logged_in();
        t.reservation_created(1);
        let a = t.reservation_ended(1, end);
        assert!(a
            .iter()
            .any(|x| matches!(x, Action::Emit(Event::RingStopped { .. }))));
        let a = t.incoming(1);
        assert_eq!(count_ringing(&a), 0, "{end:?}: no ring after cancel");
        assert!(has(&a, &Action::RejectCall { call: call(1) }), "{end:?}");
    }
}

#[test]
fn cancel_before_anything_arrived_still_refuses_the_late_halves() {
    let mut t = TestSession::logged_in();
    let a = t.reservation_ended(1, ReservationEnd::Timeout);
    assert!(a
        .iter()
        .all(|x| !matches!(x, Action::Emit(Event::RingStopped { .. }))));
    assert_eq!(count_ringing(&t.reservation_created(1)), 0);
    let a = t.incoming(1);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
}

#[test]
fn caller_hang_up_stops_the_ring_and_releases_the_reservation() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    let a = t.device(tsunagi_core::DeviceEvent::Canceled { call: call(1) });
    assert!(stopped(&a, RingStopReason::CallerHungUp));
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
}

#[test]
fn caller_hang_up_before_the_reservation_refuses_the_late_reservation() {
    let mut t = TestSession::logged_in();
    t.incoming(1);
    let a = t.device(tsunagi_core::DeviceEvent::Canceled { call: call(1) });
    assert!(stopped(&a, RingStopReason::CallerHungUp));
    let a = t.reservation_created(1);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
}

#[test]
fn the_memory_of_a_stopped_ring_lapses_after_the_linger_time() {
    let mut t = TestSession::logged_in();
    t.reservation_ended(1, ReservationEnd::Timeout);
    assert_eq!(t.session.reconciler().offers().count(), 1);
    t.advance(std::time::Duration::from_secs(61));
    assert_eq!(t.session.reconciler().offers().count(), 0);
}
