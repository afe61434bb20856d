//! The one public vocabulary shared by the shell, the UI, the tray and the logs: commands in ([`Command`]), events
//! out ([`Event`]) and the small value types they carry.
//!
//! Every type here crosses to JavaScript, over Tauri IPC or over the loopback WebSocket, so each one is serde-typed,
//! `camelCase` and internally tagged (`"type"` for events, `"command"` for commands). **Wire names never change once
//! released**: add variants, never rename them.

use serde::{Deserialize, Serialize};
use tsunagi_twilio::{CallSid, ConferenceSid, Pii, TaskSid, WorkerSid};

use crate::error::UserError;

/// What a ring, a call or a command is about: a TaskRouter task, a direct call (no task) by its CallSid, or an
/// outgoing call by the attempt the core made when the agent dialled.
///
/// JSON: `{"kind":"task","sid":"WT…"}`, `{"kind":"call","sid":"CA…"}` or
/// `{"kind":"outgoing","sid":"<attempt uuid>"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "sid", rename_all = "camelCase")]
pub enum Target {
    /// A routed call, keyed by its TaskSid (the join key of reservation and call).
    Task(TaskSid),
    /// A direct call (internal transfer, outbound callback): it has no task.
    Call(CallSid),
    /// An outgoing call the agent dialled, keyed by its attempt for its whole life (the CallSid comes later).
    Outgoing(AttemptId),
}

/// One press of "call": a random (version 4) UUID the core makes, the idempotency key of the outgoing call
/// (`TsunagiAttempt` custom parameter → the server's attempt record).
///
/// JSON: the lowercase hyphenated UUID, e.g. `"6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttemptId(u128);

impl AttemptId {
    /// A version 4 UUID from 128 random bits (the version and variant bits are set here).
    pub fn from_random(bits: u128) -> Self {
        let bits = (bits & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        Self(bits)
    }

    /// Parses a hyphenated UUID (any case, any version); `None` if malformed.
    pub fn parse(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if *c != b'-' {
                    return None;
                }
                continue;
            }
            let d = char::from(*c).to_digit(16)?;
            v = (v << 4) | u128::from(d);
        }
        Some(Self(v))
    }

    /// The 128 bits.
    pub fn as_u128(self) -> u128 {
        self.0
    }
}

impl std::fmt::Display for AttemptId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

impl std::fmt::Debug for AttemptId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AttemptId({self})")
    }
}

impl Serialize for AttemptId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AttemptId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom("not a hyphenated UUID"))
    }
}

/// A TaskRouter activity the agent can choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Activity {
    /// Takes calls.
    Available,
    /// Away from the desk.
    Away,
    /// On a break.
    Break,
    /// Signed off: TaskRouter routes nothing.
    Offline,
}

/// What the agent's presence shows: a chosen [`Activity`] or a state derived from live work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PresenceState {
    /// Takes calls.
    Available,
    /// Away from the desk.
    Away,
    /// On a break.
    Break,
    /// Signed off.
    Offline,
    /// A reservation or a call is live.
    Busy,
    /// A call ended and its task waits for wrap-up to finish.
    WrapUp,
}

impl From<Activity> for PresenceState {
    fn from(a: Activity) -> Self {
        match a {
            Activity::Available => Self::Available,
            Activity::Away => Self::Away,
            Activity::Break => Self::Break,
            Activity::Offline => Self::Offline,
        }
    }
}

/// A caller's number or client identity. It is shown to the agent, so it serializes in clear, but it prints
/// redacted (`Display`/`Debug` go through [`Pii`]) so it never reaches a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Caller(pub Pii<String>);

impl Caller {
    /// Wraps a number such as `+81312345678` or `client:alice`.
    pub fn new(number: impl Into<String>) -> Self {
        Self(Pii(number.into()))
    }

