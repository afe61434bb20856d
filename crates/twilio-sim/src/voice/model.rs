//! The Voice edge's public vocabulary: call direction and state, who ended a call, how dialled numbers behave,
//! the control API's request to place a call and its view of a call. Plain serde types; no behaviour.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tsunagi_twilio::sid::CallSid;

use crate::media::AudioReport;

/// Who placed the call, seen from the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The stand-in calls the SDK (`Device` `incoming`).
    Incoming,
    /// The SDK calls out (`device.connect`).
    Outgoing,
}

/// A call's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Invited / ringing.
    Ringing,
    /// Answered; media flows.
    InProgress,
    /// Hung up after the answer.
    Completed,
    /// Given up before the answer (caller hung up, or the SDK hung up its outgoing call).
    Canceled,
    /// The SDK rejected it.
    Rejected,
    /// Outgoing call to a busy number.
    Busy,
    /// Outgoing call nobody answered.
    NoAnswer,
    /// Media negotiation failed.
    Failed,
}

impl CallState {
    pub(crate) fn is_live(self) -> bool {
        matches!(self, Self::Ringing | Self::InProgress)
    }
}

/// Which side ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The SDK (hangup / reject).
    Client,
    /// The stand-in (control API or number behaviour).
    Sim,
}

/// How a dialled number behaves for outgoing calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NumberBehaviour {
    /// Rings, then answers and plays the outgoing tone.
    #[default]
    Answer,
    /// Rings, then fails with 31486.
    Busy,
    /// Rings until `no_answer_ms`, then fails with 31480.
    NoAnswer,
}

/// An incoming call to place (`POST /_sim/voice/calls`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceCall {
    /// Identity of the registered client (`alice` or `client:alice`).
    pub to: String,
    /// Caller (`+15551230000`).
    #[serde(default = "default_from")]
    pub from: String,
    /// Custom parameters (TwiML `<Parameter>`s), in order.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Tone the caller plays, Hz.
    #[serde(default)]
    pub tone_hz: Option<f64>,
}

fn default_from() -> String {
    "+15550100000".into()
}

/// A call as the control API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// SID.
    pub sid: CallSid,
    /// Direction.
    pub direction: Direction,
    /// State.
    pub state: CallState,
    /// Who ended it.
    pub ended_by: Option<Party>,
    /// Client identity.
    pub identity: String,
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// Custom (incoming) or connect (outgoing) parameters.
    pub params: Vec<(String, String)>,
    /// DTMF digits received, over signaling (`dtmf` frames) and in-band (RFC 4733); the SDK uses one per call.
    pub dtmf: String,
    /// Call messages received from the SDK.
    pub messages: Vec<Value>,
    /// Whether ICE + DTLS completed on the leg.
    pub media_connected: bool,
    /// What the leg received.
    pub audio: Option<AudioReport>,
    /// The audio codec the leg receives (`PCMU`, `opus`).
    pub codec: Option<&'static str>,
    /// Tone the leg plays.
    pub tone_hz: Option<f64>,
    /// Times the call was rebound to a new socket.
    pub reconnects: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_behaviour_reads_kebab_case() {
        let b: NumberBehaviour = serde_json::from_str("\"no-answer\"").unwrap();
        assert_eq!(b, NumberBehaviour::NoAnswer);
    }
}
