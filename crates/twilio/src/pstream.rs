//! PStream v1.6: the Voice JS SDK's signaling frames (`wss://…/signal`), as typed values.
//!
//! Wire format (specs/voice-sdk-protocol.md §2): every frame is one WebSocket **text** message, either exactly
//! `"\n"` (a heartbeat, echoed by the client) or a JSON object `{"type": …, "version": "1.6", "payload": {…}}`.
//! The two directions use different payloads for the same type names (`invite`, `answer`, `hangup`, `message`),
//! so there is one enum per direction: [`ClientMessage`] (SDK → edge) and [`ServerMessage`] (edge → SDK).
//!
//! Contract:
//! - WebSocket already delimits messages, so a frame is decoded from one whole message: there is no partial
//!   state to keep. Decoding is bounded: input longer than [`MAX_FRAME_BYTES`] is rejected before it is parsed.
//! - Decoding never panics; every failure is a [`PStreamError`] naming what was wrong, and unknown `type`s are
//!   an error the caller may log and skip (newer SDKs may add types).
//! - `version` is written as [`VERSION`] and ignored when read (the SDK itself ignores it; 2.0.x sent `1.5`).
//! - Call SIDs and account SIDs are validated [`crate::sid`] newtypes; a call the SDK started is referenced by
//!   its temporary `TJS…` id until the edge tells it the real SID ([`CallRef`]).
//! - Custom parameters travel URL-encoded (`Params`, `twilio.params`); [`encode_params`]/[`decode_params`]
//!   convert them the way the SDK does (`encodeURIComponent` on the way out).

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::sid::{AccountSid, CallSid};

/// The protocol version the SDK 2.18.5 sends and this crate writes.
pub const VERSION: &str = "1.6";

/// Largest frame accepted, in bytes. SDP offers are a few KiB; call messages are capped by Twilio at 10 KiB.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest temporary call id accepted (`TJS` + a UUID is 39 bytes).
pub const MAX_TEMP_ID_LEN: usize = 64;

/// The heartbeat frame, sent by the edge and echoed by the SDK.
pub const HEARTBEAT: &str = "\n";

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PStreamError {
    /// The frame exceeds [`MAX_FRAME_BYTES`].
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLong {
        /// Length of the frame in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The frame is not UTF-8 (binary frames are not part of PStream).
    #[error("frame is not UTF-8 text")]
    NotText,
    /// The frame is not a JSON object with a string `type`.
    #[error("frame is not a PStream envelope: {0}")]
    InvalidEnvelope(#[source] serde_json::Error),
    /// The `type` is not one this direction knows.
    #[error("unknown frame type {type_name:?}")]
    UnknownType {
        /// The type, truncated to 32 characters.
        type_name: String,
    },
    /// The payload does not match the type.
    #[error("invalid payload for {type_name:?}: {source}")]
    InvalidPayload {
        /// The frame type.
        type_name: &'static str,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
}

/// One decoded frame: a heartbeat or a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame<M> {
    /// `"\n"`.
    Heartbeat,
    /// A JSON message.
    Message(M),
}

/// The call a frame refers to: a real call SID, or the temporary `TJS…` id of a call the SDK is placing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallRef {
    /// `CA…`.
    Sid(CallSid),
    /// `TJS…`: the SDK's id for an outgoing call until `ringing`/`answer` carry the real SID.
    Temporary(String),
}

impl CallRef {
    /// Parses a `callsid` field.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Ok(sid) = CallSid::parse(s) {
            return Ok(Self::Sid(sid));
        }
        let ok_temp = s.starts_with("TJS")
            && s.len() <= MAX_TEMP_ID_LEN
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if ok_temp {
            Ok(Self::Temporary(s.to_owned()))
        } else {
            Err(format!(
                "callsid is neither a CA SID nor a TJS temporary id ({} bytes)",
                s.len()
            ))
        }
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sid(s) => s.as_str(),
            Self::Temporary(t) => t,
        }
    }

    /// The call SID, if this is one.
    pub fn sid(&self) -> Option<CallSid> {
        match self {
            Self::Sid(s) => Some(*s),
            Self::Temporary(_) => None,
        }
    }
}