    /// The number, unredacted, for display.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// An E.164 number: `+`, a first digit 1-9, then 1 to 14 more digits (no spaces or hyphens).
    pub fn is_e164(&self) -> bool {
        match self.expose().as_bytes() {
            [b'+', first, rest @ ..] => {
                (b'1'..=b'9').contains(first)
                    && (1..=14).contains(&rest.len())
                    && rest.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Caller({})", self.0)
    }
}

impl Serialize for Caller {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Caller {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::new)
    }
}

/// Customer data for the ring screen, from the task attributes (backend spec §4.3) and the server's call context
/// (`call.context` push, active-call reading), which adds the customer's owner and department (contract §8).
///
/// Every field is optional and left out of the JSON when unknown, so older payloads read unchanged.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Crm {
    /// `customer_id` (ASCII, routing-safe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    /// The customer's display name, decoded from `customer_name_enc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// The agent in charge of this customer (担当), by agent id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// The owner's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_name: Option<String>,
    /// The customer's department (部署), by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_id: Option<String>,
    /// The department's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<String>,
}

impl Crm {
    /// `newer`'s known fields over `self`'s: a later source adds to what an earlier one said, never erases it.
    pub fn merged(&self, newer: &Crm) -> Crm {
        let pick = |new: &Option<String>, old: &Option<String>| new.clone().or_else(|| old.clone());
        Crm {
            customer_id: pick(&newer.customer_id, &self.customer_id),
            customer_name: pick(&newer.customer_name, &self.customer_name),
            owner_id: pick(&newer.owner_id, &self.owner_id),
            owner_name: pick(&newer.owner_name, &self.owner_name),
            department_id: pick(&newer.department_id, &self.department_id),
            department_name: pick(&newer.department_name, &self.department_name),
        }
    }

    /// `Some` if any field is known.
    pub fn non_empty(self) -> Option<Crm> {
        (self != Crm::default()).then_some(self)
    }
}

impl std::fmt::Debug for Crm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The name is personal data: never in Debug output. Owner and department are the company's own data.
        f.debug_struct("Crm")
            .field("customer_id", &self.customer_id)
            .field(
                "customer_name",
                &self.customer_name.as_ref().map(|_| "<redacted>"),
            )
            .field("owner_id", &self.owner_id)
            .field("department_id", &self.department_id)
            .finish()
    }
}

/// One agent of the supervisors' roster: pushed over `/v1/events` (`{"type":"roster","agents":[…]}`, at a bounded
/// rate and only after a change) and read from `GET /v1/roster`. Reads the server's snake_case, speaks camelCase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterEntry {
    /// Agent id (the Twilio client identity).
    #[serde(alias = "agent_id")]
    pub agent_id: String,
    /// Display name.
    #[serde(alias = "display_name")]
    pub display_name: String,
    /// Department, if any.
    #[serde(default, alias = "department_id")]
    pub department_id: Option<String>,
    /// The agent's TaskRouter worker, when the server tells (needed to transfer to them).
    #[serde(default, alias = "worker_sid")]
    pub worker_sid: Option<String>,
    /// TaskRouter activity name (`Available`, `Break`, …; `Unknown` before the first event).
    pub activity: String,
    /// When the activity started (Unix ms; 0 if unknown).
    #[serde(default, alias = "since_ms")]
    pub since_ms: i64,
    /// The call the agent is on now; `None` when none (or from a server that does not say).
    #[serde(default, alias = "on_call", skip_serializing_if = "Option::is_none")]
    pub on_call: Option<RosterCall>,
}

/// The call a roster agent is on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterCall {
    /// Which way it goes.
    pub direction: CallDirection,
    /// A routed call's task (what a supervisor monitors); `None` for an outgoing call.
    #[serde(default, alias = "task_sid", skip_serializing_if = "Option::is_none")]
    pub task_sid: Option<TaskSid>,
}

/// Which way a call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallDirection {
    /// A routed call the agent answered (or took over by transfer).
    Inbound,
    /// A call the agent dialled.
    Outbound,
    /// A direction this version does not know (a newer server): still a call.
    #[serde(other)]
    Other,
}

/// Where a call is transferred to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum TransferTo {
    /// Another agent.
    Worker {
        /// The agent's TaskRouter worker.
        worker: WorkerSid,
    },
    /// A phone number (E.164).
    Number {
        /// The number to dial.
        number: Caller,
    },
}

/// Cold (blind) or warm (consult first) transfer (backend spec §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferMode {
    /// Hand over at once.
    Cold,
    /// Hold the customer and talk to the target first.
    Warm,
}

