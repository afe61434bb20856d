//! Answer, reject and hang up: accept the reservation, then the call, and undo the other half on failure.

use super::*;

impl Reconciler {
    // ----- Answer -----

    /// Moves an answering offer one step: accept the reservation once both halves are here, then the call once
    /// the reservation is accepted; undo when a half is gone.
    pub(super) fn advance_answer(&mut self, mut o: Offer, now: Instant, out: &mut Vec<Action>) {
        let Some(task) = o.task() else {
            // Direct call: only the Device side.
            match o.call {
                Some(Leg {
                    sid,
                    state: LegState::Ringing,
                }) => {
                    out.push(Action::AcceptCall { call: sid });
                    o.set_call(LegState::Accepting);
                    self.keep(o);
                }
                Some(Leg {
                    state: LegState::Connected,
                    ..
                }) => {
                    o.phase = Phase::Connected;
                    out.push(o.call_state_event(CallPhase::Connected));
                    self.keep(o);
                }
                Some(Leg {
                    state: LegState::Ended,
                    ..
                })
                | None => self.fail_answer(o, Some(ErrorKind::CallNoLongerAvailable), now, out),
                Some(_) => self.keep(o),
            }
            return;
        };
        match (o.res, o.call) {
            (
                Some(Res {
                    state: ResState::Ended,
                    ..
                }),
                _,
            )
            | (
                _,
                Some(Leg {
                    state: LegState::Ended,
                    ..
                }),
            ) => self.fail_answer(o, Some(ErrorKind::CallNoLongerAvailable), now, out),
            (None, _) | (_, None) => self.keep(o), // waiting for the other half until the deadline
            (
                Some(Res {
                    sid,
                    state: ResState::Pending,
                }),
                Some(Leg {
                    state: LegState::Ringing,
                    ..
                }),
            ) => {
                out.push(Action::AcceptReservation {
                    task,
                    reservation: sid,
                });
                o.set_res(ResState::Accepting);
                self.keep(o);
            }
            (
                Some(Res {
                    state: ResState::Accepted,
                    ..
                }),
                Some(Leg {
                    sid,
                    state: LegState::Ringing,
                }),
            ) => {
                out.push(Action::AcceptCall { call: sid });
                o.set_call(LegState::Accepting);
                self.keep(o);
            }
            (
                Some(Res {
                    state: ResState::Accepted,
                    ..
                }),
                Some(Leg {
                    state: LegState::Connected,
                    ..
                }),
            ) => {
                o.phase = Phase::Connected;
                out.push(o.call_state_event(CallPhase::Connected));
                self.keep(o);
            }
            (
                Some(Res {
                    state: ResState::Pending,
                    ..
                }),
                Some(_),
            ) => {
                // A call accepted without an accepted reservation cannot come from this machine; undo it.
                self.fail_answer(o, Some(ErrorKind::AnswerFailed), now, out)
            }
            _ => self.keep(o), // an accept is in flight
        }
    }

    /// Answering is over without a call: tell the agent (unless they asked for it), undo the Device side, and
    /// settle the reservation: refuse it if pending, wait for an in-flight accept, complete it if accepted.
    pub(super) fn fail_answer(
        &mut self,
        mut o: Offer,
        error: Option<ErrorKind>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(kind) = error {
            user_error(out, kind, Some(o.target));
        }
        out.push(o.call_state_event(CallPhase::Ended));
        Self::end_call_leg(&mut o, out);
        match o.refuse_pending(out) {
            Settled::Refused | Settled::Nothing => self.stop_or_finish(o, now, out),
            Settled::AcceptInFlight => {
                o.phase = Phase::Undoing;
                self.keep(o);
            }
            Settled::Accepted => {
                let reason = if error == Some(ErrorKind::CallAcceptFailed) {
                    CompleteReason::AgentLegFailed
                } else {
                    CompleteReason::CallerAbandoned
                };
                self.start_completion(&mut o, reason, 0, out);
                self.keep(o);
            }
        }
    }

