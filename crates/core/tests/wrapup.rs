//! Wrap-up ends by completing the task: on the agent's command or automatically; failures are retried; the
//! worker never stays in `wrapping`, and the previous activity comes back.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{
    Action, Activity, CallPhase, Command, CompleteReason, DeviceEvent, Event, Input, PresenceState,
    ReconcilerConfig, RestResult, SessionConfig, TaskRouterEvent,
};

#[test]
fn hang_up_enters_wrap_up_and_completing_restores_the_activity() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.device(DeviceEvent::Disconnected { call: call(1) });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::WrapUp,
            ..
        }
    )));
    assert_eq!(t.session.presence().shown(), Some(PresenceState::WrapUp));
    // TaskRouter moves the worker to its post-work activity meanwhile.
    t.input(Input::TaskRouter(TaskRouterEvent::WorkerActivity {
        activity: None,
    }));

    let a = t.command(Command::CompleteWrapup { task: task(1) });
    assert!(has(
        &a,
        &Action::CompleteTask {
            task: task(1),
            reason: CompleteReason::WrapUpFinished
        }
    ));
    let a = t.complete_result(1, RestResult::Ok);
    assert!(
        has(
            &a,
            &Action::SetActivity {
                activity: Activity::Available
            }
        ),
        "restores the previous activity"
    );
    assert_eq!(t.session.presence().shown(), Some(PresenceState::Available));
}

#[test]
fn wrap_up_completes_automatically_after_the_configured_time() {
    let cfg = SessionConfig {
        reconciler: ReconcilerConfig {
            auto_complete_wrapup: Some(Duration::from_secs(30)),
            ..ReconcilerConfig::default()
        },
        ..SessionConfig::default()
    };
    let mut t = TestSession::logged_in_with(cfg);
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    let a = t.advance(Duration::from_secs(29));
    assert!(!a.iter().any(|x| matches!(x, Action::CompleteTask { .. })));
    let a = t.advance(Duration::from_secs(2));
    assert!(has(
        &a,
        &Action::CompleteTask {
            task: task(1),
            reason: CompleteReason::AutoWrapUp
        }
    ));
}

#[test]
fn failed_completion_is_retried_until_it_succeeds() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    let a = t.complete_result(1, RestResult::Failed);
    assert!(events(&a).iter().any(|e| matches!(e, Event::Error(_))));
    for round in 0..5 {
        let a = t.advance(Duration::from_secs(31));
        assert!(
            a.iter().any(|x| matches!(x, Action::CompleteTask { .. })),
            "round {round}: retried"
        );
        let a = t.complete_result(1, RestResult::Failed);
        assert!(
            !events(&a).iter().any(|e| matches!(e, Event::Error(_))),
            "reported once"
        );
    }
    t.advance(Duration::from_secs(31));
    t.complete_result(1, RestResult::Ok);
    assert_eq!(t.session.reconciler().offers().count(), 0);
    assert_ne!(t.session.presence().shown(), Some(PresenceState::WrapUp));
}

#[test]
fn already_completed_counts_as_done() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    t.command(Command::CompleteWrapup { task: task(1) });
    t.complete_result(1, RestResult::NotPending);
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn task_wrapup_push_enters_wrap_up_too() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = t.input(Input::TaskRouter(TaskRouterEvent::TaskWrapup {
        task: task(1),
    }));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::WrapUp,
            ..
        }
    )));
    let a = t.device(DeviceEvent::Disconnected { call: call(1) });
    assert!(
        events(&a).is_empty()
            || !events(&a)
                .iter()
                .any(|e| matches!(e, Event::CallState { .. }))
    );
    let a = t.input(Input::TaskRouter(TaskRouterEvent::TaskCompleted {
        task: task(1),
    }));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::Ended,
            ..
        }
    )));
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn done_after_the_server_completed_the_task_is_no_error() {
    // Notes go to the server, which completes the task; TaskRouter's word may reach the core before the agent's
    // Done does. Done then finds nothing to do, and says nothing; an unknown task is still an error.
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    t.device(DeviceEvent::Disconnected { call: call(1) });
    let a = t.input(Input::TaskRouter(TaskRouterEvent::TaskCompleted {
        task: task(1),
    }));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallState {
            phase: CallPhase::Ended,
            ..
        }
    )));
    let a = t.command(Command::CompleteWrapup { task: task(1) });
    assert!(a.is_empty(), "{a:?}");
    let a = t.command(Command::CompleteWrapup { task: task(2) });
    assert!(events(&a).iter().any(|e| matches!(e, Event::Error(_))));
}
