//! TaskRouter pushes: reservations created, accepted and ended, task wrap-up and end, resync snapshots.

use super::offer::stop_reason;
use super::*;

impl Reconciler {
    // ----- TaskRouter -----

    pub(super) fn on_reservation_created(
        &mut self,
        info: ReservationInfo,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (sid, task) = (info.reservation, info.task);
        if self.ended_res.contains(&sid) || self.ended_tasks.contains(&task) {
            return;
        }
        let target = Target::Task(task);
        if let Some(mut o) = self.offers.remove(&target) {
            match o.res {
                Some(r) if r.sid == sid => {
                    Self::merge_info(&mut o, info.caller, info.crm, false, out);
                    self.keep(o);
                    return;
                }
                Some(r) if r.state != ResState::Ended => {
                    // A second live reservation for a task we hold: refuse it so it re-routes.
                    self.keep(o);
                    out.push(Action::RejectReservation {
                        task,
                        reservation: sid,
                    });
                    self.ended_res.insert(sid);
                    return;
                }
                Some(_) => self.finish(o, out), // an ended attempt: a new one starts below
                None => {
                    o.res = Some(Res {
                        sid,
                        state: ResState::Pending,
                    });
                    match o.phase {
                        Phase::Stopped { .. } | Phase::Undoing => {
                            // Its call is already gone: refuse the reservation so the task re-routes.
                            out.push(Action::RejectReservation {
                                task,
                                reservation: sid,
                            });
                            o.set_res(ResState::Ended);
                            self.finish(o, out);
                        }
                        Phase::Ringing => {
                            Self::merge_info(&mut o, info.caller, info.crm, false, out);
                            self.keep(o);
                        }
                        Phase::Answering { .. } => {
                            Self::merge_info(&mut o, info.caller, info.crm, false, out);
                            self.advance_answer(o, now, out);
                        }
                        // (Outgoing calls are keyed by attempt, never by task: `Dialing` is not met here.)
                        Phase::Connected | Phase::WrapUp { .. } | Phase::Dialing { .. } => {
                            self.keep(o)
                        }
                    }
                    return;
                }
            }
        }
        if !self.rings_allowed() {
            out.push(Action::RejectReservation {
                task,
                reservation: sid,
            });
            self.ended_res.insert(sid);
            return;
        }
        let mut o = Offer::new(target, now);
        o.res = Some(Res {
            sid,
            state: ResState::Pending,
        });
        o.caller = info.caller;
        o.crm = info.crm;
        emit(out, o.ringing());
        self.keep(o);
    }

    pub(super) fn on_reservation_accepted(
        &mut self,
        sid: ReservationSid,
        task: TaskSid,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.ended_res.contains(&sid) {
            return;
        }
        let target = Target::Task(task);
        let Some(mut o) = self.offers.remove(&target) else {
            return;
        };
        if o.res
            .is_some_and(|r| r.sid != sid || r.state == ResState::Ended)
        {
            self.keep(o);
            return;
        }
        o.res = Some(Res {
            sid,
            state: ResState::Accepted,
        });
        match o.phase {
            Phase::Answering { .. } => self.advance_answer(o, now, out),
            Phase::Stopped { .. } | Phase::Undoing => {
                // Accepted although the call is gone: complete it so the worker is not left assigned.
                self.start_completion(&mut o, CompleteReason::CallerAbandoned, 0, out);
                self.keep(o);
            }
            _ => self.keep(o),
        }
    }

    pub(super) fn on_reservation_ended(
        &mut self,
        sid: ReservationSid,
        task: TaskSid,
        end: ReservationEnd,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.ended_res.insert(sid);
        if matches!(end, ReservationEnd::Canceled | ReservationEnd::Completed) {
            self.ended_tasks.insert(task);
        }
        let target = Target::Task(task);
        let Some(mut o) = self.offers.remove(&target) else {
            if !matches!(end, ReservationEnd::Canceled | ReservationEnd::Completed) {
                // Remember the attempt so that its late call is refused, not rung.
                let mut o = Offer::new(target, now);
                o.res = Some(Res {
                    sid,
                    state: ResState::Ended,
                });
                o.phase = Phase::Stopped {
                    until: now + self.cfg.linger,
                };
                self.keep(o);
            }
            return;
        };
        if o.res.is_some_and(|r| r.sid != sid) {
            self.keep(o);
            return;
        }
        o.res = Some(Res {
            sid,
            state: ResState::Ended,
        });
        self.reservation_gone(o, stop_reason(end), now, out);
    }

