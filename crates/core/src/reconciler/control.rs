//! In-call commands (hold, transfer, mute, digits; hold also on outgoing calls, by their attempt) and wrap-up completion with retries.

use super::*;

impl Reconciler {
    pub(super) fn control(&mut self, target: Target, op: ControlOp, out: &mut Vec<Action>) {
        let connected = self
            .offers
            .get(&target)
            .is_some_and(|o| matches!(o.phase, Phase::Connected));
        let transfer = matches!(op, ControlOp::Transfer { .. });
        match target {
            Target::Task(task) if connected => {
                if let (ControlOp::Transfer { mode, .. }, Some(o)) =
                    (&op, self.offers.get_mut(&target))
                {
                    // A new request supersedes what was known: the agent may have canceled the last consultation
                    // (the server does not push that), and the screen offers Transfer only when none is live.
                    o.transfer = Some(Transfer {
                        mode: *mode,
                        stage: None,
                    });
                }
                out.push(Action::CallControl {
                    target: ControlTarget::Task(task),
                    op,
                })
            }
            // The server holds an outgoing call's customer by its attempt (contract §5); transfers stay routed-only.
            Target::Outgoing(attempt) if connected && !transfer => out.push(Action::CallControl {
                target: ControlTarget::Outgoing(attempt),
                op,
            }),
            Target::Call(_) | Target::Outgoing(_) if connected => {
                user_error(out, ErrorKind::NotARoutedCall, Some(target))
            }
            // Still dialling: the agent's own leg is connecting and the customer cannot have answered.
            Target::Outgoing(_)
                if !transfer
                    && self
                        .offers
                        .get(&target)
                        .is_some_and(|o| matches!(o.phase, Phase::Dialing { .. })) =>
            {
                user_error(out, ErrorKind::CustomerNotAnswered, Some(target))
            }
            _ => user_error(out, ErrorKind::NoSuchCall, Some(target)),
        }
    }

    /// The server answered a transfer request: accepted, it is dialling the target (unless a push already said
    /// more); refused, the transfer is over before it began.
    pub(super) fn on_transfer_result(o: &mut Offer, result: RestResult, out: &mut Vec<Action>) {
        let requested = o.transfer.filter(|t| t.stage.is_none());
        if result != RestResult::Ok {
            if requested.is_some() {
                o.transfer = None;
            }
            user_error(out, ErrorKind::CallControlFailed, Some(o.target));
            return;
        }
        if let Some(mut t) = requested {
            t.stage = Some(TransferStage::Dialing);
            o.transfer = Some(t);
            emit(out, o.transfer_event(t, TransferStage::Dialing, None));
        }
    }

    /// A `transfer.*` push for one of this agent's calls. News with no transfer under way (a replay, or news older
    /// than the transfer's end) changes nothing; `completed` and `failed` end the transfer.
    pub fn handle_transfer(&mut self, news: TransferNews, out: &mut Vec<Action>) {
        let Some(o) = self.offers.get_mut(&Target::Task(news.task)) else {
            return;
        };
        let Some(mut t) = o.transfer else {
            return;
        };
        if t.stage == Some(news.stage) {
            return;
        }
        match news.stage {
            TransferStage::Completed | TransferStage::Failed => o.transfer = None,
            TransferStage::Connected | TransferStage::Dialing => {
                t.stage = Some(news.stage);
                o.transfer = Some(t);
            }
        }
        let reason = news.reason.filter(|_| news.stage == TransferStage::Failed);
        emit(out, o.transfer_event(t, news.stage, reason));
    }

    /// The server's answer to a hang-up. Done, already over (404/409) or no longer this agent's (403, e.g. after a
    /// transfer): nothing to say. Otherwise the customer's leg may still be up: the agent is told.
    pub(super) fn on_hangup_result(
        target: ControlTarget,
        result: RestResult,
        out: &mut Vec<Action>,
    ) {
        if matches!(result, RestResult::Failed) {
            user_error(out, ErrorKind::HangupFailed, Some(target.target()));
        }
    }

    pub(super) fn media(
        &mut self,
        target: Target,
        mute: Option<bool>,
        digits: Option<&str>,
        out: &mut Vec<Action>,
    ) {
        let call = self
            .offers
            .get(&target)
            .filter(|o| matches!(o.phase, Phase::Connected))
            .and_then(|o| o.call)
            .filter(|c| c.state == LegState::Connected)
            .map(|c| c.sid);
        let Some(call) = call else {
            user_error(out, ErrorKind::NoSuchCall, Some(target));
            return;
        };
        if let Some(muted) = mute {
            out.push(Action::MuteCall { call, muted });
        }
        if let Some(digits) = digits {
            out.push(Action::SendDigits {
                call,
                digits: digits.to_owned(),
            });
        }
    }

    pub(super) fn complete_wrapup(&mut self, task: TaskSid, out: &mut Vec<Action>) {
        let target = Target::Task(task);
        let Some(mut o) = self.offers.remove(&target) else {
            // Done already (the server completed it with the agent's notes and TaskRouter said so first): the
            // agent's wish is met, so no error.
            if !self.ended_tasks.contains(&task) {
                user_error(out, ErrorKind::NoSuchCall, Some(target));
            }
            return;
        };
        match o.phase {
            Phase::WrapUp {
                completion: Completion::InFlight,
                ..
            } => {}
            Phase::WrapUp { failures, .. } => {
                self.start_completion(&mut o, CompleteReason::WrapUpFinished, failures, out)
            }
            _ => user_error(out, ErrorKind::NoSuchCall, Some(target)),
        }
        self.keep(o);
    }

    pub(super) fn on_complete_result(
        &mut self,
        task: TaskSid,
        result: RestResult,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let target = Target::Task(task);
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        let Phase::WrapUp {
            completion: Completion::InFlight,
            reason,
            failures,
            ..
        } = o.phase
        else {
            self.keep(o);
            return;
        };
        match result {
            RestResult::Ok | RestResult::NotPending => {
                self.ended_tasks.insert(task);
                o.set_res(ResState::Ended);
                out.push(o.call_state_event(CallPhase::Ended));
                self.finish(o, out);
            }
            _ => {
                if failures == 0 {
                    user_error(out, ErrorKind::CompleteFailed, Some(target));
                }
                o.phase = Phase::WrapUp {
                    auto_at: None,
                    completion: Completion::RetryAt(
                        now + self.cfg.complete_retry.ceiling(failures),
                    ),
                    reason,
                    failures: failures.saturating_add(1),
                };
                self.keep(o);
            }
        }
    }
}
