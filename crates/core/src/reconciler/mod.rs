//! The incoming-call reconciler (DESIGN §4.1): joins TaskRouter reservations and Voice SDK calls by TaskSid,
//! decides which ring is shown, runs Answer as "accept the reservation, then accept the call" with undo, and
//! carries each task through wrap-up to completion.
//!
//! Rules, each enforced here and named in the tests:
//! - **One ring per task**, whichever half arrives first; the second half attaches to it (`RingUpdated`).
//! - A reservation without a call rings; Answer then waits for the call (up to `answer_wait`).
//! - A call without a `TaskSid` parameter is a direct call and rings on its own.
//! - Canceled / rescinded / timed-out reservations and caller hang-ups stop the ring at once (`RingStopped`).
//!   A half that arrives after its other half ended is refused (reservation rejected, call rejected), never rung.
//! - Answer accepts the reservation first and the call only once the reservation is accepted; if either fails,
//!   the other is undone (reject the reservation so the task re-routes, reject the call) and the agent is told
//!   why (403 is a token-policy problem).
//! - A task that reached wrap-up ends by completing it: on the agent's command, or automatically after
//!   `auto_complete_wrapup`; failed completions are retried. No task is left in `wrapping`.
//! - Replayed or duplicate events change nothing (finished SIDs are remembered in bounded tombstone sets).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use tsunagi_twilio::{CallSid, ConferenceSid, ReservationSid, TaskSid};

use crate::api::{
    CallPhase, Caller, Command, Crm, Event, OutgoingStage, RingStopReason, Target, TransferFailure,
    TransferMode, TransferStage,
};
use crate::backoff::Backoff;
use crate::context::CallContext;
use crate::error::{ErrorKind, UserError};
use crate::input::{
    Action, ActionResult, CallParams, CompleteReason, ControlOp, ControlTarget, DeviceEvent, Input,
    OutboundNews, ReservationEnd, ReservationInfo, RestResult, SnapshotStatus, TaskRouterEvent,
    TransferNews,
};
use crate::tombstones::Tombstones;

mod answer;
mod control;
mod device;
mod offer;
mod outgoing;
mod taskrouter;

use offer::{
    emit, user_error, valid_digits, Completion, Leg, LegState, Offer, Phase, Res, ResState,
    Settled, Transfer,
};

/// Tunables of the reconciler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconcilerConfig {
    /// How long Answer waits for the missing half (call or reservation) before giving up and undoing.
    pub answer_wait: Duration,
    /// How long a stopped ring remembers its task, so that its late other half is refused rather than rung.
    pub linger: Duration,
    /// Complete a task automatically this long after wrap-up starts; `None` waits for the agent.
    pub auto_complete_wrapup: Option<Duration>,
    /// Retry delays for a failed task completion.
    pub complete_retry: Backoff,
    /// How many finished SIDs of each kind are remembered to ignore replays.
    pub tombstones: usize,
    /// How long an outgoing call may take to connect (CallSid reported and the agent leg accepted).
    pub dial_wait: Duration,
}

impl Default for ReconcilerConfig {
    fn default() -> Self {
        Self {
            answer_wait: Duration::from_secs(10),
            linger: Duration::from_secs(60),
            auto_complete_wrapup: Some(Duration::from_secs(120)),
            complete_retry: Backoff {
                base: Duration::from_secs(2),
                cap: Duration::from_secs(30),
            },
            tombstones: 4096,
            dial_wait: Duration::from_secs(45),
        }
    }
}

/// Where an offer stands, as seen from outside (tests, the shell's state dump).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OfferPhase {
    /// The ring is shown.
    Ringing,
    /// Answer pressed; accepting the reservation and the call.
    Answering,
    /// Talking.
    Connected,
    /// The call ended; waiting for the task to be completed.
    WrapUp,
    /// The ring stopped; remembered only to refuse a late other half.
    Stopped,
    /// Answering failed while a reservation accept was in flight; waiting for its result to undo it.
    Undoing,
    /// An outgoing call the agent dialled, not connected yet.
    Dialing,
}

