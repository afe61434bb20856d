//! Device vocabulary shared by the driver and the `audio` feature: which kind of device, and what happened to
//! it during a call. Always compiled, so the events reach the webview the same way with or without sound cards.

use serde::Serialize;

/// Input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// A microphone (`audioinput`).
    Input,
    /// A speaker or headset (`audiooutput`).
    Output,
}

/// A device problem (or its end) during a call. The UI shows `message`: a call never goes silent unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DeviceEvent {
    /// The device in use was unplugged or failed; audio continues on `fallback` when there is one.
    #[serde(rename_all = "camelCase")]
    Lost {
        /// Microphone or speaker.
        kind: DeviceKind,
        /// The device that went away.
        label: String,
        /// What happened, for the agent.
        message: String,
        /// The device now used instead, if any.
        fallback: Option<String>,
    },
    /// No device of this kind can be opened: the call has no microphone (or no speaker) until one appears.
    #[serde(rename_all = "camelCase")]
    Unavailable {
        /// Microphone or speaker.
        kind: DeviceKind,
        /// Why, for the agent.
        message: String,
    },
    /// Audio is back on a working device (the chosen one, or any after `Unavailable`).
    #[serde(rename_all = "camelCase")]
    Restored {
        /// Microphone or speaker.
        kind: DeviceKind,
        /// The device now used.
        label: String,
    },
}
