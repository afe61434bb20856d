//! Reservations: status changes, instructions (accept, reject, conference, call, dequeue, redirect), assignment replies.

use super::*;

impl TaskRouter {
    /// Sets a reservation's status and pushes/records it; adjusts nothing else.
    pub(super) fn set_res_status(
        &mut self,
        sid: &ReservationSid,
        status: ResStatus,
        now: UnixMillis,
    ) {
        let Some(r) = self.reservations.get_mut(sid) else {
            return;
        };
        r.status = status;
        r.updated = now;
        r.version += 1;
        if status == ResStatus::Canceled {
            r.canceled_reason_code = Some(1001);
        }
        let ws = r.workspace;
        self.push_reservation(sid, now);
        let d = self.res_event_data(sid);
        self.record(ws, status.event_type(), sid.as_str(), d, now);
    }

    /// Ends a pending reservation as rejected or timed out: the task goes back to pending, never to this worker.
    pub(super) fn finish_reservation(
        &mut self,
        sid: &ReservationSid,
        status: ResStatus,
        now: UnixMillis,
    ) {
        let Some(r) = self.reservations.get(sid) else {
            return;
        };
        let (task, worker, ws) = (r.task, r.worker, r.workspace);
        if let Some(t) = self.tasks.get_mut(&task) {
            t.status = TaskStatus::Pending;
            t.updated = now;
            t.version += 1;
            t.excluded.push(worker);
        }
        self.set_res_status(sid, status, now);
        if status == ResStatus::Timeout {
            if let Some(a) = self.workspaces.get(&ws).map(|w| w.timeout_activity) {
                self.set_activity(&worker, a, now);
            }
        }
    }