    pub(super) fn on_accept_result(
        &mut self,
        sid: ReservationSid,
        result: RestResult,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(target) = self.find_res(sid) else {
            return;
        };
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        if o.res_state() != Some(ResState::Accepting) {
            self.keep(o); // the push already told us (or the offer moved on)
            return;
        }
        let undoing = matches!(o.phase, Phase::Undoing);
        if result == RestResult::Ok {
            o.set_res(ResState::Accepted);
            if undoing {
                self.start_completion(&mut o, CompleteReason::CallerAbandoned, 0, out);
                self.keep(o);
            } else {
                self.advance_answer(o, now, out);
            }
            return;
        }
        if result != RestResult::NotPending {
            if let Some(task) = o.task() {
                // Refuse it so the task re-routes (best effort: it may be refused too).
                out.push(Action::RejectReservation {
                    task,
                    reservation: sid,
                });
            }
        }
        o.set_res(ResState::Ended);
        if undoing {
            self.finish(o, out);
            return;
        }
        let kind = match result {
            RestResult::Forbidden => ErrorKind::TokenPolicy,
            RestResult::NotPending => ErrorKind::CallNoLongerAvailable,
            _ => ErrorKind::AnswerFailed,
        };
        self.fail_answer(o, Some(kind), now, out);
    }

    // ----- commands -----

    pub(super) fn answer(&mut self, target: Target, now: Instant, out: &mut Vec<Action>) {
        let Some(mut o) = self.offers.remove(&target) else {
            user_error(out, ErrorKind::NoSuchCall, Some(target));
            return;
        };
        match o.phase {
            Phase::Ringing => {
                emit(
                    out,
                    Event::RingStopped {
                        target,
                        reason: RingStopReason::Answered,
                    },
                );
                o.phase = Phase::Answering {
                    deadline: now + self.cfg.answer_wait,
                };
                out.push(o.call_state_event(CallPhase::Connecting));
                self.advance_answer(o, now, out);
            }
            Phase::Answering { .. } | Phase::Connected => self.keep(o), // a double click
            _ => {
                self.keep(o);
                user_error(out, ErrorKind::NoSuchCall, Some(target));
            }
        }
    }

    /// Refuses an unanswered offer: both halves, so the task re-routes.
    pub(super) fn decline(&mut self, mut o: Offer, now: Instant, out: &mut Vec<Action>) {
        Self::end_call_leg(&mut o, out);
        if o.refuse_pending(out) == Settled::Accepted {
            // Accepted by the server before the agent chose: it can no longer be rejected; complete it.
            self.start_completion(&mut o, CompleteReason::CallerAbandoned, 0, out);
            self.keep(o);
            return;
        }
        self.stop_or_finish(o, now, out);
    }

    pub(super) fn reject(&mut self, target: Target, now: Instant, out: &mut Vec<Action>) {
        let Some(o) = self.offers.remove(&target) else {
            user_error(out, ErrorKind::NoSuchCall, Some(target));
            return;
        };
        if let Target::Outgoing(_) = target {
            self.hangup_outgoing(o, out);
            return;
        }
        match o.phase {
            Phase::Ringing => {
                emit(
                    out,
                    Event::RingStopped {
                        target,
                        reason: RingStopReason::Rejected,
                    },
                );
                self.decline(o, now, out);
            }
            Phase::Answering { .. } => self.fail_answer(o, None, now, out),
            _ => {
                self.keep(o);
                user_error(out, ErrorKind::NoSuchCall, Some(target));
            }
        }
    }

    /// The agent hangs up a connected call, routed or outgoing: the server ends the call (its conference, so the
    /// customer's leg too, even when the agent's leg already dropped) and the Device leaves, if still in.
    pub(super) fn hang_up_connected(o: &mut Offer, out: &mut Vec<Action>) {
        o.hang_up_at_server(out);
        if let Some(c) = o.call.filter(|c| c.state != LegState::Ended) {
            out.push(Action::DisconnectCall { call: c.sid });
        }
    }

    pub(super) fn hangup(&mut self, target: Target, now: Instant, out: &mut Vec<Action>) {
        let Some(mut o) = self.offers.remove(&target) else {
            user_error(out, ErrorKind::NoSuchCall, Some(target));
            return;
        };
        if let Target::Outgoing(_) = target {
            self.hangup_outgoing(o, out);
            return;
        }
        match o.phase {
            Phase::Ringing | Phase::Answering { .. } => {
                self.keep(o);
                self.reject(target, now, out);
            }
            Phase::Connected => {
                // One path for both directions: the server ends the conference (the customer's leg with it), and
                // the Device leaves; the Device reports the disconnect.
                Self::hang_up_connected(&mut o, out);
                if o.call_state() == Some(LegState::Ended) {
                    // Already gone on the Device side (the task ended first): settle it now.
                    out.push(o.call_state_event(CallPhase::Ended));
                    self.finish(o, out);
                    return;
                }
                self.keep(o);
            }
            _ => {
                self.keep(o);
                user_error(out, ErrorKind::NoSuchCall, Some(target));
            }
        }
    }
}
