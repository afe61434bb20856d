//! Activities, task queues and workflows: create, update, delete.

use super::*;

impl TaskRouter {
    /// Creates an activity.
    pub fn create_activity(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<ActivitySid, ApiError> {
        self.workspace(ws.as_str())?;
        let name = p
            .str("FriendlyName")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("FriendlyName is required"))?;
        if self.activities_of(ws).any(|a| a.name == name) {
            return Err(ApiError::new(
                409,
                20001,
                format!("Activity {name} already exists"),
            ));
        }
        let available = p.bool("Available")?.unwrap_or(false);
        let sid = ActivitySid::from_u128(self.mint.next_raw());
        self.activities.insert(
            sid,
            Activity {
                sid,
                workspace: *ws,
                name,
                available,
                created: now,
            },
        );
        Ok(sid)
    }

    /// Deletes an activity not in use.
    pub fn delete_activity(&mut self, ws: &WorkspaceSid, sid: &str) -> Result<(), ApiError> {
        let a = self.activity(ws, sid)?.sid;
        let w = &self.workspaces[ws];
        if self.workers.values().any(|x| x.activity == a)
            || [
                w.default_activity,
                w.timeout_activity,
                w.disconnect_activity,
            ]
            .contains(&a)
        {
            return Err(ApiError::new(
                400,
                20001,
                format!("Activity {sid} is in use"),
            ));
        }
        self.activities.remove(&a);
        Ok(())
    }

