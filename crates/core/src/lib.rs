//! # tsunagi-core: the agent session, sans-IO
//!
//! Everything an agent's session decides — which ring is shown, when a reservation is accepted, when a task is
//! completed, which activity is set, when to refresh the token, when to reconnect, whether this version may
//! still take calls — lives here as plain state machines. They own no sockets, no timers, no threads and no
//! clock; the shell (Tauri, or a test) owns all I/O and feeds them.
//!
//! ## Sans I/O
//!
//! [`Session`] is the one machine the shell talks to. It composes:
//! - [`Reconciler`]: joins TaskRouter reservations and Voice SDK calls by TaskSid (one ring per task, answer
//!   with undo, wrap-up to completion), and carries the agent's outgoing calls (dial, connect, hang up);
//! - [`Presence`]: the chosen activity, TaskRouter's view, and the derived Busy / WrapUp;
//! - [`TokenLifecycle`]: refresh ahead of expiry, retries, 426;
//! - one [`Supervisor`] per socket: heartbeat, full-jitter backoff, resync on reconnect.
//!
//! Each machine is a struct with `&mut self` methods: `handle(input, now) -> Vec<Action>` and
//! `next_deadline()`. Time is an input: monotonic [`std::time::Instant`]s are passed in, and wall-clock Unix
//! seconds enter only with a token ([`TokenEvent::Issued`]). Randomness (reconnect jitter) comes from a seed in
//! [`SessionConfig`]. Tests therefore run every interleaving of events with a fake clock, in microseconds.
//!
//! ## The driver contract
//!
//! ```text
//! loop {
//!     let input = next of: an I/O event, a UI command, or Input::Tick when session.next_deadline() passes;
//!     for action in session.handle(input, now) {   // all actions of one input …
//!         run(action);                             // … run before the next input is handled
//!     }
//! }
//! ```
//!
//! 1. Feed one [`Input`] at a time with the current monotonic `now`; never call `handle` re-entrantly.
//! 2. Run **all** the returned [`Action`]s, in order, before handling the next input (starting an async request
//!    counts as running it). The order matters: e.g. `SetActivity(Offline)` comes before `Disconnect` on
//!    sign-out, `RingStopped` before anything else on a cancel.
//! 3. Outcomes come back as inputs: `AcceptReservation` → [`ActionResult::AcceptReservation`], `AcceptCall` →
//!    [`DeviceEvent::Accepted`] or [`DeviceEvent::AcceptFailed`], `ConnectCall` → [`DeviceEvent::Outgoing`] (or
//!    [`DeviceEvent::OutgoingFailed`]) and then the call's usual Device events, `CompleteTask` →
//!    [`ActionResult::CompleteTask`], `SetActivity` → [`ActionResult::SetActivity`], `Connect` →
//!    [`SocketEvent`]s tagged with its [`ConnId`], `FetchToken` → [`TokenEvent`] or [`Input::UpgradeRequired`].
//!    Every requested outcome must come back, success or failure; other inputs may arrive in between.
//! 4. Feed [`Input::Tick`] no later than [`Session::next_deadline`] (early or extra ticks are harmless), and
//!    re-read the deadline after every `handle`.
//! 5. [`Action::Emit`] events go to the UI, tray, notifications and logs unchanged; they are the one event
//!    vocabulary ([`Event`]) and serialize as camelCase, internally tagged JSON.
//!
//! ## The driver
//!
//! With the `driver` feature (on by default), [`driver::Driver`] is the thin tokio shell that follows this
//! contract for the TaskRouter worker: EventBridge WebSocket and REST proxy, token fetches, `tracing` spans keyed
//! by TaskSid / ReservationSid / CallSid. It is the only code naming tokio, reqwest or tokio-tungstenite;
//! `cargo test -p tsunagi-core --no-default-features` builds and tests the machines without it.
//!
//! ## Panics and errors
//!
//! No input makes a machine panic; unknown, duplicate, late or contradictory inputs are ignored or settled by
//! the rules (see [`reconciler`]). Malformed data is refused at the edge, where the shell converts IPC or wire
//! data into inputs ([`CallParams::from_custom_parameters`] returns [`CoreError`]). What the agent must know
//! arrives as [`Event::Error`] with a stable [`ErrorKind`] and a message in Japanese and English.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod api;
pub mod backoff;
pub mod context;
pub mod error;
mod freshness;
pub mod input;
pub mod presence;
pub mod reconciler;
pub mod session;
pub mod supervisor;
pub mod taskrouter;
pub mod token;
mod tombstones;
pub mod view;

#[cfg(feature = "driver")]
pub mod driver;

pub use api::{
    Activity, AttemptId, CallDirection, CallPhase, Caller, Command, ConnectionState, Crm, Event,
    OutgoingStage, PresenceState, RingStopReason, RosterCall, RosterEntry, SocketKind, StopReason,
    Target, TransferFailure, TransferMode, TransferStage, TransferTo,
};
pub use context::CallContext;
pub use error::{CoreError, ErrorKind, UserError};
pub use input::{
    Action, ActionResult, CallParams, CloseReason, CompleteReason, ConnId, ControlOp,
    ControlTarget, DeviceEvent, Input, OutboundNews, OutboundState, Reading, ReservationEnd,
    ReservationInfo, RestResult, SnapshotStatus, SocketEvent, TaskRouterEvent, TokenEvent,
    TransferNews,
};
pub use presence::Presence;
pub use reconciler::{OfferPhase, OfferView, Reconciler, ReconcilerConfig, Work};
pub use session::{Session, SessionConfig};
pub use supervisor::{Supervisor, SupervisorConfig};
pub use token::{TokenConfig, TokenLifecycle};
pub use tsunagi_twilio::{CallSid, ConferenceSid, ReservationSid, TaskSid, WorkerSid};
pub use view::{CallView, ConnectionView, SessionView};