/// Where a transfer of the agent's call stands: the server's `transfer.*` pushes (backend spec §5.4), plus
/// `dialing` once the server accepted the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferStage {
    /// The server is calling the target.
    Dialing,
    /// A warm transfer's target joined: the agent and the target talk, the customer is on hold.
    Connected,
    /// The target has the customer; the agent is out of the call.
    Completed,
    /// The target did not take the call; the customer is still with the agent (and off hold).
    Failed,
}

/// Why a transfer failed (the server's `reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferFailure {
    /// The target was busy.
    Busy,
    /// The target did not answer in time.
    NoAnswer,
    /// The target's leg could not be placed or failed.
    Unreachable,
    /// The target's leg was canceled.
    Canceled,
    /// The target hung up during the consultation.
    TargetLeft,
    /// A reason this version does not know.
    Other,
}

impl TransferFailure {
    /// Reads the server's reason (`busy`, `no-answer`, `failed`, `create-failed`, `canceled`, `target-left`).
    pub fn from_server(reason: &str) -> Self {
        match reason {
            "busy" => Self::Busy,
            "no-answer" => Self::NoAnswer,
            "failed" | "create-failed" => Self::Unreachable,
            "canceled" => Self::Canceled,
            "target-left" => Self::TargetLeft,
            _ => Self::Other,
        }
    }
}

/// Where the customer's side of an outgoing call stands: the agent's own leg connects first (it joins the
/// call's conference), then the server adds the customer's phone, which rings until they answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OutgoingStage {
    /// The customer has not answered yet (from the dial until the server's `outbound.connected`).
    Ringing,
    /// The customer answered: hold and the rest of the call control work.
    Answered,
}

/// A command from the UI or the tray. The shell deserializes it and hands it to the session unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "command",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Command {
    /// Sign in: fetch a token, connect, become Available.
    Login,
    /// Sign out: become Offline and disconnect. Refused during a call or wrap-up.
    Logout,
    /// Choose an activity. During a call or wrap-up it takes effect when the work ends.
    SetPresence {
        /// The activity to switch to.
        activity: Activity,
    },
    /// Answer a ringing call.
    Answer {
        /// The ring to answer.
        target: Target,
    },
    /// Decline a ringing call (its task re-routes).
    Reject {
        /// The ring to decline.
        target: Target,
    },
    /// Hang up a connected call (or decline one still ringing).
    Hangup {
        /// The call to end.
        target: Target,
    },
    /// Put the customer on hold (routed calls only).
    Hold {
        /// The call.
        target: Target,
    },
    /// Take the customer off hold.
    Unhold {
        /// The call.
        target: Target,
    },
    /// Mute the agent's microphone.
    Mute {
        /// The call.
        target: Target,
    },
    /// Unmute the agent's microphone.
    Unmute {
        /// The call.
        target: Target,
    },
    /// Send DTMF digits (`0-9`, `*`, `#`, `w` for a pause; at most 64).
    SendDigits {
        /// The call.
        target: Target,
        /// The digits.
        digits: String,
    },
    /// Transfer a routed call.
    Transfer {
        /// The call.
        target: Target,
        /// Where to.
        to: TransferTo,
        /// Cold or warm.
        mode: TransferMode,
    },
    /// Finish wrap-up: complete the task and restore the previous activity.
    CompleteWrapup {
        /// The task in wrap-up.
        task: TaskSid,
    },
    /// Place an outgoing call to an E.164 number (`+` and 2 to 15 digits). Refused during another call, ring or
    /// wrap-up, when signed out, and when an update is required. The call shows as
    /// [`Target::Outgoing`]; hang it up with [`Command::Hangup`].
    Dial {
        /// The number, e.g. `+81312345678`.
        to: Caller,
    },
}

/// Why a ring stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RingStopReason {
    /// The agent answered.
    Answered,
    /// The agent declined.
    Rejected,
    /// The caller hung up before the answer.
    CallerHungUp,
    /// The task was canceled (e.g. the caller left the queue).
    Canceled,
    /// TaskRouter gave the task to another agent.
    Rescinded,
    /// Nobody answered in time.
    TimedOut,
    /// The reservation vanished (seen in a resync after a reconnect).
    Gone,
    /// Answering failed; an [`Event::Error`] says why.
    AnswerFailed,
    /// This client may no longer take calls (an update is required, or the agent signed out).
    NotTakingCalls,
}

