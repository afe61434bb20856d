//! Voice SDK events: incoming calls, cancels and disconnects, accept outcomes.

use super::*;

impl Reconciler {
    // ----- Device -----

    pub(super) fn on_incoming(
        &mut self,
        call: CallSid,
        params: CallParams,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.ended_calls.contains(&call) || self.find_call(call).is_some() {
            return;
        }
        let leg = Leg {
            sid: call,
            state: LegState::Ringing,
        };
        let Some(task) = params.task else {
            if !self.rings_allowed() {
                out.push(Action::RejectCall { call });
                self.ended_calls.insert(call);
                return;
            }
            let mut o = Offer::new(Target::Call(call), now);
            o.call = Some(leg);
            o.caller = params.caller;
            emit(out, o.ringing());
            self.keep(o);
            return;
        };
        if self.ended_tasks.contains(&task)
            || params
                .reservation
                .is_some_and(|r| self.ended_res.contains(&r))
        {
            out.push(Action::RejectCall { call });
            self.ended_calls.insert(call);
            return;
        }
        let target = Target::Task(task);
        if let Some(mut o) = self.offers.remove(&target) {
            let stopped = matches!(o.phase, Phase::Stopped { .. });
            let other_attempt =
                matches!((params.reservation, o.res), (Some(p), Some(r)) if p != r.sid);
            if stopped && (o.call.is_some() || other_attempt) {
                self.finish(o, out); // the stopped offer was an earlier attempt: a new one starts below
            } else if o.call.is_some()
                || other_attempt
                || !matches!(
                    o.phase,
                    Phase::Ringing | Phase::Answering { .. } | Phase::Stopped { .. }
                )
            {
                // A second call for a task we hold: refuse it.
                self.keep(o);
                out.push(Action::RejectCall { call });
                self.ended_calls.insert(call);
                return;
            } else {
                o.call = Some(leg);
                if o.res.is_none() {
                    o.res = params.reservation.map(|sid| Res {
                        sid,
                        state: ResState::Pending,
                    });
                }
                match o.phase {
                    Phase::Stopped { .. } => {
                        // Its reservation is already over: the call is late. Refuse it.
                        out.push(Action::RejectCall { call });
                        o.set_call(LegState::Ended);
                        self.finish(o, out);
                    }
                    Phase::Answering { .. } => {
                        Self::merge_info(&mut o, params.caller, None, false, out);
                        self.advance_answer(o, now, out);
                    }
                    _ => {
                        Self::merge_info(&mut o, params.caller, None, true, out);
                        self.keep(o);
                    }
                }
                return;
            }
        }
        if !self.rings_allowed() {
            out.push(Action::RejectCall { call });
            self.ended_calls.insert(call);
            if let Some(reservation) = params.reservation {
                out.push(Action::RejectReservation { task, reservation });
                self.ended_res.insert(reservation);
            }
            return;
        }
        let mut o = Offer::new(target, now);
        o.call = Some(leg);
        o.res = params.reservation.map(|sid| Res {
            sid,
            state: ResState::Pending,
        });
        o.caller = params.caller;
        emit(out, o.ringing());
        self.keep(o);
    }

    /// The caller hung up before the answer (`cancel`) or the call ended (`disconnect`).
    pub(super) fn on_call_gone(&mut self, call: CallSid, now: Instant, out: &mut Vec<Action>) {
        self.ended_calls.insert(call);
        let Some(target) = self.find_call(call) else {
            return;
        };
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        o.set_call(LegState::Ended);
        match o.phase {
            Phase::Ringing => {
                emit(
                    out,
                    Event::RingStopped {
                        target,
                        reason: RingStopReason::CallerHungUp,
                    },
                );
                match o.refuse_pending(out) {
                    Settled::Refused => self.finish(o, out),
                    Settled::Accepted => {
                        self.start_completion(&mut o, CompleteReason::CallerAbandoned, 0, out);
                        self.keep(o);
                    }
                    Settled::AcceptInFlight | Settled::Nothing => self.stop_or_finish(o, now, out),
                }
            }
            Phase::Answering { .. } => self.advance_answer(o, now, out),
            Phase::Dialing { hanging_up, .. } => {
                self.end_outgoing(o, (!hanging_up).then_some(ErrorKind::DialFailed), out)
            }
            Phase::Connected => {
                if o.task().is_none() || o.res_state() == Some(ResState::Ended) {
                    if let Target::Outgoing(_) = o.target {
                        // The agent's leg dropped: end the customer's too (the server's hang-up is idempotent). A
                        // routed call is left to its conference (end_conference_on_exit): during a transfer the
                        // agent's leg is removed on purpose and the customer must stay.
                        o.hang_up_at_server(out);
                    }
                    out.push(o.call_state_event(CallPhase::Ended));
                    self.finish(o, out);
                } else {
                    self.enter_wrapup(&mut o, now, out);
                    self.keep(o);
                }
            }
            Phase::Stopped { .. } => {
                if o.res.is_none() {
                    self.keep(o);
                } else {
                    self.finish(o, out);
                }
            }
            Phase::WrapUp { .. } | Phase::Undoing => self.keep(o),
        }
    }

    pub(super) fn on_call_accepted(&mut self, call: CallSid, now: Instant, out: &mut Vec<Action>) {
        let Some(target) = self.find_call(call) else {
            return;
        };
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        if o.call_state() == Some(LegState::Accepting) {
            o.set_call(LegState::Connected);
            if matches!(o.phase, Phase::Dialing { .. }) {
                self.outgoing_accepted(o, out);
                return;
            }
            if matches!(o.phase, Phase::Answering { .. }) {
                self.advance_answer(o, now, out);
                return;
            }
        }
        self.keep(o);
    }

    pub(super) fn on_call_accept_failed(
        &mut self,
        call: CallSid,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(target) = self.find_call(call) else {
            return;
        };
        let Some(o) = self.offers.remove(&target) else {
            return;
        };
        if o.call_state() == Some(LegState::Accepting) && matches!(o.phase, Phase::Answering { .. })
        {
            self.fail_answer(o, Some(ErrorKind::CallAcceptFailed), now, out);
        } else if let Phase::Dialing { hanging_up, .. } = o.phase {
            self.end_outgoing(o, (!hanging_up).then_some(ErrorKind::DialFailed), out);
        } else {
            self.keep(o);
        }
    }
}
