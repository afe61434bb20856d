//! From TaskRouter's wire shapes to session inputs, without I/O: EventBridge frames ([`frame_input`]), the
//! worker's active reservations ([`snapshot`]), and the workspace's activities ([`ActivityMap`]).
//!
//! The wire types are `tsunagi_twilio::eventbridge`'s; this module only decides what they mean for the session.
//! Frames that are malformed, carry invalid SIDs or are of no interest map to [`FrameInput::Ignored`], never to a
//! panic.

use std::collections::HashMap;

use serde_json::Value;
use tsunagi_twilio::eventbridge::{self as eb, Frame, InitPayload};
use tsunagi_twilio::{ReservationSid, TaskSid};

use crate::api::Activity;
use crate::input::{Input, ReservationEnd, ReservationInfo, SnapshotStatus, TaskRouterEvent};

/// The workspace's activities, matched to the four selectable ones by friendly name (case-insensitive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityMap {
    by_sid: HashMap<String, Activity>,
    by_activity: HashMap<Activity, String>,
}

impl ActivityMap {
    /// Builds the map from the workspace's activity list; names other than Available / Away / Break / Offline
    /// (e.g. "WrapUp") map to no selectable activity.
    pub fn from_activities(list: &[eb::Activity]) -> Self {
        let mut map = Self::default();
        for a in list {
            let activity = match a.friendly_name.to_ascii_lowercase().as_str() {
                "available" | "idle" => Activity::Available,
                "away" => Activity::Away,
                "break" => Activity::Break,
                "offline" => Activity::Offline,
                _ => continue,
            };
            map.by_sid.insert(a.sid.clone(), activity);
            map.by_activity
                .entry(activity)
                .or_insert_with(|| a.sid.clone());
        }
        map
    }

    /// No activity is known yet (the workspace's list has not been loaded).
    pub fn is_empty(&self) -> bool {
        self.by_sid.is_empty()
    }

    /// The selectable activity of `sid`, if it is one.
    pub fn activity(&self, sid: &str) -> Option<Activity> {
        self.by_sid.get(sid).copied()
    }

    /// The `WA…` SID of `activity` in this workspace.
    pub fn sid(&self, activity: Activity) -> Option<&str> {
        self.by_activity.get(&activity).map(String::as_str)
    }
}

/// What one EventBridge frame means for the session.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameInput {
    /// The socket's `init`: the protocol is up (feed [`crate::SocketEvent::Ready`]).
    Init(InitPayload),
    /// An input for the session.
    Input(Input),
    /// Nothing for the session (unknown type, malformed payload, invalid SID).
    Ignored,
}

/// Reads a reservation resource as offered to this worker. `None` if its SIDs are invalid.
pub fn reservation_info(r: &eb::Reservation) -> Option<ReservationInfo> {
    let reservation = ReservationSid::parse(&r.sid).ok()?;
    let task = TaskSid::parse(&r.task_sid).ok()?;
    let attributes = r
        .task
        .as_ref()
        .and_then(|t| serde_json::from_str::<Value>(&t.attributes).ok())
        .unwrap_or(Value::Null);
    Some(ReservationInfo::from_task_attributes(
        reservation,
        task,
        &attributes,
    ))
}

fn reservation_ids(payload: &Value) -> Option<(ReservationSid, TaskSid)> {
    let sid = payload.get("sid")?.as_str()?;
    let task = payload.get("task_sid")?.as_str()?;
    Some((ReservationSid::parse(sid).ok()?, TaskSid::parse(task).ok()?))
}

fn task_sid(payload: &Value) -> Option<TaskSid> {
    TaskSid::parse(payload.get("sid")?.as_str()?).ok()
}

/// Maps an EventBridge frame to a session input.
pub fn frame_input(frame: Frame, activities: &ActivityMap) -> FrameInput {
    let tr = |ev| FrameInput::Input(Input::TaskRouter(ev));
    let ended = |payload: &Value, end| match reservation_ids(payload) {
        Some((reservation, task)) => tr(TaskRouterEvent::ReservationEnded {
            reservation,
            task,
            end,
        }),
        None => FrameInput::Ignored,
    };
    let task_event = |payload: &Value, make: fn(TaskSid) -> TaskRouterEvent| match task_sid(payload)
    {
        Some(t) => tr(make(t)),
        None => FrameInput::Ignored,
    };
    match frame.event_type.as_str() {
        "init" => match serde_json::from_value(frame.payload) {
            Ok(init) => FrameInput::Init(init),
            Err(_) => FrameInput::Ignored,
        },
        "reservation.created" => serde_json::from_value::<eb::Reservation>(frame.payload)
            .ok()
            .and_then(|r| reservation_info(&r))
            .map_or(FrameInput::Ignored, |i| {
                tr(TaskRouterEvent::ReservationCreated(i))
            }),
        "reservation.accepted" => match reservation_ids(&frame.payload) {
            Some((reservation, task)) => {
                tr(TaskRouterEvent::ReservationAccepted { reservation, task })
            }
            None => FrameInput::Ignored,
        },
        "reservation.canceled" => ended(&frame.payload, ReservationEnd::Canceled),
        "reservation.rescinded" => ended(&frame.payload, ReservationEnd::Rescinded),
        "reservation.timeout" => ended(&frame.payload, ReservationEnd::Timeout),
        "reservation.rejected" => ended(&frame.payload, ReservationEnd::Rejected),
        "reservation.completed" => ended(&frame.payload, ReservationEnd::Completed),
        "reservation.wrapup" => match reservation_ids(&frame.payload) {
            Some((_, task)) => tr(TaskRouterEvent::TaskWrapup { task }),
            None => FrameInput::Ignored,
        },
        "task.wrapup" => task_event(&frame.payload, |task| TaskRouterEvent::TaskWrapup { task }),
        "task.completed" => task_event(&frame.payload, |task| TaskRouterEvent::TaskCompleted {
            task,
        }),
        "task.canceled" => task_event(&frame.payload, |task| TaskRouterEvent::TaskCanceled {
            task,
        }),
        "worker.activity.update" => match frame.payload.get("activity_sid").and_then(Value::as_str)
        {
            Some(sid) => tr(TaskRouterEvent::WorkerActivity {
                activity: activities.activity(sid),
            }),
            None => FrameInput::Ignored,
        },
        _ => FrameInput::Ignored,
    }
}

