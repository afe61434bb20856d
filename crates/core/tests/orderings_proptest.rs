//! Property test: every ordering of reservation and call events — with duplicates, drops, delays, and every
//! outcome of the driver's actions (accept succeeds / fails / 403 / no longer pending, the Device accept
//! succeeds or fails, completion fails once) — keeps the reconciler's invariants:
//!
//! - `ONE_RING_PER_TASK`: a task rings at most once, and never while it is already ringing.
//! - `NO_RING_AFTER_CANCEL`: a cancel (reservation canceled / rescinded / timed out, task canceled, caller hang-up)
//!   stops the ring in the same step, and the task never rings again.
//! - `NO_ACCEPTED_CALL_WITHOUT_ACCEPTED_RESERVATION`: `AcceptCall` for a routed call only after the reservation's
//!   acceptance was reported, and never for a reservation this client refused.
//! - `NO_WORKER_LEFT_WRAPPING`: once the calls are over and time has passed, no task is in wrap-up and the presence
//!   is not WrapUp.
//! - `NO_LOST_TASK`: every reservation the client heard of ends accounted for: ended by TaskRouter, refused by us
//!   (so it re-routes), completed by us, or still visibly live. Every call likewise: ended by the Device, rejected or
//!   disconnected by us, or still live.
//! - `RINGS_MATCH_STATE`: the rings the UI was told about are exactly the offers in the Ringing phase.
//! - `NO_ACTIVITY_CHANGE_DURING_WORK`: the worker's activity is only set while no ring, call or wrap-up is live.
//! - `NO_RING_AFTER_UPDATE_REQUIRED`: once the server answered 426, nothing rings.
//! - `NO_OUTGOING_WHILE_RINGING`: a `ConnectCall` (the agent dialled) only leaves the session while no ring, call
//!   or wrap-up is live.
//! - `NO_RING_DURING_OUTGOING`: nothing rings while an outgoing call is live.
//! - `UNKNOWN_OUTGOING_HUNG_UP`: a CallSid report for an attempt the session does not hold (a stray one, or one
//!   it already ended) is hung up in the same step and never shown; an ended outgoing call never shows again.
//! - `NO_LEAKED_OUTGOING`: at the end every outgoing call the Device reported is over (ended by the Device or hung
//!   up by us), none is held, and with nothing else live the agent is not left Busy.
//!
//! Besides the event orderings, a scenario may include a resync snapshot (TaskRouter's view after a reconnect,
//! which recovers dropped `reservation.created` events) and a 426 at any point.
//!
//! The world is a small model of TaskRouter and the Voice SDK that answers the session's actions the way the
//! real services would (a rejected reservation is pushed back as `reservation.rejected`, an accept after a cancel
//! is "no longer pending", …), after a random number of further events.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use common::*;
use proptest::prelude::*;
use tsunagi_core::{
    Action, ActionResult, AttemptId, CallParams, CallPhase, Caller, Command, DeviceEvent, Event,
    Input, OfferPhase, PresenceState, ReservationEnd, ReservationInfo, RestResult, SessionConfig,
    SnapshotStatus, Target, TaskRouterEvent, Work,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Nothing,
    Canceled,
    Rescinded,
    Timeout,
    CallerHangsUp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Agent {
    Nothing,
    Answer,
    Reject,
    AnswerThenHangUp,
}

#[derive(Clone, Debug)]
struct Plan {
    direct: bool,
    reservation_arrives: bool,
    call_arrives: bool,
    res_param: bool,
    fate: Fate,
    agent: Agent,
    accept: RestResult,
    call_accept_ok: bool,
    complete_fails_first: bool,
    customer_hangs_up: bool,
    agent_completes: bool,
}

/// How the webview's Device handles a `ConnectCall`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DialDevice {
    /// CallSid reported, then accepted.
    Connects,
    /// `connect()` fails before a CallSid.
    FailsBeforeSid,
    /// CallSid reported, then the call ends before it connects.
    SidThenEnds,
    /// Nothing is ever reported.
    Silent,
}

#[derive(Clone, Copy, Debug)]
struct DialPlan {
    device: DialDevice,
    agent_hangs_up: bool,
    far_end_hangs_up: bool,
    /// A CallSid report for an attempt the session never made arrives at some point.
    stray: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The agent dials (outgoing plan k).
    Dial(usize),
    /// The agent hangs up outgoing call k (if it was placed).
    DialHangUp(usize),
    /// A report for an unknown attempt, with outgoing k's stray CallSid.
    Stray(usize),
    Reservation(usize),
    Call(usize),
    Fate(usize),
    Agent(usize),
    AgentHangUp(usize),
    /// TaskRouter's view of the worker's active reservations, as fetched after a reconnect.
    Snapshot,
    /// The server answers 426 to something.
    Upgrade,
}

