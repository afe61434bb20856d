//! The customer's side of an outgoing call: the agent's leg connects first and the customer's phone rings
//! (`Event::Outgoing` `ringing` from the dial), the server's `outbound.connected` says they answered. Hold before
//! the answer is refused with its own message, locally while dialling and from the server's 409
//! `CONFERENCE_NOT_READY` after; the same 409 on a routed call says the call is still being connected.

mod common;

use common::*;
use tsunagi_core::{
    Action, ActionResult, AttemptId, Caller, Command, ControlOp, ControlTarget, DeviceEvent,
    ErrorKind, Event, Input, OutboundNews, OutgoingStage, RestResult, Target,
};

fn errors(actions: &[Action]) -> Vec<ErrorKind> {
    events(actions)
        .iter()
        .filter_map(|e| match e {
            Event::Error(u) => Some(u.kind),
            _ => None,
        })
        .collect()
}

fn stages(actions: &[Action]) -> Vec<OutgoingStage> {
    events(actions)
        .iter()
        .filter_map(|e| match e {
            Event::Outgoing { stage, .. } => Some(*stage),
            _ => None,
        })
        .collect()
}

fn dial(t: &mut TestSession) -> (Vec<Action>, AttemptId) {
    let a = t.command(Command::Dial {
        to: Caller::new("+81312345678"),
    });
    let attempt = a
        .iter()
        .find_map(|a| match a {
            Action::ConnectCall { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .expect("a ConnectCall");
    (a, attempt)
}

fn news(attempt: AttemptId, stage: OutgoingStage) -> Input {
    Input::Outbound(OutboundNews { attempt, stage })
}

fn hold_result(t: &mut TestSession, target: ControlTarget, result: RestResult) -> Vec<Action> {
    t.input(Input::Result(ActionResult::CallControl {
        target,
        op: ControlOp::Hold,
        result,
    }))
}

#[test]
fn hold_waits_for_the_customer_to_answer_and_says_so() {
    let mut t = TestSession::logged_in();
    let (a, attempt) = dial(&mut t);
    let target = Target::Outgoing(attempt);
    assert_eq!(stages(&a), [OutgoingStage::Ringing]);

    // Still dialling: refused here, with the specific message (not "no such call").
    let a = t.command(Command::Hold { target });
    assert_eq!(errors(&a), [ErrorKind::CustomerNotAnswered]);
    assert!(!a.iter().any(|a| matches!(a, Action::CallControl { .. })));

    t.device(DeviceEvent::Outgoing {
        call: call(1),
        attempt,
    });
    t.device(DeviceEvent::Accepted { call: call(1) });
    assert!(
        stages(&t.input(news(attempt, OutgoingStage::Ringing))).is_empty(),
        "the server's outbound.dialing repeats what the screen already shows"
    );

    // The agent's leg is up, the customer's phone rings: the server is asked, and its 409 gets the same words.
    let a = t.command(Command::Hold { target });
    let ctl = ControlTarget::Outgoing(attempt);
    assert!(has(
        &a,
        &Action::CallControl {
            target: ctl,
            op: ControlOp::Hold
        }
    ));
    let a = hold_result(
        &mut t,
        ctl,
        RestResult::from_server(Some(409), Some("CONFERENCE_NOT_READY")),
    );
    assert_eq!(errors(&a), [ErrorKind::CustomerNotAnswered]);

    // The customer answers; a late "ringing" does not undo it.
    let a = t.input(news(attempt, OutgoingStage::Answered));
    assert_eq!(
        events(&a),
        [&Event::Outgoing {
            target,
            stage: OutgoingStage::Answered
        }]
    );
    assert!(t.input(news(attempt, OutgoingStage::Ringing)).is_empty());
    assert!(t.input(news(attempt, OutgoingStage::Answered)).is_empty());
    let a = hold_result(&mut t, ctl, RestResult::Ok);
    assert!(errors(&a).is_empty());
    assert!(events(&a)
        .iter()
        .any(|e| matches!(e, Event::CallState { on_hold: true, .. })));
}

#[test]
fn news_of_other_calls_is_ignored_and_other_refusals_stay_generic() {
    let mut t = TestSession::logged_in();
    let stranger = AttemptId::from_random(42);
    assert!(t.input(news(stranger, OutgoingStage::Answered)).is_empty());

    // A routed call whose conference is not there yet: the 409 says "still being connected".
    t.connected_call(1);
    let a = hold_result(
        &mut t,
        ControlTarget::Task(task(1)),
        RestResult::from_server(Some(409), Some("CONFERENCE_NOT_READY")),
    );
    assert_eq!(errors(&a), [ErrorKind::CallNotReady]);
    let a = hold_result(
        &mut t,
        ControlTarget::Task(task(1)),
        RestResult::from_server(Some(409), Some("CALL_ENDED")),
    );
    assert_eq!(errors(&a), [ErrorKind::CallControlFailed]);
    assert_eq!(
        RestResult::from_server(Some(204), None),
        RestResult::Ok,
        "other replies classify as before"
    );
    assert_eq!(RestResult::from_server(None, None), RestResult::Failed);
}
