//! No wire input panics: arbitrary EventBridge frames through the frame mapping, arbitrary custom parameters,
//! arbitrary JSON as UI commands — and whatever does map to an input leaves a session consistent.

use std::collections::HashMap;
use std::time::Instant;

use proptest::prelude::*;
use serde_json::Value;
use tsunagi_core::taskrouter::{frame_input, ActivityMap, FrameInput};
use tsunagi_core::{CallParams, Command, Input, Session, SessionConfig};
use tsunagi_twilio::eventbridge::parse_frame;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[A-Za-z0-9 _.%+-]{0,40}".prop_map(Value::String),
        // SID-shaped strings, valid or nearly so, so that mapping gets past the SID checks sometimes.
        "(WR|WT|WK|WS|WA|CA)[0-9a-f]{31,33}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("sid".to_owned()),
                    Just("task_sid".to_owned()),
                    Just("activity_sid".to_owned()),
                    Just("reservation_status".to_owned()),
                    Just("task".to_owned()),
                    Just("attributes".to_owned()),
                    "[a-z_]{1,12}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects shaped like commands, with plausible and implausible fields.
fn command_json() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just("login"),
        Just("logout"),
        Just("setPresence"),
        Just("answer"),
        Just("reject"),
        Just("hangup"),
        Just("hold"),
        Just("unhold"),
        Just("mute"),
        Just("unmute"),
        Just("sendDigits"),
        Just("transfer"),
        Just("completeWrapup"),
    ];
    let target = prop_oneof![
        ("(task|call|other)", "(WT|CA)[0-9a-f]{32}")
            .prop_map(|(k, s)| serde_json::json!({"kind": k, "sid": s})),
        json_value(),
    ];
    (name, target, json_value(), "[0-9*#wa]{0,70}", "(available|away|break|offline|busy)").prop_map(
        |(name, target, extra, digits, activity)| {
            serde_json::json!({
                "command": name, "target": target, "task": extra, "digits": digits, "activity": activity,
                "to": {"kind": "number", "number": "+81312345678"}, "mode": "cold",
            })
        },
    )
}

fn event_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("init".to_owned()),
        Just("reservation.created".to_owned()),
        Just("reservation.accepted".to_owned()),
        Just("reservation.canceled".to_owned()),
        Just("reservation.timeout".to_owned()),
        Just("reservation.wrapup".to_owned()),
        Just("task.completed".to_owned()),
        Just("task.canceled".to_owned()),
        Just("worker.activity.update".to_owned()),
        "[a-z.]{0,24}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic_and_keep_the_session_consistent(
        frames in prop::collection::vec((event_type(), json_value()), 1..12),
        raw in ".{0,200}",
    ) {
        let _ = parse_frame(&raw);
        let map = ActivityMap::default();
        let mut session = Session::new(SessionConfig { sockets: Vec::new(), ..SessionConfig::default() });
        let now = Instant::now();
        session.handle(Input::Command(Command::Login), now);
        for (event_type, payload) in frames {
            let text = serde_json::json!({"event_type": event_type, "payload": payload}).to_string();
            let Ok(Some(frame)) = parse_frame(&text) else { continue };
            if let FrameInput::Input(input) = frame_input(frame, &map) {
                session.handle(input, now);
            }
        }
        // Whatever arrived, every ring shown is a live offer and nothing is stuck mid-answer.
        for o in session.reconciler().offers() {
            prop_assert!(o.reservation.is_some() || o.call.is_some());
        }
    }

    #[test]
    fn arbitrary_custom_parameters_never_panic(
        params in prop::collection::hash_map(
            prop_oneof![Just("TaskSid".to_owned()), Just("ReservationSid".to_owned()), "[A-Za-z]{1,8}"],
            ".{0,40}",
            0..4,
        ),
        from in proptest::option::of(".{0,20}"),
    ) {
        let params: HashMap<String, String> = params;
        let _ = CallParams::from_custom_parameters(&params, from.as_deref());
    }

    #[test]
    fn arbitrary_json_commands_never_panic(v in prop_oneof![json_value(), command_json()]) {
        if let Ok(cmd) = serde_json::from_value::<Command>(v) {
            let mut session = Session::new(SessionConfig { sockets: Vec::new(), ..SessionConfig::default() });
            let now = Instant::now();
            session.handle(Input::Command(Command::Login), now);
            session.handle(Input::Command(cmd), now);
        }
    }
}
