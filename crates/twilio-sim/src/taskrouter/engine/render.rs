//! Rendering: resources in their EventBridge and REST shapes, statistics, event records.

use super::*;

impl TaskRouter {
    /// Worker in EventBridge shape.
    pub fn worker_eb(&self, w: &Worker) -> eb::Worker {
        let ws = &self.workspaces[&w.workspace];
        w.to_eb(&ws.account, self.activity_of(w))
    }
    /// Worker channel in EventBridge shape.
    pub fn channel_eb(&self, w: &Worker) -> eb::WorkerChannel {
        let ws = &self.workspaces[&w.workspace];
        w.channel_eb(ws, self.is_busy(&w.sid), self.is_available(w))
    }
    /// Task in EventBridge shape.
    pub fn task_eb(&self, t: &Task, now: UnixMillis) -> eb::Task {
        let ws = &self.workspaces[&t.workspace];
        let q = t.queue.as_ref().and_then(|q| self.queues.get(q));
        t.to_eb(ws, self.workflows.get(&t.workflow), q, now)
    }
    /// Reservation in EventBridge shape.
    pub fn reservation_eb(
        &self,
        r: &Reservation,
        with_task: bool,
        now: UnixMillis,
    ) -> eb::Reservation {
        let ws = &self.workspaces[&r.workspace];
        let name = self
            .workers
            .get(&r.worker)
            .map(|w| w.name.as_str())
            .unwrap_or("");
        let task = if with_task {
            self.tasks.get(&r.task).map(|t| self.task_eb(t, now))
        } else {
            None
        };
        r.to_eb(ws, name, task)
    }

    pub(super) fn push(
        &mut self,
        worker: WorkerSid,
        event_type: &str,
        payload: &impl serde::Serialize,
    ) {
        self.effects.push(Effect::Push {
            worker,
            frame: Frame::new(event_type, payload),
        });
    }

    pub(super) fn push_worker(&mut self, sid: &WorkerSid, event_type: &str) {
        if let Some(w) = self.workers.get(sid) {
            let p = self.worker_eb(w);
            self.push(*sid, event_type, &p);
        }
    }

    pub(super) fn push_reservation(&mut self, sid: &ReservationSid, now: UnixMillis) {
        if let Some(r) = self.reservations.get(sid) {
            let p = self.reservation_eb(r, true, now);
            let (worker, et) = (r.worker, r.status.event_type());
            self.push(worker, et, &p);
        }
    }

    /// Pushes a `task.*` event to every worker holding a reservation of it.
    pub(super) fn push_task(&mut self, sid: &TaskSid, event_type: &str, now: UnixMillis) {
        let Some(t) = self.tasks.get(sid) else { return };
        let p = self.task_eb(t, now);
        let holders: Vec<WorkerSid> = self
            .reservations
            .values()
            .filter(|r| {
                &r.task == sid
                    && matches!(
                        r.status,
                        ResStatus::Pending
                            | ResStatus::Accepted
                            | ResStatus::Wrapping
                            | ResStatus::Completed
                    )
            })
            .map(|r| r.worker)
            .collect();
        for w in holders {
            self.push(w, event_type, &p);
        }
    }

    pub(super) fn record(
        &mut self,
        ws: WorkspaceSid,
        event_type: &str,
        resource: &str,
        data: Value,
        now: UnixMillis,
    ) {
        let sid = self.mint.next_str("EV");
        let Some(w) = self.workspaces.get(&ws) else {
            return;
        };
        if let Some(url) = w.event_callback_url.clone() {
            let mut params = vec![
                ("AccountSid".to_owned(), w.account.to_string()),
                ("WorkspaceSid".to_owned(), ws.to_string()),
                ("WorkspaceName".to_owned(), w.name.clone()),
                ("EventType".to_owned(), event_type.to_owned()),
                ("ResourceSid".to_owned(), resource.to_owned()),
                (
                    "ResourceType".to_owned(),
                    resource_type(resource).to_owned(),
                ),
                ("Sid".to_owned(), sid.clone()),
                ("Timestamp".to_owned(), now.secs().to_string()),
                ("TimestampMs".to_owned(), now.0.to_string()),
                (
                    "EventDescription".to_owned(),
                    format!("{event_type} {resource}"),
                ),
            ];
            if let Value::Object(m) = &data {
                for (k, v) in m {
                    params.push((
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    ));
                }
            }
            self.effects.push(Effect::Webhook(Webhook {
                account: w.account,
                url,
                params,
                kind: WebhookKind::Event,
            }));
        }
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(EventRecord {
            sid,
            workspace_sid: ws.to_string(),
            event_type: event_type.into(),
            resource_sid: resource.into(),
            timestamp_ms: now.0,
            data,
        });
    }

    pub(super) fn task_event_data(&self, t: &TaskSid) -> Value {
        let Some(t) = self.tasks.get(t) else {
            return json!({});
        };
        json!({
            "TaskSid": t.sid.to_string(),
            "TaskAttributes": attrs_string(&t.attributes),
            "TaskAssignmentStatus": t.status.as_str(),
            "TaskPriority": t.priority.to_string(),
            "TaskQueueSid": t.queue.map(|q| q.to_string()).unwrap_or_default(),
            "WorkflowSid": t.workflow.to_string(),
        })
    }

    pub(super) fn res_event_data(&self, r: &ReservationSid) -> Value {
        let Some(r) = self.reservations.get(r) else {
            return json!({});
        };
        let mut d = self.task_event_data(&r.task);
        if let (Value::Object(m), Some(w)) = (&mut d, self.workers.get(&r.worker)) {
            m.insert("ReservationSid".into(), r.sid.to_string().into());
            m.insert("WorkerSid".into(), w.sid.to_string().into());
            m.insert("WorkerName".into(), w.name.clone().into());
            m.insert(
                "WorkerAttributes".into(),
                attrs_string(&w.attributes).into(),
            );
        }
        d
    }
}