/// Where a call stands, as the call screen shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CallPhase {
    /// Answer pressed: accepting the reservation and the call (or, outgoing: dialling).
    Connecting,
    /// Talking.
    Connected,
    /// The call ended; the task waits for wrap-up to finish.
    WrapUp,
    /// Done (no wrap-up, or wrap-up completed).
    Ended,
}

/// One of the supervised sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SocketKind {
    /// TaskRouter EventBridge (worker events).
    TaskRouter,
    /// Twilio Sync over Twilsock.
    Sync,
    /// The companion server's `/v1/events` push.
    Events,
}

/// The state of one supervised socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ConnectionState {
    /// Opening the socket.
    Connecting,
    /// Open, bootstrapped and subscribed.
    Connected,
    /// Lost; the next attempt starts in `retryInMs`.
    Reconnecting {
        /// Consecutive failed attempts.
        attempt: u32,
        /// Milliseconds until the next attempt.
        retry_in_ms: u64,
    },
    /// Not connected and not retrying.
    Stopped {
        /// Why.
        reason: StopReason,
    },
}

/// Why a socket is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StopReason {
    /// Signed out.
    LoggedOut,
    /// The token expired; the socket resumes when a new token arrives.
    TokenExpired,
    /// This client version is no longer accepted.
    UpdateRequired,
}

/// An event for the UI, the tray, notifications and logs: the one event vocabulary.
///
/// JSON: `{"type":"ringing","target":{…},"task":"WT…",…}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum Event {
    /// Start ringing (window, tray, notification, ringtone). At most one per task.
    Ringing {
        /// What rings.
        target: Target,
        /// The task, for routed calls.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<TaskSid>,
        /// The call, once the Device has it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallSid>,
        /// Who calls, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<Caller>,
        /// Customer data, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crm: Option<Crm>,
    },
    /// The ring's details grew (the other half arrived); it is still the same ring.
    RingUpdated {
        /// What rings.
        target: Target,
        /// The call, once the Device has it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call: Option<CallSid>,
        /// Who calls, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller: Option<Caller>,
        /// Customer data, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crm: Option<Crm>,
    },
    /// Stop ringing everywhere, now.
    RingStopped {
        /// What rang.
        target: Target,
        /// Why it stopped.
        reason: RingStopReason,
    },
    /// The agent dialled: an outgoing call to `to` starts as `target` (its [`Event::CallState`]s follow).
    Dialing {
        /// The outgoing call.
        target: Target,
        /// The number dialled.
        to: Caller,
    },
    /// A call's state changed.
    CallState {
        /// The call.
        target: Target,
        /// Where it stands.
        phase: CallPhase,
        /// The agent's microphone is muted.
        muted: bool,
        /// The customer is on hold.
        on_hold: bool,
    },
    /// The server told what it knows of an answered call (its conference, the customer); sent when it changes.
    CallContext {
        /// The call.
        target: Target,
        /// The task's conference, once it exists.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conference: Option<ConferenceSid>,
        /// Customer data, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crm: Option<Crm>,
    },
    /// The agent's presence changed.
    Presence {
        /// What the presence shows.
        state: PresenceState,
        /// The activity the agent chose (restored after wrap-up).
        selected: Activity,
    },
    /// A socket's state changed.
    Connection {
        /// Which socket.
        socket: SocketKind,
        /// Its state.
        state: ConnectionState,
    },
    /// This client version is no longer supported: it takes no new calls until updated.
    UpdateRequired {
        /// The minimum supported version, when the server said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_supported: Option<String>,
    },
    /// The customer's side of an outgoing call moved on (sent at the dial, then when the customer answers).
    Outgoing {
        /// The outgoing call.
        target: Target,
        /// Where the customer's side stands.
        stage: OutgoingStage,
    },
    /// A transfer of the agent's call moved on (the call's banner follows it).
    Transfer {
        /// The routed call being transferred.
        target: Target,
        /// Cold or warm, as the agent asked.
        mode: TransferMode,
        /// Where it stands.
        stage: TransferStage,
        /// Why it failed (stage `failed` only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<TransferFailure>,
    },
    /// The team's presence as the server pushed it (supervisors only): every agent, replacing the last roster.
    Roster {
        /// Every agent with a worker.
        agents: Vec<RosterEntry>,
    },
    /// Something the agent must know about, in Japanese and English.
    Error(UserError),
}
