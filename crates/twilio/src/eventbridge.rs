//! TaskRouter EventBridge wire formats, as spoken by the `twilio-taskrouter` 2.1.1 Worker SDK
//! (specs/taskrouter-protocol.md §3–§6).
//!
//! - [`Frame`]: a server→client text frame `{"event_type": …, "payload": …}`; whitespace-only frames are keepalives
//!   ([`parse_frame`] returns `Ok(None)` for them, and [`KEEPALIVE`] is what a server sends).
//! - [`InitPayload`]: the first frame on every socket.
//! - [`ProxyRequest`] / [`ProxyResponse`] / [`Page`]: the `POST …/v1/wschannels` REST proxy envelope.
//! - [`Worker`], [`Activity`], [`WorkerChannel`], [`Task`], [`Reservation`]: resources in the proxy's shape —
//!   snake_case keys, dates in **epoch seconds** (except `last_reserved_time`, epoch ms), `attributes`/`addons` as
//!   JSON **strings**, `version` as a string. Every key the SDK checks with `key in payload` is always serialized
//!   (as `null` when unset), and `task_transfer` is never serialized at all (a `null` breaks the SDK).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest frame [`parse_frame`] accepts, in bytes.
pub const MAX_FRAME_LEN: usize = 1024 * 1024;

/// The keepalive a server sends at least every ~15 s (the SDK's watchdog fires after 30 s of silence).
pub const KEEPALIVE: &str = "\n";

/// Why an EventBridge frame or envelope is rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventBridgeError {
    /// The frame exceeds [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLong {
        /// Frame length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame is not the expected JSON.
    #[error("malformed frame: {0}")]
    Json(#[from] serde_json::Error),
}

/// A server→client frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// Event name, e.g. `reservation.created`, `init`, `worker.activity.update`.
    pub event_type: String,
    /// The resource or init payload.
    #[serde(default)]
    pub payload: Value,
}

impl Frame {
    /// A frame with a serializable payload.
    pub fn new(event_type: impl Into<String>, payload: &impl Serialize) -> Self {
        Self {
            event_type: event_type.into(),
            payload: serde_json::to_value(payload).unwrap_or(Value::Null),
        }
    }

    /// Compact JSON text of the frame.
    pub fn to_text(&self) -> String {
        // Invariant: a struct of a String and a serde_json::Value always serializes.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses a received text frame: `Ok(None)` for a keepalive, `Ok(Some(frame))` for an event.
pub fn parse_frame(text: &str) -> Result<Option<Frame>, EventBridgeError> {
    if text.len() > MAX_FRAME_LEN {
        return Err(EventBridgeError::TooLong {
            len: text.len(),
            max: MAX_FRAME_LEN,
        });
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(text)?))
}

/// Payload of the `init` frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitPayload {
    /// `AC…` of the token.
    pub account_sid: String,
    /// `WS…` from the token's `task_router` grant.
    pub workspace_sid: String,
    /// The worker SID (`WK…`); the SDK takes its identity from here.
    pub channel_id: String,
    /// Milliseconds until the token's `exp` (a duration, not an epoch).
    pub token_lifetime: i64,
}

/// Body of a `POST …/v1/wschannels` proxy request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyRequest {
    /// Relative resource path, e.g. `Workspaces/WS…/Workers/WK…`.
    pub url: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Typed JSON parameters (objects, booleans and numbers stay typed).
    #[serde(default)]
    pub params: Value,
    /// The Access Token.
    pub token: String,
}

/// Body of a successful proxy response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProxyResponse<T> {
    /// Always `null`.
    pub event_type: Option<String>,
    /// The resource or [`Page`].
    pub payload: T,
}

/// A list page in the proxy's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub contents: Vec<T>,
    /// `{"list_key": "contents"}`.
    pub meta: Value,
    /// SID to pass as `AfterSid` for the next page, or `null`.
    pub after_sid: Option<String>,
    /// Always `null` here.
    pub before_sid: Option<String>,
}

impl<T> Page<T> {
    /// A single, final page.
    pub fn single(contents: Vec<T>) -> Self {
        Self {
            contents,
            meta: serde_json::json!({"list_key": "contents"}),
            after_sid: None,
            before_sid: None,
        }
    }
}

/// A Worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Worker {
    /// `AC…`.
    pub account_sid: String,
    /// Friendly name of the current activity.
    pub activity_name: String,
    /// Current activity `WA…`.
    pub activity_sid: String,
    /// Attributes as a JSON string.
    pub attributes: String,
    /// Whether the current activity is available.
    pub available: bool,
    /// Epoch seconds.
    pub date_created: u64,
    /// Epoch seconds of the last activity change.
    pub date_status_changed: u64,
    /// Epoch seconds.
    pub date_updated: u64,
    /// Friendly name.
    pub friendly_name: String,
    /// `WK…`.
    pub sid: String,
    /// `WS…`.
    pub workspace_sid: String,
    /// Version, bumped on every change.
    pub version: String,
}

/// An Activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// `AC…`.
    pub account_sid: String,
    /// Whether workers in it can take tasks.
    pub available: bool,
    /// Epoch seconds.
    pub date_created: u64,
    /// Epoch seconds.
    pub date_updated: u64,
    /// Name.
    pub friendly_name: String,
    /// `WA…`.
    pub sid: String,
    /// `WS…`.
    pub workspace_sid: String,
}

