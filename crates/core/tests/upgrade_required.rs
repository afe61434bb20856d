//! `426 CLIENT_UPGRADE_REQUIRED`: stop taking calls, ask for an update, never fetch a token again.

mod common;

use common::*;
use tsunagi_core::{
    Action, Activity, Command, DeviceEvent, Event, Input, RestResult, RingStopReason, Target,
};

#[test]
fn upgrade_required_stops_taking_calls_and_asks_for_an_update() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    let a = t.input(Input::UpgradeRequired {
        min_supported: Some("1.6.0".into()),
    });
    assert!(has(
        &a,
        &Action::Emit(Event::UpdateRequired {
            min_supported: Some("1.6.0".into())
        })
    ));
    assert!(has(&a, &Action::CheckForUpdate));
    assert!(has(
        &a,
        &Action::Emit(Event::RingStopped {
            target: Target::Task(task(1)),
            reason: RingStopReason::NotTakingCalls
        })
    ));
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
    assert!(has(
        &a,
        &Action::SetActivity {
            activity: Activity::Offline
        }
    ));

    let a = t.reservation_created(2);
    assert_eq!(count_ringing(&a), 0);
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(2),
            reservation: res(2)
        }
    ));
    let a = t.incoming_direct(3);
    assert!(has(&a, &Action::RejectCall { call: call(3) }));

    let a = t.input(Input::Token(tsunagi_core::TokenEvent::AboutToExpire));
    assert!(!has(&a, &Action::FetchToken));
}

#[test]
fn a_call_in_progress_goes_on_after_426() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.input(Input::UpgradeRequired {
        min_supported: None,
    });
    assert!(!a.iter().any(|x| matches!(
        x,
        Action::DisconnectCall { .. } | Action::SetActivity { .. }
    )));
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    let a = t.complete_result(1, RestResult::Ok);
    assert!(
        has(
            &a,
            &Action::SetActivity {
                activity: Activity::Offline
            }
        ),
        "Offline once the work ends"
    );
}

#[test]
fn a_426_answer_to_any_request_counts() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    let a = t.complete_result(1, RestResult::UpgradeRequired);
    assert!(has(&a, &Action::CheckForUpdate));
    assert!(t.session.update_required());
}
