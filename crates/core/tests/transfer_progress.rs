//! A transfer of the agent's call follows the server: `dialing` once the server accepted it, then the server's
//! `transfer.connected` / `.completed` / `.failed` pushes, each shown once; news with no transfer under way is
//! ignored, and a failure pushed before the server's answer to the request is not undone by that answer.

mod common;

use common::*;
use tsunagi_core::{
    Action, ActionResult, Command, ControlOp, ControlTarget, Event, Input, RestResult, Target,
    TransferFailure, TransferMode, TransferNews, TransferStage, TransferTo, WorkerSid,
};

fn to() -> TransferTo {
    TransferTo::Worker {
        worker: WorkerSid::from_u128(7),
    }
}

fn request(t: &mut TestSession, mode: TransferMode) -> Vec<Action> {
    t.command(Command::Transfer {
        target: Target::Task(task(1)),
        to: to(),
        mode,
    })
}

fn result(t: &mut TestSession, mode: TransferMode, result: RestResult) -> Vec<Action> {
    t.input(Input::Result(ActionResult::CallControl {
        target: ControlTarget::Task(task(1)),
        op: ControlOp::Transfer { to: to(), mode },
        result,
    }))
}

fn news(stage: TransferStage, reason: Option<TransferFailure>) -> Input {
    Input::Transfer(TransferNews {
        task: task(1),
        stage,
        reason,
    })
}

fn transfer_events(
    actions: &[Action],
) -> Vec<(TransferMode, TransferStage, Option<TransferFailure>)> {
    events(actions)
        .into_iter()
        .filter_map(|e| match e {
            Event::Transfer {
                mode,
                stage,
                reason,
                ..
            } => Some((*mode, *stage, *reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_warm_transfer_goes_dialing_connected_completed_each_once() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let a = request(&mut t, TransferMode::Warm);
    assert!(a.iter().any(|a| matches!(a, Action::CallControl { .. })));
    assert!(
        transfer_events(&a).is_empty(),
        "nothing until the server accepts"
    );
    let a = result(&mut t, TransferMode::Warm, RestResult::Ok);
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Warm, TransferStage::Dialing, None)]
    );
    let a = t.input(news(TransferStage::Connected, None));
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Warm, TransferStage::Connected, None)]
    );
    assert!(
        t.input(news(TransferStage::Connected, None)).is_empty(),
        "a repeated push changes nothing"
    );
    let a = t.input(news(TransferStage::Completed, None));
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Warm, TransferStage::Completed, None)]
    );
    assert!(
        t.input(news(
            TransferStage::Failed,
            Some(TransferFailure::TargetLeft)
        ))
        .is_empty(),
        "news after the end of the transfer is ignored"
    );
}

#[test]
fn a_failure_clears_the_transfer_with_its_reason_and_a_new_transfer_starts_clean() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    request(&mut t, TransferMode::Warm);
    result(&mut t, TransferMode::Warm, RestResult::Ok);
    let a = t.input(news(TransferStage::Failed, Some(TransferFailure::NoAnswer)));
    assert_eq!(
        transfer_events(&a),
        [(
            TransferMode::Warm,
            TransferStage::Failed,
            Some(TransferFailure::NoAnswer)
        )]
    );
    // The call goes on: hold still works on it.
    let a = t.command(Command::Hold {
        target: Target::Task(task(1)),
    });
    assert!(a.iter().any(|a| matches!(
        a,
        Action::CallControl {
            op: ControlOp::Hold,
            ..
        }
    )));
    request(&mut t, TransferMode::Cold);
    let a = result(&mut t, TransferMode::Cold, RestResult::Ok);
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Cold, TransferStage::Dialing, None)]
    );
}

#[test]
fn a_failure_pushed_before_the_servers_answer_is_not_undone_by_it() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    request(&mut t, TransferMode::Warm);
    let a = t.input(news(TransferStage::Failed, Some(TransferFailure::Busy)));
    assert_eq!(
        transfer_events(&a),
        [(
            TransferMode::Warm,
            TransferStage::Failed,
            Some(TransferFailure::Busy)
        )]
    );
    let a = result(&mut t, TransferMode::Warm, RestResult::Ok);
    assert!(
        transfer_events(&a).is_empty(),
        "the late 202 must not bring the consult banner back"
    );
}

#[test]
fn a_refused_request_ends_the_transfer_with_an_error_and_stray_news_is_ignored() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    assert!(
        t.input(news(TransferStage::Connected, None)).is_empty(),
        "no transfer under way"
    );
    request(&mut t, TransferMode::Warm);
    let a = result(&mut t, TransferMode::Warm, RestResult::NotPending);
    assert!(transfer_events(&a).is_empty());
    assert!(events(&a).iter().any(|e| matches!(e, Event::Error(_))));
    assert!(t
        .input(news(TransferStage::Failed, Some(TransferFailure::Busy)))
        .is_empty());
}

#[test]
fn server_reasons_map_to_failures() {
    for (wire, want) in [
        ("busy", TransferFailure::Busy),
        ("no-answer", TransferFailure::NoAnswer),
        ("failed", TransferFailure::Unreachable),
        ("create-failed", TransferFailure::Unreachable),
        ("canceled", TransferFailure::Canceled),
        ("target-left", TransferFailure::TargetLeft),
        ("something-new", TransferFailure::Other),
    ] {
        assert_eq!(TransferFailure::from_server(wire), want, "{wire}");
    }
    let json = serde_json::to_value(Event::Transfer {
        target: Target::Task(task(1)),
        mode: TransferMode::Warm,
        stage: TransferStage::Failed,
        reason: Some(TransferFailure::NoAnswer),
    })
    .unwrap();
    assert_eq!(json["type"], "transfer");
    assert_eq!(json["stage"], "failed");
    assert_eq!(json["reason"], "noAnswer");
    assert_eq!(json["mode"], "warm");
}

#[test]
fn a_new_request_after_a_canceled_consultation_starts_over() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    request(&mut t, TransferMode::Warm);
    result(&mut t, TransferMode::Warm, RestResult::Ok);
    t.input(news(TransferStage::Connected, None));
    // The agent canceled the consultation through the server (no push for that), then transfers again.
    request(&mut t, TransferMode::Warm);
    let a = result(&mut t, TransferMode::Warm, RestResult::Ok);
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Warm, TransferStage::Dialing, None)]
    );
    let a = t.input(news(TransferStage::Connected, None));
    assert_eq!(
        transfer_events(&a),
        [(TransferMode::Warm, TransferStage::Connected, None)],
        "the new target's join is shown"
    );
}