impl From<CallSid> for CallRef {
    fn from(s: CallSid) -> Self {
        Self::Sid(s)
    }
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for CallRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CallRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Client → server payloads

/// `browserinfo.browser` in `listen`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Browser {
    /// `navigator.platform`.
    #[serde(default)]
    pub platform: String,
    /// `navigator.userAgent`.
    #[serde(default)]
    pub user_agent: String,
}

/// `browserinfo` in `listen`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrowserInfo {
    /// Browser details.
    #[serde(default)]
    pub browser: Browser,
    /// Always `"browser"`.
    #[serde(default)]
    pub p: String,
    /// Always `"rtc"`.
    #[serde(default)]
    pub plugin: String,
    /// SDK version, e.g. `"2.18.5"`.
    #[serde(default)]
    pub v: String,
}

/// `listen`: sent on every socket open and on `device.updateToken()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listen {
    /// The Access Token (JWT).
    pub token: String,
    /// Client description.
    #[serde(default)]
    pub browserinfo: BrowserInfo,
    /// Seconds the edge should keep calls alive while signaling is down.
    #[serde(default)]
    pub reconnect_timeout: u32,
}

/// `media` in `register`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterMedia {
    /// `true` = register for incoming calls, `false` = unregister.
    #[serde(default)]
    pub audio: bool,
}

/// `register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// What to register for.
    #[serde(default)]
    pub media: RegisterMedia,
}

/// `twilio` in a client `invite`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteTwilio {
    /// URL-encoded `connect({params})`, e.g. `To=%2B15551234567&agent=alice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<String>,
}

/// Client `invite`: a new outgoing call (`TJS…` id), or a signaling reconnect of a call (`CA…` + `reconnect`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInvite {
    /// The call.
    pub callsid: CallRef,
    /// SDP offer (or the current local SDP on reconnect).
    pub sdp: String,
    /// Outgoing parameters.
    #[serde(default)]
    pub twilio: InviteTwilio,
    /// Reconnect token from an earlier `invite`/`answer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<String>,
}

/// Client `answer`: the SDP answer to an incoming call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAnswer {
    /// The call.
    pub callsid: CallRef,
    /// SDP answer.
    pub sdp: String,
}

/// A payload that names only the call (`reject`, `cancel`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOnly {
    /// The call.
    pub callsid: CallRef,
}

/// Client `hangup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHangup {
    /// The call.
    pub callsid: CallRef,
    /// Optional reason text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `dtmf`: digits sent over signaling (no `telephone-event` negotiated).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dtmf {
    /// The call.
    pub callsid: CallRef,
    /// Digits, e.g. `"12#"` (`w` = pause).
    pub dtmf: String,
}

/// `message` in either direction: a user-defined call message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallMessage {
    /// The call.
    pub callsid: CallRef,
    /// The content (any JSON).
    pub content: Value,
    /// MIME type, `application/json`.
    #[serde(default)]
    pub contenttype: String,
    /// Message type, e.g. `user-defined-message`.
    #[serde(default)]
    pub messagetype: String,
    /// `KX…` id chosen by the sender, echoed in `ack`/`error`.
    #[serde(default)]
    pub voiceeventsid: String,
}

/// `reinvite`: ICE-restart offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reinvite {
    /// The call.
    pub callsid: CallRef,
    /// SDP offer.
    pub sdp: String,
}

// ---------------------------------------------------------------------------------------------------------------
// Server → client payloads

/// `token` in `connected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectedToken {
    /// `grants.identity` of the token.
    pub identity: String,
    /// Seconds until the token expires.
    pub ttl: u64,
}