#[derive(Clone, Debug)]
struct Scenario {
    plans: Vec<Plan>,
    keys: Vec<u32>,
    dups: Vec<bool>,
    delays: Vec<u64>,
    lags: Vec<u8>,
    /// Where a resync snapshot (after a reconnect) lands, if any.
    snapshot_at: Option<u32>,
    /// Where a `426 CLIENT_UPGRADE_REQUIRED` lands, if any.
    upgrade_at: Option<u32>,
    /// Outgoing calls the agent tries, with their keys in the shuffle.
    dials: Vec<(DialPlan, u32, u32)>,
}

fn dial_plan() -> impl Strategy<Value = (DialPlan, u32, u32)> {
    let device = prop_oneof![
        4 => Just(DialDevice::Connects),
        1 => Just(DialDevice::FailsBeforeSid),
        1 => Just(DialDevice::SidThenEnds),
        1 => Just(DialDevice::Silent),
    ];
    (
        device,
        any::<bool>(),
        any::<bool>(),
        prop::bool::weighted(0.3),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(device, agent_hangs_up, far_end_hangs_up, stray, k1, k2)| {
                (
                    DialPlan {
                        device,
                        agent_hangs_up,
                        far_end_hangs_up,
                        stray,
                    },
                    k1,
                    k2,
                )
            },
        )
}

fn plan() -> impl Strategy<Value = Plan> {
    let fate = prop_oneof![
        3 => Just(Fate::Nothing),
        1 => Just(Fate::Canceled),
        1 => Just(Fate::Rescinded),
        1 => Just(Fate::Timeout),
        2 => Just(Fate::CallerHangsUp),
    ];
    let agent = prop_oneof![
        1 => Just(Agent::Nothing),
        4 => Just(Agent::Answer),
        1 => Just(Agent::Reject),
        1 => Just(Agent::AnswerThenHangUp),
    ];
    let accept = prop_oneof![
        4 => Just(RestResult::Ok),
        1 => Just(RestResult::Forbidden),
        1 => Just(RestResult::Failed),
        1 => Just(RestResult::NotPending),
    ];
    (
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.85),
        any::<bool>(),
        fate,
        agent,
        accept,
        prop::bool::weighted(0.85),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                direct,
                reservation_arrives,
                call_arrives,
                res_param,
                fate,
                agent,
                accept,
                call_accept_ok,
                complete_fails_first,
                customer_hangs_up,
                agent_completes,
            )| Plan {
                direct,
                reservation_arrives: reservation_arrives && !direct,
                call_arrives: call_arrives || direct,
                res_param,
                fate,
                agent,
                accept,
                call_accept_ok,
                complete_fails_first,
                customer_hangs_up,
                agent_completes,
            },
        )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(plan(), 1..=3),
        prop::collection::vec(any::<u32>(), 32),
        prop::collection::vec(prop::bool::weighted(0.25), 32),
        prop::collection::vec(0u64..2000, 64),
        prop::collection::vec(0u8..4, 64),
        prop::option::weighted(0.3, any::<u32>()),
        prop::option::weighted(0.1, any::<u32>()),
        prop::collection::vec(dial_plan(), 0..=2),
    )
        .prop_map(
            |(plans, keys, dups, delays, lags, snapshot_at, upgrade_at, dials)| Scenario {
                plans,
                keys,
                dups,
                delays,
                lags,
                snapshot_at,
                upgrade_at,
                dials,
            },
        )
}

