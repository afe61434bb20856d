//! Workers: create, update (activity, attributes), delete, connect/disconnect grace.

use super::*;

impl TaskRouter {
    /// Sets a worker's activity (no validation of ownership; callers check), pushing and recording the change.
    pub(super) fn set_activity(&mut self, sid: &WorkerSid, activity: ActivitySid, now: UnixMillis) {
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
        let name = p.required_friendly_name()?;
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
        let activity = self
            .activity_param(ws, p, "ActivitySid")?
            .map_or(wsr.default_activity, |a| a.sid);
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
        let activity = self
            .activity_param(ws, p, "ActivitySid")?
            .map(|a| (a.sid, a.available));
        let attributes = p.json_object("Attributes", MAX_ATTRIBUTES)?;
        let name = p.friendly_name();
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
}
