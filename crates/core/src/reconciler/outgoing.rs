//! Outgoing calls (the contract's "Voice SDK connect" variant of backend spec §5.7): Dial → the webview's
//! `device.connect` → the CallSid report → connected → ended. No TaskRouter task is involved.
//!
//! Rules:
//! - Dialling needs an idle agent (no ring, call or wrap-up) and an E.164 number; otherwise it is refused with a
//!   message. While an outgoing call is live, nothing rings: new reservations and calls are refused so their
//!   tasks re-route.
//! - The call is [`Target::Outgoing`] for its whole life; its CallSid joins it when the Device reports it.
//! - The agent's leg connects before the customer answers: [`Event::Outgoing`] says `ringing` at the dial and
//!   `answered` on the server's `outbound.connected`. Hold before the answer is refused with its own message.
//! - A CallSid report for an attempt this machine does not hold (hung up, timed out, a stray duplicate) is hung
//!   up at once and never shown.
//! - A call that is not connected within `dial_wait`, or whose `connect` fails, ends with an error; one the agent
//!   hung up ends quietly.

use super::*;
use crate::api::AttemptId;
use crate::input::OutboundState;

impl Reconciler {
    /// Rings may be shown: calls are taken and no outgoing call is live.
    pub(super) fn rings_allowed(&self) -> bool {
        self.taking_calls && !self.offers.values().any(Offer::is_live_outgoing)
    }

    /// `Command::Dial` with the session's fresh `attempt` (the session has checked sign-in and updates).
    pub fn dial(&mut self, to: Caller, attempt: AttemptId, now: Instant, out: &mut Vec<Action>) {
        let target = Target::Outgoing(attempt);
        if !to.is_e164() {
            user_error(out, ErrorKind::InvalidNumber, None);
            return;
        }
        if self.work() != Work::Idle || self.offers.contains_key(&target) {
            user_error(out, ErrorKind::DialRefused, None);
            return;
        }
        let mut o = Offer::new(target, now);
        o.phase = Phase::Dialing {
            deadline: now + self.cfg.dial_wait,
            hanging_up: false,
        };
        emit(
            out,
            Event::Dialing {
                target,
                to: to.clone(),
            },
        );
        out.push(o.call_state_event(CallPhase::Connecting));
        o.callee = Some(OutgoingStage::Ringing);
        emit(
            out,
            Event::Outgoing {
                target,
                stage: OutgoingStage::Ringing,
            },
        );
        out.push(Action::ConnectCall {
            to: to.clone(),
            attempt,
        });
        o.caller = Some(to);
        self.keep(o);
    }

    /// The Device knows the outgoing call's CallSid.
    pub(super) fn on_outgoing(
        &mut self,
        call: CallSid,
        attempt: AttemptId,
        _now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.find_call(call).is_some() {
            return; // a duplicate report (or a confused one naming another call: leave that call alone)
        }
        let target = Target::Outgoing(attempt);
        let known = self
            .offers
            .get(&target)
            .is_some_and(|o| o.call.is_none() && matches!(o.phase, Phase::Dialing { .. }));
        if !known || self.ended_calls.contains(&call) {
            // Unknown, late or already over: hang it up, never show it.
            if !self.ended_calls.contains(&call) {
                out.push(Action::DisconnectCall { call });
                self.ended_calls.insert(call);
            }
            return;
        }
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        o.call = Some(Leg {
            sid: call,
            state: LegState::Accepting,
        });
        if matches!(
            o.phase,
            Phase::Dialing {
                hanging_up: true,
                ..
            }
        ) {
            out.push(Action::DisconnectCall { call });
            o.set_call(LegState::Ended);
            self.finish(o, out);
            return;
        }
        self.keep(o);
    }

    /// The server says where the customer's side of an outgoing call stands. An answer is final: a late
    /// `ringing` after it changes nothing, and news for a call this machine does not hold is ignored.
    pub fn handle_outbound(&mut self, news: OutboundNews, out: &mut Vec<Action>) {
        let target = Target::Outgoing(news.attempt);
        let Some(o) = self
            .offers
            .get_mut(&target)
            .filter(|o| o.is_live_outgoing())
        else {
            return;
        };
        if o.callee == Some(news.stage) || o.callee == Some(OutgoingStage::Answered) {
            return;
        }
        o.callee = Some(news.stage);
        emit(
            out,
            Event::Outgoing {
                target,
                stage: news.stage,
            },
        );
    }