/// The base steps of every plan, shuffled by the random keys, with duplicates re-inserted at random places.
fn script(s: &Scenario) -> Vec<Step> {
    let mut base = Vec::new();
    for (i, p) in s.plans.iter().enumerate() {
        if p.reservation_arrives {
            base.push(Step::Reservation(i));
        }
        if p.call_arrives {
            base.push(Step::Call(i));
        }
        if p.fate != Fate::Nothing {
            base.push(Step::Fate(i));
        }
        if p.agent != Agent::Nothing {
            base.push(Step::Agent(i));
        }
        if p.agent == Agent::AnswerThenHangUp {
            base.push(Step::AgentHangUp(i));
        }
    }
    let mut keyed: Vec<(u32, Step)> = Vec::new();
    for (n, step) in base.iter().enumerate() {
        let key = s.keys[n % s.keys.len()];
        keyed.push((key, *step));
        let dup = matches!(step, Step::Reservation(_) | Step::Call(_) | Step::Fate(_));
        if dup && s.dups[n % s.dups.len()] {
            keyed.push((key.rotate_left(13) ^ 0x5a5a, *step));
        }
    }
    if let Some(k) = s.snapshot_at {
        keyed.push((k, Step::Snapshot));
    }
    if let Some(k) = s.upgrade_at {
        keyed.push((k, Step::Upgrade));
    }
    for (k, (d, k1, k2)) in s.dials.iter().enumerate() {
        keyed.push((*k1, Step::Dial(k)));
        if d.agent_hangs_up {
            keyed.push((k1.saturating_add(*k2 / 4), Step::DialHangUp(k)));
        }
        if d.stray {
            keyed.push((*k2, Step::Stray(k)));
        }
    }
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, s)| s).collect()
}

#[derive(Default, Debug)]
struct TaskModel {
    reservation_delivered: bool,
    res_ended: bool,
    res_accepted: bool,
    accepted_at_server: bool,
    completed_at_server: bool,
    refused_by_us: bool,
    completed: bool,
    call_delivered: bool,
    call_dead: bool,
    call_ended: bool,
    call_connected: bool,
    complete_attempts: u32,
    canceled: bool,
}

/// The model's view of one outgoing call.
#[derive(Default, Debug)]
struct OutModel {
    attempt: Option<AttemptId>,
    sid_reported: bool,
    connected: bool,
    /// Over at the Device (it reported the end, or we hung it up).
    over: bool,
}

struct World {
    t: TestSession,
    plans: Vec<Plan>,
    m: Vec<TaskModel>,
    pending: VecDeque<(u8, Input)>,
    lags: Vec<u8>,
    lag_i: usize,
    // observations
    ringing: HashSet<Target>,
    rang: HashMap<Target, u32>,
    upgraded: bool,
    dials: Vec<DialPlan>,
    out: Vec<OutModel>,
    /// The outgoing plan whose `Dial` is being fed.
    dialling: Option<usize>,
    /// Outgoing targets the session showed as ended.
    out_ended: HashSet<Target>,
}

impl World {
    fn target(&self, i: usize) -> Target {
        if self.plans[i].direct {
            Target::Call(self.call_sid(i))
        } else {
            Target::Task(task(i as u128 + 1))
        }
    }

    fn call_sid(&self, i: usize) -> tsunagi_core::CallSid {
        if self.plans[i].direct {
            call(100 + i as u128)
        } else {
            call(i as u128 + 1)
        }
    }

    fn index_of_res(&self, r: tsunagi_core::ReservationSid) -> Option<usize> {
        (0..self.plans.len()).find(|i| res(*i as u128 + 1) == r)
    }

    fn index_of_call(&self, c: tsunagi_core::CallSid) -> Option<usize> {
        (0..self.plans.len()).find(|i| self.call_sid(*i) == c)
    }

    fn out_sid(k: usize) -> tsunagi_core::CallSid {
        call(200 + k as u128)
    }

    fn stray_sid(k: usize) -> tsunagi_core::CallSid {
        call(300 + k as u128)
    }

    fn index_of_out_call(&self, c: tsunagi_core::CallSid) -> Option<usize> {
        (0..self.dials.len()).find(|k| Self::out_sid(*k) == c)
    }

    fn outgoing_live(&self) -> bool {
        self.t.session.reconciler().offers().any(|o| {
            matches!(o.target, Target::Outgoing(_))
                && matches!(o.phase, OfferPhase::Dialing | OfferPhase::Connected)
        })
    }

    fn index_of_task(&self, tk: tsunagi_core::TaskSid) -> Option<usize> {
        (0..self.plans.len()).find(|i| task(*i as u128 + 1) == tk && !self.plans[*i].direct)
    }

    fn lag(&mut self) -> u8 {
        let l = self.lags[self.lag_i % self.lags.len()];
        self.lag_i += 1;
        l
    }

    fn schedule(&mut self, input: Input) {
        let lag = self.lag();
        self.pending.push_back((lag, input));
    }