/// `connected`: the answer to `listen`. Never carries `home` (it would redirect Insights, spec §1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    /// AWS-style region, e.g. `US_EAST_VIRGINIA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Edge name, e.g. `ashburn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edge: Option<String>,
    /// Gateway name (Insights only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// Identity and TTL of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<ConnectedToken>,
}

/// An empty payload (`ready`, `offline`, `close`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// `parameters` of a server `invite`; becomes `call.parameters` in the SDK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteParameters {
    /// The account.
    #[serde(rename = "AccountSid")]
    pub account_sid: AccountSid,
    /// The call (same as `callsid`).
    #[serde(rename = "CallSid")]
    pub call_sid: CallSid,
    /// Caller, e.g. `+15551230000` or `client:bob`.
    #[serde(rename = "From")]
    pub from: String,
    /// Callee, e.g. `client:alice`.
    #[serde(rename = "To")]
    pub to: String,
    /// TwiML `<Parameter>`s, URL-encoded; the SDK exposes them as `call.customParameters`.
    #[serde(rename = "Params", default)]
    pub params: String,
    /// `2010-04-01`.
    #[serde(
        rename = "ApiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
}

/// Server `invite`: an incoming call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInvite {
    /// The call.
    pub callsid: CallSid,
    /// SDP offer (CRLF line endings, spec §3.1).
    pub sdp: String,
    /// Call parameters.
    pub parameters: InviteParameters,
    /// Opaque reconnect token enabling signaling reconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<String>,
}

/// `ringing` for an outgoing call; `sdp` (early media) is applied as the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ringing {
    /// The real call SID.
    pub callsid: CallSid,
    /// Early-media SDP answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
}

/// Server `answer`: outgoing call answered, reinvite answered, or signaling reconnect accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerAnswer {
    /// The call.
    pub callsid: CallSid,
    /// SDP answer (absent when only confirming a reconnect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
    /// New reconnect token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnect: Option<String>,
}

/// `error` body: a Twilio error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// Twilio error code, e.g. 31204.
    pub code: u32,
    /// Message.
    pub message: String,
    /// Seconds before the SDK should reconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// Server `hangup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHangup {
    /// The call (a `TJS…` id when the outgoing call fails before `ringing`).
    pub callsid: CallRef,
    /// Why, when the call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

/// `ack` of a call message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// Always `"message"`.
    pub acktype: String,
    /// The call.
    pub callsid: CallRef,
    /// The acknowledged message's id.
    pub voiceeventsid: String,
}

/// Server `error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerError {
    /// The error.
    pub error: ErrorInfo,
    /// The call it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callsid: Option<CallRef>,
    /// The call message it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voiceeventsid: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Envelopes

#[derive(Deserialize)]
struct InEnvelope {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<Value>,
}

#[derive(Serialize)]
struct OutEnvelope<'a, P: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    version: &'a str,
    payload: &'a P,
}

fn payload<P: DeserializeOwned>(
    type_name: &'static str,
    v: Option<Value>,
) -> Result<P, PStreamError> {
    // A missing payload is read as `{}`: the SDK always sends one, and `{}` is what optional-only types need.
    let v = v.unwrap_or_else(|| Value::Object(Default::default()));
    serde_json::from_value(v).map_err(|source| PStreamError::InvalidPayload { type_name, source })
}

