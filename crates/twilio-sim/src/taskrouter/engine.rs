//! The TaskRouter engine: a plain struct driven by requests and time, returning what the shell must send.
//!
//! Contract (str0m-style): every entry point takes `now`; the engine never reads a clock and performs no I/O.
//! State changes queue [`Effect`]s (EventBridge pushes, webhooks) that the shell drains with
//! [`TaskRouter::drain_effects`] after every call; [`TaskRouter::next_deadline`] says when
//! [`TaskRouter::handle_timeout`] is due (reservation timeouts, workflow step timeouts, task TTLs, disconnect
//! grace). A failing call returns an [`ApiError`] and changes nothing: all validation happens before mutation.
//!
//! Routing: first-match filter → ordered targets; a target offers the task to the best eligible worker (queue
//! member, available activity, no active reservation, target expression, `known_worker_sid`, not a worker who
//! already rejected or ignored this task), ordered by `order_by` and then longest idle. `skip_if` (evaluated with
//! queue-scoped `workers.*`) skips a target that cannot reserve at once; a target's `timeout` moves the task on.
//! After the last target the task waits in the workflow's default queue.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tsunagi_twilio::eventbridge::{self as eb, Frame};
use tsunagi_twilio::sid::{
    AccountSid, ActivitySid, ReservationSid, TaskQueueSid, TaskSid, WorkerSid, WorkflowSid,
    WorkspaceSid,
};

use super::expr::{Ctx, Expr, Scope};
use super::model::*;
use super::workflow::Routing;
use crate::clock::UnixMillis;
use crate::config::{ConfigError, WorkspaceConfig};
use crate::error::ApiError;
use crate::ids::SidMint;
use crate::params::Params;

/// Largest task or worker attributes document, in bytes.
pub const MAX_ATTRIBUTES: usize = 32 * 1024;
/// Events kept for `/Events` and `/_sim/events`.
pub const MAX_EVENTS: usize = 10_000;
/// Default task TTL, seconds.
pub const DEFAULT_TASK_TIMEOUT: u64 = 86_400;

/// Something the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Send a frame on every EventBridge socket of this worker.
    Push {
        /// Target worker.
        worker: WorkerSid,
        /// The frame.
        frame: Frame,
    },
    /// POST a signed form webhook.
    Webhook(Webhook),
    /// Close every EventBridge socket of this worker (worker deleted).
    CloseSockets {
        /// Target worker.
        worker: WorkerSid,
    },
}

/// An outgoing webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Account whose Auth Token signs it.
    pub account: AccountSid,
    /// Target URL.
    pub url: String,
    /// Form parameters.
    pub params: Vec<(String, String)>,
    /// What it is for (the shell feeds assignment replies back).
    pub kind: WebhookKind,
}

/// Webhook purpose.
#[derive(Debug, Clone, PartialEq)]
pub enum WebhookKind {
    /// Assignment callback; the JSON reply may carry an instruction for this reservation.
    Assignment(ReservationSid),
    /// Workspace event callback.
    Event,
}

/// A recorded workspace event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRecord {
    /// `EV…`.
    pub sid: String,
    /// Workspace.
    pub workspace_sid: String,
    /// e.g. `reservation.created`.
    pub event_type: String,
    /// The resource the event is about.
    pub resource_sid: String,
    /// Epoch ms (simulated).
    pub timestamp_ms: u64,
    /// Extra detail (task/worker/reservation SIDs).
    pub data: Value,
}

/// The TaskRouter state machine.
#[derive(Debug)]
pub struct TaskRouter {
    mint: SidMint,
    grace_ms: u64,
    pub(crate) workspaces: BTreeMap<WorkspaceSid, Workspace>,
    pub(crate) activities: BTreeMap<ActivitySid, Activity>,
    pub(crate) workers: BTreeMap<WorkerSid, Worker>,
    pub(crate) queues: BTreeMap<TaskQueueSid, Queue>,
    pub(crate) workflows: BTreeMap<WorkflowSid, Workflow>,
    pub(crate) tasks: BTreeMap<TaskSid, Task>,
    pub(crate) reservations: BTreeMap<ReservationSid, Reservation>,
    pub(crate) events: std::collections::VecDeque<EventRecord>,
    effects: Vec<Effect>,
    /// A task was created and awaits its first routing pass (routing is asynchronous, as on Twilio: the create
    /// response shows the task `pending`).
    route_due: bool,
    /// Set by the call engine (`crate::calls`): a `conference` instruction records itself on the reservation,
    /// which stays pending until the worker's leg answers (backend-spec §9); unset, it accepts at once.
    pub defer_conference: bool,
    /// Reservations that received a deferred `conference` instruction, for the call engine to take.
    pub conference_instructions: Vec<ReservationSid>,
}