    /// Feeds one input, checks the per-step invariants, and lets the model answer the actions.
    fn feed(&mut self, input: Input) {
        // Model bookkeeping of what the session is told.
        let cancel_of: Option<usize> = match &input {
            Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                reservation,
                end: ReservationEnd::Canceled | ReservationEnd::Rescinded | ReservationEnd::Timeout,
                ..
            }) => self.index_of_res(*reservation),
            Input::TaskRouter(TaskRouterEvent::TaskCanceled { task: tk }) => {
                self.index_of_task(*tk)
            }
            Input::Device(DeviceEvent::Canceled { call: c }) => self.index_of_call(*c),
            _ => None,
        };
        match &input {
            Input::Result(ActionResult::AcceptReservation {
                reservation,
                result: RestResult::Ok,
            }) => {
                if let Some(i) = self.index_of_res(*reservation) {
                    self.m[i].res_accepted = true;
                }
            }
            Input::Result(ActionResult::CompleteTask {
                task: tk,
                result: RestResult::Ok,
            }) => {
                if let Some(i) = self.index_of_task(*tk) {
                    self.m[i].completed = true;
                }
            }
            Input::Device(DeviceEvent::Outgoing { call: c, .. }) => {
                if let Some(k) = self.index_of_out_call(*c) {
                    self.out[k].sid_reported = true;
                    let next = match self.dials[k].device {
                        DialDevice::Connects => Some(DeviceEvent::Accepted { call: *c }),
                        DialDevice::SidThenEnds => Some(DeviceEvent::Disconnected { call: *c }),
                        _ => None,
                    };
                    if let Some(ev) = next {
                        self.schedule(Input::Device(ev));
                    }
                }
            }
            Input::Device(DeviceEvent::Accepted { call: c })
                if self.index_of_out_call(*c).is_some() =>
            {
                let k = self.index_of_out_call(*c).expect("checked");
                if !self.out[k].over {
                    self.out[k].connected = true;
                    if self.dials[k].far_end_hangs_up {
                        self.schedule(Input::Device(DeviceEvent::Disconnected { call: *c }));
                    }
                }
            }
            Input::Device(DeviceEvent::Disconnected { call: c })
                if self.index_of_out_call(*c).is_some() =>
            {
                let k = self.index_of_out_call(*c).expect("checked");
                self.out[k].over = true;
                self.out[k].connected = false;
            }
            Input::Device(DeviceEvent::Accepted { call: c }) => {
                if let Some(i) = self.index_of_call(*c) {
                    self.m[i].call_connected = true;
                    if self.plans[i].customer_hangs_up {
                        self.schedule(Input::Device(DeviceEvent::Disconnected { call: *c }));
                    }
                }
            }
            Input::Device(
                DeviceEvent::Canceled { call: c } | DeviceEvent::Disconnected { call: c },
            )
            | Input::Device(DeviceEvent::AcceptFailed { call: c }) => {
                if let Some(i) = self.index_of_call(*c) {
                    self.m[i].call_ended = true;
                    self.m[i].call_connected = false;
                }
            }
            _ => {}
        }

        let work_before = self.t.session.reconciler().work();
        let outgoing_before = self.outgoing_live();
        let unknown_report = match &input {
            Input::Device(DeviceEvent::Outgoing { call: c, attempt }) => {
                let held = self
                    .t
                    .session
                    .reconciler()
                    .offers()
                    .any(|o| o.target == Target::Outgoing(*attempt));
                (!held).then_some((*c, Target::Outgoing(*attempt)))
            }
            _ => None,
        };
        let actions = self.t.input(input);

        for a in &actions {
            match a {
                Action::ConnectCall { .. } => assert_eq!(
                    work_before,
                    Work::Idle,
                    "NO_OUTGOING_WHILE_RINGING: dialled during live work: {actions:?}"
                ),
                Action::Emit(Event::Ringing { target, .. }) => assert!(
                    !outgoing_before,
                    "NO_RING_DURING_OUTGOING: {target:?} rang during an outgoing call"
                ),
                Action::Emit(Event::CallState { target, phase, .. })
                    if matches!(target, Target::Outgoing(_)) =>
                {
                    assert!(
                        !self.out_ended.contains(target),
                        "UNKNOWN_OUTGOING_HUNG_UP: {target:?} shown again after it ended"
                    );
                    if *phase == CallPhase::Ended {
                        self.out_ended.insert(*target);
                    }
                }
                _ => {}
            }
        }
        if let Some((c, target)) = unknown_report {
            let hung_up = actions.contains(&Action::DisconnectCall { call: c })
                || self
                    .out
                    .iter()
                    .enumerate()
                    .any(|(k, m)| m.over && Self::out_sid(k) == c);
            assert!(
                hung_up,
                "UNKNOWN_OUTGOING_HUNG_UP: report for {target:?} not hung up: {actions:?}"
            );
            assert!(
                !actions.iter().any(|a| matches!(a, Action::Emit(Event::CallState { target: t, .. }) if *t == target)),
                "UNKNOWN_OUTGOING_HUNG_UP: report for {target:?} shown"
            );
        }

        if actions
            .iter()
            .any(|a| matches!(a, Action::SetActivity { .. }))
        {
            assert_eq!(
                self.t.session.reconciler().work(),
                Work::Idle,
                "NO_ACTIVITY_CHANGE_DURING_WORK: {actions:?}"
            );
        }

        for a in &actions {
            match a {
                Action::Emit(Event::Ringing { target, .. }) => {
                    assert!(
                        !self.upgraded,
                        "NO_RING_AFTER_UPDATE_REQUIRED: {target:?} rang"
                    );
                    assert!(
                        self.ringing.insert(*target),
                        "ONE_RING_PER_TASK: {target:?} rang while ringing"
                    );
                    let n = self.rang.entry(*target).or_default();
                    *n += 1;
                    assert!(*n <= 1, "ONE_RING_PER_TASK: {target:?} rang {n} times");
                    if let Some(i) = (0..self.plans.len()).find(|i| self.target(*i) == *target) {
                        assert!(
                            !self.m[i].canceled,
                            "NO_RING_AFTER_CANCEL: {target:?} rang after its cancel"
                        );
                    }
                }
                Action::Emit(Event::RingStopped { target, .. }) => {
                    self.ringing.remove(target);
                }
                _ => {}
            }
        }
        if let Some(i) = cancel_of {
            self.m[i].canceled = true;
            let target = self.target(i);
            assert!(
                !self.ringing.contains(&target),
                "NO_RING_AFTER_CANCEL: {target:?} still ringing after its cancel"
            );
        }

        assert!(
            !self.outgoing_live() || self.ringing.is_empty(),
            "NO_RING_DURING_OUTGOING: a ring and an outgoing call are live together"
        );

        for a in actions {
            self.answer(a);
        }
    }

    /// The model of TaskRouter and the Voice SDK reacting to an action.
    fn answer(&mut self, a: Action) {
        match a {
            Action::AcceptReservation { reservation, .. } => {
                let i = self.index_of_res(reservation).expect("known reservation");
                let result = if self.m[i].res_ended {
                    RestResult::NotPending
                } else {
                    self.plans[i].accept
                };
                if result == RestResult::Ok {
                    self.m[i].accepted_at_server = true;
                }
                if result == RestResult::NotPending && !self.m[i].res_ended {
                    // "No longer pending" means TaskRouter ended it meanwhile; it pushes that too.
                    self.m[i].res_ended = true;
                    self.schedule(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                        reservation,
                        task: task(i as u128 + 1),
                        end: ReservationEnd::Timeout,
                    }));
                }
                self.schedule(Input::Result(ActionResult::AcceptReservation {
                    reservation,
                    result,
                }));
            }
            Action::RejectReservation {
                reservation,
                task: tk,
            } => {
                let i = self.index_of_res(reservation).expect("known reservation");
                self.m[i].refused_by_us = true;
                if !self.m[i].res_ended && !self.m[i].res_accepted {
                    self.m[i].res_ended = true;
                    self.schedule(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                        reservation,
                        task: tk,
                        end: ReservationEnd::Rejected,
                    }));
                }
            }
            Action::AcceptCall { call: c } => {
                let i = self.index_of_call(c).expect("known call");
                if !self.plans[i].direct {
                    assert!(
                        self.m[i].res_accepted,
                        "NO_ACCEPTED_CALL_WITHOUT_ACCEPTED_RESERVATION: call {c} accepted before its reservation"
                    );
                    assert!(
                        !self.m[i].refused_by_us,
                        "NO_ACCEPTED_CALL_WITHOUT_ACCEPTED_RESERVATION: call {c} accepted for a refused reservation"
                    );
                }
                let ev = if !self.m[i].call_ended && self.plans[i].call_accept_ok {
                    DeviceEvent::Accepted { call: c }
                } else {
                    DeviceEvent::AcceptFailed { call: c }
                };
                self.schedule(Input::Device(ev));
            }
            Action::RejectCall { call: c } => {
                if let Some(i) = self.index_of_call(c) {
                    self.m[i].call_ended = true;
                }
            }
            Action::ConnectCall { attempt, .. } => {
                let k = self.dialling.expect("ConnectCall only answers a Dial");
                self.out[k].attempt = Some(attempt);
                let c = Self::out_sid(k);
                match self.dials[k].device {
                    DialDevice::Connects | DialDevice::SidThenEnds => {
                        self.schedule(Input::Device(DeviceEvent::Outgoing { call: c, attempt }))
                    }
                    DialDevice::FailsBeforeSid => {
                        self.schedule(Input::Device(DeviceEvent::OutgoingFailed { attempt }))
                    }
                    DialDevice::Silent => {}
                }
            }
            Action::DisconnectCall { call: c } if self.index_of_out_call(c).is_some() => {
                let k = self.index_of_out_call(c).expect("checked");
                let was_live = self.out[k].sid_reported && !self.out[k].over;
                self.out[k].over = true;
                if was_live {
                    self.schedule(Input::Device(DeviceEvent::Disconnected { call: c }));
                }
            }
            Action::DisconnectCall { call: c } => {
                if let Some(i) = self.index_of_call(c) {
                    let was_connected = self.m[i].call_connected;
                    self.m[i].call_ended = true;
                    if was_connected {
                        self.schedule(Input::Device(DeviceEvent::Disconnected { call: c }));
                    }
                }
            }
            Action::CompleteTask { task: tk, .. } => {
                let i = self.index_of_task(tk).expect("known task");
                self.m[i].complete_attempts += 1;
                let result =
                    if self.plans[i].complete_fails_first && self.m[i].complete_attempts == 1 {
                        RestResult::Failed
                    } else {
                        RestResult::Ok
                    };
                if result == RestResult::Ok {
                    self.m[i].completed_at_server = true;
                }
                self.schedule(Input::Result(ActionResult::CompleteTask {
                    task: tk,
                    result,
                }));
            }
            Action::SetActivity { activity } => {
                self.schedule(Input::Result(ActionResult::SetActivity {
                    activity,
                    result: RestResult::Ok,
                }));
            }
            Action::Emit(Event::CallState {
                target: Target::Task(tk),
                phase: CallPhase::WrapUp,
                ..
            }) => {
                if let Some(i) = self.index_of_task(tk) {
                    if self.plans[i].agent_completes {
                        self.schedule(Input::Command(Command::CompleteWrapup { task: tk }));
                    }
                }
            }
            _ => {}
        }
    }

    /// Delivers the model's pending inputs whose lag ran out (`all`: every one).
    fn deliver_pending(&mut self, all: bool) {
        loop {
            let mut due = None;
            for (n, (lag, _)) in self.pending.iter_mut().enumerate() {
                if all || *lag == 0 {
                    due = Some(n);
                    break;
                }
            }
            let Some(n) = due else { break };
            let Some((_, input)) = self.pending.remove(n) else {
                break;
            };
            self.feed(input);
        }
        for (lag, _) in self.pending.iter_mut() {
            *lag = lag.saturating_sub(1);
        }
    }

    fn step(&mut self, step: Step) {
        match step {
            Step::Reservation(i) => {
                self.m[i].reservation_delivered = true;
                self.feed(Input::TaskRouter(TaskRouterEvent::ReservationCreated(
                    ReservationInfo {
                        reservation: res(i as u128 + 1),
                        task: task(i as u128 + 1),
                        caller: Some(Caller::new("+81312345678")),
                        crm: None,
                    },
                )));
            }
            Step::Call(i) => {
                if self.m[i].call_dead {
                    return; // the caller hung up before the agent leg existed: no call ever rings
                }
                self.m[i].call_delivered = true;
                let p = &self.plans[i];
                let params = if p.direct {
                    CallParams::direct(Some("client:bob"))
                } else {
                    CallParams {
                        task: Some(task(i as u128 + 1)),
                        reservation: p.res_param.then(|| res(i as u128 + 1)),
                        caller: None,
                    }
                };
                if params.reservation.is_some() {
                    self.m[i].reservation_delivered = true;
                }
                let c = self.call_sid(i);
                self.feed(Input::Device(DeviceEvent::Incoming { call: c, params }));
            }
            Step::Fate(i) => {
                let end = match self.plans[i].fate {
                    Fate::Nothing => return,
                    Fate::Canceled => ReservationEnd::Canceled,
                    Fate::Rescinded => ReservationEnd::Rescinded,
                    Fate::Timeout => ReservationEnd::Timeout,
                    Fate::CallerHangsUp => {
                        let c = self.call_sid(i);
                        if self.m[i].call_connected {
                            self.feed(Input::Device(DeviceEvent::Disconnected { call: c }));
                        } else if self.m[i].call_delivered && !self.m[i].call_ended {
                            self.feed(Input::Device(DeviceEvent::Canceled { call: c }));
                        } else if !self.m[i].call_delivered {
                            // No agent leg yet: the task is canceled instead.
                            self.m[i].call_dead = true;
                            if !self.plans[i].direct
                                && !self.m[i].res_accepted
                                && !self.m[i].res_ended
                            {
                                self.m[i].res_ended = true;
                                self.feed(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                                    reservation: res(i as u128 + 1),
                                    task: task(i as u128 + 1),
                                    end: ReservationEnd::Canceled,
                                }));
                            }
                        }
                        return;
                    }
                };
                if self.plans[i].direct
                    || (self.m[i].accepted_at_server && end != ReservationEnd::Canceled)
                {
                    return; // an accepted reservation does not time out or get rescinded (a task can still be canceled)
                }
                self.m[i].res_ended = true;
                self.feed(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
                    reservation: res(i as u128 + 1),
                    task: task(i as u128 + 1),
                    end,
                }));
            }
            Step::Agent(i) => {
                let target = self.target(i);
                let cmd = match self.plans[i].agent {
                    Agent::Reject => Command::Reject { target },
                    Agent::Nothing => return,
                    Agent::Answer | Agent::AnswerThenHangUp => Command::Answer { target },
                };
                self.feed(Input::Command(cmd));
            }
            Step::AgentHangUp(i) => {
                let target = self.target(i);
                self.feed(Input::Command(Command::Hangup { target }));
            }
            Step::Snapshot => {
                let mut reservations = Vec::new();
                for i in 0..self.plans.len() {
                    let m = &self.m[i];
                    if self.plans[i].direct || m.res_ended || m.completed_at_server {
                        continue;
                    }
                    let status = if m.accepted_at_server {
                        SnapshotStatus::Accepted
                    } else {
                        SnapshotStatus::Pending
                    };
                    let info = ReservationInfo {
                        reservation: res(i as u128 + 1),
                        task: task(i as u128 + 1),
                        caller: None,
                        crm: None,
                    };
                    reservations.push((info, status));
                    self.m[i].reservation_delivered = true;
                }
                self.feed(Input::TaskRouter(TaskRouterEvent::Snapshot {
                    reservations,
                }));
            }
            Step::Dial(k) => {
                self.dialling = Some(k);
                let to = Caller::new(format!("+8150000000{k}"));
                self.feed(Input::Command(Command::Dial { to }));
                self.dialling = None;
            }
            Step::DialHangUp(k) => {
                if let Some(a) = self.out[k].attempt {
                    self.feed(Input::Command(Command::Hangup {
                        target: Target::Outgoing(a),
                    }));
                }
            }
            Step::Stray(k) => {
                let attempt = AttemptId::from_random(0xdead_0000 + k as u128);
                self.feed(Input::Device(DeviceEvent::Outgoing {
                    call: Self::stray_sid(k),
                    attempt,
                }));
            }
            Step::Upgrade => {
                self.upgraded = true;
                self.feed(Input::UpgradeRequired {
                    min_supported: None,
                });
            }
        }
    }

    /// Moves the clock like `TestSession::advance`, but every tick's actions go through the checks and the model.
    fn advance(&mut self, d: Duration) {
        let end = self.t.now + d;
        let mut guard = 0;
        while let Some(deadline) = self.t.session.next_deadline() {
            if deadline > end {
                break;
            }
            guard += 1;
            assert!(guard < 10_000, "a deadline that never moves");
            self.t.now = self.t.now.max(deadline);
            self.feed(Input::Tick);
        }
        self.t.now = end;
        self.feed(Input::Tick);
    }

    fn run(&mut self, steps: &[Step], delays: &[u64]) {
        for (n, step) in steps.iter().enumerate() {
            self.step(*step);
            self.deliver_pending(false);
            let d = Duration::from_millis(delays[n % delays.len()]);
            self.advance(d);
        }
        // Quiesce: deliver everything, let the calls end, and let time run out.
        for _ in 0..10 {
            self.deliver_pending(true);
            for i in 0..self.plans.len() {
                if self.m[i].call_connected && !self.m[i].call_ended {
                    let c = self.call_sid(i);
                    self.feed(Input::Device(DeviceEvent::Disconnected { call: c }));
                }
            }
            for k in 0..self.dials.len() {
                if self.out[k].connected && !self.out[k].over {
                    self.feed(Input::Device(DeviceEvent::Disconnected {
                        call: Self::out_sid(k),
                    }));
                }
            }
            self.deliver_pending(true);
            self.advance(Duration::from_secs(60));
        }
        self.deliver_pending(true);
    }

    fn check_end(&self) {
        let offers: Vec<_> = self.t.session.reconciler().offers().collect();
        // NO_LEAKED_OUTGOING
        for (k, m) in self.out.iter().enumerate() {
            assert!(
                !m.sid_reported || m.over,
                "NO_LEAKED_OUTGOING: outgoing call {k} still up at the Device: {m:?} {offers:?}"
            );
        }
        assert!(
            !offers
                .iter()
                .any(|o| matches!(o.target, Target::Outgoing(_))),
            "NO_LEAKED_OUTGOING: {offers:?}"
        );
        if offers.iter().all(|o| o.phase == OfferPhase::Stopped) {
            assert_ne!(
                self.t.session.presence().shown(),
                Some(PresenceState::Busy),
                "NO_LEAKED_OUTGOING: left Busy: {offers:?}"
            );
        }
        // NO_WORKER_LEFT_WRAPPING
        assert!(
            offers.iter().all(|o| o.phase != OfferPhase::WrapUp),
            "NO_WORKER_LEFT_WRAPPING: {offers:?}"
        );
        assert_ne!(
            self.t.session.presence().shown(),
            Some(PresenceState::WrapUp),
            "NO_WORKER_LEFT_WRAPPING"
        );
        // RINGS_MATCH_STATE
        let ringing_state: BTreeSet<Target> = offers
            .iter()
            .filter(|o| o.phase == OfferPhase::Ringing)
            .map(|o| o.target)
            .collect();
        let ringing_told: BTreeSet<Target> = self.ringing.iter().copied().collect();
        assert_eq!(ringing_state, ringing_told, "RINGS_MATCH_STATE");
        // NO_LOST_TASK
        for (i, m) in self.m.iter().enumerate() {
            let live = offers.iter().any(|o| {
                o.target == self.target(i)
                    && matches!(o.phase, OfferPhase::Ringing | OfferPhase::Connected)
            });
            if m.reservation_delivered && !self.plans[i].direct {
                let accounted = m.res_ended || m.refused_by_us || m.completed || live;
                assert!(
                    accounted,
                    "NO_LOST_TASK: reservation of task {i} dropped silently: {m:?} {offers:?}"
                );
                if m.res_accepted && !m.res_ended {
                    assert!(
                        m.completed || live,
                        "NO_LOST_TASK: accepted task {i} neither completed nor live: {m:?} {offers:?}"
                    );
                }
            }
            if m.call_delivered {
                assert!(
                    m.call_ended || live,
                    "NO_LOST_TASK: call of {i} dropped silently: {m:?} {offers:?}"
                );
            }
        }
    }
}

