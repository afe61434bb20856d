//! What the driver feeds the session ([`Input`]) and what it must do in return ([`Action`]).
//!
//! Inputs are facts: something arrived from TaskRouter, from the webview's Voice SDK `Device`, from a socket, or
//! an action the driver ran has finished (`…Result`). Actions are commands for the driver; their outcomes come
//! back as inputs. See the crate docs for the ordering contract.

use std::collections::HashMap;

use tsunagi_twilio::{CallSid, ReservationSid, TaskSid};

use crate::api::{
    Activity, AttemptId, Caller, Command, Crm, Event, OutgoingStage, SocketKind, Target,
    TransferFailure, TransferMode, TransferStage, TransferTo,
};
use crate::error::CoreError;

/// One input to [`crate::Session::handle`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// A command from the UI or the tray.
    Command(Command),
    /// A TaskRouter push (EventBridge), or the result of a resync.
    TaskRouter(TaskRouterEvent),
    /// A Voice SDK `Device`/`Call` event forwarded from the webview.
    Device(DeviceEvent),
    /// The outcome of an [`Action`] that called a server.
    Result(ActionResult),
    /// Something happened on a supervised socket.
    Socket {
        /// Which socket.
        socket: SocketKind,
        /// Which connection attempt (from [`Action::Connect`]); stale ones are ignored.
        conn: ConnId,
        /// What happened.
        event: SocketEvent,
    },
    /// Token lifecycle news.
    Token(TokenEvent),
    /// The server pushed what it knows about a task's call: conference, legs, customer.
    CallContext(Box<crate::context::CallContext>),
    /// The server pushed the team roster (supervisors); it is shown as it is.
    Roster(Vec<crate::api::RosterEntry>),
    /// The server pushed news of a transfer of one of the agent's routed calls (`transfer.*`).
    Transfer(TransferNews),
    /// The server pushed news of the customer's side of one of the agent's outgoing calls
    /// (`outbound.dialing` / `outbound.connected`).
    Outbound(OutboundNews),
    /// What a resync of `socket` read (after [`Action::Resync`]). Dropped if a push about the same state arrived
    /// after that resync began (the reading may predate it).
    Resynced {
        /// The socket whose resync read it.
        socket: SocketKind,
        /// What was read.
        reading: Reading,
    },
    /// The server answered `426 CLIENT_UPGRADE_REQUIRED` (to any request).
    UpgradeRequired {
        /// `min_supported` from the response body.
        min_supported: Option<String>,
    },
    /// Time passed; feed it at [`crate::Session::next_deadline`].
    Tick,
}

/// A `transfer.connected` / `transfer.completed` / `transfer.failed` push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferNews {
    /// The task whose call is being transferred.
    pub task: TaskSid,
    /// Where the transfer stands now (never [`TransferStage::Dialing`]: the server does not push that).
    pub stage: TransferStage,
    /// Why it failed (`Failed` only).
    pub reason: Option<TransferFailure>,
}

/// An `outbound.dialing` or `outbound.connected` push.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutboundNews {
    /// The outgoing call, by the attempt the core made when the agent dialled (`TsunagiAttempt`).
    pub attempt: AttemptId,
    /// Where the customer's side stands now.
    pub stage: OutgoingStage,
}

/// State read by a resync (HTTP), as opposed to pushed.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reading {
    /// The worker's activity at TaskRouter (`None`: not one of the selectable four).
    WorkerActivity(Option<Activity>),
    /// The agent's active call as the server knows it (`GET /v1/agents/me/active-call`).
    CallContext(Box<crate::context::CallContext>),
    /// The agent's outbound attempt as the server knows it (the same reading's `outbound`): what the
    /// `outbound.*` pushes missed while the socket was down.
    Outbound {
        /// The outgoing call, by the attempt the core made when the agent dialled.
        attempt: AttemptId,
        /// Where it stands at the server.
        state: OutboundState,
    },
}

/// An outbound attempt's state in a resync reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboundState {
    /// Still on: the customer's side rings or answered (as the `outbound.dialing` / `.connected` pushes say).
    Live(OutgoingStage),
    /// Over at the server (failed, canceled or hung up): the call ends here too.
    Over,
}

