//! Routing: workflow filters and targets, worker selection, step timeouts.

use super::*;

impl TaskRouter {
    /// Routes every pending task (highest priority, then oldest, first).
    pub fn route(&mut self, now: UnixMillis) {
        self.route_due = false;
        let mut pending: Vec<(i64, UnixMillis, TaskSid)> = self
            .tasks
            .values()
            .filter(|t| t.status == TaskStatus::Pending)
            .map(|t| (-t.priority, t.created, t.sid))
            .collect();
        pending.sort();
        for (_, _, t) in pending {
            self.route_task(&t, now);
        }
    }

    pub(super) fn route_task(&mut self, tsid: &TaskSid, now: UnixMillis) {
        for _ in 0..64 {
            let Some(t) = self.tasks.get(tsid) else {
                return;
            };
            let Some(wf) = self.workflows.get(&t.workflow) else {
                return;
            };
            let targets = t
                .pos
                .filter
                .and_then(|f| wf.routing.filters.get(f))
                .map(|f| f.targets.as_slice())
                .unwrap_or(&[]);
            let target = targets.get(t.pos.target);
            let queue_ref = match target {
                Some(tg) => Some(tg.queue.clone()),
                None => wf.routing.default_queue.clone(),
            };
            let Some(queue) = queue_ref.and_then(|q| q.parse::<TaskQueueSid>().ok()) else {
                return;
            };
            if let Some(secs) = target.and_then(|tg| tg.timeout) {
                if now >= t.pos.since.plus_secs(secs) {
                    self.advance(tsid, now);
                    continue;
                }
            }
            if t.queue != Some(queue) {
                let ws = t.workspace;
                if let Some(t) = self.tasks.get_mut(tsid) {
                    t.queue = Some(queue);
                    if let Some(p) = target.and_then(|tg| tg.priority) {
                        t.priority = p;
                    }
                }
                let d = self.task_event_data(tsid);
                self.record(ws, "task-queue.entered", tsid.as_str(), d, now);
                continue;
            }
            let best = self.candidates(t, target, &queue).into_iter().next();
            if let Some(w) = best {
                self.reserve(tsid, &w, now);
                return;
            }
            if let Some(skip) = target.and_then(|tg| tg.skip_if.as_ref()) {
                let stats = self.queue_workers_stats(&queue);
                let ctx = Ctx {
                    default_scope: Scope::Task,
                    task: Some(&t.attributes),
                    worker: None,
                    workers: Some(&stats),
                };
                if skip.eval(&ctx) {
                    self.advance(tsid, now);
                    continue;
                }
            }
            return;
        }
    }

    pub(super) fn advance(&mut self, tsid: &TaskSid, now: UnixMillis) {
        if let Some(t) = self.tasks.get_mut(tsid) {
            let len = t
                .pos
                .filter
                .and_then(|f| {
                    self.workflows
                        .get(&t.workflow)
                        .and_then(|w| w.routing.filters.get(f))
                })
                .map(|f| f.targets.len())
                .unwrap_or(0);
            if t.pos.target < len {
                t.pos.target += 1;
                t.pos.since = now;
            }
        }
    }