fn play(s: &Scenario) {
    let cfg = SessionConfig {
        sockets: Vec::new(),
        ..SessionConfig::default()
    };
    let t = TestSession::logged_in_with(cfg);
    let mut w = World {
        t,
        m: s.plans.iter().map(|_| TaskModel::default()).collect(),
        plans: s.plans.clone(),
        pending: VecDeque::new(),
        lags: s.lags.clone(),
        lag_i: 0,
        ringing: HashSet::new(),
        rang: HashMap::new(),
        upgraded: false,
        dials: s.dials.iter().map(|(d, _, _)| *d).collect(),
        out: s.dials.iter().map(|_| OutModel::default()).collect(),
        dialling: None,
        out_ended: HashSet::new(),
    };
    let steps = script(s);
    w.run(&steps, &s.delays);
    w.check_end();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn every_ordering_keeps_the_invariants(s in scenario()) {
        play(&s);
    }
}

/// A hand-picked ordering that exercises the drop of `reservation.created` (the call carries no ReservationSid):
/// the call rings on its own, the agent answers, the answer times out, and everything is undone.
#[test]
fn dropped_reservation_is_undone_not_lost() {
    let plan = Plan {
        direct: false,
        reservation_arrives: false,
        call_arrives: true,
        res_param: false,
        fate: Fate::Nothing,
        agent: Agent::Answer,
        accept: RestResult::Ok,
        call_accept_ok: true,
        complete_fails_first: false,
        customer_hangs_up: false,
        agent_completes: false,
    };
    play(&Scenario {
        plans: vec![plan],
        keys: vec![1, 2],
        dups: vec![false],
        delays: vec![100],
        lags: vec![0],
        snapshot_at: None,
        upgrade_at: None,
        dials: Vec::new(),
    });
}
