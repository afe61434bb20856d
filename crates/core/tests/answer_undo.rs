//! Answer = accept the reservation, then the call; when either fails, the other is undone and the agent is told.

mod common;

use common::*;
use tsunagi_core::{
    Action, Command, CompleteReason, DeviceEvent, ErrorKind, Event, RestResult, Target,
};

fn answered() -> TestSession {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.incoming(1);
    t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    t
}

fn error_kind(a: &[Action]) -> Option<ErrorKind> {
    events(a).iter().find_map(|e| match e {
        Event::Error(err) => Some(err.kind),
        _ => None,
    })
}

#[test]
fn forbidden_403_is_a_token_policy_problem_and_undoes_both_halves() {
    let mut t = answered();
    let a = t.accept_result(1, RestResult::Forbidden);
    assert_eq!(error_kind(&a), Some(ErrorKind::TokenPolicy));
    assert!(
        has(&a, &Action::RejectCall { call: call(1) }),
        "undo the call"
    );
    assert!(
        has(
            &a,
            &Action::RejectReservation {
                task: task(1),
                reservation: res(1)
            }
        ),
        "reject the reservation so the task re-routes"
    );
    assert!(!a.iter().any(|x| matches!(x, Action::AcceptCall { .. })));
    let Some(Event::Error(err)) = events(&a)
        .into_iter()
        .find(|e| matches!(e, Event::Error(_)))
    else {
        unreachable!()
    };
    assert!(err
        .message_en
        .contains("Policies defined such that we cannot access the given resource"));
    assert!(err.message_ja.contains("ポリシー"));
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn reservation_no_longer_pending_rejects_the_call_only() {
    let mut t = answered();
    let a = t.accept_result(1, RestResult::NotPending);
    assert_eq!(error_kind(&a), Some(ErrorKind::CallNoLongerAvailable));
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::RejectReservation { .. })));
}

#[test]
fn network_failure_undoes_and_reroutes() {
    let mut t = answered();
    let a = t.accept_result(1, RestResult::Failed);
    assert_eq!(error_kind(&a), Some(ErrorKind::AnswerFailed));
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
    assert!(has(
        &a,
        &Action::RejectReservation {
            task: task(1),
            reservation: res(1)
        }
    ));
}

#[test]
fn call_accept_failure_after_the_reservation_completes_the_task() {
    let mut t = answered();
    t.accept_result(1, RestResult::Ok);
    let a = t.device(DeviceEvent::AcceptFailed { call: call(1) });
    assert_eq!(error_kind(&a), Some(ErrorKind::CallAcceptFailed));
    assert!(has(
        &a,
        &Action::CompleteTask {
            task: task(1),
            reason: CompleteReason::AgentLegFailed
        }
    ));
    t.complete_result(1, RestResult::Ok);
    assert_eq!(t.session.reconciler().offers().count(), 0);
}

#[test]
fn caller_hangs_up_while_the_accept_is_in_flight() {
    let mut t = answered();
    let a = t.device(DeviceEvent::Canceled { call: call(1) });
    assert_eq!(error_kind(&a), Some(ErrorKind::CallNoLongerAvailable));
    // The accept succeeds afterwards: the task is assigned with no call, so it is completed, never left hanging.
    let a = t.accept_result(1, RestResult::Ok);
    assert!(!a.iter().any(|x| matches!(x, Action::AcceptCall { .. })));
    assert!(has(
        &a,
        &Action::CompleteTask {
            task: task(1),
            reason: CompleteReason::CallerAbandoned
        }
    ));
}

#[test]
fn hang_up_pressed_while_connecting_works() {
    let mut t = answered();
    let a = t.command(Command::Hangup {
        target: Target::Task(task(1)),
    });
    assert!(has(&a, &Action::RejectCall { call: call(1) }));
    assert!(error_kind(&a).is_none(), "the agent asked for it");
    let a = t.accept_result(1, RestResult::Ok);
    assert!(!a.iter().any(|x| matches!(x, Action::AcceptCall { .. })));
    assert!(a.iter().any(|x| matches!(x, Action::CompleteTask { .. })));
}