    pub(super) fn queue_members<'a>(
        &'a self,
        queue: &'a Queue,
    ) -> impl Iterator<Item = &'a Worker> + 'a {
        self.workers_of(&queue.workspace).filter(move |w| {
            queue.target_expr.eval(&Ctx {
                default_scope: Scope::Worker,
                task: None,
                worker: Some(&w.attributes),
                workers: None,
            })
        })
    }

    /// `workers.*` statistics of a queue for `skip_if`.
    pub(super) fn queue_workers_stats(&self, queue: &TaskQueueSid) -> Value {
        let Some(q) = self.queues.get(queue) else {
            return json!({});
        };
        let members: Vec<&Worker> = self.queue_members(q).collect();
        let available = members.iter().filter(|w| self.is_available(w)).count();
        let idle = members
            .iter()
            .filter(|w| self.is_available(w) && !self.is_busy(&w.sid))
            .count();
        json!({"available": available, "idle": idle, "total": members.len()})
    }

    pub(super) fn candidates(
        &self,
        t: &Task,
        target: Option<&crate::taskrouter::workflow::Target>,
        queue: &TaskQueueSid,
    ) -> Vec<WorkerSid> {
        let Some(q) = self.queues.get(queue) else {
            return Vec::new();
        };
        let known = target
            .and_then(|tg| tg.known_worker_sid.as_ref())
            .map(|op| {
                Ctx {
                    default_scope: Scope::Task,
                    task: Some(&t.attributes),
                    worker: None,
                    workers: None,
                }
                .value(op)
            });
        let mut out: Vec<&Worker> = self
            .queue_members(q)
            .filter(|w| {
                self.is_available(w) && !self.is_busy(&w.sid) && !t.excluded.contains(&w.sid)
            })
            .filter(|w| match &known {
                None => true,
                Some(Some(Value::String(s))) => s == w.sid.as_str(),
                Some(_) => false,
            })
            .filter(|w| {
                target
                    .and_then(|tg| tg.expression.as_ref())
                    .is_none_or(|e| {
                        e.eval(&Ctx {
                            default_scope: Scope::Worker,
                            task: Some(&t.attributes),
                            worker: Some(&w.attributes),
                            workers: None,
                        })
                    })
            })
            .collect();
        let order = target.map(|tg| tg.order_by.as_slice()).unwrap_or(&[]);
        out.sort_by(|a, b| {
            for (path, desc) in order {
                let get = |w: &Worker| {
                    Ctx {
                        default_scope: Scope::Worker,
                        task: Some(&t.attributes),
                        worker: Some(&w.attributes),
                        workers: None,
                    }
                    .value(&crate::taskrouter::expr::Operand::Path(path.clone()))
                };
                let c = cmp_json(get(a).as_ref(), get(b).as_ref());
                let c = if *desc { c.reverse() } else { c };
                if c != std::cmp::Ordering::Equal {
                    return c;
                }
            }
            (a.last_reserved, a.sid).cmp(&(b.last_reserved, b.sid))
        });
        out.into_iter().map(|w| w.sid).collect()
    }

    pub(super) fn reserve(&mut self, tsid: &TaskSid, worker: &WorkerSid, now: UnixMillis) {
        let Some(t) = self.tasks.get_mut(tsid) else {
            return;
        };
        t.status = TaskStatus::Reserved;
        t.updated = now;
        t.version += 1;
        let (ws, workflow, queue) = (t.workspace, t.workflow, t.queue);
        let wf = self.workflows.get(&workflow);
        let timeout_secs = wf.map(|w| w.task_reservation_timeout).unwrap_or(120);
        let callback = wf.and_then(|w| w.assignment_callback_url.clone());
        let rsid = ReservationSid::from_u128(self.mint.next_raw());
        self.reservations.insert(
            rsid,
            Reservation {
                sid: rsid,
                workspace: ws,
                task: *tsid,
                worker: *worker,
                status: ResStatus::Pending,
                timeout_secs,
                timeout_at: now.plus_secs(timeout_secs),
                instruction: None,
                canceled_reason_code: None,
                created: now,
                updated: now,
                version: 0,
            },
        );
        if let Some(w) = self.workers.get_mut(worker) {
            w.version += 1; // the SDK bumps its copy on reservation.created
            w.last_reserved = Some(now);
        }
        self.push_reservation(&rsid, now);
        let d = self.res_event_data(&rsid);
        self.record(ws, "reservation.created", rsid.as_str(), d.clone(), now);
        if let Some(a) = queue
            .and_then(|q| self.queues.get(&q))
            .and_then(|q| q.reservation_activity)
        {
            self.set_activity(worker, a, now);
        }
        if let (Some(url), Some(account)) = (callback, self.workspaces.get(&ws).map(|w| w.account))
        {
            let mut params = vec![
                ("AccountSid".to_owned(), account.to_string()),
                ("WorkspaceSid".to_owned(), ws.to_string()),
                ("WorkflowSid".to_owned(), workflow.to_string()),
                (
                    "TaskQueueSid".to_owned(),
                    queue.map(|q| q.to_string()).unwrap_or_default(),
                ),
                ("Timestamp".to_owned(), now.secs().to_string()),
            ];
            if let (Some(t), Some(w)) = (self.tasks.get(tsid), self.workers.get(worker)) {
                params.extend([
                    ("TaskSid".to_owned(), t.sid.to_string()),
                    ("TaskAttributes".to_owned(), attrs_string(&t.attributes)),
                    (
                        "TaskAge".to_owned(),
                        now.secs().saturating_sub(t.created.secs()).to_string(),
                    ),
                    ("TaskPriority".to_owned(), t.priority.to_string()),
                    ("ReservationSid".to_owned(), rsid.to_string()),
                    ("WorkerSid".to_owned(), w.sid.to_string()),
                    ("WorkerName".to_owned(), w.name.clone()),
                    ("WorkerAttributes".to_owned(), attrs_string(&w.attributes)),
                ]);
            }
            self.effects.push(Effect::Webhook(Webhook {
                account,
                url,
                params,
                kind: WebhookKind::Assignment(rsid),
            }));
        }
    }
}