    /// Updates a reservation: `ReservationStatus` (accepted, rejected, wrapping, completed) or `Instruction`
    /// (accept, reject, conference, call, dequeue, redirect), honouring `If-Match`.
    /// `worker` restricts the lookup to that worker's reservations (worker-scoped URLs).
    pub fn update_reservation(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        worker: Option<&str>,
        p: &Params,
        if_match: Option<&str>,
        now: UnixMillis,
    ) -> Result<ReservationSid, ApiError> {
        let r = self.reservation(ws, sid)?;
        if worker.is_some_and(|w| w != r.worker.as_str()) {
            return Err(ApiError::not_found(format!(
                "/Workspaces/{ws}/Workers/{}/Reservations/{sid}",
                worker.unwrap_or("")
            )));
        }
        check_version(if_match, r.version)?;
        let (rsid, status) = (r.sid, r.status);
        let worker_activity = self
            .activity_param(ws, p, "WorkerActivitySid")?
            .map(|a| a.sid);
        let action = match (p.str("ReservationStatus"), p.str("Instruction")) {
            (Some(s), _) => s,
            (None, Some(i)) => i,
            (None, None) => {
                return Err(ApiError::invalid(
                    "ReservationStatus or Instruction is required",
                ))
            }
        };
        let post_work = self
            .activity_param(ws, p, "PostWorkActivitySid")
            .map_err(|_| ApiError::new(400, 40143, "PostWorkActivitySid is invalid"))?
            .map(|a| a.sid);
        let not_pending =
            |code: u32| ApiError::new(400, code, format!("Reservation {sid} is no longer pending"));
        match action.as_str() {
            "accepted" | "accept" | "conference" | "call" | "dequeue" | "redirect" => {
                if status != ResStatus::Pending {
                    return Err(not_pending(match action.as_str() {
                        "conference" => 40136,
                        "call" => 40114,
                        "dequeue" => 40135,
                        "redirect" => 40123,
                        _ => 20001,
                    }));
                }
                let instruction = match action.as_str() {
                    "accepted" | "accept" => None,
                    _ => Some(instruction_json(&action, p)),
                };
                if action == "conference" && p.str("From").is_some_and(|f| f.is_empty()) {
                    return Err(ApiError::new(
                        400,
                        40141,
                        "Conference instruction requires a valid From",
                    ));
                }
                if action == "conference" && self.defer_conference {
                    let r = self.reservations.get_mut(&rsid);
                    let Some(r) = r.filter(|r| r.instruction.is_none()) else {
                        return Err(not_pending(40136));
                    };
                    r.instruction = instruction;
                    r.updated = now;
                    r.version += 1;
                    self.conference_instructions.push(rsid);
                } else {
                    self.accept(&rsid, instruction, post_work, now);
                }
            }
            "rejected" | "reject" => {
                if status != ResStatus::Pending {
                    return Err(not_pending(20001));
                }
                let worker = self.reservations[&rsid].worker;
                self.finish_reservation(&rsid, ResStatus::Rejected, now);
                if let Some(a) = worker_activity {
                    self.set_activity(&worker, a, now);
                }
            }
            "wrapping" | "completed" => {
                let to = if action == "wrapping" {
                    ResStatus::Wrapping
                } else {
                    ResStatus::Completed
                };
                let ok = matches!(
                    (status, to),
                    (ResStatus::Accepted, _) | (ResStatus::Wrapping, ResStatus::Completed)
                );
                if !ok {
                    return Err(ApiError::new(
                        400,
                        20001,
                        format!(
                            "Reservation {sid} is {} and cannot move to {}",
                            status.as_str(),
                            to.as_str()
                        ),
                    ));
                }
                let task = self.reservations[&rsid].task;
                let (ts, te) = if to == ResStatus::Wrapping {
                    (TaskStatus::Wrapping, "task.wrapup")
                } else {
                    (TaskStatus::Completed, "task.completed")
                };
                if let Some(t) = self.tasks.get_mut(&task) {
                    t.status = ts;
                    t.updated = now;
                    t.version += 1;
                    if ts == TaskStatus::Completed && t.reason.is_none() {
                        t.reason = Some("reservation completed".into());
                    }
                }
                self.set_res_status(&rsid, to, now);
                self.push_task(&task, te, now);
                let d = self.task_event_data(&task);
                self.record(*ws, te, task.as_str(), d, now);
            }
            "supervise" => {
                return Err(ApiError::new(
                    400,
                    20001,
                    "Instruction supervise is not supported by the stand-in",
                ));
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "{other:?} is not a valid ReservationStatus or Instruction"
                )))
            }
        }
        self.route(now);
        Ok(rsid)
    }

    pub(super) fn accept(
        &mut self,
        rsid: &ReservationSid,
        instruction: Option<Value>,
        _post_work: Option<ActivitySid>,
        now: UnixMillis,
    ) {
        let Some(r) = self.reservations.get_mut(rsid) else {
            return;
        };
        if instruction.is_some() {
            r.instruction = instruction;
        }
        let (task, worker) = (r.task, r.worker);
        let queue = self.tasks.get(&task).and_then(|t| t.queue);
        if let Some(t) = self.tasks.get_mut(&task) {
            t.status = TaskStatus::Assigned;
            t.updated = now;
            t.version += 1;
        }
        self.set_res_status(rsid, ResStatus::Accepted, now);
        let others: Vec<ReservationSid> = self
            .reservations
            .values()
            .filter(|o| o.task == task && &o.sid != rsid && o.status == ResStatus::Pending)
            .map(|o| o.sid)
            .collect();
        for o in others {
            self.set_res_status(&o, ResStatus::Rescinded, now);
        }
        if let Some(a) = queue
            .and_then(|q| self.queues.get(&q))
            .and_then(|q| q.assignment_activity)
        {
            self.set_activity(&worker, a, now);
        }
    }

    /// Applies the JSON reply of an assignment callback (`{"instruction": "accept" | "reject" | "conference" | …}`).
    /// Replies without a usable instruction leave the reservation pending, as Twilio does (warning 40005).
    pub fn assignment_reply(
        &mut self,
        rsid: &ReservationSid,
        reply: &Value,
        now: UnixMillis,
    ) -> Result<(), ApiError> {
        let Some(obj) = reply.as_object() else {
            return Ok(());
        };
        let Some(instruction) = obj.get("instruction").and_then(Value::as_str) else {
            return Ok(());
        };
        let Some(r) = self.reservations.get(rsid) else {
            return Ok(());
        };
        if r.status != ResStatus::Pending {
            return Ok(());
        }
        let ws = r.workspace;
        let mut p = Params::default();
        p.0.insert("Instruction".into(), instruction.into());
        for (k, v) in obj {
            if k != "instruction" {
                p.0.insert(pascal(k), v.clone());
            }
        }
        self.update_reservation(&ws, rsid.as_str(), None, &p, None, now)
            .map(|_| ())
    }
}