impl OutboundState {
    /// From the server's stored status (`init`, `dialing`, `connected`, `failed`, `ended`); `None` if unknown.
    pub fn from_server(status: &str) -> Option<Self> {
        match status {
            "init" | "dialing" => Some(Self::Live(OutgoingStage::Ringing)),
            "connected" => Some(Self::Live(OutgoingStage::Answered)),
            "failed" | "ended" => Some(Self::Over),
            _ => None,
        }
    }
}

/// A reservation offered to this worker, with what the ring screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ReservationInfo {
    /// The reservation.
    pub reservation: ReservationSid,
    /// Its task (the join key with the Device call).
    pub task: TaskSid,
    /// The caller (`from` in the task attributes).
    pub caller: Option<Caller>,
    /// Customer data from the task attributes.
    pub crm: Option<Crm>,
}

impl ReservationInfo {
    /// Builds the info from the task's `attributes` object (backend spec §4.3): `from` or `caller` gives the
    /// caller, `customer_id` and `customer_name_enc` (RFC 3986 percent-encoded UTF-8) give the CRM data, and
    /// `owner_agent_id`/`owner_name_enc`, `department_id`/`department_name_enc` the owner and department.
    /// Missing or malformed values are left out; this never fails.
    pub fn from_task_attributes(
        reservation: ReservationSid,
        task: TaskSid,
        attributes: &serde_json::Value,
    ) -> Self {
        let text = |key: &str| attributes.get(key).and_then(serde_json::Value::as_str);
        let caller = text("from").or_else(|| text("caller")).map(Caller::new);
        let decoded = |key: &str| {
            text(key).and_then(|enc| {
                percent_encoding::percent_decode_str(enc)
                    .decode_utf8()
                    .ok()
                    .map(|s| s.into_owned())
            })
        };
        // Owner and department names ride like the customer's (percent-encoded), so the ring can show them
        // before the server's call context exists (it is pushed once the conference does).
        let crm = Crm {
            customer_id: text("customer_id").map(str::to_owned),
            customer_name: decoded("customer_name_enc"),
            owner_id: text("owner_agent_id").map(str::to_owned),
            owner_name: decoded("owner_name_enc"),
            department_id: text("department_id").map(str::to_owned),
            department_name: decoded("department_name_enc"),
        }
        .non_empty();
        Self {
            reservation,
            task,
            caller,
            crm,
        }
    }
}

/// How a reservation ended, as TaskRouter reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReservationEnd {
    /// `reservation.canceled`: the task was canceled (e.g. the caller left the queue).
    Canceled,
    /// `reservation.rescinded`: another worker got the task.
    Rescinded,
    /// `reservation.timeout`: nobody answered within the reservation timeout.
    Timeout,
    /// `reservation.rejected`.
    Rejected,
    /// `reservation.completed`.
    Completed,
}

/// A reservation's status in a resync snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// Still offered.
    Pending,
    /// Accepted (assigned).
    Accepted,
    /// In wrap-up.
    Wrapping,
}

/// TaskRouter pushes (EventBridge), mapped by the driver.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum TaskRouterEvent {
    /// `reservation.created`.
    ReservationCreated(ReservationInfo),
    /// `reservation.accepted`.
    ReservationAccepted {
        /// The reservation.
        reservation: ReservationSid,
        /// Its task.
        task: TaskSid,
    },
    /// `reservation.canceled` / `.rescinded` / `.timeout` / `.rejected` / `.completed`.
    ReservationEnded {
        /// The reservation.
        reservation: ReservationSid,
        /// Its task.
        task: TaskSid,
        /// How it ended.
        end: ReservationEnd,
    },
    /// `task.wrapup` or `reservation.wrapup`.
    TaskWrapup {
        /// The task.
        task: TaskSid,
    },
    /// `task.completed`.
    TaskCompleted {
        /// The task.
        task: TaskSid,
    },
    /// `task.canceled`.
    TaskCanceled {
        /// The task.
        task: TaskSid,
    },
    /// The worker's active reservations, fetched after a [`Action::Resync`] (EventBridge re-bootstrap replays
    /// state without events; this is how nothing is lost across a reconnect).
    Snapshot {
        /// Every active reservation of this worker, with its status.
        reservations: Vec<(ReservationInfo, SnapshotStatus)>,
    },
    /// `worker.activity.update`; `None` for an activity that is not one of the four selectable ones (e.g. a
    /// post-work "WrapUp" activity).
    WorkerActivity {
        /// The worker's activity now.
        activity: Option<Activity>,
    },
}