/// A read-only view of one offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OfferView {
    /// The task or direct call.
    pub target: Target,
    /// The reservation, once known.
    pub reservation: Option<ReservationSid>,
    /// The Device call, once known.
    pub call: Option<CallSid>,
    /// The conference, once the server told it.
    pub conference: Option<ConferenceSid>,
    /// Where it stands.
    pub phase: OfferPhase,
}

/// What the agent is doing, for presence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Nothing live.
    Idle,
    /// A ring, an answer in progress or a call.
    Busy,
    /// Only wrap-ups remain.
    WrapUp,
}

/// The reconciler machine. See the module docs for its rules.
#[derive(Debug)]
pub struct Reconciler {
    cfg: ReconcilerConfig,
    offers: BTreeMap<Target, Offer>,
    ended_res: Tombstones<ReservationSid>,
    ended_calls: Tombstones<CallSid>,
    ended_tasks: Tombstones<TaskSid>,
    taking_calls: bool,
    resync_since: Option<Instant>,
}

impl Reconciler {
    /// A reconciler that takes calls.
    pub fn new(cfg: ReconcilerConfig) -> Self {
        let cap = cfg.tombstones;
        Self {
            cfg,
            offers: BTreeMap::new(),
            ended_res: Tombstones::new(cap),
            ended_calls: Tombstones::new(cap),
            ended_tasks: Tombstones::new(cap),
            taking_calls: true,
            resync_since: None,
        }
    }

