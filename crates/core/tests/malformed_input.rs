//! Bad input at the edge gives errors, never panics: malformed call parameters, commands about unknown calls,
//! invalid digits, commands before sign-in, and results nobody asked for.

mod common;

use std::collections::HashMap;

use common::*;
use tsunagi_core::{
    Action, ActionResult, CallParams, Command, ControlOp, CoreError, DeviceEvent, ErrorKind, Event,
    Input, ReservationInfo, RestResult, SessionConfig, Target, TaskRouterEvent,
};

fn error_kinds(a: &[Action]) -> Vec<ErrorKind> {
    events(a)
        .iter()
        .filter_map(|e| match e {
            Event::Error(err) => Some(err.kind),
            _ => None,
        })
        .collect()
}

#[test]
fn call_parameters_are_validated_at_the_edge() {
    let mut p = HashMap::new();
    p.insert("TaskSid".to_owned(), task(1).as_str().to_owned());
    p.insert("ReservationSid".to_owned(), res(1).as_str().to_owned());
    let params = CallParams::from_custom_parameters(&p, Some("+81312345678")).unwrap();
    assert_eq!(params.task, Some(task(1)));
    assert_eq!(params.reservation, Some(res(1)));

    let mut bad = HashMap::new();
    bad.insert("TaskSid".to_owned(), "WT-not-a-sid".to_owned());
    assert!(matches!(
        CallParams::from_custom_parameters(&bad, None),
        Err(CoreError::InvalidParameter {
            name: "TaskSid",
            ..
        })
    ));
    let none = CallParams::from_custom_parameters(&HashMap::new(), None).unwrap();
    assert_eq!(none.task, None, "no TaskSid: a direct call");
}

#[test]
fn task_attributes_decode_the_crm_name() {
    let attrs = serde_json::json!({
        "from": "+81312345678",
        "customer_id": "C-000123",
        "customer_name_enc": "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90",
    });
    let info = ReservationInfo::from_task_attributes(res(1), task(1), &attrs);
    let crm = info.crm.unwrap();
    assert_eq!(crm.customer_name.as_deref(), Some("山田 花子"));
    assert_eq!(crm.customer_id.as_deref(), Some("C-000123"));
    assert_eq!(info.caller.unwrap().expose(), "+81312345678");
    assert_eq!(crm.owner_name, None, "no owner in these attributes");
    let owned = serde_json::json!({
        "customer_id": "C-000123",
        "owner_agent_id": "agent_1024",
        "owner_name_enc": "%E7%94%B0%E4%B8%AD%20%E5%A4%AA%E9%83%8E",
        "department_id": "sales",
        "department_name_enc": "%E5%96%B6%E6%A5%AD%E9%83%A8",
    });
    let crm = ReservationInfo::from_task_attributes(res(1), task(1), &owned)
        .crm
        .unwrap();
    assert_eq!(crm.owner_id.as_deref(), Some("agent_1024"));
    assert_eq!(crm.owner_name.as_deref(), Some("田中 太郎"));
    assert_eq!(crm.department_id.as_deref(), Some("sales"));
    assert_eq!(crm.department_name.as_deref(), Some("営業部"));
    let weird = serde_json::json!({"customer_name_enc": "%FF%FE", "from": 42});
    let info = ReservationInfo::from_task_attributes(res(1), task(1), &weird);
    assert!(info.crm.is_none() && info.caller.is_none());
}

#[test]
fn commands_about_unknown_calls_are_errors() {
    let mut t = TestSession::logged_in();
    for cmd in [
        Command::Answer {
            target: Target::Task(task(7)),
        },
        Command::Reject {
            target: Target::Call(call(7)),
        },
        Command::Hangup {
            target: Target::Task(task(7)),
        },
        Command::Hold {
            target: Target::Task(task(7)),
        },
        Command::Mute {
            target: Target::Call(call(7)),
        },
        Command::CompleteWrapup { task: task(7) },
    ] {
        let a = t.command(cmd.clone());
        assert_eq!(error_kinds(&a), vec![ErrorKind::NoSuchCall], "{cmd:?}");
    }
}

#[test]
fn invalid_digits_are_refused() {
    let mut t = TestSession::logged_in();
    t.connected_call(1);
    let target = Target::Task(task(1));
    for digits in ["", "12a", "１２", &"1".repeat(65)] {
        let a = t.command(Command::SendDigits {
            target,
            digits: digits.to_owned(),
        });
        assert_eq!(
            error_kinds(&a),
            vec![ErrorKind::InvalidDigits],
            "{digits:?}"
        );
    }
    let a = t.command(Command::SendDigits {
        target,
        digits: "12#*w".into(),
    });
    assert!(has(
        &a,
        &Action::SendDigits {
            call: call(1),
            digits: "12#*w".into()
        }
    ));
}

#[test]
fn commands_before_sign_in_are_refused() {
    let mut t = TestSession::new(SessionConfig::default());
    let a = t.command(Command::Answer {
        target: Target::Task(task(1)),
    });
    assert_eq!(error_kinds(&a), vec![ErrorKind::NotLoggedIn]);
}

#[test]
fn unsolicited_results_and_events_change_nothing() {
    let mut t = TestSession::logged_in();
    let inputs = [
        Input::Result(ActionResult::AcceptReservation {
            reservation: res(9),
            result: RestResult::Ok,
        }),
        Input::Result(ActionResult::CompleteTask {
            task: task(9),
            result: RestResult::Failed,
        }),
        Input::Result(ActionResult::CallControl {
            target: tsunagi_core::ControlTarget::Task(task(9)),
            op: ControlOp::Hold,
            result: RestResult::Ok,
        }),
        Input::Device(DeviceEvent::Accepted { call: call(9) }),
        Input::Device(DeviceEvent::AcceptFailed { call: call(9) }),
        Input::Device(DeviceEvent::Disconnected { call: call(9) }),
        Input::Device(DeviceEvent::Muted {
            call: call(9),
            muted: true,
        }),
        Input::TaskRouter(TaskRouterEvent::ReservationAccepted {
            reservation: res(9),
            task: task(9),
        }),
        Input::TaskRouter(TaskRouterEvent::TaskWrapup { task: task(9) }),
        Input::TaskRouter(TaskRouterEvent::TaskCompleted { task: task(9) }),
    ];
    for input in inputs {
        let a = t.input(input.clone());
        assert!(a.is_empty(), "{input:?} → {a:?}");
    }
    assert_eq!(t.session.reconciler().offers().count(), 0);
}
