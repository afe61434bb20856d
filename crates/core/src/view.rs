//! A read-only, serializable picture of the whole session ([`SessionView`]), for the shell's `get_state` and for
//! a UI that (re)connects mid-session: the event stream tells what changes, the view tells what is.

use serde::{Deserialize, Serialize};
use tsunagi_twilio::{CallSid, ConferenceSid, ReservationSid};

use crate::api::{Activity, ConnectionState, PresenceState, SocketKind, Target};
use crate::reconciler::OfferPhase;

/// One supervised socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    /// Which socket.
    pub socket: SocketKind,
    /// Its state.
    pub state: ConnectionState,
}

/// One ring, call or wrap-up the reconciler holds (stopped rings kept only to refuse late halves are left out).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallView {
    /// The task or direct call.
    pub target: Target,
    /// The reservation, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<ReservationSid>,
    /// The Device call, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallSid>,
    /// The conference, once the server told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference: Option<ConferenceSid>,
    /// Where it stands.
    pub phase: OfferPhase,
}

/// The whole session at one instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// The agent is signed in.
    pub logged_in: bool,
    /// What the presence shows.
    pub presence: PresenceState,
    /// The activity the agent chose.
    pub selected: Activity,
    /// The server required an update; no new calls are taken.
    pub update_required: bool,
    /// Every supervised socket.
    pub connections: Vec<ConnectionView>,
    /// Rings, calls and wrap-ups.
    pub calls: Vec<CallView>,
}