    /// Creates a queue.
    pub fn create_queue(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<TaskQueueSid, ApiError> {
        self.workspace(ws.as_str())?;
        let name = p
            .str("FriendlyName")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("FriendlyName is required"))?;
        let target_workers = p.str("TargetWorkers").unwrap_or_else(|| "1==1".into());
        let target_expr = Expr::parse(&target_workers)
            .map_err(|e| ApiError::invalid(format!("TargetWorkers: {e}")))?;
        let ra = p
            .str("ReservationActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()?;
        let aa = p
            .str("AssignmentActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()?;
        let sid = TaskQueueSid::from_u128(self.mint.next_raw());
        self.queues.insert(
            sid,
            Queue {
                sid,
                workspace: *ws,
                name,
                target_workers,
                target_expr,
                reservation_activity: ra,
                assignment_activity: aa,
                created: now,
                updated: now,
            },
        );
        self.route(now);
        Ok(sid)
    }

    /// Updates a queue (`FriendlyName`, `TargetWorkers`, `ReservationActivitySid`, `AssignmentActivitySid`).
    pub fn update_queue(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        p: &Params,
        now: UnixMillis,
    ) -> Result<TaskQueueSid, ApiError> {
        let q = self.queue(ws, sid)?.sid;
        let target = match p.str("TargetWorkers") {
            Some(t) => Some((
                Expr::parse(&t).map_err(|e| ApiError::invalid(format!("TargetWorkers: {e}")))?,
                t,
            )),
            None => None,
        };
        let ra = p
            .str("ReservationActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()?;
        let aa = p
            .str("AssignmentActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()?;
        let queue = self
            .queues
            .get_mut(&q)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if let Some((e, t)) = target {
            queue.target_expr = e;
            queue.target_workers = t;
        }
        if let Some(n) = p.str("FriendlyName").filter(|n| !n.is_empty()) {
            queue.name = n;
        }
        if ra.is_some() {
            queue.reservation_activity = ra;
        }
        if aa.is_some() {
            queue.assignment_activity = aa;
        }
        queue.updated = now;
        self.route(now);
        Ok(q)
    }

    /// Deletes a queue no workflow references and no live task sits in.
    pub fn delete_queue(&mut self, ws: &WorkspaceSid, sid: &str) -> Result<(), ApiError> {
        let q = self.queue(ws, sid)?.sid;
        if self
            .workflows_of(ws)
            .any(|w| w.routing.queue_refs().any(|r| r == q.as_str()))
        {
            return Err(ApiError::new(
                400,
                20001,
                format!("TaskQueue {sid} is referenced by a Workflow"),
            ));
        }
        if self
            .tasks_of(ws)
            .any(|t| t.queue == Some(q) && t.status.is_live())
        {
            return Err(ApiError::new(
                400,
                20001,
                format!("TaskQueue {sid} has live Tasks"),
            ));
        }
        self.queues.remove(&q);
        Ok(())
    }

    /// Deletes a workflow no live task uses.
    pub fn delete_workflow(&mut self, ws: &WorkspaceSid, sid: &str) -> Result<(), ApiError> {
        let w = self.workflow(ws, sid)?.sid;
        if self
            .tasks_of(ws)
            .any(|t| t.workflow == w && t.status.is_live())
        {
            return Err(ApiError::new(
                400,
                20001,
                format!("Workflow {sid} has live Tasks"),
            ));
        }
        self.workflows.remove(&w);
        Ok(())
    }

    /// Creates a workflow (REST `POST /Workflows`).
    pub fn create_workflow(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<WorkflowSid, ApiError> {
        self.create_workflow_with_sid(*ws, p, None, now)
    }

    pub(super) fn parse_routing(
        &self,
        ws: &WorkspaceSid,
        config: &str,
    ) -> Result<Routing, ApiError> {
        let mut routing =
            Routing::parse(config).map_err(|e| ApiError::invalid(format!("Configuration: {e}")))?;
        let resolve = |q: &mut String| -> Result<(), ApiError> {
            let found = self
                .queues_of(ws)
                .find(|x| x.sid.as_str() == q.as_str() || &x.name == q);
            match found {
                Some(x) => {
                    *q = x.sid.to_string();
                    Ok(())
                }
                None => Err(ApiError::invalid(format!(
                    "Configuration: unknown queue {q:?}"
                ))),
            }
        };
        for f in &mut routing.filters {
            for t in &mut f.targets {
                resolve(&mut t.queue)?;
            }
        }
        if let Some(d) = &mut routing.default_queue {
            resolve(d)?;
        }
        Ok(routing)
    }

    pub(super) fn create_workflow_with_sid(
        &mut self,
        ws: WorkspaceSid,
        p: &Params,
        sid: Option<WorkflowSid>,
        now: UnixMillis,
    ) -> Result<WorkflowSid, ApiError> {
        self.workspace(ws.as_str())?;
        let name = p
            .str("FriendlyName")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("FriendlyName is required"))?;
        let configuration = p
            .str("Configuration")
            .ok_or_else(|| ApiError::invalid("Configuration is required"))?;
        let routing = self.parse_routing(&ws, &configuration)?;
        let timeout = p.u64("TaskReservationTimeout")?.unwrap_or(120);
        if !(1..=86_400).contains(&timeout) {
            return Err(ApiError::invalid(
                "TaskReservationTimeout must be between 1 and 86400",
            ));
        }
        let sid = sid.unwrap_or_else(|| WorkflowSid::from_u128(self.mint.next_raw()));
        self.workflows.insert(
            sid,
            Workflow {
                sid,
                workspace: ws,
                name,
                configuration,
                routing,
                assignment_callback_url: p.str("AssignmentCallbackUrl").filter(|s| !s.is_empty()),
                fallback_assignment_callback_url: p
                    .str("FallbackAssignmentCallbackUrl")
                    .filter(|s| !s.is_empty()),
                task_reservation_timeout: timeout,
                created: now,
                updated: now,
            },
        );
        Ok(sid)
    }

    /// Updates a workflow.
    pub fn update_workflow(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        p: &Params,
        now: UnixMillis,
    ) -> Result<WorkflowSid, ApiError> {
        let wf = self.workflow(ws, sid)?.sid;
        let routing = p
            .str("Configuration")
            .map(|c| self.parse_routing(ws, &c).map(|r| (c, r)))
            .transpose()?;
        let timeout = p.u64("TaskReservationTimeout")?;
        if timeout.is_some_and(|t| !(1..=86_400).contains(&t)) {
            return Err(ApiError::invalid(
                "TaskReservationTimeout must be between 1 and 86400",
            ));
        }
        let w = self
            .workflows
            .get_mut(&wf)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if let Some((c, r)) = routing {
            w.configuration = c;
            w.routing = r;
        }
        if let Some(t) = timeout {
            w.task_reservation_timeout = t;
        }
        if let Some(n) = p.str("FriendlyName").filter(|s| !s.is_empty()) {
            w.name = n;
        }
        if let Some(u) = p.str("AssignmentCallbackUrl") {
            w.assignment_callback_url = Some(u).filter(|s| !s.is_empty());
        }
        w.updated = now;
        Ok(wf)
    }
}