    pub(super) fn on_task_gone(
        &mut self,
        task: TaskSid,
        end: ReservationEnd,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.ended_tasks.insert(task);
        let Some(mut o) = self.offers.remove(&Target::Task(task)) else {
            return;
        };
        if let Some(r) = &mut o.res {
            if r.state == ResState::Accepting {
                // The accept result is still in flight; it will find the task gone.
                self.keep(o);
                return;
            }
            r.state = ResState::Ended;
            self.ended_res.insert(r.sid);
        }
        self.reservation_gone(o, stop_reason(end), now, out);
    }

    /// The offer's reservation (or whole task) is over.
    pub(super) fn reservation_gone(
        &mut self,
        mut o: Offer,
        reason: RingStopReason,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match o.phase {
            Phase::Ringing => {
                emit(
                    out,
                    Event::RingStopped {
                        target: o.target,
                        reason,
                    },
                );
                Self::end_call_leg(&mut o, out);
                self.stop_or_finish(o, now, out);
            }
            Phase::Answering { .. } => {
                self.fail_answer(o, Some(ErrorKind::CallNoLongerAvailable), now, out)
            }
            // The call goes on; with the task gone, no wrap-up follows its end.
            Phase::Connected => self.keep(o),
            Phase::WrapUp { .. } => {
                out.push(o.call_state_event(CallPhase::Ended));
                self.finish(o, out);
            }
            Phase::Stopped { .. } => self.stop_or_finish(o, now, out),
            Phase::Undoing | Phase::Dialing { .. } => self.keep(o),
        }
    }

    pub(super) fn on_task_wrapup(&mut self, task: TaskSid, now: Instant, out: &mut Vec<Action>) {
        let Some(mut o) = self.offers.remove(&Target::Task(task)) else {
            return;
        };
        if matches!(o.phase, Phase::Connected) {
            self.enter_wrapup(&mut o, now, out);
        }
        self.keep(o);
    }

    pub(super) fn on_snapshot(
        &mut self,
        reservations: Vec<(ReservationInfo, SnapshotStatus)>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let since = self.resync_since.take();
        let listed: HashSet<ReservationSid> =
            reservations.iter().map(|(i, _)| i.reservation).collect();
        for (info, status) in reservations {
            if self.ended_res.contains(&info.reservation) {
                continue;
            }
            match status {
                SnapshotStatus::Pending => self.on_reservation_created(info, now, out),
                SnapshotStatus::Accepted | SnapshotStatus::Wrapping => {
                    let target = Target::Task(info.task);
                    if let Some(o) = self.offers.get(&target) {
                        if status == SnapshotStatus::Wrapping && matches!(o.phase, Phase::Connected)
                        {
                            self.on_task_wrapup(info.task, now, out);
                        }
                        continue;
                    }
                    // Assigned to us but unknown here (e.g. the app restarted): adopt it in wrap-up so it gets
                    // completed instead of leaving the worker stuck.
                    let mut o = Offer::new(target, now);
                    o.res = Some(Res {
                        sid: info.reservation,
                        state: ResState::Accepted,
                    });
                    o.caller = info.caller;
                    o.crm = info.crm;
                    self.enter_wrapup(&mut o, now, out);
                    self.keep(o);
                }
            }
        }
        let Some(since) = since else { return };
        let vanished: Vec<Target> = self
            .offers
            .values()
            .filter(|o| o.created < since)
            .filter(|o| {
                o.res.is_some_and(|r| {
                    matches!(r.state, ResState::Pending | ResState::Accepted)
                        && !listed.contains(&r.sid)
                })
            })
            .map(|o| o.target)
            .collect();
        for t in vanished {
            let Some(mut o) = self.offers.remove(&t) else {
                continue;
            };
            match o.phase {
                Phase::Ringing | Phase::Answering { .. } | Phase::WrapUp { .. } => {
                    o.set_res(ResState::Ended);
                    self.reservation_gone(o, RingStopReason::Gone, now, out);
                }
                _ => self.keep(o),
            }
        }
    }
}
