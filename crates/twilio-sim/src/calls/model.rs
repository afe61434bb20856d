//! The call engine's vocabulary: configuration (`[[numbers]]`, `[[callers]]`), caller scripts, call statuses,
//! driver commands and the call view the REST and control APIs render.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tsunagi_twilio::sid::{AccountSid, CallSid, ConferenceSid, TaskSid, WorkspaceSid};

use crate::error::ApiError;

/// Steps in one caller script.
pub const MAX_SCRIPT: usize = 64;

/// A phone number of the stand-in (`[[numbers]]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NumberConfig {
    /// E.164 number, e.g. `+815012345678`.
    pub number: String,
    /// Owning account (signs its webhooks).
    pub account: String,
    /// Voice webhook.
    pub voice_url: String,
    /// `POST` (default) or `GET`.
    #[serde(default = "post_method")]
    pub voice_method: String,
    /// Fetched when the Voice webhook fails or returns bad TwiML.
    #[serde(default)]
    pub voice_fallback_url: Option<String>,
    /// Call status callback (`completed` for incoming calls, as on Twilio).
    #[serde(default)]
    pub status_callback: Option<String>,
}

fn post_method() -> String {
    "POST".into()
}

/// One step of a scripted PSTN party.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScriptStep {
    /// Wait this long (real time).
    Wait {
        /// Milliseconds.
        ms: u64,
    },
    /// Press keys.
    Dtmf {
        /// `0-9*#`.
        digits: String,
    },
    /// Play a tone (or stop with `null`).
    Tone {
        /// Hz.
        hz: Option<f64>,
    },
    /// Hang up.
    Hangup,
}

/// A simulated customer calling a number (`POST /_sim/calls`, or `[[callers]]` at start).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    /// Caller id, e.g. `+81312345678`.
    pub from: String,
    /// The dialled stand-in number (a `[[numbers]]` entry).
    pub to: String,
    /// Tone the caller plays, Hz (heard by a bridged agent).
    #[serde(default)]
    pub tone_hz: Option<f64>,
    /// What the caller does once the call started, in order.
    #[serde(default)]
    pub script: Vec<ScriptStep>,
    /// Config callers only: start this long after the stand-in.
    #[serde(default)]
    pub delay_ms: u64,
}

/// How a simulated PSTN number answers calls placed *to* it (REST create, `<Dial><Number>`, participants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// Answers after [`RING_MS`].
    #[default]
    Answer,
    /// Busy after [`RING_MS`].
    Busy,
    /// Rings until the caller's timeout.
    NoAnswer,
    /// Fails at once.
    Failed,
}

/// Ring time of simulated PSTN numbers, ms.
pub const RING_MS: u64 = 300;

/// A call's status, Twilio's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    /// Created, not yet ringing.
    Queued,
    /// Ringing.
    Ringing,
    /// Answered.
    InProgress,
    /// Ended after the answer.
    Completed,
    /// Busy (or rejected).
    Busy,
    /// Could not be placed, or the application failed.
    Failed,
    /// Nobody answered.
    NoAnswer,
    /// Ended before the answer by the caller or the API.
    Canceled,
}

impl CallStatus {
    /// Twilio's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Ringing => "ringing",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::NoAnswer => "no-answer",
            Self::Canceled => "canceled",
        }
    }

    /// Whether the call still runs.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Queued | Self::Ringing | Self::InProgress)
    }

    /// Parses Twilio's name.
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.into())).ok()
    }
}

/// Where a call's status callbacks go.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusCallback {
    /// URL.
    pub url: String,
    /// `POST` or `GET`.
    pub method: String,
    /// Events: `initiated`, `ringing`, `answered`, `completed`.
    pub events: Vec<String>,
}

/// Something a caller heard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Heard {
    /// `say`, `play`, `pause`, `digits`, `error`.
    pub verb: &'static str,
    /// Tone.
    pub hz: Option<f64>,
    /// Duration, ms.
    pub ms: u64,
    /// Text / URL.
    pub detail: String,
}

/// A command for a call's driver.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// The caller (or the API) hangs up.
    Hangup(CallStatus),
    /// The caller pressed keys.
    Dtmf(String),
    /// The caller's tone changed.
    Tone(Option<f64>),
    /// Continue with TwiML fetched from this URL (REST `Url`).
    Redirect(String, String),
    /// Continue with this TwiML (REST `Twiml`).
    Twiml(String),
    /// The call was moved into a conference (TaskRouter `conference` instruction).
    Bridged(ConferenceSid),
    /// The call left its conference (ended, kicked).
    ConferenceLeft,
    /// The queue's task ended without a bridge (`QueueResult`).
    QueueLeft(&'static str),
}

/// The TaskRouter task a queued call waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct QueuedTask {
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Task.
    pub task: TaskSid,
}

/// A call as the REST and control APIs show it.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// `CA…`.
    pub sid: CallSid,
    /// Account.
    pub account_sid: AccountSid,
    /// `inbound`, `outbound-api`, `outbound-dial`.
    pub direction: &'static str,
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// Status.
    pub status: CallStatus,
    /// Parent call (dialled legs).
    pub parent_call_sid: Option<CallSid>,
    /// Created, epoch ms (sim clock).
    pub created_ms: u64,
    /// Answered, epoch ms.
    pub answered_ms: Option<u64>,
    /// Ended, epoch ms.
    pub ended_ms: Option<u64>,
    /// What the caller heard.
    pub heard: Vec<Heard>,
    /// Keys the caller pressed.
    pub digits: String,
    /// Twilio error codes raised on this call (11200, 12100, …).
    pub errors: Vec<u32>,
    /// Task while queued.
    pub queued_task: Option<QueuedTask>,
    /// Conference the call is in.
    pub conference: Option<ConferenceSid>,
    /// Voice-edge leg of a `<Dial><Client>`.
    pub client_leg: Option<CallSid>,
    /// Tone the caller plays.
    pub tone_hz: Option<f64>,
}

pub(crate) fn validate_script(script: &[ScriptStep]) -> Result<(), ApiError> {
    for s in script {
        match s {
            ScriptStep::Wait { ms } if *ms > 3_600_000 => {
                return Err(ApiError::invalid("wait longer than an hour"))
            }
            ScriptStep::Dtmf { digits }
                if digits.is_empty()
                    || digits.len() > 32
                    || !digits
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"*#".contains(&b)) =>
            {
                return Err(ApiError::invalid("dtmf digits must be 1-32 of 0-9*#"))
            }
            ScriptStep::Tone { hz: Some(h) } if !(20.0..=3_900.0).contains(h) => {
                return Err(ApiError::invalid("hz must be within 20‥3900"))
            }
            _ => {}
        }
    }
    Ok(())
}
