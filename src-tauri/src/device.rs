//! The Voice SDK `Device` in the webview, as the shell sees it: the core's call actions serialized for JS
//! ([`DeviceCommand`]) and the Device's events validated at the IPC edge ([`DeviceReport`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tsunagi_core::{AttemptId, CallParams, CallSid, DeviceEvent};

/// The Tauri event the webview's Voice module listens on for [`DeviceCommand`]s.
pub const DEVICE_EVENT_NAME: &str = "tsunagi:device";

/// A Voice SDK action for the webview's `Device` (the core's Device actions, serialized for JS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DeviceCommand {
    /// `call.accept()`.
    Accept { call: CallSid },
    /// `call.reject()`.
    Reject { call: CallSid },
    /// `call.disconnect()`.
    Disconnect { call: CallSid },
    /// `call.mute(muted)`.
    Mute { call: CallSid, muted: bool },
    /// `call.sendDigits(digits)`.
    SendDigits { call: CallSid, digits: String },
    /// `device.connect({ params: { To: to, TsunagiAttempt: attempt } })`: an outgoing call the agent dialled.
    Connect { to: String, attempt: AttemptId },
}

/// A Voice SDK event reported by the webview, validated here at the IPC edge.
#[derive(Clone, Debug, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DeviceReport {
    /// `Device.incoming`, with `call.customParameters` and `call.parameters.From`.
    Incoming {
        call: CallSid,
        custom_parameters: HashMap<String, String>,
        from: Option<String>,
    },
    /// `Call.cancel`.
    Canceled { call: CallSid },
    /// `call.accept()` connected.
    Accepted { call: CallSid },
    /// `call.accept()` failed (no WebRTC, no microphone, the Device does not have the call); `reason` says
    /// which, for the log (older windows send none).
    AcceptFailed {
        call: CallSid,
        #[serde(default)]
        reason: Option<String>,
    },
    /// `Call.disconnect`.
    Disconnected { call: CallSid },
    /// `Call.mute`.
    Muted { call: CallSid, muted: bool },
    /// The outgoing call of a `Connect` got its CallSid.
    Outgoing { call: CallSid, attempt: AttemptId },
    /// `device.connect()` failed before the call had a CallSid (no WebRTC, no microphone, signaling error).
    OutgoingFailed { attempt: AttemptId },
    /// The SDK raised (`Call.warning`) or cleared (`Call.warning-cleared`) a call quality warning (`high-rtt`,
    /// `low-mos`…): for the app's log only, the core does not act on it (older windows send none).
    QualityWarning {
        call: CallSid,
        warning: String,
        raised: bool,
    },
}

