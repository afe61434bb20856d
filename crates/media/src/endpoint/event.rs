//! What an [`Endpoint`](super::Endpoint) tells its driver: datagrams to send, events, and when to call again.

use std::net::SocketAddr;
use std::time::Instant;

use serde::Serialize;

use crate::quality::{CallStats, QualityWarning};

/// The next thing the driver must do (str0m's `Output`, narrowed to what a call needs).
#[derive(Debug)]
pub enum Output {
    /// Send `contents` from `source` to `destination`.
    Transmit {
        /// Local address (one of the candidates).
        source: SocketAddr,
        /// Remote address.
        destination: SocketAddr,
        /// The datagram.
        contents: Vec<u8>,
    },
    /// Something happened.
    Event(EndpointEvent),
    /// Nothing more to do before this instant (or before new input).
    Timeout(Instant),
}

/// ICE connection state, with the names of `RTCIceConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceState {
    /// No checks yet.
    New,
    /// Checking candidate pairs.
    Checking,
    /// A pair works.
    Connected,
    /// Checks are done.
    Completed,
    /// Connectivity was lost (may come back).
    Disconnected,
    /// Closed locally.
    Closed,
}

impl From<str0m::IceConnectionState> for IceState {
    fn from(s: str0m::IceConnectionState) -> Self {
        match s {
            str0m::IceConnectionState::New => Self::New,
            str0m::IceConnectionState::Checking => Self::Checking,
            str0m::IceConnectionState::Connected => Self::Connected,
            str0m::IceConnectionState::Completed => Self::Completed,
            str0m::IceConnectionState::Disconnected => Self::Disconnected,
        }
    }
}

/// Events of one call's media, serialized for the webview (`{ "event": …, "data": … }`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "camelCase")]
pub enum EndpointEvent {
    /// The ICE state changed.
    IceState(IceState),
    /// ICE and DTLS are up: media flows.
    Connected,
    /// Periodic statistics (every stats interval once connected).
    Stats(CallStats),
    /// A quality warning was raised (`raised: true`) or cleared.
    Warning {
        /// Which one.
        warning: QualityWarning,
        /// Raised or cleared.
        raised: bool,
    },
    /// A sound device problem or recovery (emitted by the driver's audio port, never by the endpoint).
    Device(crate::device::DeviceEvent),
    /// The endpoint was closed or failed; no more output follows.
    Closed,
}
