//! Presence: login → Available; choices during work wait; Busy and WrapUp are derived; changes made elsewhere
//! are adopted.

mod common;

use common::*;
use tsunagi_core::{
    Action, ActionResult, Activity, Command, DeviceEvent, Event, Input, PresenceState, RestResult,
    TaskRouterEvent,
};

#[test]
fn login_sets_available() {
    let t = TestSession::logged_in();
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Available));
    assert_eq!(t.session.presence().selected(), Activity::Available);
}

#[test]
fn choosing_break_sets_it_and_shows_it() {
    let mut t = TestSession::logged_in();
    let a = t.command(Command::SetPresence {
        activity: Activity::Break,
    });
    assert!(has(
        &a,
        &Action::SetActivity {
            activity: Activity::Break
        }
    ));
    assert!(has(
        &a,
        &Action::Emit(Event::Presence {
            state: PresenceState::Break,
            selected: Activity::Break
        })
    ));
}

#[test]
fn a_choice_made_during_a_call_waits_for_the_end_of_wrap_up() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.command(Command::SetPresence {
        activity: Activity::Away,
    });
    assert!(
        !a.iter().any(|x| matches!(x, Action::SetActivity { .. })),
        "not during a call"
    );
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Busy));
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    let a = t.complete_result(1, RestResult::Ok);
    assert!(has(
        &a,
        &Action::SetActivity {
            activity: Activity::Away
        }
    ));
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Away));
}

#[test]
fn a_change_made_elsewhere_is_adopted_when_idle() {
    let mut t = TestSession::logged_in();
    t.input(Input::TaskRouter(TaskRouterEvent::WorkerActivity {
        activity: Some(Activity::Offline),
    }));
    assert_eq!(t.session.presence().selected(), Activity::Offline);
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Offline));
    assert!(
        !t.actions
            .iter()
            .any(|x| matches!(x, Action::SetActivity { .. })),
        "no tug of war"
    );
}

#[test]
fn a_failed_change_is_reported_and_not_retried_in_a_loop() {
    let mut t = TestSession::logged_in();
    t.command(Command::SetPresence {
        activity: Activity::Break,
    });
    let a = t.input(Input::Result(ActionResult::SetActivity {
        activity: Activity::Break,
        result: RestResult::Failed,
    }));
    assert!(events(&a).iter().any(|e| matches!(e, Event::Error(_))));
    assert!(!a.iter().any(|x| matches!(x, Action::SetActivity { .. })));
    let a = t.input(Input::Tick);
    assert!(!a.iter().any(|x| matches!(x, Action::SetActivity { .. })));
}

#[test]
fn logout_sets_offline_then_disconnects_and_is_refused_during_a_call() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.command(Command::Logout);
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Error(err) if err.kind == tsunagi_core::ErrorKind::CallInProgress
    )));
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    t.complete_result(1, RestResult::Ok);
    let a = t.command(Command::Logout);
    let set = a.iter().position(|x| {
        *x == Action::SetActivity {
            activity: Activity::Offline,
        }
    });
    let disc = a
        .iter()
        .position(|x| matches!(x, Action::Disconnect { .. }));
    assert!(
        set.is_some() && disc.is_some() && set < disc,
        "Offline first, then close: {a:?}"
    );
    assert!(!t.session.is_logged_in());
}