    /// A resync read where the server's attempt stands: a live stage is applied like its push (idempotent with
    /// it); an attempt that is over there ends the call here (quietly, as when the customer hangs up: the server's
    /// hang-up is an idempotent no-op and the Device leg is disconnected). An attempt this machine does not hold
    /// (an older call, another install's) changes nothing.
    pub fn outbound_reading(
        &mut self,
        attempt: AttemptId,
        state: OutboundState,
        out: &mut Vec<Action>,
    ) {
        match state {
            OutboundState::Live(stage) => {
                self.handle_outbound(OutboundNews { attempt, stage }, out)
            }
            OutboundState::Over => {
                let target = Target::Outgoing(attempt);
                if !self
                    .offers
                    .get(&target)
                    .is_some_and(Offer::is_live_outgoing)
                {
                    return;
                }
                if let Some(o) = self.offers.remove(&target) {
                    self.end_outgoing(o, None, out);
                }
            }
        }
    }

    /// `device.connect()` failed before a CallSid existed.
    pub(super) fn on_outgoing_failed(
        &mut self,
        attempt: AttemptId,
        _now: Instant,
        out: &mut Vec<Action>,
    ) {
        let target = Target::Outgoing(attempt);
        let Some(o) = self.offers.remove(&target) else {
            return;
        };
        match o.phase {
            Phase::Dialing { hanging_up, .. } if o.call.is_none() => {
                self.end_outgoing(o, (!hanging_up).then_some(ErrorKind::DialFailed), out)
            }
            _ => self.keep(o), // it has a CallSid: its own reports decide
        }
    }

    /// The agent leg of an outgoing call connected.
    pub(super) fn outgoing_accepted(&mut self, mut o: Offer, out: &mut Vec<Action>) {
        if let Phase::Dialing { hanging_up, .. } = o.phase {
            if hanging_up {
                // Hung up while connecting: the disconnect is on its way.
                self.keep(o);
                return;
            }
            o.phase = Phase::Connected;
            out.push(o.call_state_event(CallPhase::Connected));
        }
        self.keep(o);
    }

    /// Hang up (or cancel) an outgoing call: the server ends its conference (or cancels the attempt still being
    /// set up) and the Device leaves, as for a routed call.
    pub(super) fn hangup_outgoing(&mut self, mut o: Offer, out: &mut Vec<Action>) {
        match (o.phase, o.call) {
            (Phase::Dialing { .. }, None) => {
                // No CallSid yet: end it here (the server cancels the attempt); its late report is hung up.
                self.end_outgoing(o, None, out);
            }
            (Phase::Dialing { deadline, .. }, Some(_)) => {
                Self::hang_up_connected(&mut o, out);
                o.phase = Phase::Dialing {
                    deadline,
                    hanging_up: true,
                };
                self.keep(o);
            }
            (Phase::Connected, Some(c)) if c.state != LegState::Ended => {
                Self::hang_up_connected(&mut o, out);
                self.keep(o);
            }
            _ => {
                // The Device's leg is gone already: the customer's may not be.
                o.hang_up_at_server(out);
                out.push(o.call_state_event(CallPhase::Ended));
                self.finish(o, out);
            }
        }
    }

    /// Ends an outgoing call for good: tell the agent why (if `error`), show it ended, end it at the server (an
    /// idempotent no-op when it is over there too) and hang up the Device side.
    pub(super) fn end_outgoing(
        &mut self,
        mut o: Offer,
        error: Option<ErrorKind>,
        out: &mut Vec<Action>,
    ) {
        if let Some(kind) = error {
            user_error(out, kind, Some(o.target));
        }
        out.push(o.call_state_event(CallPhase::Ended));
        o.hang_up_at_server(out);
        Self::end_call_leg(&mut o, out);
        self.finish(o, out);
    }
}
