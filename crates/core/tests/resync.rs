//! After a reconnect, the resync snapshot recovers what the socket missed: new reservations ring, vanished ones
//! stop, and assigned tasks unknown here are adopted in wrap-up so they get completed.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{
    Action, CompleteReason, Event, Input, ReservationInfo, RingStopReason, SnapshotStatus,
    SocketEvent, SocketKind, Target, TaskRouterEvent,
};

fn info(n: u128) -> ReservationInfo {
    ReservationInfo {
        reservation: res(n),
        task: task(n),
        caller: None,
        crm: None,
    }
}

fn reconnect(t: &mut TestSession) {
    t.socket(
        SocketKind::TaskRouter,
        SocketEvent::Closed(tsunagi_core::CloseReason::Lost),
    );
    t.advance(Duration::from_secs(2));
    t.open_sockets();
}

#[test]
fn snapshot_rings_unseen_and_stops_vanished_reservations() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.advance(Duration::from_millis(10));
    reconnect(&mut t);
    assert!(t.actions.contains(&Action::Resync {
        socket: SocketKind::TaskRouter
    }));
    let a = t.input(Input::TaskRouter(TaskRouterEvent::Snapshot {
        reservations: vec![(info(2), SnapshotStatus::Pending)],
    }));
    assert_eq!(
        count_ringing(&a),
        1,
        "the reservation pushed while we were away rings"
    );
    assert!(has(
        &a,
        &Action::Emit(Event::RingStopped {
            target: Target::Task(task(1)),
            reason: RingStopReason::Gone
        })
    ));
}

#[test]
fn snapshot_adopts_an_unknown_wrapping_task_and_completes_it() {
    let mut t = TestSession::logged_in();
    reconnect(&mut t);
    t.input(Input::TaskRouter(TaskRouterEvent::Snapshot {
        reservations: vec![(info(5), SnapshotStatus::Wrapping)],
    }));
    let a = t.advance(Duration::from_secs(121));
    assert!(has(
        &a,
        &Action::CompleteTask {
            task: task(5),
            reason: CompleteReason::AutoWrapUp
        }
    ));
}

#[test]
fn replaying_the_snapshot_changes_nothing() {
    let mut t = TestSession::logged_in();
    let snap = TaskRouterEvent::Snapshot {
        reservations: vec![(info(2), SnapshotStatus::Pending)],
    };
    t.input(Input::TaskRouter(snap.clone()));
    let a = t.input(Input::TaskRouter(snap));
    assert_eq!(count_ringing(&a), 0);
}
