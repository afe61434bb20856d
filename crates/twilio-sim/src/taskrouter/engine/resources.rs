//! Activities, task queues and workflows: create, update, delete.
//!
//! A create and an update of the same resource read the same request fields; each is parsed and validated once,
//! in [`TaskRouter::queue_fields`] / [`TaskRouter::workflow_fields`], before anything changes.

use super::*;

/// The most a workflow's `TaskReservationTimeout` may be (seconds; Twilio's limit).
const MAX_RESERVATION_TIMEOUT_S: u64 = 86_400;

/// A queue's fields as a create or update request gives them, validated.
struct QueueFields {
    /// `FriendlyName`, when given and not empty.
    name: Option<String>,
    /// `TargetWorkers` and its parsed expression.
    target: Option<(String, Expr)>,
    /// `ReservationActivitySid`.
    reservation_activity: Option<ActivitySid>,
    /// `AssignmentActivitySid`.
    assignment_activity: Option<ActivitySid>,
}

/// A workflow's fields as a create or update request gives them, validated.
struct WorkflowFields {
    /// `FriendlyName`, when given and not empty.
    name: Option<String>,
    /// `Configuration` and its routing, queues resolved to SIDs.
    configuration: Option<(String, Routing)>,
    /// `TaskReservationTimeout` (1..=86400 s).
    timeout: Option<u64>,
    /// `AssignmentCallbackUrl` as given (empty clears it).
    assignment_callback_url: Option<String>,
}

/// A `TargetWorkers` expression and its parse.
fn target_workers(text: String) -> Result<(String, Expr), ApiError> {
    match Expr::parse(&text) {
        Ok(e) => Ok((text, e)),
        Err(e) => Err(ApiError::invalid(format!("TargetWorkers: {e}"))),
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl TaskRouter {
    /// Reads and validates a queue's fields (the activities must exist in `ws`).
    fn queue_fields(&self, ws: &WorkspaceSid, p: &Params) -> Result<QueueFields, ApiError> {
        let target = p.str("TargetWorkers").map(target_workers).transpose()?;
        let activity = |key| Ok(self.activity_param(ws, p, key)?.map(|a| a.sid));
        Ok(QueueFields {
            name: p.friendly_name(),
            target,
            reservation_activity: activity("ReservationActivitySid")?,
            assignment_activity: activity("AssignmentActivitySid")?,
        })
    }

    /// Reads and validates a workflow's fields (the routing's queues must exist in `ws`).
    fn workflow_fields(&self, ws: &WorkspaceSid, p: &Params) -> Result<WorkflowFields, ApiError> {
        let configuration = p
            .str("Configuration")
            .map(|c| self.parse_routing(ws, &c).map(|r| (c, r)))
            .transpose()?;
        let timeout = p.u64("TaskReservationTimeout")?;
        if timeout.is_some_and(|t| !(1..=MAX_RESERVATION_TIMEOUT_S).contains(&t)) {
            return Err(ApiError::invalid(
                "TaskReservationTimeout must be between 1 and 86400",
            ));
        }
        Ok(WorkflowFields {
            name: p.friendly_name(),
            configuration,
            timeout,
            assignment_callback_url: p.str("AssignmentCallbackUrl"),
        })
    }

    /// Creates an activity.
    pub fn create_activity(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<ActivitySid, ApiError> {
        self.workspace(ws.as_str())?;
        let name = p.required_friendly_name()?;
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
        let name = p.required_friendly_name()?;
        let f = self.queue_fields(ws, p)?;
        // By default every worker of the workspace.
        let (target_workers, target_expr) = match f.target {
            Some(t) => t,
            None => target_workers("1==1".to_owned())?,
        };
        let sid = TaskQueueSid::from_u128(self.mint.next_raw());
        self.queues.insert(
            sid,
            Queue {
                sid,
                workspace: *ws,
                name,
                target_workers,
                target_expr,
                reservation_activity: f.reservation_activity,
                assignment_activity: f.assignment_activity,
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
        let f = self.queue_fields(ws, p)?;
        let queue = self
            .queues
            .get_mut(&q)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if let Some((t, e)) = f.target {
            queue.target_workers = t;
            queue.target_expr = e;
        }
        if let Some(n) = f.name {
            queue.name = n;
        }
        if f.reservation_activity.is_some() {
            queue.reservation_activity = f.reservation_activity;
        }
        if f.assignment_activity.is_some() {
            queue.assignment_activity = f.assignment_activity;
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
        let name = p.required_friendly_name()?;
        let f = self.workflow_fields(&ws, p)?;
        let (configuration, routing) = f
            .configuration
            .ok_or_else(|| ApiError::invalid("Configuration is required"))?;
        let sid = sid.unwrap_or_else(|| WorkflowSid::from_u128(self.mint.next_raw()));
        self.workflows.insert(
            sid,
            Workflow {
                sid,
                workspace: ws,
                name,
                configuration,
                routing,
                assignment_callback_url: non_empty(f.assignment_callback_url),
                fallback_assignment_callback_url: non_empty(p.str("FallbackAssignmentCallbackUrl")),
                task_reservation_timeout: f.timeout.unwrap_or(120),
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
        let f = self.workflow_fields(ws, p)?;
        let w = self
            .workflows
            .get_mut(&wf)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if let Some((c, r)) = f.configuration {
            w.configuration = c;
            w.routing = r;
        }
        if let Some(t) = f.timeout {
            w.task_reservation_timeout = t;
        }
        if let Some(n) = f.name {
            w.name = n;
        }
        if let Some(u) = f.assignment_callback_url {
            w.assignment_callback_url = non_empty(Some(u));
        }
        w.updated = now;
        Ok(wf)
    }
}
