//! TaskRouter state: workspaces, activities, workers, queues, workflows, tasks and reservations, with their
//! statuses as enums and their renderings in the EventBridge shape (`tsunagi_twilio::eventbridge`).

use serde_json::Value;
use tsunagi_twilio::eventbridge as eb;
use tsunagi_twilio::sid::{
    AccountSid, ActivitySid, ReservationSid, TaskQueueSid, TaskSid, WorkerSid, WorkflowSid,
    WorkspaceSid,
};

use super::expr::Expr;
use super::workflow::Routing;
use crate::clock::UnixMillis;

/// The one task channel every workspace has.
pub const CHANNEL_NAME: &str = "default";

/// A workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// SID.
    pub sid: WorkspaceSid,
    /// Owning account.
    pub account: AccountSid,
    /// Friendly name.
    pub name: String,
    /// Event callback URL.
    pub event_callback_url: Option<String>,
    /// Activity new workers start in.
    pub default_activity: ActivitySid,
    /// Activity a worker moves to when a reservation times out.
    pub timeout_activity: ActivitySid,
    /// Activity a worker moves to when its sockets are gone.
    pub disconnect_activity: ActivitySid,
    /// `TC…` of the default task channel.
    pub channel_sid: String,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
}

/// An activity.
#[derive(Debug, Clone)]
pub struct Activity {
    /// SID.
    pub sid: ActivitySid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Friendly name.
    pub name: String,
    /// Availability.
    pub available: bool,
    /// Created.
    pub created: UnixMillis,
}

/// A worker.
#[derive(Debug, Clone)]
pub struct Worker {
    /// SID.
    pub sid: WorkerSid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Friendly name.
    pub name: String,
    /// Attributes (a JSON object).
    pub attributes: Value,
    /// Current activity.
    pub activity: ActivitySid,
    /// `WC…` of its default channel.
    pub channel_sid: String,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
    /// Last activity change.
    pub status_changed: UnixMillis,
    /// Last reservation.
    pub last_reserved: Option<UnixMillis>,
    /// Version, bumped on every change and on `reservation.created`.
    pub version: u64,
    /// Open EventBridge sockets.
    pub sockets: u32,
    /// When the worker moves to the disconnect activity unless a socket opens first.
    pub disconnect_at: Option<UnixMillis>,
}

/// A task queue.
#[derive(Debug, Clone)]
pub struct Queue {
    /// SID.
    pub sid: TaskQueueSid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Friendly name.
    pub name: String,
    /// Member expression (source text).
    pub target_workers: String,
    /// Member expression (parsed).
    pub target_expr: Expr,
    /// Activity on reservation.
    pub reservation_activity: Option<ActivitySid>,
    /// Activity on assignment.
    pub assignment_activity: Option<ActivitySid>,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
}

/// A workflow.
#[derive(Debug, Clone)]
pub struct Workflow {
    /// SID.
    pub sid: WorkflowSid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Friendly name.
    pub name: String,
    /// Configuration JSON as given.
    pub configuration: String,
    /// Parsed configuration with queue references resolved to SIDs.
    pub routing: Routing,
    /// Assignment callback URL.
    pub assignment_callback_url: Option<String>,
    /// Fallback assignment callback URL.
    pub fallback_assignment_callback_url: Option<String>,
    /// Reservation timeout, seconds.
    pub task_reservation_timeout: u64,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
}

/// Task assignment status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// A reservation is pending.
    Reserved,
    /// Accepted by a worker.
    Assigned,
    /// In wrap-up.
    Wrapping,
    /// Done.
    Completed,
    /// Canceled.
    Canceled,
}

impl TaskStatus {
    /// Twilio's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Reserved => "reserved",
            Self::Assigned => "assigned",
            Self::Wrapping => "wrapping",
            Self::Completed => "completed",
            Self::Canceled => "canceled",
        }
    }
    /// Parses Twilio's name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "reserved" => Self::Reserved,
            "assigned" => Self::Assigned,
            "wrapping" => Self::Wrapping,
            "completed" => Self::Completed,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }
    /// Whether the task can still be routed or worked.
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Completed | Self::Canceled)
    }
}

/// Reservation status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResStatus {
    /// Offered, waiting for an answer.
    Pending,
    /// Accepted.
    Accepted,
    /// Rejected by the worker.
    Rejected,
    /// Not answered in time.
    Timeout,
    /// The task was canceled.
    Canceled,
    /// Withdrawn (another reservation won).
    Rescinded,
    /// In wrap-up.
    Wrapping,
    /// Done.
    Completed,
}

impl ResStatus {
    /// Twilio's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Timeout => "timeout",
            Self::Canceled => "canceled",
            Self::Rescinded => "rescinded",
            Self::Wrapping => "wrapping",
            Self::Completed => "completed",
        }
    }
    /// Whether the reservation occupies its worker (pending, accepted, wrapping).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Accepted | Self::Wrapping)
    }
    /// The EventBridge event name for entering this status.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Pending => "reservation.created",
            Self::Accepted => "reservation.accepted",
            Self::Rejected => "reservation.rejected",
            Self::Timeout => "reservation.timeout",
            Self::Canceled => "reservation.canceled",
            Self::Rescinded => "reservation.rescinded",
            Self::Wrapping => "reservation.wrapup",
            Self::Completed => "reservation.completed",
        }
    }
}

/// Where a task is in its workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingPos {
    /// Matched filter index, or `None` for the default filter.
    pub filter: Option<usize>,
    /// Target index within the filter (`== targets.len()` means the default queue).
    pub target: usize,
    /// When the current target was entered.
    pub since: UnixMillis,
}