/// The resync snapshot from the worker's active reservations (`GET …/Reservations?Active=true`, v2).
pub fn snapshot(reservations: &[eb::Reservation]) -> Input {
    let reservations = reservations
        .iter()
        .filter_map(|r| {
            let status = match r.reservation_status.as_str() {
                "pending" => SnapshotStatus::Pending,
                "accepted" => SnapshotStatus::Accepted,
                "wrapping" => SnapshotStatus::Wrapping,
                _ => return None,
            };
            Some((reservation_info(r)?, status))
        })
        .collect();
    Input::TaskRouter(TaskRouterEvent::Snapshot { reservations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reservation(status: &str) -> Value {
        json!({
            "account_sid": "AC", "date_created": 1, "date_updated": 1, "reservation_status": status,
            "reservation_timeout": 25, "sid": ReservationSid::from_u128(1).as_str(),
            "task_sid": TaskSid::from_u128(1).as_str(), "task_channel_sid": "TC", "version": "1",
            "worker_name": "alice", "worker_sid": "WK", "workspace_sid": "WS",
            "task": {
                "account_sid": "AC", "addons": "{}", "age": 0, "assignment_status": "reserved",
                "attributes": "{\"from\":\"+81312345678\",\"customer_id\":\"C-1\"}",
                "date_created": 1, "date_updated": 1, "priority": 0, "queue_name": null, "queue_sid": null,
                "reason": null, "routing_target": null, "sid": TaskSid::from_u128(1).as_str(),
                "task_channel_sid": "TC", "task_channel_unique_name": "voice", "timeout": 600,
                "workflow_name": "w", "workflow_sid": "WW", "version": "0", "virtual_start_time": 1,
                "workspace_sid": "WS"
            }
        })
    }

    fn frame(event_type: &str, payload: Value) -> Frame {
        Frame {
            event_type: event_type.into(),
            payload,
        }
    }

    #[test]
    fn reservation_created_carries_caller_and_crm() {
        let got = frame_input(
            frame("reservation.created", reservation("pending")),
            &ActivityMap::default(),
        );
        let FrameInput::Input(Input::TaskRouter(TaskRouterEvent::ReservationCreated(info))) = got
        else {
            panic!("{got:?}");
        };
        assert_eq!(info.task, TaskSid::from_u128(1));
        assert_eq!(info.caller.unwrap().expose(), "+81312345678");
        assert_eq!(info.crm.unwrap().customer_id.as_deref(), Some("C-1"));
    }

    #[test]
    fn ends_and_task_events_map() {
        let map = ActivityMap::default();
        assert!(matches!(
            frame_input(frame("reservation.timeout", reservation("timeout")), &map),
            FrameInput::Input(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                end: ReservationEnd::Timeout,
                ..
            }))
        ));
        assert!(matches!(
            frame_input(
                frame(
                    "task.canceled",
                    json!({"sid": TaskSid::from_u128(1).as_str()})
                ),
                &map
            ),
            FrameInput::Input(Input::TaskRouter(TaskRouterEvent::TaskCanceled { .. }))
        ));
    }

    #[test]
    fn malformed_frames_are_ignored() {
        let map = ActivityMap::default();
        for f in [
            frame("reservation.created", json!({"sid": "WR-bad"})),
            frame("reservation.canceled", json!({"sid": 5, "task_sid": null})),
            frame("task.completed", json!([])),
            frame("init", json!({"channel_id": 1})),
            frame("worker.activity.update", Value::Null),
            frame("something.else", json!({})),
        ] {
            assert_eq!(frame_input(f, &map), FrameInput::Ignored);
        }
    }

    #[test]
    fn activities_map_by_name_and_snapshot_filters_statuses() {
        let act = |sid: &str, name: &str| eb::Activity {
            account_sid: "AC".into(),
            available: false,
            date_created: 0,
            date_updated: 0,
            friendly_name: name.into(),
            sid: sid.into(),
            workspace_sid: "WS".into(),
        };
        let map = ActivityMap::from_activities(&[
            act("WA1", "Available"),
            act("WA2", "Offline"),
            act("WA3", "WrapUp"),
        ]);
        assert_eq!(map.activity("WA1"), Some(Activity::Available));
        assert_eq!(map.activity("WA3"), None);
        assert_eq!(map.sid(Activity::Offline), Some("WA2"));
        let list: Vec<eb::Reservation> = ["pending", "completed", "wrapping"]
            .iter()
            .map(|s| serde_json::from_value(reservation(s)).unwrap())
            .collect();
        let Input::TaskRouter(TaskRouterEvent::Snapshot { reservations }) = snapshot(&list) else {
            panic!()
        };
        let statuses: Vec<_> = reservations.iter().map(|(_, s)| *s).collect();
        assert_eq!(
            statuses,
            vec![SnapshotStatus::Pending, SnapshotStatus::Wrapping]
        );
    }
}