/// The Device call's custom parameters that matter to the session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallParams {
    /// The task this call belongs to (`TaskSid`); `None` for a direct call.
    pub task: Option<TaskSid>,
    /// The reservation this call belongs to (`ReservationSid`), when the server adds it.
    pub reservation: Option<ReservationSid>,
    /// The caller (`From` of `call.parameters`).
    pub caller: Option<Caller>,
}

impl CallParams {
    /// Custom parameter carrying the TaskSid (set by the server on the agent leg).
    pub const TASK_SID: &'static str = "TaskSid";
    /// Custom parameter carrying the ReservationSid (the server sets it too; it makes late calls unambiguous).
    pub const RESERVATION_SID: &'static str = "ReservationSid";

    /// Reads `call.customParameters` and the caller. A missing `TaskSid` means a direct call; a malformed one is
    /// an error (the shell should log it and fall back to [`CallParams::direct`]).
    pub fn from_custom_parameters(
        custom: &HashMap<String, String>,
        caller: Option<&str>,
    ) -> Result<Self, CoreError> {
        let task = custom
            .get(Self::TASK_SID)
            .map(|s| TaskSid::parse(s))
            .transpose()
            .map_err(|source| CoreError::InvalidParameter {
                name: Self::TASK_SID,
                source,
            })?;
        let reservation = custom
            .get(Self::RESERVATION_SID)
            .map(|s| ReservationSid::parse(s))
            .transpose()
            .map_err(|source| CoreError::InvalidParameter {
                name: Self::RESERVATION_SID,
                source,
            })?;
        Ok(Self {
            task,
            reservation,
            caller: caller.map(Caller::new),
        })
    }

    /// Parameters of a direct call (no task).
    pub fn direct(caller: Option<&str>) -> Self {
        Self {
            caller: caller.map(Caller::new),
            ..Self::default()
        }
    }
}

/// Voice SDK events forwarded from the webview, keyed by the call's CallSid.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// `Device.incoming`.
    Incoming {
        /// The agent leg.
        call: CallSid,
        /// Its parameters.
        params: CallParams,
    },
    /// `Call.cancel`: the caller hung up (or the leg timed out) before the answer.
    Canceled {
        /// The call.
        call: CallSid,
    },
    /// `Call.accept`: the call is connected (the result of [`Action::AcceptCall`]).
    Accepted {
        /// The call.
        call: CallSid,
    },
    /// `call.accept()` failed (media, microphone).
    AcceptFailed {
        /// The call.
        call: CallSid,
    },
    /// `Call.disconnect`: the connected call ended (either side).
    Disconnected {
        /// The call.
        call: CallSid,
    },
    /// `Call.mute`.
    Muted {
        /// The call.
        call: CallSid,
        /// Whether the microphone is muted now.
        muted: bool,
    },
    /// The outgoing call of [`Action::ConnectCall`] got its CallSid (`call.parameters.CallSid`, known once the
    /// SDK's `ringing` or `accept` arrives). Then the usual `Accepted`, `Disconnected`, `AcceptFailed` follow,
    /// keyed by `call`. A report for an attempt the core does not hold (hung up meanwhile, timed out, a stray
    /// duplicate) makes the core hang the call up.
    Outgoing {
        /// The outgoing call.
        call: CallSid,
        /// The attempt from [`Action::ConnectCall`].
        attempt: AttemptId,
    },
    /// `device.connect()` failed before the call had a CallSid (no microphone, no token, signalling error).
    OutgoingFailed {
        /// The attempt from [`Action::ConnectCall`].
        attempt: AttemptId,
    },
}

/// The outcome of a REST call, as the session needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RestResult {
    /// 2xx.
    Ok,
    /// 403: the token's policies forbid it.
    Forbidden,
    /// The resource is no longer in a state that allows it (e.g. reservation no longer pending, task already
    /// completed): 404, 409, 410, or Twilio codes 40136/40144.
    NotPending,
    /// 426: this client version is no longer supported.
    UpgradeRequired,
    /// 409 `CONFERENCE_NOT_READY` from the companion server: the call's conference (or, outgoing, the
    /// customer's answer) is not there yet.
    NotReady,
    /// Anything else: network error, 5xx, other 4xx.
    Failed,
}