    /// Standalone entry point: handles the inputs that concern calls and ignores the others. (The
    /// [`crate::Session`] routes inputs itself.)
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::TaskRouter(ev) => self.handle_taskrouter(ev, now, &mut out),
            Input::Device(ev) => self.handle_device(ev, now, &mut out),
            Input::Result(r) => self.handle_result(r, now, &mut out),
            Input::Command(c) => self.handle_command(&c, now, &mut out),
            Input::Tick => self.tick(now, &mut out),
            Input::Transfer(news) => self.handle_transfer(news, &mut out),
            Input::Outbound(news) => self.handle_outbound(news, &mut out),
            _ => {}
        }
        out
    }

    /// The earliest instant at which [`Reconciler::tick`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.offers.values().filter_map(Offer::deadline).min()
    }

    /// Every offer the reconciler holds.
    pub fn offers(&self) -> impl Iterator<Item = OfferView> + '_ {
        self.offers.values().map(Offer::view)
    }

    /// What the agent is doing, for presence.
    pub fn work(&self) -> Work {
        let mut work = Work::Idle;
        for o in self.offers.values() {
            match o.phase {
                Phase::Ringing
                | Phase::Answering { .. }
                | Phase::Connected
                | Phase::Undoing
                | Phase::Dialing { .. } => return Work::Busy,
                Phase::WrapUp { .. } => work = Work::WrapUp,
                Phase::Stopped { .. } => {}
            }
        }
        work
    }

    /// Start or stop taking calls. Stopping refuses every ring still unanswered (their tasks re-route) and every
    /// new one; calls already answered go on.
    pub fn set_taking_calls(&mut self, taking: bool, now: Instant, out: &mut Vec<Action>) {
        self.taking_calls = taking;
        if taking {
            return;
        }
        let ringing: Vec<Target> = self
            .offers
            .values()
            .filter(|o| matches!(o.phase, Phase::Ringing))
            .map(|o| o.target)
            .collect();
        for t in ringing {
            if let Some(o) = self.offers.remove(&t) {
                emit(
                    out,
                    Event::RingStopped {
                        target: t,
                        reason: RingStopReason::NotTakingCalls,
                    },
                );
                self.decline(o, now, out);
            }
        }
    }

    /// Marks the start of a resync: a later [`TaskRouterEvent::Snapshot`] may retire offers created before now.
    pub fn begin_resync(&mut self, now: Instant) {
        self.resync_since = Some(now);
    }

    /// Handles a TaskRouter push.
    pub fn handle_taskrouter(&mut self, ev: TaskRouterEvent, now: Instant, out: &mut Vec<Action>) {
        match ev {
            TaskRouterEvent::ReservationCreated(info) => {
                self.on_reservation_created(info, now, out)
            }
            TaskRouterEvent::ReservationAccepted { reservation, task } => {
                self.on_reservation_accepted(reservation, task, now, out)
            }
            TaskRouterEvent::ReservationEnded {
                reservation,
                task,
                end,
            } => self.on_reservation_ended(reservation, task, end, now, out),
            TaskRouterEvent::TaskWrapup { task } => self.on_task_wrapup(task, now, out),
            TaskRouterEvent::TaskCompleted { task } => {
                self.on_task_gone(task, ReservationEnd::Completed, now, out)
            }
            TaskRouterEvent::TaskCanceled { task } => {
                self.on_task_gone(task, ReservationEnd::Canceled, now, out)
            }
            TaskRouterEvent::Snapshot { reservations } => self.on_snapshot(reservations, now, out),
            TaskRouterEvent::WorkerActivity { .. } => {}
        }
    }

    /// Handles a Voice SDK event.
    pub fn handle_device(&mut self, ev: DeviceEvent, now: Instant, out: &mut Vec<Action>) {
        match ev {
            DeviceEvent::Incoming { call, params } => self.on_incoming(call, params, now, out),
            DeviceEvent::Canceled { call } | DeviceEvent::Disconnected { call } => {
                self.on_call_gone(call, now, out)
            }
            DeviceEvent::Accepted { call } => self.on_call_accepted(call, now, out),
            DeviceEvent::AcceptFailed { call } => self.on_call_accept_failed(call, now, out),
            DeviceEvent::Outgoing { call, attempt } => self.on_outgoing(call, attempt, now, out),
            DeviceEvent::OutgoingFailed { attempt } => self.on_outgoing_failed(attempt, now, out),
            DeviceEvent::Muted { call, muted } => {
                if let Some(o) = self.find_call(call).and_then(|t| self.offers.get_mut(&t)) {
                    o.muted = muted;
                    if matches!(o.phase, Phase::Connected) {
                        out.push(o.call_state_event(CallPhase::Connected));
                    }
                }
            }
        }
    }

    /// Handles what the server knows of a task's call: the customer joins a ring or a call, the conference is
    /// remembered. Context for a task this machine does not hold (an old call, another attempt) is ignored.
    pub fn handle_call_context(&mut self, ctx: CallContext, out: &mut Vec<Action>) {
        let target = Target::Task(ctx.task);
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        let other_attempt = matches!((ctx.reservation, o.res), (Some(p), Some(r)) if p != r.sid)
            || matches!((ctx.agent_call, o.call), (Some(p), Some(c)) if p != c.sid);
        if other_attempt || matches!(o.phase, Phase::Stopped { .. }) {
            self.keep(o);
            return;
        }
        let conference_changed = ctx.conference.is_some() && ctx.conference != o.conference;
        if conference_changed {
            o.conference = ctx.conference;
        }
        let crm = merge_crm(o.crm.as_ref(), ctx.crm);
        let crm_changed = crm.is_some() && crm != o.crm;
        if matches!(o.phase, Phase::Ringing) {
            Self::merge_info(&mut o, None, crm, false, out);
        } else {
            if crm_changed {
                o.crm = crm;
            }
            if conference_changed || crm_changed {
                emit(
                    out,
                    Event::CallContext {
                        target,
                        conference: o.conference,
                        crm: o.crm.clone(),
                    },
                );
            }
        }
        self.keep(o);
    }

    /// Handles the result of an action this machine asked for.
    pub fn handle_result(&mut self, r: ActionResult, now: Instant, out: &mut Vec<Action>) {
        match r {
            ActionResult::AcceptReservation {
                reservation,
                result,
            } => self.on_accept_result(reservation, result, now, out),
            ActionResult::CompleteTask { task, result } => {
                self.on_complete_result(task, result, now, out)
            }
            ActionResult::CallControl { target, op, result } => {
                let Some(o) = self.offers.get_mut(&target.target()) else {
                    // A hang-up's answer usually comes after its call ended here; a failure still matters.
                    if op == ControlOp::Hangup {
                        Self::on_hangup_result(target, result, out);
                    }
                    return;
                };
                if let ControlOp::Transfer { .. } = op {
                    Self::on_transfer_result(o, result, out);
                    return;
                }
                if op == ControlOp::Hangup {
                    Self::on_hangup_result(target, result, out);
                    return;
                }
                if result != RestResult::Ok {
                    let kind = match (result, o.target) {
                        (RestResult::NotReady, Target::Outgoing(_)) => {
                            ErrorKind::CustomerNotAnswered
                        }
                        (RestResult::NotReady, _) => ErrorKind::CallNotReady,
                        _ => ErrorKind::CallControlFailed,
                    };
                    user_error(out, kind, Some(o.target));
                    return;
                }
                match op {
                    ControlOp::Hold => o.on_hold = true,
                    ControlOp::Unhold => o.on_hold = false,
                    ControlOp::Transfer { .. } | ControlOp::Hangup => return,
                }
                if matches!(o.phase, Phase::Connected) {
                    out.push(o.call_state_event(CallPhase::Connected));
                }
            }
            ActionResult::SetActivity { .. } => {}
        }
    }

    /// Handles the call commands (`answer`, `reject`, `hangup`, `hold`, `unhold`, `mute`, `unmute`,
    /// `sendDigits`, `transfer`, `completeWrapup`); other commands are ignored (`dial` goes through
    /// [`Reconciler::dial`], which needs an attempt id from the session).
    pub fn handle_command(&mut self, cmd: &Command, now: Instant, out: &mut Vec<Action>) {
        match cmd {
            Command::Answer { target } => self.answer(*target, now, out),
            Command::Reject { target } => self.reject(*target, now, out),
            Command::Hangup { target } => self.hangup(*target, now, out),
            Command::Hold { target } => self.control(*target, ControlOp::Hold, out),
            Command::Unhold { target } => self.control(*target, ControlOp::Unhold, out),
            Command::Transfer { target, to, mode } => self.control(
                *target,
                ControlOp::Transfer {
                    to: to.clone(),
                    mode: *mode,
                },
                out,
            ),
            Command::Mute { target } => self.media(*target, Some(true), None, out),
            Command::Unmute { target } => self.media(*target, Some(false), None, out),
            Command::SendDigits { target, digits } => {
                if valid_digits(digits) {
                    self.media(*target, None, Some(digits), out)
                } else {
                    user_error(out, ErrorKind::InvalidDigits, Some(*target));
                }
            }
            Command::CompleteWrapup { task } => self.complete_wrapup(*task, out),
            Command::Login
            | Command::Logout
            | Command::SetPresence { .. }
            | Command::Dial { .. } => {}
        }
    }

    /// Runs what is due at `now`: answer timeouts, forgetting stopped rings, automatic and retried completions.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        let due: Vec<Target> = self
            .offers
            .values()
            .filter(|o| o.deadline().is_some_and(|d| d <= now))
            .map(|o| o.target)
            .collect();
        for t in due {
            let Some(mut o) = self.offers.remove(&t) else {
                continue;
            };
            match o.phase {
                Phase::Answering { .. } => {
                    self.fail_answer(o, Some(ErrorKind::AnswerTimedOut), now, out)
                }
                Phase::Dialing { hanging_up, .. } => {
                    self.end_outgoing(o, (!hanging_up).then_some(ErrorKind::DialFailed), out)
                }
                Phase::Stopped { .. } => self.finish(o, out),
                Phase::WrapUp {
                    reason, failures, ..
                } => {
                    let reason = if failures == 0 {
                        CompleteReason::AutoWrapUp
                    } else {
                        reason
                    };
                    self.start_completion(&mut o, reason, failures, out);
                    self.keep(o);
                }
                _ => self.keep(o),
            }
        }
    }

    // ----- bookkeeping -----

    fn keep(&mut self, o: Offer) {
        self.offers.insert(o.target, o);
    }

    /// Forgets an offer for good. A reservation still pending is refused first, so no task is dropped silently.
    fn finish(&mut self, o: Offer, out: &mut Vec<Action>) {
        if let (Some(task), Some(r)) = (o.task(), o.res) {
            if r.state == ResState::Pending {
                out.push(Action::RejectReservation {
                    task,
                    reservation: r.sid,
                });
            }
        }
        if let Some(r) = o.res {
            self.ended_res.insert(r.sid);
        }
        if let Some(c) = o.call {
            self.ended_calls.insert(c.sid);
        }
    }

    /// Keeps a task offer whose ring is over only until its missing half shows up (to refuse it), else finishes.
    fn stop_or_finish(&mut self, mut o: Offer, now: Instant, out: &mut Vec<Action>) {
        if o.task().is_some() && (o.res.is_none() || o.call.is_none()) {
            o.phase = Phase::Stopped {
                until: now + self.cfg.linger,
            };
            self.keep(o);
        } else {
            self.finish(o, out);
        }
    }

    fn find_call(&self, call: CallSid) -> Option<Target> {
        self.offers
            .values()
            .find(|o| o.call.is_some_and(|c| c.sid == call))
            .map(|o| o.target)
    }

    fn find_res(&self, res: ReservationSid) -> Option<Target> {
        self.offers
            .values()
            .find(|o| o.res.is_some_and(|r| r.sid == res))
            .map(|o| o.target)
    }

    fn merge_info(
        o: &mut Offer,
        caller: Option<Caller>,
        crm: Option<Crm>,
        force: bool,
        out: &mut Vec<Action>,
    ) {
        let mut changed = force;
        if o.caller.is_none() && caller.is_some() {
            o.caller = caller;
            changed = true;
        }
        let crm = merge_crm(o.crm.as_ref(), crm);
        if crm.is_some() && o.crm != crm {
            o.crm = crm;
            changed = true;
        }
        if changed && matches!(o.phase, Phase::Ringing) {
            emit(out, o.ring_updated());
        }
    }

    /// Ends the Device side of an offer: reject a ringing call, disconnect one being accepted or connected.
    fn end_call_leg(o: &mut Offer, out: &mut Vec<Action>) {
        let Some(c) = o.call else { return };
        match c.state {
            LegState::Ringing => out.push(Action::RejectCall { call: c.sid }),
            LegState::Accepting | LegState::Connected => {
                out.push(Action::DisconnectCall { call: c.sid })
            }
            LegState::Ended => {}
        }
        o.set_call(LegState::Ended);
    }

    fn start_completion(
        &self,
        o: &mut Offer,
        reason: CompleteReason,
        failures: u32,
        out: &mut Vec<Action>,
    ) {
        let Some(task) = o.task() else { return };
        out.push(Action::CompleteTask { task, reason });
        o.phase = Phase::WrapUp {
            auto_at: None,
            completion: Completion::InFlight,
            reason,
            failures,
        };
    }

    fn enter_wrapup(&self, o: &mut Offer, now: Instant, out: &mut Vec<Action>) {
        o.phase = Phase::WrapUp {
            auto_at: self.cfg.auto_complete_wrapup.map(|d| now + d),
            completion: Completion::Idle,
            reason: CompleteReason::WrapUpFinished,
            failures: 0,
        };
        out.push(o.call_state_event(CallPhase::WrapUp));
    }
}

/// What a newer CRM reading adds to what is known (the task attributes name the customer; the server's context
/// adds the owner and department): known fields are never erased by a source that does not know them.
fn merge_crm(known: Option<&Crm>, newer: Option<Crm>) -> Option<Crm> {
    match (known, newer) {
        (Some(k), Some(n)) => Some(k.merged(&n)),
        (None, n) => n,
        (Some(_), None) => None,
    }
}
