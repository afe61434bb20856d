//! The wire shapes of commands and events: camelCase, internally tagged, stable names. These strings are the
//! contract with the UI (Tauri IPC and the loopback WebSocket); changing one is a breaking change.

mod common;

use common::*;
use serde_json::json;
use tsunagi_core::{
    Activity, CallPhase, Caller, Command, ConnectionState, Crm, ErrorKind, Event, PresenceState,
    RingStopReason, SocketKind, Target, TransferMode, TransferTo, UserError,
};

#[test]
fn commands_deserialize_from_the_ui_shape() {
    let c: Command = serde_json::from_value(json!({
        "command": "answer",
        "target": {"kind": "task", "sid": task(1).as_str()}
    }))
    .unwrap();
    assert_eq!(
        c,
        Command::Answer {
            target: Target::Task(task(1))
        }
    );

    let c: Command =
        serde_json::from_value(json!({"command": "setPresence", "activity": "break"})).unwrap();
    assert_eq!(
        c,
        Command::SetPresence {
            activity: Activity::Break
        }
    );

    let c: Command = serde_json::from_value(json!({
        "command": "sendDigits",
        "target": {"kind": "call", "sid": call(2).as_str()},
        "digits": "12#"
    }))
    .unwrap();
    assert_eq!(
        c,
        Command::SendDigits {
            target: Target::Call(call(2)),
            digits: "12#".into()
        }
    );

    let c: Command = serde_json::from_value(json!({
        "command": "transfer",
        "target": {"kind": "task", "sid": task(1).as_str()},
        "to": {"kind": "number", "number": "+81312345678"},
        "mode": "warm"
    }))
    .unwrap();
    assert_eq!(
        c,
        Command::Transfer {
            target: Target::Task(task(1)),
            to: TransferTo::Number {
                number: Caller::new("+81312345678")
            },
            mode: TransferMode::Warm
        }
    );
    let c: Command =
        serde_json::from_value(json!({"command": "completeWrapup", "task": task(3).as_str()}))
            .unwrap();
    assert_eq!(c, Command::CompleteWrapup { task: task(3) });
}

#[test]
fn malformed_commands_are_refused_not_panicked_on() {
    for bad in [
        json!({"command": "answer", "target": {"kind": "task", "sid": "CA123"}}),
        json!({"command": "answer", "target": {"kind": "task", "sid": call(1).as_str()}}),
        json!({"command": "explode"}),
        json!({"command": "setPresence", "activity": "busy"}),
        json!([1, 2, 3]),
    ] {
        assert!(
            serde_json::from_value::<Command>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn events_serialize_to_the_documented_shape() {
    let e = Event::Ringing {
        target: Target::Task(task(1)),
        task: Some(task(1)),
        call: None,
        caller: Some(Caller::new("+81312345678")),
        crm: Some(Crm {
            customer_id: Some("C-1".into()),
            customer_name: Some("山田 花子".into()),
            ..Crm::default()
        }),
    };
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!({
            "type": "ringing",
            "target": {"kind": "task", "sid": task(1).as_str()},
            "task": task(1).as_str(),
            "caller": "+81312345678",
            "crm": {"customerId": "C-1", "customerName": "山田 花子"}
        })
    );
    assert_eq!(
        serde_json::to_value(Event::RingStopped {
            target: Target::Call(call(1)),
            reason: RingStopReason::CallerHungUp
        })
        .unwrap(),
        json!({"type": "ringStopped", "target": {"kind": "call", "sid": call(1).as_str()}, "reason": "callerHungUp"})
    );
    assert_eq!(
        serde_json::to_value(Event::CallState {
            target: Target::Task(task(1)),
            phase: CallPhase::WrapUp,
            muted: false,
            on_hold: true
        })
        .unwrap()["onHold"],
        json!(true)
    );
    assert_eq!(
        serde_json::to_value(Event::Presence {
            state: PresenceState::WrapUp,
            selected: Activity::Available
        })
        .unwrap(),
        json!({"type": "presence", "state": "wrapUp", "selected": "available"})
    );
    assert_eq!(
        serde_json::to_value(Event::Connection {
            socket: SocketKind::TaskRouter,
            state: ConnectionState::Reconnecting {
                attempt: 2,
                retry_in_ms: 1500
            }
        })
        .unwrap(),
        json!({"type": "connection", "socket": "taskRouter", "state": {"state": "reconnecting", "attempt": 2, "retryInMs": 1500}})
    );
    assert_eq!(
        serde_json::to_value(Event::UpdateRequired {
            min_supported: Some("1.6.0".into())
        })
        .unwrap(),
        json!({"type": "updateRequired", "minSupported": "1.6.0"})
    );
    let err =
        serde_json::to_value(Event::Error(UserError::new(ErrorKind::TokenPolicy, None))).unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["kind"], "tokenPolicy");
    assert!(err["messageJa"].as_str().unwrap().contains("ポリシー"));
    assert!(err["messageEn"].as_str().unwrap().contains("403"));
}

#[test]
fn events_round_trip() {
    let e = Event::Error(UserError::new(
        ErrorKind::AnswerTimedOut,
        Some(Target::Task(task(1))),
    ));
    let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
    assert_eq!(back, e);
}

#[test]
fn caller_numbers_are_redacted_in_debug_output() {
    let e = Event::Ringing {
        target: Target::Task(task(1)),
        task: None,
        call: None,
        caller: Some(Caller::new("+81312345678")),
        crm: Some(Crm {
            customer_id: None,
            customer_name: Some("山田 花子".into()),
            ..Crm::default()
        }),
    };
    let dbg = format!("{e:?}");
    assert!(!dbg.contains("312345678"), "{dbg}");
    assert!(!dbg.contains("山田"), "{dbg}");
}