impl RestResult {
    /// Classifies an HTTP status and an optional Twilio error code. `None` status means no response.
    pub fn from_status(status: Option<u16>, twilio_code: Option<u32>) -> Self {
        if matches!(twilio_code, Some(40136 | 40144)) {
            return Self::NotPending;
        }
        match status {
            Some(200..=299) => Self::Ok,
            Some(403) => Self::Forbidden,
            Some(404 | 409 | 410) => Self::NotPending,
            Some(426) => Self::UpgradeRequired,
            _ => Self::Failed,
        }
    }
}

impl RestResult {
    /// Classifies a companion server reply: its HTTP status (`None`: no response) and the `code` of its JSON
    /// error body, if any. Like [`RestResult::from_status`], plus 409 `CONFERENCE_NOT_READY` → [`Self::NotReady`].
    pub fn from_server(status: Option<u16>, code: Option<&str>) -> Self {
        match (status, code) {
            (Some(409), Some("CONFERENCE_NOT_READY")) => Self::NotReady,
            _ => Self::from_status(status, None),
        }
    }
}

/// Outcomes of actions that call a server.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ActionResult {
    /// [`Action::AcceptReservation`] finished.
    AcceptReservation {
        /// The reservation.
        reservation: ReservationSid,
        /// How it went.
        result: RestResult,
    },
    /// [`Action::CompleteTask`] finished.
    CompleteTask {
        /// The task.
        task: TaskSid,
        /// How it went.
        result: RestResult,
    },
    /// [`Action::SetActivity`] finished.
    SetActivity {
        /// The activity requested.
        activity: Activity,
        /// How it went.
        result: RestResult,
    },
    /// [`Action::CallControl`] finished.
    CallControl {
        /// The call.
        target: ControlTarget,
        /// The operation.
        op: ControlOp,
        /// How it went.
        result: RestResult,
    },
}

/// Identifies one connection attempt of a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Socket news for the supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SocketEvent {
    /// The WebSocket is open (the protocol's `init` has not arrived yet).
    Opened,
    /// The protocol is up: `init` received (EventBridge) or `init` replied (Twilsock).
    Ready,
    /// Any data frame arrived, keepalives included (it resets the heartbeat watchdog).
    Frame,
    /// The server says it dropped pushes for this socket: read the state again ([`Action::Resync`]).
    ResyncRequested,
    /// The socket closed or could not open.
    Closed(CloseReason),
}

/// Why a socket closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Network loss, server close, failed upgrade: reconnect with backoff.
    Lost,
    /// The server says the token expired: reconnect only with a new token.
    TokenExpired,
    /// The server refused the token (401): fetch a new one and reconnect with backoff.
    Unauthorized,
    /// The server asks to reconnect elsewhere, no sooner than `min_backoff_ms` (Twilsock 308).
    Redirect {
        /// The minimum delay before reconnecting.
        min_backoff_ms: u64,
    },
    /// The server refuses this client version (`426 CLIENT_UPGRADE_REQUIRED`): never reconnect. (Feed
    /// [`Input::UpgradeRequired`] too, so the session stops taking calls.)
    UpdateRequired,
}

/// Token lifecycle news.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEvent {
    /// A new Access Token arrived (the driver keeps the token itself and uses it everywhere at once).
    Issued {
        /// Its `exp` claim, Unix seconds.
        expires_unix: u64,
        /// The wall clock when it arrived, Unix seconds.
        now_unix: u64,
    },
    /// Fetching a token failed (not 426; that is [`Input::UpgradeRequired`]).
    FetchFailed,
    /// A server warned the token is about to expire (Twilsock `token_about_to_expire`).
    AboutToExpire,
}

/// What the server's call control acts on (contract §5): a routed call by its task, or an outgoing call by the
/// attempt the core made when the agent dialled (the server's `ob-<uuid>` conference).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlTarget {
    /// A routed call.
    Task(TaskSid),
    /// An outgoing call.
    Outgoing(AttemptId),
}

impl ControlTarget {
    /// The call this is about, as the UI names it.
    pub fn target(self) -> Target {
        match self {
            Self::Task(task) => Target::Task(task),
            Self::Outgoing(attempt) => Target::Outgoing(attempt),
        }
    }
}

/// The id in the server's URL: `WT…` or `ob-<uuid>`.
impl std::fmt::Display for ControlTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Task(task) => write!(f, "{task}"),
            Self::Outgoing(attempt) => write!(f, "ob-{attempt}"),
        }
    }
}

