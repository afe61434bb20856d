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

mod lookup;
mod render;
mod reservations;
mod resources;
mod routing;
mod tasks;
mod time;
mod workers;

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