/// A task.
#[derive(Debug, Clone)]
pub struct Task {
    /// SID.
    pub sid: TaskSid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Workflow.
    pub workflow: WorkflowSid,
    /// Attributes (a JSON object).
    pub attributes: Value,
    /// Status.
    pub status: TaskStatus,
    /// Priority.
    pub priority: i64,
    /// Reason (complete/cancel).
    pub reason: Option<String>,
    /// TTL, seconds.
    pub timeout: u64,
    /// Current queue.
    pub queue: Option<TaskQueueSid>,
    /// Workflow position.
    pub pos: RoutingPos,
    /// Workers that rejected or let a reservation of this task time out; never offered it again.
    pub excluded: Vec<WorkerSid>,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
    /// Version.
    pub version: u64,
}

/// A reservation.
#[derive(Debug, Clone)]
pub struct Reservation {
    /// SID.
    pub sid: ReservationSid,
    /// Workspace.
    pub workspace: WorkspaceSid,
    /// Task.
    pub task: TaskSid,
    /// Worker.
    pub worker: WorkerSid,
    /// Status.
    pub status: ResStatus,
    /// Timeout in seconds.
    pub timeout_secs: u64,
    /// When a pending reservation times out.
    pub timeout_at: UnixMillis,
    /// The instruction that settled it (conference, call, dequeue, redirect…), as received.
    pub instruction: Option<Value>,
    /// Reason code when canceled.
    pub canceled_reason_code: Option<u32>,
    /// Created.
    pub created: UnixMillis,
    /// Updated.
    pub updated: UnixMillis,
    /// Version.
    pub version: u64,
}

/// Renders `attributes` as the JSON string Twilio sends.
pub fn attrs_string(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

impl Activity {
    /// EventBridge shape.
    pub fn to_eb(&self, account: &AccountSid) -> eb::Activity {
        eb::Activity {
            account_sid: account.to_string(),
            available: self.available,
            date_created: self.created.secs(),
            date_updated: self.created.secs(),
            friendly_name: self.name.clone(),
            sid: self.sid.to_string(),
            workspace_sid: self.workspace.to_string(),
        }
    }
}

impl Worker {
    /// EventBridge shape.
    pub fn to_eb(&self, account: &AccountSid, activity: &Activity) -> eb::Worker {
        eb::Worker {
            account_sid: account.to_string(),
            activity_name: activity.name.clone(),
            activity_sid: activity.sid.to_string(),
            attributes: attrs_string(&self.attributes),
            available: activity.available,
            date_created: self.created.secs(),
            date_status_changed: self.status_changed.secs(),
            date_updated: self.updated.secs(),
            friendly_name: self.name.clone(),
            sid: self.sid.to_string(),
            workspace_sid: self.workspace.to_string(),
            version: self.version.to_string(),
        }
    }

    /// EventBridge shape of its default channel.
    pub fn channel_eb(&self, ws: &Workspace, busy: bool, available: bool) -> eb::WorkerChannel {
        eb::WorkerChannel {
            account_sid: ws.account.to_string(),
            assigned_tasks: u32::from(busy),
            available,
            available_capacity_percentage: if busy { 0 } else { 100 },
            configured_capacity: 1,
            date_created: self.created.secs(),
            date_updated: self.updated.secs(),
            last_reserved_time: self.last_reserved.map(|t| t.0),
            sid: self.channel_sid.clone(),
            task_channel_sid: ws.channel_sid.clone(),
            task_channel_unique_name: CHANNEL_NAME.into(),
            worker_sid: self.sid.to_string(),
            workspace_sid: self.workspace.to_string(),
        }
    }
}

impl Task {
    /// EventBridge shape.
    pub fn to_eb(
        &self,
        ws: &Workspace,
        workflow: Option<&Workflow>,
        queue: Option<&Queue>,
        now: UnixMillis,
    ) -> eb::Task {
        eb::Task {
            account_sid: ws.account.to_string(),
            addons: "{}".into(),
            age: now.secs().saturating_sub(self.created.secs()),
            assignment_status: self.status.as_str().into(),
            attributes: attrs_string(&self.attributes),
            date_created: self.created.secs(),
            date_updated: self.updated.secs(),
            priority: self.priority,
            queue_name: queue.map(|q| q.name.clone()),
            queue_sid: queue.map(|q| q.sid.to_string()),
            reason: self.reason.clone(),
            routing_target: None,
            sid: self.sid.to_string(),
            task_channel_sid: ws.channel_sid.clone(),
            task_channel_unique_name: CHANNEL_NAME.into(),
            timeout: self.timeout,
            workflow_name: workflow.map(|w| w.name.clone()).unwrap_or_default(),
            workflow_sid: self.workflow.to_string(),
            version: self.version.to_string(),
            virtual_start_time: self.created.secs(),
            workspace_sid: self.workspace.to_string(),
        }
    }
}

impl Reservation {
    /// EventBridge shape (with or without the task).
    pub fn to_eb(
        &self,
        ws: &Workspace,
        worker_name: &str,
        task: Option<eb::Task>,
    ) -> eb::Reservation {
        eb::Reservation {
            account_sid: ws.account.to_string(),
            date_created: self.created.secs(),
            date_updated: self.updated.secs(),
            reservation_status: self.status.as_str().into(),
            reservation_timeout: self.timeout_secs,
            sid: self.sid.to_string(),
            task_sid: self.task.to_string(),
            task_channel_sid: ws.channel_sid.clone(),
            version: self.version.to_string(),
            worker_name: worker_name.into(),
            worker_sid: self.worker.to_string(),
            workspace_sid: self.workspace.to_string(),
            task,
            canceled_reason_code: self.canceled_reason_code,
        }
    }
}