fn envelope(bytes: &[u8]) -> Result<Option<InEnvelope>, PStreamError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(PStreamError::TooLong {
            len: bytes.len(),
            max: MAX_FRAME_BYTES,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| PStreamError::NotText)?;
    if text == HEARTBEAT {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(PStreamError::InvalidEnvelope)
}

fn encode<P: Serialize>(kind: &str, p: &P) -> String {
    // Invariant: every payload is a struct of strings, numbers, options and `Value`s (string keys only), which
    // serde_json always serializes.
    serde_json::to_string(&OutEnvelope {
        kind,
        version: VERSION,
        payload: p,
    })
    .expect("PStream payloads always serialize")
}

macro_rules! messages {
    ($(#[$doc:meta])* $name:ident { $( $(#[$vdoc:meta])* $variant:ident($ty:ty) = $wire:literal, )+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vdoc])* $variant($ty), )+
        }

        impl $name {
            /// The wire `type`.
            pub fn type_name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $wire, )+ }
            }

            /// Encodes as a JSON text frame with `version` [`VERSION`].
            pub fn encode(&self) -> String {
                match self { $( Self::$variant(p) => encode($wire, p), )+ }
            }

            /// Decodes one WebSocket text message (heartbeat or JSON frame).
            pub fn decode(bytes: &[u8]) -> Result<Frame<Self>, PStreamError> {
                let Some(env) = envelope(bytes)? else { return Ok(Frame::Heartbeat) };
                let msg = match env.kind.as_str() {
                    $( $wire => Self::$variant(payload($wire, env.payload)?), )+
                    other => {
                        return Err(PStreamError::UnknownType { type_name: other.chars().take(32).collect() })
                    }
                };
                Ok(Frame::Message(msg))
            }
        }
    };
}

messages! {
    /// A frame the SDK sends to the edge (spec §2.2).
    ClientMessage {
        /// `listen`.
        Listen(Listen) = "listen",
        /// `register` (`media.audio` true) or unregister (false).
        Register(Register) = "register",
        /// `invite`.
        Invite(ClientInvite) = "invite",
        /// `answer`.
        Answer(ClientAnswer) = "answer",
        /// `reject`.
        Reject(CallOnly) = "reject",
        /// `hangup`.
        Hangup(ClientHangup) = "hangup",
        /// `dtmf`.
        Dtmf(Dtmf) = "dtmf",
        /// `message`.
        Message(CallMessage) = "message",
        /// `reinvite`.
        Reinvite(Reinvite) = "reinvite",
    }
}

messages! {
    /// A frame the edge sends to the SDK (spec §2.3).
    ServerMessage {
        /// `connected`.
        Connected(Connected) = "connected",
        /// `ready`: registered.
        Ready(Empty) = "ready",
        /// `offline`: unregistered.
        Offline(Empty) = "offline",
        /// `invite`: incoming call.
        Invite(ServerInvite) = "invite",
        /// `cancel`: caller gave up before the answer.
        Cancel(CallOnly) = "cancel",
        /// `ringing`.
        Ringing(Ringing) = "ringing",
        /// `answer`.
        Answer(ServerAnswer) = "answer",
        /// `hangup`.
        Hangup(ServerHangup) = "hangup",
        /// `ack`.
        Ack(Ack) = "ack",
        /// `message`.
        Message(CallMessage) = "message",
        /// `error`.
        Error(ServerError) = "error",
        /// `close`: the SDK destroys the stream and does not reconnect.
        Close(Empty) = "close",
    }
}

