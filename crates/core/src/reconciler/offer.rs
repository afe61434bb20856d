//! One offer: a task (or direct call) with its reservation half and its call half, and the phase it is in.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ResState {
    Pending,
    Accepting,
    Accepted,
    Ended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LegState {
    Ringing,
    Accepting,
    Connected,
    Ended,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Res {
    pub(super) sid: ReservationSid,
    pub(super) state: ResState,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Leg {
    pub(super) sid: CallSid,
    pub(super) state: LegState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Completion {
    Idle,
    InFlight,
    RetryAt(Instant),
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Phase {
    Ringing,
    Answering {
        deadline: Instant,
    },
    Connected,
    WrapUp {
        auto_at: Option<Instant>,
        completion: Completion,
        reason: CompleteReason,
        failures: u32,
    },
    Stopped {
        until: Instant,
    },
    Undoing,
    /// An outgoing call, until the Device reports it connected (or `deadline` passes). `hanging_up`: the agent
    /// hung up; the call ends without an error when the Device reports it gone.
    Dialing {
        deadline: Instant,
        hanging_up: bool,
    },
}

/// A transfer of this call the agent asked for: its mode, and where the server says it stands (`None` until the
/// server accepted the request).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Transfer {
    pub(super) mode: TransferMode,
    pub(super) stage: Option<TransferStage>,
}

/// Where the reservation stands once [`Offer::refuse_pending`] has done its part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Settled {
    /// It was pending: refused now, so the task re-routes.
    Refused,
    /// An accept is in flight: its result decides.
    AcceptInFlight,
    /// Already accepted: it can only be completed.
    Accepted,
    /// Nothing to settle (no task, no reservation, or it already ended).
    Nothing,
}

#[derive(Clone, Debug)]
pub(super) struct Offer {
    pub(super) target: Target,
    pub(super) res: Option<Res>,
    pub(super) call: Option<Leg>,
    pub(super) caller: Option<Caller>,
    pub(super) crm: Option<Crm>,
    pub(super) phase: Phase,
    pub(super) muted: bool,
    pub(super) on_hold: bool,
    pub(super) created: Instant,
    pub(super) conference: Option<ConferenceSid>,
    /// The transfer under way, if any.
    pub(super) transfer: Option<Transfer>,
    /// The customer's side of an outgoing call (`None` for other calls).
    pub(super) callee: Option<OutgoingStage>,
    /// The server was asked to end the call (asked once).
    pub(super) server_hangup: Requested,
}

/// Whether something was asked for already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Requested {
    No,
    Yes,
}

impl Offer {
    pub(super) fn new(target: Target, now: Instant) -> Self {
        Self {
            target,
            res: None,
            call: None,
            caller: None,
            crm: None,
            phase: Phase::Ringing,
            muted: false,
            on_hold: false,
            created: now,
            conference: None,
            transfer: None,
            callee: None,
            server_hangup: Requested::No,
        }
    }

    /// How the server's call control names this call: its task, or an outgoing call's attempt. Direct calls have
    /// no server-side control.
    pub(super) fn control_target(&self) -> Option<ControlTarget> {
        match self.target {
            Target::Task(t) => Some(ControlTarget::Task(t)),
            Target::Outgoing(a) => Some(ControlTarget::Outgoing(a)),
            Target::Call(_) => None,
        }
    }

    /// Asks the server to end the call (its conference and the customer's leg), for calls it controls.
    pub(super) fn hang_up_at_server(&mut self, out: &mut Vec<Action>) {
        if self.server_hangup == Requested::Yes {
            return;
        }
        if let Some(target) = self.control_target() {
            self.server_hangup = Requested::Yes;
            out.push(Action::CallControl {
                target,
                op: ControlOp::Hangup,
            });
        }
    }

    pub(super) fn task(&self) -> Option<TaskSid> {
        match self.target {
            Target::Task(t) => Some(t),
            Target::Call(_) | Target::Outgoing(_) => None,
        }
    }

    /// An outgoing call that is still live (dialling or connected).
    pub(super) fn is_live_outgoing(&self) -> bool {
        matches!(self.target, Target::Outgoing(_))
            && matches!(self.phase, Phase::Dialing { .. } | Phase::Connected)
    }

    pub(super) fn res_state(&self) -> Option<ResState> {
        self.res.map(|r| r.state)
    }

    pub(super) fn call_state(&self) -> Option<LegState> {
        self.call.map(|c| c.state)
    }

    pub(super) fn set_res(&mut self, state: ResState) {
        if let Some(r) = &mut self.res {
            r.state = state;
        }
    }

    /// The one rule for giving up an offer's reservation: refuse it if still pending (the task re-routes), and
    /// say what is left when it is not (an accept in flight, or an accepted one to complete).
    pub(super) fn refuse_pending(&mut self, out: &mut Vec<Action>) -> Settled {
        let (Some(task), Some(r)) = (self.task(), self.res) else {
            return Settled::Nothing;
        };
        match r.state {
            ResState::Pending => {
                out.push(Action::RejectReservation {
                    task,
                    reservation: r.sid,
                });
                self.set_res(ResState::Ended);
                Settled::Refused
            }
            ResState::Accepting => Settled::AcceptInFlight,
            ResState::Accepted => Settled::Accepted,
            ResState::Ended => Settled::Nothing,
        }
    }

    pub(super) fn set_call(&mut self, state: LegState) {
        if let Some(c) = &mut self.call {
            c.state = state;
        }
    }

    pub(super) fn ringing(&self) -> Event {
        Event::Ringing {
            target: self.target,
            task: self.task(),
            call: self.call.map(|c| c.sid),
            caller: self.caller.clone(),
            crm: self.crm.clone(),
        }
    }

    pub(super) fn ring_updated(&self) -> Event {
        Event::RingUpdated {
            target: self.target,
            call: self.call.map(|c| c.sid),
            caller: self.caller.clone(),
            crm: self.crm.clone(),
        }
    }

    pub(super) fn call_state_event(&self, phase: CallPhase) -> Action {
        Action::Emit(Event::CallState {
            target: self.target,
            phase,
            muted: self.muted,
            on_hold: self.on_hold,
        })
    }

    pub(super) fn transfer_event(
        &self,
        t: Transfer,
        stage: TransferStage,
        reason: Option<TransferFailure>,
    ) -> Event {
        Event::Transfer {
            target: self.target,
            mode: t.mode,
            stage,
            reason,
        }
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Answering { deadline } if self.res.is_none() || self.call.is_none() => {
                Some(deadline)
            }
            Phase::Stopped { until } => Some(until),
            Phase::Dialing { deadline, .. } => Some(deadline),
            Phase::WrapUp {
                auto_at,
                completion,
                ..
            } => match completion {
                Completion::Idle => auto_at,
                Completion::RetryAt(t) => Some(t),
                Completion::InFlight => None,
            },
            _ => None,
        }
    }

    pub(super) fn view(&self) -> OfferView {
        OfferView {
            target: self.target,
            reservation: self.res.map(|r| r.sid),
            call: self.call.map(|c| c.sid),
            conference: self.conference,
            phase: match self.phase {
                Phase::Ringing => OfferPhase::Ringing,
                Phase::Answering { .. } => OfferPhase::Answering,
                Phase::Connected => OfferPhase::Connected,
                Phase::WrapUp { .. } => OfferPhase::WrapUp,
                Phase::Stopped { .. } => OfferPhase::Stopped,
                Phase::Undoing => OfferPhase::Undoing,
                Phase::Dialing { .. } => OfferPhase::Dialing,
            },
        }
    }
}

pub(super) fn emit(out: &mut Vec<Action>, event: Event) {
    out.push(Action::Emit(event));
}

pub(super) fn user_error(out: &mut Vec<Action>, kind: ErrorKind, target: Option<Target>) {
    emit(out, Event::Error(UserError::new(kind, target)));
}

pub(super) fn stop_reason(end: ReservationEnd) -> RingStopReason {
    match end {
        ReservationEnd::Canceled => RingStopReason::Canceled,
        ReservationEnd::Rescinded => RingStopReason::Rescinded,
        ReservationEnd::Timeout => RingStopReason::TimedOut,
        ReservationEnd::Rejected => RingStopReason::Rejected,
        ReservationEnd::Completed => RingStopReason::Gone,
    }
}

/// Digits the Voice SDK's `sendDigits` accepts, bounded.
pub(super) fn valid_digits(digits: &str) -> bool {
    (1..=64).contains(&digits.len())
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'#' | b'w'))
}