fn parse_sid<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, ApiError> {
    s.parse()
        .map_err(|_| ApiError::invalid(format!("{what} {s:?} is not a valid SID")))
}

impl TaskRouter {
    /// An empty engine.
    pub fn new(seed: u64, disconnect_grace_ms: u64) -> Self {
        Self {
            mint: SidMint::new(seed),
            grace_ms: disconnect_grace_ms,
            workspaces: BTreeMap::new(),
            activities: BTreeMap::new(),
            workers: BTreeMap::new(),
            queues: BTreeMap::new(),
            workflows: BTreeMap::new(),
            tasks: BTreeMap::new(),
            reservations: BTreeMap::new(),
            events: Default::default(),
            effects: Vec::new(),
            route_due: false,
            defer_conference: false,
            conference_instructions: Vec::new(),
        }
    }

    /// Takes the effects queued so far.
    pub fn drain_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    // ------------------------------------------------------------------ setup

    /// Creates a workspace with its resources from config.
    pub fn add_workspace(
        &mut self,
        c: &WorkspaceConfig,
        now: UnixMillis,
    ) -> Result<WorkspaceSid, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(m);
        let account: AccountSid = c
            .account
            .parse()
            .map_err(|_| bad("workspace account".into()))?;
        let sid = match &c.sid {
            Some(s) => s.parse().map_err(|_| bad(format!("workspace sid {s:?}")))?,
            None => WorkspaceSid::from_u128(self.mint.next_raw()),
        };
        let mut acts = Vec::new();
        let defaults = [
            ("Offline", false),
            ("Available", true),
            ("Unavailable", false),
        ];
        let specs: Vec<(Option<String>, String, bool)> = if c.activities.is_empty() {
            defaults
                .iter()
                .map(|(n, a)| (None, n.to_string(), *a))
                .collect()
        } else {
            c.activities
                .iter()
                .map(|a| (a.sid.clone(), a.name.clone(), a.available))
                .collect()
        };
        for (asid, name, available) in specs {
            let a = match asid {
                Some(s) => s.parse().map_err(|_| bad(format!("activity sid {s:?}")))?,
                None => ActivitySid::from_u128(self.mint.next_raw()),
            };
            acts.push(Activity {
                sid: a,
                workspace: sid,
                name,
                available,
                created: now,
            });
        }
        let find =
            |name: &Option<String>, fallback: ActivitySid| -> Result<ActivitySid, ConfigError> {
                match name {
                    None => Ok(fallback),
                    Some(n) => acts
                        .iter()
                        .find(|a| &a.name == n)
                        .map(|a| a.sid)
                        .ok_or_else(|| ConfigError::Invalid(format!("unknown activity {n:?}"))),
                }
            };
        let offline = acts
            .iter()
            .find(|a| !a.available)
            .or(acts.first())
            .map(|a| a.sid);
        let offline = offline.ok_or_else(|| bad("a workspace needs activities".into()))?;
        let ws = Workspace {
            sid,
            account,
            name: c.friendly_name.clone(),
            event_callback_url: c.event_callback_url.clone(),
            default_activity: find(&c.default_activity, offline)?,
            timeout_activity: find(&c.timeout_activity, offline)?,
            disconnect_activity: find(&c.disconnect_activity, offline)?,
            channel_sid: self.mint.next_str("TC"),
            created: now,
            updated: now,
        };
        let mut queue_specs = Vec::new();
        for q in &c.queues {
            let qsid = match &q.sid {
                Some(s) => s.parse().map_err(|_| bad(format!("queue sid {s:?}")))?,
                None => TaskQueueSid::from_u128(self.mint.next_raw()),
            };
            let target_expr = Expr::parse(&q.target_workers)
                .map_err(|e| bad(format!("queue {}: {e}", q.name)))?;
            queue_specs.push(Queue {
                sid: qsid,
                workspace: sid,
                name: q.name.clone(),
                target_workers: q.target_workers.clone(),
                target_expr,
                reservation_activity: q
                    .reservation_activity
                    .as_ref()
                    .map(|n| find(&Some(n.clone()), offline))
                    .transpose()?,
                assignment_activity: q
                    .assignment_activity
                    .as_ref()
                    .map(|n| find(&Some(n.clone()), offline))
                    .transpose()?,
                created: now,
                updated: now,
            });
        }
        let mut worker_specs = Vec::new();
        for w in &c.workers {
            let wsid = match &w.sid {
                Some(s) => s.parse().map_err(|_| bad(format!("worker sid {s:?}")))?,
                None => WorkerSid::from_u128(self.mint.next_raw()),
            };
            if !w.attributes.is_object() {
                return Err(bad(format!("worker {} attributes must be a table", w.name)));
            }
            worker_specs.push((
                wsid,
                w.name.clone(),
                w.attributes.clone(),
                find(&w.activity, ws.default_activity)?,
            ));
        }
        self.workspaces.insert(sid, ws);
        for a in acts {
            self.activities.insert(a.sid, a);
        }
        for q in queue_specs {
            self.queues.insert(q.sid, q);
        }
        for (wsid, name, attributes, activity) in worker_specs {
            let channel_sid = self.mint.next_str("WC");
            self.workers.insert(
                wsid,
                Worker {
                    sid: wsid,
                    workspace: sid,
                    name,
                    attributes,
                    activity,
                    channel_sid,
                    created: now,
                    updated: now,
                    status_changed: now,
                    last_reserved: None,
                    version: 1,
                    sockets: 0,
                    disconnect_at: None,
                },
            );
        }
        for wf in &c.workflows {
            let mut p = Params::default();
            p.0.insert("FriendlyName".into(), wf.name.clone().into());
            p.0.insert("Configuration".into(), wf.configuration.clone().into());
            p.0.insert(
                "TaskReservationTimeout".into(),
                wf.task_reservation_timeout.into(),
            );
            if let Some(u) = &wf.assignment_callback_url {
                p.0.insert("AssignmentCallbackUrl".into(), u.clone().into());
            }
            let fixed = match &wf.sid {
                Some(s) => Some(s.parse().map_err(|_| bad(format!("workflow sid {s:?}")))?),
                None => None,
            };
            self.create_workflow_with_sid(sid, &p, fixed, now)
                .map_err(|e| bad(format!("workflow {}: {}", wf.name, e.message)))?;
        }
        Ok(sid)
    }

    // ------------------------------------------------------------------ lookups

    /// A workspace.
    pub fn workspace(&self, sid: &str) -> Result<&Workspace, ApiError> {
        self.workspaces
            .get(sid)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{sid}")))
    }
    /// An activity of the workspace.
    pub fn activity(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Activity, ApiError> {
        self.activities
            .get(sid)
            .filter(|a| &a.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/Activities/{sid}")))
    }
    /// A worker of the workspace.
    pub fn worker(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Worker, ApiError> {
        self.workers
            .get(sid)
            .filter(|w| &w.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/Workers/{sid}")))
    }
    /// A queue of the workspace.
    pub fn queue(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Queue, ApiError> {
        self.queues
            .get(sid)
            .filter(|q| &q.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/TaskQueues/{sid}")))
    }
    /// A workflow of the workspace.
    pub fn workflow(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Workflow, ApiError> {
        self.workflows
            .get(sid)
            .filter(|w| &w.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/Workflows/{sid}")))
    }
    /// A task of the workspace.
    pub fn task(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Task, ApiError> {
        self.tasks
            .get(sid)
            .filter(|t| &t.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/Tasks/{sid}")))
    }
    /// A reservation of the workspace.
    pub fn reservation(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Reservation, ApiError> {
        self.reservations
            .get(sid)
            .filter(|r| &r.workspace == ws)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/Reservations/{sid}")))
    }
    /// Activities of a workspace.
    pub fn activities_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Activity> {
        let ws = *ws;
        self.activities.values().filter(move |a| a.workspace == ws)
    }
    /// Workers of a workspace.
    pub fn workers_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Worker> {
        let ws = *ws;
        self.workers.values().filter(move |a| a.workspace == ws)
    }
    /// Queues of a workspace.
    pub fn queues_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Queue> {
        let ws = *ws;
        self.queues.values().filter(move |a| a.workspace == ws)
    }
    /// Workflows of a workspace.
    pub fn workflows_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Workflow> {
        let ws = *ws;
        self.workflows.values().filter(move |a| a.workspace == ws)
    }
    /// Tasks of a workspace.
    pub fn tasks_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Task> {
        let ws = *ws;
        self.tasks.values().filter(move |a| a.workspace == ws)
    }
    /// Reservations of a workspace.
    pub fn reservations_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Reservation> {
        let ws = *ws;
        self.reservations
            .values()
            .filter(move |a| a.workspace == ws)
    }

    fn activity_of(&self, w: &Worker) -> &Activity {
        // Invariant: a worker's activity always exists (activities in use cannot be deleted).
        &self.activities[&w.activity]
    }

    /// Whether the worker's current activity is available.
    pub fn is_available(&self, w: &Worker) -> bool {
        self.activities
            .get(&w.activity)
            .is_some_and(|a| a.available)
    }

    /// Whether the worker holds a pending, accepted or wrapping reservation.
    pub fn is_busy(&self, w: &WorkerSid) -> bool {
        self.reservations
            .values()
            .any(|r| &r.worker == w && r.status.is_active())
    }

    // ------------------------------------------------------------------ rendering

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

    fn push(&mut self, worker: WorkerSid, event_type: &str, payload: &impl serde::Serialize) {
        self.effects.push(Effect::Push {
            worker,
            frame: Frame::new(event_type, payload),
        });
    }

    fn push_worker(&mut self, sid: &WorkerSid, event_type: &str) {
        if let Some(w) = self.workers.get(sid) {
            let p = self.worker_eb(w);
            self.push(*sid, event_type, &p);
        }
    }

    fn push_reservation(&mut self, sid: &ReservationSid, now: UnixMillis) {
        if let Some(r) = self.reservations.get(sid) {
            let p = self.reservation_eb(r, true, now);
            let (worker, et) = (r.worker, r.status.event_type());
            self.push(worker, et, &p);
        }
    }

    /// Pushes a `task.*` event to every worker holding a reservation of it.
    fn push_task(&mut self, sid: &TaskSid, event_type: &str, now: UnixMillis) {
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

    fn record(
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

    fn task_event_data(&self, t: &TaskSid) -> Value {
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

    fn res_event_data(&self, r: &ReservationSid) -> Value {
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

    // ------------------------------------------------------------------ workers

    /// Sets a worker's activity (no validation of ownership; callers check), pushing and recording the change.
    fn set_activity(&mut self, sid: &WorkerSid, activity: ActivitySid, now: UnixMillis) {
        let Some(w) = self.workers.get_mut(sid) else {
            return;
        };
        if w.activity == activity {
            return;
        }
        w.activity = activity;
        w.status_changed = now;
        w.updated = now;
        w.version += 1;
        let ws = w.workspace;
        self.push_worker(sid, "worker.activity.update");
        let act_name = self
            .activities
            .get(&activity)
            .map(|a| a.name.clone())
            .unwrap_or_default();
        self.record(ws, "worker.activity.update", sid.as_str(), json!({"WorkerSid": sid.to_string(), "WorkerActivitySid": activity.to_string(), "WorkerActivityName": act_name}), now);
    }

    /// Creates a worker (REST `POST /Workers`).
    pub fn create_worker(
        &mut self,
        ws: &WorkspaceSid,
        p: &Params,
        now: UnixMillis,
    ) -> Result<WorkerSid, ApiError> {
        let wsr = self.workspace(ws.as_str())?;
        let name = p
            .str("FriendlyName")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::invalid("FriendlyName is required"))?;
        if self.workers_of(ws).any(|w| w.name == name) {
            return Err(ApiError::new(
                409,
                35002,
                format!("Worker with FriendlyName {name} already exists"),
            ));
        }
        let attributes = p
            .json_object("Attributes", MAX_ATTRIBUTES)?
            .unwrap_or_else(|| json!({}));
        let activity = match p.str("ActivitySid") {
            Some(a) => self.activity(ws, &a)?.sid,
            None => wsr.default_activity,
        };
        let sid = WorkerSid::from_u128(self.mint.next_raw());
        let channel_sid = self.mint.next_str("WC");
        self.workers.insert(
            sid,
            Worker {
                sid,
                workspace: *ws,
                name,
                attributes,
                activity,
                channel_sid,
                created: now,
                updated: now,
                status_changed: now,
                last_reserved: None,
                version: 1,
                sockets: 0,
                disconnect_at: None,
            },
        );
        self.record(
            *ws,
            "worker.created",
            sid.as_str(),
            json!({"WorkerSid": sid.to_string()}),
            now,
        );
        self.route(now);
        Ok(sid)
    }

    /// Updates a worker (`ActivitySid`, `Attributes`, `FriendlyName`, `RejectPendingReservations`), honouring
    /// `If-Match`.
    pub fn update_worker(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        p: &Params,
        if_match: Option<&str>,
        now: UnixMillis,
    ) -> Result<WorkerSid, ApiError> {
        let w = self.worker(ws, sid)?;
        check_version(if_match, w.version)?;
        let wsid = w.sid;
        let activity = p
            .str("ActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| (a.sid, a.available)))
            .transpose()?;
        let attributes = p.json_object("Attributes", MAX_ATTRIBUTES)?;
        let name = p.str("FriendlyName").filter(|s| !s.is_empty());
        let reject_pending = p.bool("RejectPendingReservations")?.unwrap_or(false);
        if reject_pending && activity.is_some_and(|(_, avail)| avail) {
            return Err(ApiError::invalid(
                "RejectPendingReservations requires an unavailable ActivitySid",
            ));
        }
        if let Some(attrs) = attributes {
            let w = self
                .workers
                .get_mut(&wsid)
                .ok_or_else(|| ApiError::not_found(sid))?;
            w.attributes = attrs;
            w.updated = now;
            w.version += 1;
            self.push_worker(&wsid, "worker.attributes.update");
            self.record(
                *ws,
                "worker.attributes.update",
                wsid.as_str(),
                json!({"WorkerSid": wsid.to_string()}),
                now,
            );
        }
        if let Some(n) = name {
            if let Some(w) = self.workers.get_mut(&wsid) {
                w.name = n;
                w.updated = now;
                w.version += 1;
            }
        }
        if let Some((a, _)) = activity {
            if reject_pending {
                let pending: Vec<ReservationSid> = self
                    .reservations
                    .values()
                    .filter(|r| r.worker == wsid && r.status == ResStatus::Pending)
                    .map(|r| r.sid)
                    .collect();
                for r in pending {
                    self.finish_reservation(&r, ResStatus::Rejected, now);
                }
            }
            self.set_activity(&wsid, a, now);
        }
        self.route(now);
        Ok(wsid)
    }

    /// Deletes a worker; refused while it is available or holds a reservation, as Twilio does.
    pub fn delete_worker(
        &mut self,
        ws: &WorkspaceSid,
        sid: &str,
        now: UnixMillis,
    ) -> Result<(), ApiError> {
        let w = self.worker(ws, sid)?;
        if self.is_available(w) {
            return Err(ApiError::new(400, 20001, format!("Worker {sid} cannot be deleted while its activity is available; set an unavailable activity first")));
        }
        if self.is_busy(&w.sid) {
            return Err(ApiError::new(
                400,
                20001,
                format!("Worker {sid} cannot be deleted while it holds reservations"),
            ));
        }
        let wsid = w.sid;
        self.workers.remove(&wsid);
        self.effects.push(Effect::CloseSockets { worker: wsid });
        self.record(
            *ws,
            "worker.deleted",
            wsid.as_str(),
            json!({"WorkerSid": wsid.to_string()}),
            now,
        );
        Ok(())
    }

    /// An EventBridge socket of this worker opened.
    pub fn socket_opened(&mut self, worker: &WorkerSid) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.sockets += 1;
            w.disconnect_at = None;
        }
    }

    /// An EventBridge socket closed; with `offline_if_disconnected` and no socket left, the worker moves to the
    /// workspace's disconnect activity after the grace period.
    pub fn socket_closed(
        &mut self,
        worker: &WorkerSid,
        offline_if_disconnected: bool,
        now: UnixMillis,
    ) {
        if let Some(w) = self.workers.get_mut(worker) {
            w.sockets = w.sockets.saturating_sub(1);
            if w.sockets == 0 && offline_if_disconnected {
                w.disconnect_at = Some(now.plus_ms(self.grace_ms));
            }
        }
    }

    // ------------------------------------------------------------------ activities, queues, workflows

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

    fn parse_routing(&self, ws: &WorkspaceSid, config: &str) -> Result<Routing, ApiError> {
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

    fn create_workflow_with_sid(
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

    // ------------------------------------------------------------------ tasks

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

    fn match_filter(&self, wf: &WorkflowSid, attrs: &Value) -> Option<usize> {
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

    // ------------------------------------------------------------------ reservations

    /// Sets a reservation's status and pushes/records it; adjusts nothing else.
    fn set_res_status(&mut self, sid: &ReservationSid, status: ResStatus, now: UnixMillis) {
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
    fn finish_reservation(&mut self, sid: &ReservationSid, status: ResStatus, now: UnixMillis) {
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
        let worker_activity = p
            .str("WorkerActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()?;
        let action = match (p.str("ReservationStatus"), p.str("Instruction")) {
            (Some(s), _) => s,
            (None, Some(i)) => i,
            (None, None) => {
                return Err(ApiError::invalid(
                    "ReservationStatus or Instruction is required",
                ))
            }
        };
        let post_work = p
            .str("PostWorkActivitySid")
            .map(|a| self.activity(ws, &a).map(|a| a.sid))
            .transpose()
            .map_err(|_| ApiError::new(400, 40143, "PostWorkActivitySid is invalid"))?;
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

    fn accept(
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

    // ------------------------------------------------------------------ routing

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

    fn route_task(&mut self, tsid: &TaskSid, now: UnixMillis) {
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

    fn advance(&mut self, tsid: &TaskSid, now: UnixMillis) {
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

    fn queue_members<'a>(&'a self, queue: &'a Queue) -> impl Iterator<Item = &'a Worker> + 'a {
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
    fn queue_workers_stats(&self, queue: &TaskQueueSid) -> Value {
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

    fn candidates(
        &self,
        t: &Task,
        target: Option<&super::workflow::Target>,
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
                    .value(&super::expr::Operand::Path(path.clone()))
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

    fn reserve(&mut self, tsid: &TaskSid, worker: &WorkerSid, now: UnixMillis) {
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

    // ------------------------------------------------------------------ time

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

fn resource_type(sid: &str) -> &'static str {
    match sid.get(..2) {
        Some("WT") => "task",
        Some("WK") => "worker",
        Some("WR") => "reservation",
        Some("WQ") => "taskqueue",
        Some("WW") => "workflow",
        _ => "workspace",
    }
}

fn check_version(if_match: Option<&str>, current: u64) -> Result<(), ApiError> {
    match if_match {
        Some(v) if v.trim() != current.to_string() && v.trim() != "*" => {
            Err(ApiError::precondition(v, current))
        }
        _ => Ok(()),
    }
}

fn cmp_json(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(_), None) => Less,
        (None, Some(_)) => Greater,
        _ => Equal,
    }
}

/// `post_work_activity_sid` → `PostWorkActivitySid`.
fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

/// The instruction as recorded on the reservation: `{"instruction": …, params…}`.
fn instruction_json(action: &str, p: &Params) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("instruction".into(), action.into());
    for (k, v) in &p.0 {
        if k != "Instruction" && k != "ReservationStatus" {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}
