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

/// PStream v1.6: the Voice JS SDK's signaling frames.
pub mod pstream;

pub use pstream::PStreamError;

/// TaskRouter EventBridge frames, the `wschannels` proxy envelope and resource shapes (owned by the twilio-sim work).
pub mod eventbridge;