impl ServerMessage {
    /// An `error` frame without a call.
    pub fn error(code: u32, message: impl Into<String>) -> Self {
        Self::Error(ServerError {
            error: ErrorInfo {
                code,
                message: message.into(),
                retry_after: None,
            },
            callsid: None,
            voiceeventsid: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parameters

/// Encodes `(name, value)` pairs as the SDK does (`encodeURIComponent`, `&`-joined), e.g. for `Params`.
pub fn encode_params<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        uri_component(&mut out, k);
        out.push('=');
        uri_component(&mut out, v);
    }
    out
}

fn uri_component(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// Decodes a URL-encoded parameter string (`%XX` and `+` for space), keeping order and duplicates.
pub fn decode_params(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca(n: u128) -> CallSid {
        CallSid::from_u128(n)
    }

    #[test]
    fn heartbeat_is_its_own_frame() {
        assert_eq!(ClientMessage::decode(b"\n").unwrap(), Frame::Heartbeat);
        assert_eq!(ServerMessage::decode(b"\n").unwrap(), Frame::Heartbeat);
    }

    #[test]
    fn decodes_listen_as_sent_by_sdk_2_18_5() {
        let raw = r#"{"type":"listen","version":"1.6","payload":{"browserinfo":{"browser":{"platform":"Linux x86_64","userAgent":"Mozilla/5.0"},"p":"browser","plugin":"rtc","v":"2.18.5"},"reconnectTimeout":0,"token":"a.b.c"}}"#;
        let Frame::Message(ClientMessage::Listen(l)) =
            ClientMessage::decode(raw.as_bytes()).unwrap()
        else {
            panic!("not a listen")
        };
        assert_eq!(l.token, "a.b.c");
        assert_eq!(l.browserinfo.v, "2.18.5");
        assert_eq!(l.browserinfo.browser.user_agent, "Mozilla/5.0");
        assert_eq!(l.reconnect_timeout, 0);
    }

    #[test]
    fn decodes_outgoing_invite_with_temporary_id_and_params() {
        let raw = r#"{"type":"invite","version":"1.6","payload":{"callsid":"TJS734d268e-1b2c-4d3e-8f90-0123456789ab","sdp":"v=0\r\n","twilio":{"params":"To=%2B15551234567&agent=alice"}}}"#;
        let Frame::Message(ClientMessage::Invite(inv)) =
            ClientMessage::decode(raw.as_bytes()).unwrap()
        else {
            panic!("not an invite")
        };
        assert!(matches!(inv.callsid, CallRef::Temporary(ref t) if t.starts_with("TJS")));
        assert_eq!(inv.reconnect, None);
        let params = decode_params(inv.twilio.params.as_deref().unwrap());
        assert_eq!(
            params,
            vec![
                ("To".into(), "+15551234567".into()),
                ("agent".into(), "alice".into())
            ]
        );
    }

    #[test]
    fn decodes_reconnect_invite_and_empty_twilio() {
        let raw = format!(
            r#"{{"type":"invite","version":"1.6","payload":{{"callsid":"{}","reconnect":"RT-1","sdp":"v=0","twilio":{{}}}}}}"#,
            ca(7)
        );
        let Frame::Message(ClientMessage::Invite(inv)) =
            ClientMessage::decode(raw.as_bytes()).unwrap()
        else {
            panic!("not an invite")
        };
        assert_eq!(inv.callsid.sid(), Some(ca(7)));
        assert_eq!(inv.reconnect.as_deref(), Some("RT-1"));
        assert_eq!(inv.twilio.params, None);
    }

    #[test]
    fn decodes_every_call_scoped_client_type() {
        let sid = ca(1);
        let cases = [
            (
                format!(r#"{{"type":"answer","payload":{{"callsid":"{sid}","sdp":"x"}}}}"#),
                "answer",
            ),
            (
                format!(r#"{{"type":"reject","payload":{{"callsid":"{sid}"}}}}"#),
                "reject",
            ),
            (
                format!(r#"{{"type":"hangup","payload":{{"callsid":"{sid}","message":"bye"}}}}"#),
                "hangup",
            ),
            (
                format!(r#"{{"type":"dtmf","payload":{{"callsid":"{sid}","dtmf":"12#"}}}}"#),
                "dtmf",
            ),
            (
                format!(r#"{{"type":"reinvite","payload":{{"callsid":"{sid}","sdp":"x"}}}}"#),
                "reinvite",
            ),
            (
                format!(
                    r#"{{"type":"message","payload":{{"callsid":"{sid}","content":{{"a":1}},"contenttype":"application/json","messagetype":"user-defined-message","voiceeventsid":"KX1"}}}}"#
                ),
                "message",
            ),
            (
                r#"{"type":"register","payload":{"media":{"audio":false}}}"#.to_owned(),
                "register",
            ),
        ];
        for (raw, ty) in cases {
            match ClientMessage::decode(raw.as_bytes()) {
                Ok(Frame::Message(m)) => assert_eq!(m.type_name(), ty),
                other => panic!("{ty}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_messages_round_trip_with_version() {
        let sid = ca(0xabc);
        let msgs = vec![
            ServerMessage::Connected(Connected {
                region: Some("US_EAST_VIRGINIA".into()),
                edge: Some("ashburn".into()),
                gateway: None,
                token: Some(ConnectedToken {
                    identity: "alice".into(),
                    ttl: 3600,
                }),
            }),
            ServerMessage::Ready(Empty {}),
            ServerMessage::Offline(Empty {}),
            ServerMessage::Invite(ServerInvite {
                callsid: sid,
                sdp: "v=0\r\n".into(),
                parameters: InviteParameters {
                    account_sid: AccountSid::from_u128(1),
                    call_sid: sid,
                    from: "+15551230000".into(),
                    to: "client:alice".into(),
                    params: encode_params([("task_sid", "WT1"), ("name", "Bob Caller")]),
                    api_version: Some("2010-04-01".into()),
                },
                reconnect: Some("RT-1".into()),
            }),
            ServerMessage::Cancel(CallOnly {
                callsid: sid.into(),
            }),
            ServerMessage::Ringing(Ringing {
                callsid: sid,
                sdp: None,
            }),
            ServerMessage::Answer(ServerAnswer {
                callsid: sid,
                sdp: Some("v=0".into()),
                reconnect: None,
            }),
            ServerMessage::Hangup(ServerHangup {
                callsid: CallRef::Temporary("TJS-1".into()),
                error: Some(ErrorInfo {
                    code: 31486,
                    message: "Busy".into(),
                    retry_after: None,
                }),
            }),
            ServerMessage::Ack(Ack {
                acktype: "message".into(),
                callsid: sid.into(),
                voiceeventsid: "KX1".into(),
            }),
            ServerMessage::error(31204, "JWT is invalid"),
            ServerMessage::Close(Empty {}),
        ];
        for m in msgs {
            let text = m.encode();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["version"], VERSION);
            assert_eq!(v["type"], m.type_name());
            assert_eq!(
                ServerMessage::decode(text.as_bytes()).unwrap(),
                Frame::Message(m)
            );
        }
    }

    #[test]
    fn connected_never_carries_home_and_skips_absent_fields() {
        let text = ServerMessage::Connected(Connected::default()).encode();
        assert_eq!(text, r#"{"type":"connected","version":"1.6","payload":{}}"#);
    }

    #[test]
    fn invite_parameters_use_twilio_names() {
        let sid = ca(5);
        let text = ServerMessage::Invite(ServerInvite {
            callsid: sid,
            sdp: String::new(),
            parameters: InviteParameters {
                account_sid: AccountSid::from_u128(1),
                call_sid: sid,
                from: "a".into(),
                to: "b".into(),
                params: String::new(),
                api_version: None,
            },
            reconnect: None,
        })
        .encode();
        let v: Value = serde_json::from_str(&text).unwrap();
        let p = &v["payload"]["parameters"];
        for k in ["AccountSid", "CallSid", "From", "To", "Params"] {
            assert!(p.get(k).is_some(), "{k} missing in {text}");
        }
        assert!(p.get("ApiVersion").is_none());
    }

    #[test]
    fn params_encode_like_encode_uri_component_and_round_trip() {
        let enc = encode_params([
            ("name", "Bob Caller"),
            ("to", "+81 3-1234"),
            ("jp", "電話"),
            ("x", "a&b=c"),
        ]);
        assert_eq!(
            enc,
            "name=Bob%20Caller&to=%2B81%203-1234&jp=%E9%9B%BB%E8%A9%B1&x=a%26b%3Dc"
        );
        let back = decode_params(&enc);
        assert_eq!(back[0], ("name".into(), "Bob Caller".into()));
        assert_eq!(back[1], ("to".into(), "+81 3-1234".into()));
        assert_eq!(back[2], ("jp".into(), "電話".into()));
        assert_eq!(back[3], ("x".into(), "a&b=c".into()));
    }

    #[test]
    fn malformed_frames_are_typed_errors() {
        let too_long = vec![b' '; MAX_FRAME_BYTES + 1];
        assert!(matches!(
            ClientMessage::decode(&too_long),
            Err(PStreamError::TooLong { .. })
        ));
        assert!(matches!(
            ClientMessage::decode(&[0xff, 0xfe]),
            Err(PStreamError::NotText)
        ));
        for bad in [
            "",
            "\n\n",
            "null",
            "[]",
            "42",
            "{",
            r#"{"payload":{}}"#,
            r#"{"type":5}"#,
        ] {
            assert!(
                matches!(
                    ClientMessage::decode(bad.as_bytes()),
                    Err(PStreamError::InvalidEnvelope(_))
                ),
                "{bad:?}"
            );
        }
        let unknown = format!(r#"{{"type":"{}"}}"#, "z".repeat(100));
        match ClientMessage::decode(unknown.as_bytes()) {
            Err(PStreamError::UnknownType { type_name }) => assert_eq!(type_name.len(), 32),
            other => panic!("{other:?}"),
        }
        // Server-only types are unknown in the client direction and vice versa.
        assert!(matches!(
            ClientMessage::decode(br#"{"type":"ready"}"#),
            Err(PStreamError::UnknownType { .. })
        ));
        assert!(matches!(
            ServerMessage::decode(br#"{"type":"listen"}"#),
            Err(PStreamError::UnknownType { .. })
        ));
        let bad_payloads: [&[u8]; 8] = [
            br#"{"type":"listen","payload":{}}"#,
            br#"{"type":"listen","payload":{"token":7}}"#,
            br#"{"type":"answer","payload":{"callsid":"CA1","sdp":"x"}}"#,
            br#"{"type":"answer","payload":{"callsid":"TJS<script>","sdp":"x"}}"#,
            br#"{"type":"hangup","payload":"nope"}"#,
            br#"{"type":"dtmf","payload":{"callsid":"CA00000000000000000000000000000001"}}"#,
            br#"{"type":"register","payload":{"media":{"audio":"yes"}}}"#,
            br#"{"type":"invite","payload":{"callsid":"CA00000000000000000000000000000001"}}"#,
        ];
        for raw in bad_payloads {
            assert!(
                matches!(
                    ClientMessage::decode(raw),
                    Err(PStreamError::InvalidPayload { .. })
                ),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        let long_temp = format!(
            r#"{{"type":"reject","payload":{{"callsid":"TJS{}"}}}}"#,
            "a".repeat(100)
        );
        assert!(matches!(
            ClientMessage::decode(long_temp.as_bytes()),
            Err(PStreamError::InvalidPayload { .. })
        ));
    }

    #[test]
    fn version_is_ignored_when_reading() {
        let raw = r#"{"type":"register","version":"1.5","payload":{"media":{"audio":true}}}"#;
        assert_eq!(
            ClientMessage::decode(raw.as_bytes()).unwrap(),
            Frame::Message(ClientMessage::Register(Register {
                media: RegisterMedia { audio: true }
            }))
        );
        let no_payload = ServerMessage::decode(br#"{"type":"ready"}"#).unwrap();
        assert_eq!(no_payload, Frame::Message(ServerMessage::Ready(Empty {})));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: truncations and byte flips of valid frames.
        let seeds = [
            r#"{"type":"listen","version":"1.6","payload":{"token":"a.b.c","reconnectTimeout":0}}"#
                .to_owned(),
            ServerMessage::error(31205, "expired").encode(),
            format!(
                r#"{{"type":"answer","payload":{{"callsid":"{}","sdp":"v=0"}}}}"#,
                ca(3)
            ),
        ];
        for seed in &seeds {
            let b = seed.as_bytes();
            for cut in 0..b.len() {
                let _ = ClientMessage::decode(&b[..cut]);
                let _ = ServerMessage::decode(&b[..cut]);
                let mut flipped = b.to_vec();
                flipped[cut] ^= 0x5a;
                let _ = ClientMessage::decode(&flipped);
                let _ = ServerMessage::decode(&flipped);
            }
        }
    }
}
