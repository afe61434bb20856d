//! # tsunagi-twilio: sans-IO Twilio wire formats
//!
//! This crate is Tsunagi's `tungstenite`: it owns the byte-level formats Tsunagi exchanges with Twilio (and
//! with the local Twilio stand-in), as pure codecs. It performs no I/O, spawns no tasks, and never reads a
//! clock: wall-clock time is an input (`now_unix`, seconds since the Unix epoch).
//!
//! Contract:
//! - Every parser takes untrusted input and returns a typed error; none panics on any input. A panic is a bug.
//! - Parsers are bounded: inputs above a documented limit are rejected before any work is done.
//! - Each area has one `#[non_exhaustive]` [`thiserror`] error enum, re-exported here.
//! - Identifiers are validated newtypes ([`sid`]); secrets and phone numbers reach logs only through [`Pii`].
//!
//! Areas:
//! - [`sid`]: SID newtypes (`AC…`, `WT…`, …) and the [`Pii`] redacting wrapper.
//! - [`token`]: Access Tokens (HS256 JWT): mint bit-identical to twilio-node, verify with Twilio's error codes.
//! - [`signature`]: `X-Twilio-Signature` webhook signatures (form and JSON bodies) and form-body parsing.
//! - [`twiml`]: a typed TwiML voice subset, its XML writer and a bounded, strict parser.
//!
//! ```
//! use tsunagi_twilio::twiml::{Conference, Dial};
//! use tsunagi_twilio::{signature, token, AccessToken, AccountSid, ApiKeySid, TaskRouterGrant, VoiceResponse};
//! use tsunagi_twilio::{WorkerSid, WorkspaceSid};
//!
//! // Server: mint a TaskRouter token; stand-in: verify it. Time is an input.
//! let account = AccountSid::from_u128(1);
//! let mut t = AccessToken::new(account, ApiKeySid::from_u128(2), "agent_1024");
//! t.task_router = Some(TaskRouterGrant::worker(WorkspaceSid::from_u128(3), WorkerSid::from_u128(4)));
//! let jwt = t.to_jwt("api-key-secret", 1_700_000_000)?;
//! let claims = token::verify(&jwt, "api-key-secret", &account, 1_700_000_010, 30)?;
//! assert_eq!(claims.require_task_router()?.1, WorkerSid::from_u128(4));
//!
//! // Stand-in: sign a webhook; server: verify the raw body against the public URL.
//! let url = "https://api.example.jp/twilio/voice/inbound";
//! let body = b"CallSid=CA1&From=%2B81312345678";
//! let sig = signature::compute("auth-token", url, &signature::parse_form(body)?);
//! let params = signature::verify_request("auth-token", url, body, &sig)?;
//! assert_eq!(params[1].1, "+81312345678");
//!
//! // Server: answer with TwiML; stand-in: interpret it.
//! let xml = VoiceResponse::new().verb(Dial::new(Conference::new("WT1"))).to_xml();
//! assert_eq!(VoiceResponse::parse(&xml)?.verbs.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod sid;

pub use sid::{
    AccountSid, ActivitySid, ApiKeySid, ApplicationSid, CallSid, ConferenceSid, EventSid, Pii,
    RecordingSid, ReservationSid, SidError, SyncDocumentSid, SyncListSid, SyncMapSid,
    SyncServiceSid, SyncStreamSid, TaskQueueSid, TaskSid, WorkerSid, WorkflowSid, WorkspaceSid,
};

pub mod token;

pub use token::{
    AccessToken, Claims, Grants, Header, SyncGrant, TaskRouterGrant, TokenError, VoiceGrant,
};

pub mod signature;

pub use signature::SignatureError;

pub mod twiml;

pub use twiml::{TwimlError, VoiceResponse};

/// TaskRouter EventBridge frames, the `wschannels` proxy envelope and resource shapes (owned by the twilio-sim work).
pub mod eventbridge;

/// PStream v1.6: the Voice JS SDK's signaling frames.
pub mod pstream;

pub use pstream::PStreamError;

/// Twilsock v3 framing for the Sync SDK transport (owned by the twilio-sim work).
pub mod twilsock;
