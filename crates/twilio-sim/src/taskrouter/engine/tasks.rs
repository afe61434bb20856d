//! Tasks: create, update (attributes, priority, wrap-up, complete, cancel), TTL.

use super::*;

impl TaskRouter {
    /// Creates a task and routes it.
    pub fn create_task(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<TaskSid, ApiError> {
        self.workspace(ws.as_str())?;
        let workflow = match p.str("WorkflowSid") {
            Some(w) => self.workflow(ws, &w)?.sid,
            None => {
                let mut all = self.workflows_of(ws);
                match (all.next(), all.next()) {
                    (Some(w), None) => w.sid,
                    _ => return Err(ApiError::invalid("WorkflowSid is required")),
                }
            }
        };
        let attributes = p
            .json_object("Attributes", MAX_ATTRIBUTES)?
            .unwrap_or_else(|| json!({}));
        let priority = p.i64("Priority")?.unwrap_or(0);
        let timeout = p.u64("Timeout")?.unwrap_or(DEFAULT_TASK_TIMEOUT);
        if !(1..=365 * 86_400).contains(&timeout) {
            return Err(ApiError::invalid("Timeout must be between 1 and 31536000"));
        }
        let sid = TaskSid::from_u128(self.mint.next_raw());
        let filter = self.match_filter(&workflow, &attributes);
        self.tasks.insert(
            sid,
            Task {
                sid,
                workspace: *ws,
                workflow,
                attributes,
                status: TaskStatus::Pending,
                priority,
                reason: None,
                timeout,
                queue: None,
                pos: RoutingPos {
                    filter,
                    target: 0,
                    since: now,
                },
                excluded: Vec::new(),
                created: now,
                updated: now,
                version: 0,
            },
        );
        let d = self.task_event_data(&sid);
        self.record(*ws, "task.created", sid.as_str(), d, now);
        self.route_due = true;
        Ok(sid)
    }

    pub(super) fn match_filter(&self, wf: &WorkflowSid, attrs: &Value) -> Option<usize> {
        let wf = self.workflows.get(wf)?;
        let ctx = Ctx {
            default_scope: Scope::Task,
            task: Some(attrs),
            worker: None,
            workers: None,
        };
        wf.routing
            .filters
            .iter()
            .position(|f| f.expression.eval(&ctx))
    }

    /// Updates a task (`Attributes`, `AssignmentStatus`, `Reason`, `Priority`), honouring `If-Match`.
    pub fn update_task(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        p: &Params,
        if_match: Option<&str>,
        now: UnixMillis,
    ) -> Result<TaskSid, ApiError> {
        let t = self.task(ws, sid)?;
        check_version(if_match, t.version)?;
        let tsid = t.sid;
        let status = t.status;
        let attributes = p.json_object("Attributes", MAX_ATTRIBUTES)?;
        let priority = p.i64("Priority")?;
        let target = match p.str("AssignmentStatus") {
            None => None,
            Some(s) => Some(TaskStatus::parse(&s).ok_or_else(|| {
                ApiError::invalid(format!("AssignmentStatus {s:?} is not valid"))
            })?),
        };
        let reason = p.str("Reason");
        if let Some(to) = target {
            let ok = matches!(
                (status, to),
                (
                    TaskStatus::Pending | TaskStatus::Reserved,
                    TaskStatus::Canceled
                ) | (
                    TaskStatus::Assigned,
                    TaskStatus::Wrapping | TaskStatus::Completed
                ) | (TaskStatus::Wrapping, TaskStatus::Completed)
            );
            if !ok {
                return Err(ApiError::new(
                    400,
                    20001,
                    format!(
                        "Cannot move Task {sid} from {} to {}",
                        status.as_str(),
                        to.as_str()
                    ),
                ));
            }
            if to == TaskStatus::Completed && reason.is_none() {
                return Err(ApiError::invalid("Reason is required to complete a Task"));
            }
        }
        if !status.is_live() && (attributes.is_some() || priority.is_some()) {
            return Err(ApiError::new(
                400,
                20001,
                format!("Task {sid} is {} and cannot be updated", status.as_str()),
            ));
        }
        // All checks passed: mutate.
        let t = self
            .tasks
            .get_mut(&tsid)
            .ok_or_else(|| ApiError::not_found(sid))?;
        let mut changed_attrs = false;
        if let Some(a) = attributes {
            t.attributes = a;
            changed_attrs = true;
        }
        if let Some(pr) = priority {
            t.priority = pr;
        }
        t.updated = now;
        t.version += 1;
        if changed_attrs {
            if t.status == TaskStatus::Pending {
                let wf = t.workflow;
                let attrs = t.attributes.clone();
                let filter = self.match_filter(&wf, &attrs);
                if let Some(t) = self.tasks.get_mut(&tsid) {
                    t.pos = RoutingPos {
                        filter,
                        target: 0,
                        since: now,
                    };
                }
            }
            self.push_task(&tsid, "task.updated", now);
            let d = self.task_event_data(&tsid);
            self.record(*ws, "task.updated", tsid.as_str(), d, now);
        }
        if let Some(to) = target {
            if let Some(t) = self.tasks.get_mut(&tsid) {
                t.status = to;
                t.reason = reason.or(t.reason.take());
            }
            let active: Vec<ReservationSid> = self
                .reservations
                .values()
                .filter(|r| r.task == tsid && r.status.is_active())
                .map(|r| r.sid)
                .collect();
            let (res_status, task_event) = match to {
                TaskStatus::Canceled => (ResStatus::Canceled, "task.canceled"),
                TaskStatus::Wrapping => (ResStatus::Wrapping, "task.wrapup"),
                _ => (ResStatus::Completed, "task.completed"),
            };
            self.push_task(&tsid, task_event, now);
            for r in active {
                self.set_res_status(&r, res_status, now);
            }
            let d = self.task_event_data(&tsid);
            self.record(*ws, task_event, tsid.as_str(), d, now);
        }
        self.route(now);
        Ok(tsid)
    }

    /// Deletes a task (and its reservations).
    pub fn delete_task(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        now: UnixMillis,
    ) -> Result<(), ApiError> {
        let t = self.task(ws, sid)?.sid;
        let active: Vec<ReservationSid> = self
            .reservations
            .values()
            .filter(|r| r.task == t && r.status.is_active())
            .map(|r| r.sid)
            .collect();
        for r in active {
            self.set_res_status(&r, ResStatus::Canceled, now);
        }
        self.tasks.remove(&t);
        self.reservations.retain(|_, r| r.task != t);
        self.record(
            *ws,
            "task.deleted",
            t.as_str(),
            json!({"TaskSid": t.to_string()}),
            now,
        );
        self.route(now);
        Ok(())
    }
}
