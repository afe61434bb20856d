//! The agent session: the reconciler, presence, the token lifecycle and one supervisor per socket, composed
//! into one machine with one entry point, [`Session::handle`], and one deadline, [`Session::next_deadline`].
//!
//! The session owns the cross-cutting rules: commands need a signed-in session; sign-out is refused during
//! work; a new token (re)starts idle or token-expired sockets; TaskRouter becoming ready starts a resync; a
//! `426 CLIENT_UPGRADE_REQUIRED` anywhere stops taking calls, blocks token fetches and asks for an update.

use std::time::Instant;

use crate::api::{AttemptId, Command, Event, PresenceState, SocketKind, StopReason};
use crate::backoff::XorShift;
use crate::error::{ErrorKind, UserError};
use crate::freshness::{Freshness, Key};
use crate::input::{
    Action, ActionResult, CloseReason, Input, Reading, RestResult, SocketEvent, TaskRouterEvent,
    TokenEvent,
};
use crate::presence::{Presence, PresenceContext};
use crate::reconciler::{OfferPhase, Reconciler, ReconcilerConfig, Work};
use crate::supervisor::{SocketOutcome, Supervisor, SupervisorConfig};
use crate::token::{TokenConfig, TokenLifecycle, TokenOutcome};
use crate::view::{CallView, ConnectionView, SessionView};

/// Everything tunable about a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// Reconciler tunables (answer wait, wrap-up auto-complete, …).
    pub reconciler: ReconcilerConfig,
    /// Token refresh tunables.
    pub token: TokenConfig,
    /// The sockets to supervise, each with its tunables.
    pub sockets: Vec<(SocketKind, SupervisorConfig)>,
    /// Seed for every jitter in the session. The driver passes a random value; tests pass a constant.
    pub seed: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            reconciler: ReconcilerConfig::default(),
            token: TokenConfig::default(),
            sockets: [SocketKind::TaskRouter, SocketKind::Sync]
                .into_iter()
                .map(|k| (k, SupervisorConfig::for_socket(k)))
                .collect(),
            seed: 0x7475_6e61_6769,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Login {
    Out,
    In,
}

/// The agent session machine. See the crate docs for the driver contract.
#[derive(Debug)]
pub struct Session {
    reconciler: Reconciler,
    presence: Presence,
    sockets: Vec<Supervisor>,
    token: TokenLifecycle,
    login: Login,
    update_required: Option<Option<String>>,
    /// Draws outgoing-call attempt ids. The driver seeds the session from the OS, so ids are unique per press.
    ids: XorShift,
    /// When the current token arrived.
    token_issued: Option<Instant>,
    /// Push times against resync starts: stale readings are dropped.
    freshness: Freshness,
}

impl Session {
    /// A signed-out session.
    pub fn new(cfg: SessionConfig) -> Self {
        let sockets = cfg
            .sockets
            .iter()
            .enumerate()
            .map(|(i, (kind, sc))| Supervisor::new(*kind, *sc, cfg.seed.wrapping_add(i as u64)))
            .collect();
        Self {
            reconciler: Reconciler::new(cfg.reconciler),
            presence: Presence::new(),
            sockets,
            token: TokenLifecycle::new(cfg.token, cfg.seed),
            login: Login::Out,
            update_required: None,
            ids: XorShift::new(cfg.seed ^ 0x6469_616c),
            token_issued: None,
            freshness: Freshness::default(),
        }
    }

    /// The reconciler (read-only).
    pub fn reconciler(&self) -> &Reconciler {
        &self.reconciler
    }

    /// Presence (read-only).
    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// The supervisor of `socket`, if configured.
    pub fn supervisor(&self, socket: SocketKind) -> Option<&Supervisor> {
        self.sockets.iter().find(|s| s.kind() == socket)
    }

    /// The agent is signed in.
    pub fn is_logged_in(&self) -> bool {
        self.login == Login::In
    }

    /// The server required an update (426); calls are no longer taken.
    pub fn update_required(&self) -> bool {
        self.update_required.is_some()
    }

