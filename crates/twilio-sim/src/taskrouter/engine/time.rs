//! Time: the next deadline and what is due at it; event queries and workspace parsing.

use super::*;

impl TaskRouter {
    /// The earliest instant at which [`TaskRouter::handle_timeout`] has work.
    pub fn next_deadline(&self) -> Option<UnixMillis> {
        let res = self
            .reservations
            .values()
            .filter(|r| r.status == ResStatus::Pending)
            .map(|r| r.timeout_at);
        let disc = self.workers.values().filter_map(|w| w.disconnect_at);
        let ttl = self
            .tasks
            .values()
            .filter(|t| t.status.is_live())
            .map(|t| t.created.plus_secs(t.timeout));
        let steps = self
            .tasks
            .values()
            .filter(|t| t.status == TaskStatus::Pending)
            .filter_map(|t| {
                let wf = self.workflows.get(&t.workflow)?;
                let tg = wf
                    .routing
                    .filters
                    .get(t.pos.filter?)?
                    .targets
                    .get(t.pos.target)?;
                Some(t.pos.since.plus_secs(tg.timeout?))
            });
        let asap = self.route_due.then_some(UnixMillis(0));
        res.chain(disc).chain(ttl).chain(steps).chain(asap).min()
    }

    /// Runs everything due at `now`.
    pub fn handle_timeout(&mut self, now: UnixMillis) {
        let due: Vec<ReservationSid> = self
            .reservations
            .values()
            .filter(|r| r.status == ResStatus::Pending && r.timeout_at <= now)
            .map(|r| r.sid)
            .collect();
        for r in due {
            self.finish_reservation(&r, ResStatus::Timeout, now);
        }
        let gone: Vec<WorkerSid> = self
            .workers
            .values()
            .filter(|w| w.disconnect_at.is_some_and(|d| d <= now))
            .map(|w| w.sid)
            .collect();
        for w in gone {
            let target = self.workers.get_mut(&w).and_then(|x| {
                x.disconnect_at = None;
                (x.sockets == 0).then_some(x.workspace)
            });
            if let Some(a) = target
                .and_then(|ws| self.workspaces.get(&ws))
                .map(|ws| ws.disconnect_activity)
            {
                self.set_activity(&w, a, now);
            }
        }
        let expired: Vec<(WorkspaceSid, TaskSid)> = self
            .tasks
            .values()
            .filter(|t| t.status.is_live() && t.created.plus_secs(t.timeout) <= now)
            .map(|t| (t.workspace, t.sid))
            .collect();
        for (ws, t) in expired {
            let active: Vec<ReservationSid> = self
                .reservations
                .values()
                .filter(|r| r.task == t && r.status.is_active())
                .map(|r| r.sid)
                .collect();
            if let Some(task) = self.tasks.get_mut(&t) {
                task.status = TaskStatus::Canceled;
                task.reason = Some("Task TTL Exceeded".into());
                task.updated = now;
                task.version += 1;
            }
            self.push_task(&t, "task.canceled", now);
            for r in active {
                self.set_res_status(&r, ResStatus::Canceled, now);
            }
            let d = self.task_event_data(&t);
            self.record(ws, "task.canceled", t.as_str(), d, now);
        }
        self.route(now);
    }

    /// Events of a workspace, oldest first.
    pub fn events_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &EventRecord> {
        let ws = ws.to_string();
        self.events.iter().filter(move |e| e.workspace_sid == ws)
    }

    /// All recorded events, oldest first.
    pub fn all_events(&self) -> impl Iterator<Item = &EventRecord> {
        self.events.iter()
    }

    /// Parses a workspace SID from a path segment.
    pub fn parse_workspace(&self, s: &str) -> Result<WorkspaceSid, ApiError> {
        let sid: WorkspaceSid = parse_sid(s, "Workspace")
            .map_err(|_| ApiError::not_found(format!("/Workspaces/{s}")))?;
        self.workspace(sid.as_str())?;
        Ok(sid)
    }
}