/// A call-control operation the server performs on the call's conference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ControlOp {
    /// End the call server-side: its conference (the customer's leg with it), or, before the conference exists,
    /// whatever the server can end (backend spec §5.3). Sent with the Device's own disconnect, so the customer
    /// is never left in a conference the agent's leg dropped out of.
    Hangup,
    /// Put the customer on hold.
    Hold,
    /// Take the customer off hold.
    Unhold,
    /// Transfer the call.
    Transfer {
        /// Where to.
        to: TransferTo,
        /// Cold or warm.
        mode: TransferMode,
    },
}

/// Why a task is completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompleteReason {
    /// The agent finished wrap-up.
    WrapUpFinished,
    /// The wrap-up time ran out.
    AutoWrapUp,
    /// The caller hung up after the reservation was accepted, before the call connected.
    CallerAbandoned,
    /// The reservation was accepted but the agent's call leg failed.
    AgentLegFailed,
}

/// A command for the driver. Run them in order; report outcomes as [`Input`]s.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Show this event (UI, tray, notification, ringtone, logs).
    Emit(Event),
    /// Accept the reservation (TaskRouter REST); report [`ActionResult::AcceptReservation`].
    AcceptReservation {
        /// The task.
        task: TaskSid,
        /// The reservation.
        reservation: ReservationSid,
    },
    /// Reject the reservation so the task re-routes (best effort; "no longer pending" is fine). No result needed.
    RejectReservation {
        /// The task.
        task: TaskSid,
        /// The reservation.
        reservation: ReservationSid,
    },
    /// Complete the task (leave `wrapping`); report [`ActionResult::CompleteTask`].
    CompleteTask {
        /// The task.
        task: TaskSid,
        /// Why.
        reason: CompleteReason,
    },
    /// Set the worker's activity; report [`ActionResult::SetActivity`].
    SetActivity {
        /// The activity.
        activity: Activity,
    },
    /// `call.accept()` in the webview; report [`DeviceEvent::Accepted`] or [`DeviceEvent::AcceptFailed`].
    AcceptCall {
        /// The call.
        call: CallSid,
    },
    /// `call.reject()` in the webview (a ringing call).
    RejectCall {
        /// The call.
        call: CallSid,
    },
    /// `call.disconnect()` in the webview (a call being accepted or connected).
    DisconnectCall {
        /// The call.
        call: CallSid,
    },
    /// `device.connect({ params: { To: to, TsunagiAttempt: attempt } })` in the webview; report
    /// [`DeviceEvent::Outgoing`] once the call has a CallSid (or [`DeviceEvent::OutgoingFailed`]).
    ConnectCall {
        /// The E.164 number (already validated).
        to: Caller,
        /// This press's idempotency key.
        attempt: AttemptId,
    },
    /// `call.mute(muted)`; the Device reports [`DeviceEvent::Muted`].
    MuteCall {
        /// The call.
        call: CallSid,
        /// Mute or unmute.
        muted: bool,
    },
    /// `call.sendDigits(digits)` (already validated).
    SendDigits {
        /// The call.
        call: CallSid,
        /// `0-9 * # w`.
        digits: String,
    },
    /// Ask the server to act on the call's conference; report [`ActionResult::CallControl`].
    CallControl {
        /// The routed call's task or the outgoing call's attempt.
        target: ControlTarget,
        /// What to do.
        op: ControlOp,
    },
    /// Open the socket; report [`SocketEvent`]s tagged with `conn`.
    Connect {
        /// Which socket.
        socket: SocketKind,
        /// This attempt's id.
        conn: ConnId,
    },
    /// Close the socket attempt `conn`, if still open. No report needed.
    Disconnect {
        /// Which socket.
        socket: SocketKind,
        /// The attempt.
        conn: ConnId,
    },
    /// Re-bootstrap after (re)connecting: for TaskRouter, fetch the active reservations and report
    /// [`TaskRouterEvent::Snapshot`]; for Sync, re-subscribe with replay.
    Resync {
        /// Which socket.
        socket: SocketKind,
    },
    /// Fetch a new Access Token from the server; report [`TokenEvent`] or [`Input::UpgradeRequired`].
    FetchToken,
    /// Run the updater check (this version is no longer supported).
    CheckForUpdate,
}