impl DeviceReport {
    /// The core's input for this report; `None` for a report that is only logged (quality warnings).
    pub fn into_event(self) -> Option<DeviceEvent> {
        Some(match self {
            DeviceReport::Incoming {
                call,
                custom_parameters,
                from,
            } => {
                let params = CallParams::from_custom_parameters(&custom_parameters, from.as_deref()).unwrap_or_else(
                    |error| {
                        // A malformed TaskSid cannot be joined to a reservation: ring it as a direct call.
                        tracing::warn!(%error, %call, "incoming call with malformed parameters; treating it as direct");
                        CallParams::direct(from.as_deref())
                    },
                );
                DeviceEvent::Incoming { call, params }
            }
            DeviceReport::Canceled { call } => DeviceEvent::Canceled { call },
            DeviceReport::Accepted { call } => DeviceEvent::Accepted { call },
            DeviceReport::AcceptFailed { call, reason } => {
                // The window's own words (SDK error codes and messages; no caller data), bounded.
                let reason: String = reason
                    .as_deref()
                    .unwrap_or("not given")
                    .chars()
                    .take(200)
                    .collect();
                tracing::warn!(%call, %reason, "the Voice device could not accept the call");
                DeviceEvent::AcceptFailed { call }
            }
            DeviceReport::Disconnected { call } => DeviceEvent::Disconnected { call },
            DeviceReport::Muted { call, muted } => DeviceEvent::Muted { call, muted },
            DeviceReport::Outgoing { call, attempt } => DeviceEvent::Outgoing { call, attempt },
            DeviceReport::OutgoingFailed { attempt } => DeviceEvent::OutgoingFailed { attempt },
            DeviceReport::QualityWarning {
                call,
                warning,
                raised,
            } => {
                // An SDK warning name: kept to its alphabet and bounded, whatever the window sends.
                let warning: String = warning
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(64)
                    .collect();
                if raised {
                    tracing::warn!(%call, %warning, "call quality warning raised");
                } else {
                    tracing::info!(%call, %warning, "call quality warning cleared");
                }
                return None;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_reports_parse_and_validate_sids() {
        let ok: DeviceReport = serde_json::from_value(serde_json::json!({
            "type": "incoming",
            "call": "CA00000000000000000000000000000001",
            "customParameters": { "TaskSid": "WT00000000000000000000000000000002" },
            "from": "+81312345678"
        }))
        .unwrap();
        match ok.into_event().unwrap() {
            DeviceEvent::Incoming { params, .. } => {
                assert_eq!(
                    params.task.unwrap().as_str(),
                    "WT00000000000000000000000000000002"
                );
                assert_eq!(params.caller.unwrap().expose(), "+81312345678");
            }
            other => panic!("unexpected {other:?}"),
        }
        let bad = serde_json::from_value::<DeviceReport>(
            serde_json::json!({ "type": "accepted", "call": "CA12" }),
        );
        assert!(bad.is_err(), "a malformed CallSid is refused at the edge");
    }

    #[test]
    fn accept_failed_carries_its_reason_or_none() {
        for report in [
            serde_json::json!({"type": "acceptFailed", "call": "CA00000000000000000000000000000001",
                "reason": "this Device does not have the call"}),
            serde_json::json!({"type": "acceptFailed", "call": "CA00000000000000000000000000000001"}),
        ] {
            let report: DeviceReport = serde_json::from_value(report).unwrap();
            assert!(matches!(
                report.into_event().unwrap(),
                DeviceEvent::AcceptFailed { call } if call.as_str() == "CA00000000000000000000000000000001"
            ));
        }
    }

    #[test]
    fn malformed_task_sid_rings_as_a_direct_call() {
        let report: DeviceReport = serde_json::from_value(serde_json::json!({
            "type": "incoming",
            "call": "CA00000000000000000000000000000001",
            "customParameters": { "TaskSid": "WT-not-a-sid" },
        }))
        .unwrap();
        match report.into_event().unwrap() {
            DeviceEvent::Incoming { params, .. } => assert!(params.task.is_none()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn outgoing_calls_cross_the_edge_with_their_attempt() {
        let attempt = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab";
        let json = serde_json::to_value(DeviceCommand::Connect {
            to: "+81312345678".into(),
            attempt: AttemptId::parse(attempt).unwrap(),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "connect", "to": "+81312345678", "attempt": attempt})
        );
        let report: DeviceReport = serde_json::from_value(serde_json::json!({
            "type": "outgoing", "call": "CA00000000000000000000000000000001", "attempt": attempt
        }))
        .unwrap();
        assert!(matches!(
            report.into_event().unwrap(),
            DeviceEvent::Outgoing { attempt: a, .. } if a.to_string() == attempt
        ));
        let failed: DeviceReport = serde_json::from_value(
            serde_json::json!({"type": "outgoingFailed", "attempt": attempt}),
        )
        .unwrap();
        assert!(matches!(
            failed.into_event().unwrap(),
            DeviceEvent::OutgoingFailed { .. }
        ));
        let bad = serde_json::from_value::<DeviceReport>(
            serde_json::json!({"type": "outgoingFailed", "attempt": "not-a-uuid"}),
        );
        assert!(bad.is_err(), "a malformed attempt is refused at the edge");
    }

    #[test]
    fn quality_warnings_are_only_logged() {
        for raised in [true, false] {
            let report: DeviceReport = serde_json::from_value(serde_json::json!({
                "type": "qualityWarning", "call": "CA00000000000000000000000000000001",
                "warning": "high-rtt", "raised": raised
            }))
            .unwrap();
            assert!(
                report.into_event().is_none(),
                "the core does not act on quality"
            );
        }
        let bad = serde_json::from_value::<DeviceReport>(serde_json::json!({
            "type": "qualityWarning", "call": "CA12", "warning": "high-rtt", "raised": true
        }));
        assert!(bad.is_err(), "a malformed CallSid is refused at the edge");
    }

    #[test]
    fn device_commands_are_tagged_camel_case() {
        let json = serde_json::to_value(DeviceCommand::SendDigits {
            call: CallSid::from_u128(1),
            digits: "12#".into(),
        })
        .unwrap();
        assert_eq!(json["type"], "sendDigits");
        assert_eq!(json["digits"], "12#");
    }
}