/// A WorkerChannel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerChannel {
    /// `AC…`.
    pub account_sid: String,
    /// Tasks currently assigned on this channel.
    pub assigned_tasks: u32,
    /// Whether the channel takes tasks.
    pub available: bool,
    /// Free capacity in percent.
    pub available_capacity_percentage: u32,
    /// Configured capacity.
    pub configured_capacity: u32,
    /// Epoch seconds.
    pub date_created: u64,
    /// Epoch seconds.
    pub date_updated: u64,
    /// Epoch **milliseconds** of the last reservation, or `null`.
    pub last_reserved_time: Option<u64>,
    /// `WC…`.
    pub sid: String,
    /// `TC…`.
    pub task_channel_sid: String,
    /// e.g. `default`, `voice`.
    pub task_channel_unique_name: String,
    /// `WK…`.
    pub worker_sid: String,
    /// `WS…`.
    pub workspace_sid: String,
}

/// A Task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// `AC…`.
    pub account_sid: String,
    /// Add-ons as a JSON string (`"{}"`).
    pub addons: String,
    /// Seconds since creation.
    pub age: u64,
    /// `pending`, `reserved`, `assigned`, `wrapping`, `completed`, `canceled`.
    pub assignment_status: String,
    /// Attributes as a JSON string.
    pub attributes: String,
    /// Epoch seconds.
    pub date_created: u64,
    /// Epoch seconds.
    pub date_updated: u64,
    /// Priority.
    pub priority: i64,
    /// Current queue name, or `null`.
    pub queue_name: Option<String>,
    /// Current queue `WQ…`, or `null`.
    pub queue_sid: Option<String>,
    /// Reason given on complete/cancel, or `null`.
    pub reason: Option<String>,
    /// Routing target `WK…`, or `null`.
    pub routing_target: Option<String>,
    /// `WT…`.
    pub sid: String,
    /// `TC…`.
    pub task_channel_sid: String,
    /// Task channel unique name.
    pub task_channel_unique_name: String,
    /// Time to live in seconds.
    pub timeout: u64,
    /// Workflow name.
    pub workflow_name: String,
    /// `WW…`.
    pub workflow_sid: String,
    /// Version, bumped on every change.
    pub version: String,
    /// Epoch seconds.
    pub virtual_start_time: u64,
    /// `WS…`.
    pub workspace_sid: String,
}

/// A Reservation. `task` is present in pushes, lists and fetches, absent in status-change responses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// `AC…`.
    pub account_sid: String,
    /// Epoch seconds.
    pub date_created: u64,
    /// Epoch seconds.
    pub date_updated: u64,
    /// `pending`, `accepted`, `rejected`, `timeout`, `canceled`, `rescinded`, `wrapping`, `completed`.
    pub reservation_status: String,
    /// Seconds the reservation stays pending.
    pub reservation_timeout: u64,
    /// `WR…`.
    pub sid: String,
    /// `WT…`.
    pub task_sid: String,
    /// `TC…`.
    pub task_channel_sid: String,
    /// Version, bumped on every change.
    pub version: String,
    /// Worker name.
    pub worker_name: String,
    /// `WK…`.
    pub worker_sid: String,
    /// `WS…`.
    pub workspace_sid: String,
    /// The task, when included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Why a reservation was canceled (e.g. 1001), when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_reason_code: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_and_events() {
        assert!(parse_frame(KEEPALIVE).unwrap().is_none());
        assert!(parse_frame("  \r\n").unwrap().is_none());
        let f = parse_frame(r#"{"event_type":"init","payload":{"account_sid":"AC1","workspace_sid":"WS1","channel_id":"WK1","token_lifetime":3599548}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(f.event_type, "init");
        let init: InitPayload = serde_json::from_value(f.payload).unwrap();
        assert_eq!(init.token_lifetime, 3_599_548);
        assert!(parse_frame("{not json").is_err());
        assert!(parse_frame(&" ".repeat(MAX_FRAME_LEN + 1)).is_err());
    }

    #[test]
    fn reservation_without_task_omits_the_key_and_never_sends_task_transfer() {
        let r = Reservation {
            account_sid: "AC".into(),
            date_created: 1,
            date_updated: 2,
            reservation_status: "accepted".into(),
            reservation_timeout: 120,
            sid: "WR".into(),
            task_sid: "WT".into(),
            task_channel_sid: "TC".into(),
            version: "1".into(),
            worker_name: "alice".into(),
            worker_sid: "WK".into(),
            workspace_sid: "WS".into(),
            task: None,
            canceled_reason_code: None,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert!(v.get("task").is_none());
        assert!(v.get("task_transfer").is_none());
        assert_eq!(v["reservation_timeout"], 120);
    }

    #[test]
    fn queue_fields_are_serialized_as_null_not_omitted() {
        let t: Task = serde_json::from_value(serde_json::json!({
            "account_sid":"AC","addons":"{}","age":0,"assignment_status":"pending","attributes":"{}",
            "date_created":1,"date_updated":1,"priority":0,"queue_name":null,"queue_sid":null,"reason":null,
            "routing_target":null,"sid":"WT","task_channel_sid":"TC","task_channel_unique_name":"default",
            "timeout":86400,"workflow_name":"w","workflow_sid":"WW","version":"0","virtual_start_time":1,
            "workspace_sid":"WS"}))
        .unwrap();
        let v = serde_json::to_value(&t).unwrap();
        assert!(v.as_object().unwrap().contains_key("queue_sid"));
        assert!(v.as_object().unwrap().contains_key("reason"));
    }

    proptest::proptest! {
        #[test]
        fn parse_frame_never_panics(text in ".{0,300}") {
            let _ = parse_frame(&text);
            let _ = parse_frame(&format!("{{\"event_type\":{text}}}"));
        }
    }
}