    /// The whole session as the UI should show it at `now`.
    pub fn view(&self, now: Instant) -> SessionView {
        let work = self.reconciler.work();
        let selected = self.presence.selected();
        let presence = match (self.login, work) {
            (Login::Out, _) => PresenceState::Offline,
            (Login::In, Work::Busy) => PresenceState::Busy,
            (Login::In, Work::WrapUp) => PresenceState::WrapUp,
            (Login::In, Work::Idle) if self.update_required.is_some() => PresenceState::Offline,
            (Login::In, Work::Idle) => selected.into(),
        };
        SessionView {
            logged_in: self.login == Login::In,
            presence,
            selected,
            update_required: self.update_required.is_some(),
            connections: self
                .sockets
                .iter()
                .map(|s| ConnectionView {
                    socket: s.kind(),
                    state: s.connection_state(now),
                })
                .collect(),
            calls: self
                .reconciler
                .offers()
                .filter(|o| o.phase != OfferPhase::Stopped)
                .map(|o| CallView {
                    target: o.target,
                    reservation: o.reservation,
                    call: o.call,
                    conference: o.conference,
                    phase: o.phase,
                })
                .collect(),
        }
    }

    /// Feeds one input at monotonic time `now`; returns the actions to run, in order.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Command(cmd) => self.command(cmd, now, &mut out),
            Input::TaskRouter(TaskRouterEvent::WorkerActivity { activity }) => {
                self.freshness.pushed(Key::WorkerActivity);
                self.presence
                    .on_worker_activity(activity, self.reconciler.work());
            }
            Input::TaskRouter(ev) => self.reconciler.handle_taskrouter(ev, now, &mut out),
            Input::Device(ev) => self.reconciler.handle_device(ev, now, &mut out),
            Input::Result(r) => self.result(r, now, &mut out),
            Input::Socket {
                socket,
                conn,
                event,
            } => {
                let token_valid = self.token.is_valid(now);
                let token_issued = self.token_issued;
                let Some(sup) = self.sockets.iter_mut().find(|s| s.kind() == socket) else {
                    return out;
                };
                // The server closed a socket whose token expired, but a fresher token (refreshed ahead of expiry)
                // is already here: this is a plain reconnect with that token, not a wait for a new one.
                let event = match event {
                    SocketEvent::Closed(CloseReason::TokenExpired)
                        if sup.is_current(conn)
                            && token_valid
                            && token_issued
                                .zip(sup.attempt_started())
                                .is_some_and(|(issued, started)| issued > started) =>
                    {
                        SocketEvent::Closed(CloseReason::Lost)
                    }
                    other => other,
                };
                match sup.handle(conn, event, now, &mut out) {
                    SocketOutcome::Ready => {
                        self.freshness.resync_started(socket);
                        if socket == SocketKind::TaskRouter {
                            self.reconciler.begin_resync(now)
                        }
                    }
                    SocketOutcome::NeedsToken => self.token.request(&mut out),
                    _ => {}
                }
            }
            Input::Token(ev) => self.token_event(ev, now, &mut out),
            Input::CallContext(ctx) => {
                self.freshness.pushed(Key::CallContext(ctx.task));
                self.reconciler.handle_call_context(*ctx, &mut out)
            }
            Input::Roster(agents) => out.push(Action::Emit(Event::Roster { agents })),
            Input::Transfer(news) => self.reconciler.handle_transfer(news, &mut out),
            Input::Outbound(news) => {
                self.freshness.pushed(Key::Outbound(news.attempt));
                self.reconciler.handle_outbound(news, &mut out)
            }
            Input::Resynced { socket, reading } => match reading {
                Reading::WorkerActivity(activity) => {
                    if !self.freshness.is_stale(socket, Key::WorkerActivity) {
                        self.presence
                            .on_worker_activity(activity, self.reconciler.work());
                    }
                }
                Reading::CallContext(ctx) => {
                    if !self.freshness.is_stale(socket, Key::CallContext(ctx.task)) {
                        self.reconciler.handle_call_context(*ctx, &mut out)
                    }
                }
                Reading::Outbound { attempt, state } => {
                    if !self.freshness.is_stale(socket, Key::Outbound(attempt)) {
                        self.reconciler.outbound_reading(attempt, state, &mut out)
                    }
                }
            },
            Input::UpgradeRequired { min_supported } => {
                self.upgrade_required(min_supported, now, &mut out)
            }
            Input::Tick => self.tick(now, &mut out),
        }
        self.sync_presence(now, &mut out);
        out
    }

    /// The earliest instant at which the driver must feed [`Input::Tick`]; `None` when nothing is scheduled.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.sockets
            .iter()
            .filter_map(Supervisor::next_deadline)
            .chain(self.reconciler.next_deadline())
            .chain(self.token.next_deadline())
            .min()
    }

    fn error(out: &mut Vec<Action>, kind: ErrorKind) {
        out.push(Action::Emit(Event::Error(UserError::new(kind, None))));
    }

    fn command(&mut self, cmd: Command, now: Instant, out: &mut Vec<Action>) {
        match cmd {
            Command::Login => {
                if self.login == Login::In {
                    return;
                }
                self.login = Login::In;
                self.presence.login();
                self.reconciler
                    .set_taking_calls(self.update_required.is_none(), now, out);
                if self.update_required.is_some() {
                    Self::error(out, ErrorKind::UpdateRequired);
                }
                if self.token.is_valid(now) {
                    self.start_sockets(now, out);
                } else {
                    self.token.request(out);
                }
            }
            _ if self.login == Login::Out => Self::error(out, ErrorKind::NotLoggedIn),
            Command::Logout => {
                if self.reconciler.work() != Work::Idle {
                    Self::error(out, ErrorKind::CallInProgress);
                    return;
                }
                self.login = Login::Out;
                self.reconciler.set_taking_calls(false, now, out);
                // Set Offline while the connection is still up, then close everything.
                self.sync_presence(now, out);
                for s in &mut self.sockets {
                    s.stop(StopReason::LoggedOut, out);
                }
                self.token.stop();
            }
            Command::SetPresence { activity } => self.presence.select(activity),
            Command::Dial { to } => {
                if self.update_required.is_some() {
                    Self::error(out, ErrorKind::UpdateRequired);
                    return;
                }
                let bits =
                    (u128::from(self.ids.next_u64()) << 64) | u128::from(self.ids.next_u64());
                self.reconciler
                    .dial(to, AttemptId::from_random(bits), now, out);
            }
            other => self.reconciler.handle_command(&other, now, out),
        }
    }

    fn result(&mut self, r: ActionResult, now: Instant, out: &mut Vec<Action>) {
        let rest = match &r {
            ActionResult::AcceptReservation { result, .. }
            | ActionResult::CompleteTask { result, .. }
            | ActionResult::SetActivity { result, .. }
            | ActionResult::CallControl { result, .. } => *result,
        };
        if rest == RestResult::UpgradeRequired {
            self.upgrade_required(None, now, out);
        }
        match r {
            ActionResult::SetActivity { activity, result } => {
                if result == RestResult::Ok {
                    // Our own change, confirmed: newer than any reading taken before it.
                    self.freshness.pushed(Key::WorkerActivity);
                }
                self.presence.on_result(activity, result, out)
            }
            other => self.reconciler.handle_result(other, now, out),
        }
    }

    fn token_event(&mut self, ev: TokenEvent, now: Instant, out: &mut Vec<Action>) {
        match ev {
            TokenEvent::Issued {
                expires_unix,
                now_unix,
            } => {
                let accepted = self.token.issued(expires_unix, now_unix, now, out);
                if accepted && self.token.is_valid(now) {
                    self.token_issued = Some(now);
                }
                if accepted && self.login == Login::In && self.token.is_valid(now) {
                    self.start_sockets(now, out);
                }
            }
            TokenEvent::FetchFailed => {
                if self.token.failed(now, out) {
                    Self::error(out, ErrorKind::TokenFetchFailed);
                }
            }
            TokenEvent::AboutToExpire => self.token.about_to_expire(now, out),
        }
    }

    fn start_sockets(&mut self, now: Instant, out: &mut Vec<Action>) {
        for s in &mut self.sockets {
            if s.is_idle() {
                s.start(now, out);
            }
        }
    }

    fn upgrade_required(
        &mut self,
        min_supported: Option<String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.update_required.is_some() {
            return;
        }
        self.update_required = Some(min_supported.clone());
        out.push(Action::Emit(Event::UpdateRequired { min_supported }));
        out.push(Action::CheckForUpdate);
        self.token.block();
        self.reconciler.set_taking_calls(false, now, out);
    }

    fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.reconciler.tick(now, out);
        for s in &mut self.sockets {
            s.tick(now, out);
        }
        if self.token.tick(now, out) == TokenOutcome::Expired {
            // Never keep using an expired token: park the sockets until a new one arrives.
            for s in &mut self.sockets {
                s.stop(StopReason::TokenExpired, out);
            }
            if self.login == Login::In {
                self.token.request(out);
            }
        }
    }

    fn sync_presence(&mut self, now: Instant, out: &mut Vec<Action>) {
        let taskrouter_up = self
            .supervisor(SocketKind::TaskRouter)
            .is_none_or(Supervisor::is_ready);
        let cx = PresenceContext {
            logged_in: self.login == Login::In,
            forced_offline: self.update_required.is_some(),
            work: self.reconciler.work(),
            can_set: taskrouter_up && self.token.is_valid(now),
        };
        self.presence.sync(cx, out);
    }
}
