//! Lookups: one resource by SID within its workspace (404 otherwise), and a workspace's resources.

use std::borrow::Borrow;

use super::*;

/// A resource that belongs to one workspace: looked up from another workspace it does not exist.
trait InWorkspace {
    /// The REST collection, for the 404 message (`Workers`).
    const COLLECTION: &'static str;
    /// The owning workspace.
    fn workspace_sid(&self) -> WorkspaceSid;
}

macro_rules! in_workspace {
    ($($ty:ty => $collection:literal),* $(,)?) => {$(
        impl InWorkspace for $ty {
            const COLLECTION: &'static str = $collection;
            fn workspace_sid(&self) -> WorkspaceSid {
                self.workspace
            }
        }
    )*};
}

in_workspace! {
    Activity => "Activities", Worker => "Workers", Queue => "TaskQueues", Workflow => "Workflows",
    Task => "Tasks", Reservation => "Reservations",
}

/// `sid` in `map` if it belongs to `ws`, else Twilio's 404.
fn scoped<'a, K, V>(
    map: &'a BTreeMap<K, V>,
    ws: &WorkspaceSid,
    sid: &str,
) -> Result<&'a V, ApiError>
where
    K: Ord + Borrow<str>,
    V: InWorkspace,
{
    map.get(sid)
        .filter(|v| v.workspace_sid() == *ws)
        .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{ws}/{}/{sid}", V::COLLECTION)))
}

/// The values of `map` that belong to `ws`.
fn of<K, V: InWorkspace>(map: &BTreeMap<K, V>, ws: WorkspaceSid) -> impl Iterator<Item = &V> {
    map.values().filter(move |v| v.workspace_sid() == ws)
}

impl TaskRouter {
    /// A workspace.
    pub fn workspace(&self, sid: &str) -> Result<&Workspace, ApiError> {
        self.workspaces
            .get(sid)
            .ok_or_else(|| ApiError::not_found(format!("/Workspaces/{sid}")))
    }
    /// An activity of the workspace.
    pub fn activity(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Activity, ApiError> {
        scoped(&self.activities, ws, sid)
    }
    /// The activity a request names in parameter `key`, if it names one (an unknown one is a 404).
    pub(super) fn activity_param(
        &self,
        ws: &WorkspaceSid,
        p: &Params,
        key: &str,
    ) -> Result<Option<&Activity>, ApiError> {
        p.str(key).map(|a| self.activity(ws, &a)).transpose()
    }
    /// A worker of the workspace.
    pub fn worker(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Worker, ApiError> {
        scoped(&self.workers, ws, sid)
    }
    /// A queue of the workspace.
    pub fn queue(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Queue, ApiError> {
        scoped(&self.queues, ws, sid)
    }
    /// A workflow of the workspace.
    pub fn workflow(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Workflow, ApiError> {
        scoped(&self.workflows, ws, sid)
    }
    /// A task of the workspace.
    pub fn task(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Task, ApiError> {
        scoped(&self.tasks, ws, sid)
    }
    /// A reservation of the workspace.
    pub fn reservation(&self, ws: &WorkspaceSid, sid: &str) -> Result<&Reservation, ApiError> {
        scoped(&self.reservations, ws, sid)
    }
    /// Activities of a workspace.
    pub fn activities_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Activity> {
        of(&self.activities, *ws)
    }
    /// Workers of a workspace.
    pub fn workers_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Worker> {
        of(&self.workers, *ws)
    }
    /// Queues of a workspace.
    pub fn queues_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Queue> {
        of(&self.queues, *ws)
    }
    /// Workflows of a workspace.
    pub fn workflows_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Workflow> {
        of(&self.workflows, *ws)
    }
    /// Tasks of a workspace.
    pub fn tasks_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Task> {
        of(&self.tasks, *ws)
    }
    /// Reservations of a workspace.
    pub fn reservations_of(&self, ws: &WorkspaceSid) -> impl Iterator<Item = &Reservation> {
        of(&self.reservations, *ws)
    }

    pub(super) fn activity_of(&self, w: &Worker) -> &Activity {
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
}
