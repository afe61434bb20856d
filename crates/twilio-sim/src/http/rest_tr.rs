//! TaskRouter public REST (`/v1/Workspaces/…`): Basic auth, form-encoded requests, Twilio JSON responses.
//!
//! Handlers only authenticate, parse and call the engine; rendering is in [`super::render`]. A workspace is visible
//! to its account and to that account's parent.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tsunagi_twilio::sid::WorkspaceSid;

use super::render::{list, rest};
use super::rest::{serve, Req};
use crate::clock::UnixMillis;
use crate::error::ApiError;
use crate::params::Params;
use crate::shared::{lock, Shared};
use crate::taskrouter::TaskRouter;

/// `/v1/Workspaces` and `/v1/Workspaces/{*rest}`.
pub async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    rest: Option<Path<String>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let path = format!("Workspaces/{}", rest.map(|Path(r)| r).unwrap_or_default());
    serve(s, method, &path, &headers, q, &body, dispatch).await
}

fn page_args(p: &Params) -> Result<(usize, usize), ApiError> {
    Ok((
        p.u64("Page")?.unwrap_or(0) as usize,
        p.u64("PageSize")?.unwrap_or(50) as usize,
    ))
}

/// Routes one REST request.
fn dispatch(s: &Arc<Shared>, r: &Req) -> Result<(StatusCode, Value), ApiError> {
    let segs: Vec<&str> = r.segs.iter().map(String::as_str).collect();
    let p = &r.params;
    let im = r.if_match.as_deref();
    let ok = |v: Value| Ok((StatusCode::OK, v));
    let created = |v: Value| Ok((StatusCode::CREATED, v));
    let gone = || Ok((StatusCode::NO_CONTENT, Value::Null));
    let (page, size) = page_args(p)?;
    use Method as M;
    // Workspace collection.
    if segs.len() == 1 {
        return match r.method {
            M::GET => {
                let tr = lock(&s.tr);
                let accounts = lock(&s.accounts);
                let items = tr
                    .workspaces
                    .values()
                    .filter(|w| accounts.can_access(&r.principal, &w.account))
                    .map(|w| workspace_json(&r.base, w))
                    .collect();
                ok(list(
                    &r.base,
                    "/v1/Workspaces",
                    "workspaces",
                    items,
                    page,
                    size,
                ))
            }
            M::POST => Err(ApiError::new(
                400,
                20001,
                "Workspaces are created from the stand-in's config file",
            )),
            _ => Err(ApiError::new(405, 20004, "Method not allowed")),
        };
    }
    let ws = {
        let tr = lock(&s.tr);
        let ws = tr.parse_workspace(segs[1])?;
        let owner = tr.workspace(ws.as_str())?.account;
        if !lock(&s.accounts).can_access(&r.principal, &owner) {
            return Err(ApiError::not_found(format!("/Workspaces/{ws}")));
        }
        ws
    };
    let wsp = format!("/v1/Workspaces/{ws}");
    match (&r.method, &segs[2..]) {
        (&M::GET, []) => ok(workspace_json(&r.base, lock(&s.tr).workspace(ws.as_str())?)),
        (&M::POST, []) => {
            let mut tr = lock(&s.tr);
            let w = tr
                .workspaces
                .get_mut(&ws)
                .ok_or_else(|| ApiError::not_found(&wsp))?;
            if let Some(n) = p.str("FriendlyName").filter(|n| !n.is_empty()) {
                w.name = n;
            }
            if let Some(u) = p.str("EventCallbackUrl") {
                w.event_callback_url = Some(u).filter(|u| !u.is_empty());
            }
            let w = w.clone();
            ok(workspace_json(&r.base, &w))
        }
        // Activities
        (&M::GET, ["Activities"]) => {
            let tr = lock(&s.tr);
            let acc = tr.workspace(ws.as_str())?.account;
            let items = tr
                .activities_of(&ws)
                .map(|a| {
                    rest(
                        to_value(&a.to_eb(&acc)),
                        format!("{}{wsp}/Activities/{}", r.base, a.sid),
                    )
                })
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Activities"),
                "activities",
                items,
                page,
                size,
            ))
        }
        (&M::POST, ["Activities"]) => {
            let sid = s.with_tr(|tr, now| tr.create_activity(&ws, p, now))?;
            created(activity_json(s, &r.base, &ws, sid.as_str())?)
        }
        (&M::GET, ["Activities", a]) => ok(activity_json(s, &r.base, &ws, a)?),
        (&M::DELETE, ["Activities", a]) => {
            s.with_tr(|tr, _| tr.delete_activity(&ws, a))?;
            gone()
        }
        // Workers
        (&M::GET, ["Workers"]) => {
            let tr = lock(&s.tr);
            let filter_name = p.str("FriendlyName");
            let filter_act = p.str("ActivitySid");
            let filter_act_name = p.str("ActivityName");
            let filter_avail = p.bool("Available")?;
            let expr = p
                .str("TargetWorkersExpression")
                .map(|e| crate::taskrouter::expr::Expr::parse(&e))
                .transpose()
                .map_err(|e| ApiError::invalid(format!("TargetWorkersExpression: {e}")))?;
            let items = tr
                .workers_of(&ws)
                .filter(|w| filter_name.as_ref().is_none_or(|n| &w.name == n))
                .filter(|w| filter_act.as_ref().is_none_or(|a| w.activity.as_str() == a))
                .filter(|w| {
                    filter_act_name.as_ref().is_none_or(|n| {
                        tr.activities.get(&w.activity).is_some_and(|a| &a.name == n)
                    })
                })
                .filter(|w| filter_avail.is_none_or(|av| tr.is_available(w) == av))
                .filter(|w| {
                    expr.as_ref().is_none_or(|e| {
                        e.eval(&crate::taskrouter::expr::Ctx {
                            default_scope: crate::taskrouter::expr::Scope::Worker,
                            task: None,
                            worker: Some(&w.attributes),
                            workers: None,
                        })
                    })
                })
                .map(|w| worker_json(&tr, &r.base, w))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Workers"),
                "workers",
                items,
                page,
                size,
            ))
        }
        (&M::POST, ["Workers"]) => {
            let sid = s.with_tr(|tr, now| tr.create_worker(&ws, p, now))?;
            let tr = lock(&s.tr);
            created(worker_json(&tr, &r.base, tr.worker(&ws, sid.as_str())?))
        }
        (&M::GET, ["Workers", "Statistics"])
        | (&M::GET, ["Workers", "RealTimeStatistics"])
        | (&M::GET, ["Workers", "CumulativeStatistics"]) => {
            ok(workers_statistics(&lock(&s.tr), &ws, &r.base, &wsp))
        }
        (&M::GET, ["Workers", w]) => {
            let tr = lock(&s.tr);
            ok(worker_json(&tr, &r.base, tr.worker(&ws, w)?))
        }
        (&M::POST, ["Workers", w]) => {
            let sid = s.with_tr(|tr, now| tr.update_worker(&ws, w, p, im, now))?;
            let tr = lock(&s.tr);
            ok(worker_json(&tr, &r.base, tr.worker(&ws, sid.as_str())?))
        }
        (&M::DELETE, ["Workers", w]) => {
            s.with_tr(|tr, now| tr.delete_worker(&ws, w, now))?;
            gone()
        }
        (&M::GET, ["Workers", w, "Channels"]) => {
            let tr = lock(&s.tr);
            let wk = tr.worker(&ws, w)?;
            let item = rest(
                to_value(&tr.channel_eb(wk)),
                format!("{}{wsp}/Workers/{w}/Channels/{}", r.base, wk.channel_sid),
            );
            ok(list(
                &r.base,
                &format!("{wsp}/Workers/{w}/Channels"),
                "channels",
                vec![item],
                page,
                size,
            ))
        }
        (&M::GET, ["Workers", w, "Statistics"]) => {
            let tr = lock(&s.tr);
            let wk = tr.worker(&ws, w)?;
            let accepted = tr
                .reservations_of(&ws)
                .filter(|x| {
                    x.worker == wk.sid
                        && matches!(
                            x.status,
                            crate::taskrouter::model::ResStatus::Accepted
                                | crate::taskrouter::model::ResStatus::Wrapping
                                | crate::taskrouter::model::ResStatus::Completed
                        )
                })
                .count();
            let created_n = tr
                .reservations_of(&ws)
                .filter(|x| x.worker == wk.sid)
                .count();
            let rejected = tr
                .reservations_of(&ws)
                .filter(|x| {
                    x.worker == wk.sid && x.status == crate::taskrouter::model::ResStatus::Rejected
                })
                .count();
            let timed_out = tr
                .reservations_of(&ws)
                .filter(|x| {
                    x.worker == wk.sid && x.status == crate::taskrouter::model::ResStatus::Timeout
                })
                .count();
            let acc = tr.workspace(ws.as_str())?.account;
            ok(
                json!({"account_sid": acc.to_string(), "workspace_sid": ws.to_string(), "worker_sid": wk.sid.to_string(),
                "cumulative": {"reservations_created": created_n, "reservations_accepted": accepted, "reservations_rejected": rejected, "reservations_timed_out": timed_out, "activity_durations": []},
                "url": format!("{}{wsp}/Workers/{w}/Statistics", r.base)}),
            )
        }
        (&M::GET, ["Workers", w, "Reservations"]) => {
            let tr = lock(&s.tr);
            let wk = tr.worker(&ws, w)?.sid;
            let status = p.str("ReservationStatus");
            let now = s.now();
            let items = tr
                .reservations_of(&ws)
                .filter(|x| {
                    x.worker == wk && status.as_ref().is_none_or(|st| x.status.as_str() == st)
                })
                .map(|x| reservation_json(&tr, &r.base, x, now))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Workers/{w}/Reservations"),
                "reservations",
                items,
                page,
                size,
            ))
        }
        (&M::GET, ["Workers", w, "Reservations", res])
        | (&M::GET, ["Tasks", w, "Reservations", res]) => {
            let tr = lock(&s.tr);
            let x = tr.reservation(&ws, res)?;
            if x.worker.as_str() != *w && x.task.as_str() != *w {
                return Err(ApiError::not_found(format!("{wsp}/Reservations/{res}")));
            }
            ok(reservation_json(&tr, &r.base, x, s.now()))
        }
        (&M::POST, ["Workers", w, "Reservations", res]) => {
            let sid = s.with_tr(|tr, now| tr.update_reservation(&ws, res, Some(w), p, im, now))?;
            let tr = lock(&s.tr);
            ok(reservation_json(
                &tr,
                &r.base,
                tr.reservation(&ws, sid.as_str())?,
                s.now(),
            ))
        }
        (&M::POST, ["Tasks", t, "Reservations", res]) => {
            let task_ok = lock(&s.tr).reservation(&ws, res)?.task.as_str() == *t;
            if !task_ok {
                return Err(ApiError::not_found(format!(
                    "{wsp}/Tasks/{t}/Reservations/{res}"
                )));
            }
            let sid = s.with_tr(|tr, now| tr.update_reservation(&ws, res, None, p, im, now))?;
            let tr = lock(&s.tr);
            ok(reservation_json(
                &tr,
                &r.base,
                tr.reservation(&ws, sid.as_str())?,
                s.now(),
            ))
        }
        // Queues
        (&M::GET, ["TaskQueues"]) => {
            let tr = lock(&s.tr);
            let name = p.str("FriendlyName");
            let items = tr
                .queues_of(&ws)
                .filter(|q| name.as_ref().is_none_or(|n| &q.name == n))
                .map(|q| queue_json(&tr, &r.base, q))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/TaskQueues"),
                "task_queues",
                items,
                page,
                size,
            ))
        }
        (&M::POST, ["TaskQueues"]) => {
            let sid = s.with_tr(|tr, now| tr.create_queue(&ws, p, now))?;
            let tr = lock(&s.tr);
            created(queue_json(&tr, &r.base, tr.queue(&ws, sid.as_str())?))
        }
        (&M::GET, ["TaskQueues", q]) => {
            let tr = lock(&s.tr);
            ok(queue_json(&tr, &r.base, tr.queue(&ws, q)?))
        }
        (&M::POST, ["TaskQueues", q]) => {
            let sid = s.with_tr(|tr, now| tr.update_queue(&ws, q, p, now))?;
            let tr = lock(&s.tr);
            ok(queue_json(&tr, &r.base, tr.queue(&ws, sid.as_str())?))
        }
        (&M::DELETE, ["TaskQueues", q]) => {
            s.with_tr(|tr, _| tr.delete_queue(&ws, q))?;
            gone()
        }
        (&M::DELETE, ["Workflows", w]) => {
            s.with_tr(|tr, _| tr.delete_workflow(&ws, w))?;
            gone()
        }
        (&M::GET, ["TaskQueues", q, "Statistics"])
        | (&M::GET, ["TaskQueues", q, "RealTimeStatistics"])
        | (&M::GET, ["TaskQueues", q, "CumulativeStatistics"]) => {
            let tr = lock(&s.tr);
            ok(queue_statistics(
                &tr,
                &ws,
                tr.queue(&ws, q)?,
                &r.base,
                &wsp,
                segs.last().copied().unwrap_or(""),
            ))
        }
        // Workflows
        (&M::GET, ["Workflows"]) => {
            let tr = lock(&s.tr);
            let items = tr
                .workflows_of(&ws)
                .map(|w| workflow_json(&tr, &r.base, w))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Workflows"),
                "workflows",
                items,
                page,
                size,
            ))
        }
        (&M::POST, ["Workflows"]) => {
            let sid = s.with_tr(|tr, now| tr.create_workflow(&ws, p, now))?;
            let tr = lock(&s.tr);
            created(workflow_json(&tr, &r.base, tr.workflow(&ws, sid.as_str())?))
        }
        (&M::GET, ["Workflows", w]) => {
            let tr = lock(&s.tr);
            ok(workflow_json(&tr, &r.base, tr.workflow(&ws, w)?))
        }
        (&M::POST, ["Workflows", w]) => {
            let sid = s.with_tr(|tr, now| tr.update_workflow(&ws, w, p, now))?;
            let tr = lock(&s.tr);
            ok(workflow_json(&tr, &r.base, tr.workflow(&ws, sid.as_str())?))
        }
        // Tasks
        (&M::GET, ["Tasks"]) => {
            let tr = lock(&s.tr);
            let status = p.str("AssignmentStatus");
            let wf = p.str("WorkflowSid");
            let q = p.str("TaskQueueSid");
            let now = s.now();
            let items = tr
                .tasks_of(&ws)
                .filter(|t| {
                    status
                        .as_ref()
                        .is_none_or(|st| st.split(',').any(|x| x.trim() == t.status.as_str()))
                })
                .filter(|t| wf.as_ref().is_none_or(|w| t.workflow.as_str() == w))
                .filter(|t| {
                    q.as_ref()
                        .is_none_or(|qq| t.queue.is_some_and(|x| x.as_str() == qq))
                })
                .map(|t| task_json(&tr, &r.base, t, now))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Tasks"),
                "tasks",
                items,
                page,
                size,
            ))
        }
        (&M::POST, ["Tasks"]) => {
            let sid = s.with_tr(|tr, now| tr.create_task(&ws, p, now))?;
            let tr = lock(&s.tr);
            created(task_json(
                &tr,
                &r.base,
                tr.task(&ws, sid.as_str())?,
                s.now(),
            ))
        }
        (&M::GET, ["Tasks", t]) => {
            let tr = lock(&s.tr);
            ok(task_json(&tr, &r.base, tr.task(&ws, t)?, s.now()))
        }
        (&M::POST, ["Tasks", t]) => {
            let sid = s.with_tr(|tr, now| tr.update_task(&ws, t, p, im, now))?;
            let tr = lock(&s.tr);
            ok(task_json(
                &tr,
                &r.base,
                tr.task(&ws, sid.as_str())?,
                s.now(),
            ))
        }
        (&M::DELETE, ["Tasks", t]) => {
            s.with_tr(|tr, now| tr.delete_task(&ws, t, now))?;
            gone()
        }
        (&M::GET, ["Tasks", t, "Reservations"]) => {
            let tr = lock(&s.tr);
            let task = tr.task(&ws, t)?.sid;
            let now = s.now();
            let items = tr
                .reservations_of(&ws)
                .filter(|x| x.task == task)
                .map(|x| reservation_json(&tr, &r.base, x, now))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Tasks/{t}/Reservations"),
                "reservations",
                items,
                page,
                size,
            ))
        }
        // Events
        (&M::GET, ["Events"]) => {
            let tr = lock(&s.tr);
            let kind = p.str("EventType");
            let items = tr
                .events_of(&ws)
                .filter(|e| kind.as_ref().is_none_or(|k| &e.event_type == k))
                .map(|e| json!({"sid": e.sid, "event_type": e.event_type, "resource_sid": e.resource_sid, "event_date": UnixMillis(e.timestamp_ms).iso8601(), "event_date_ms": e.timestamp_ms, "event_data": e.data, "workspace_sid": e.workspace_sid}))
                .collect();
            ok(list(
                &r.base,
                &format!("{wsp}/Events"),
                "events",
                items,
                page,
                size,
            ))
        }
        (&M::GET, _) | (&M::POST, _) | (&M::DELETE, _) => {
            Err(ApiError::not_found(format!("/v1/{}", r.segs.join("/"))))
        }
        _ => Err(ApiError::new(405, 20004, "Method not allowed")),
    }
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn workspace_json(base: &str, w: &crate::taskrouter::model::Workspace) -> Value {
    json!({
        "account_sid": w.account.to_string(), "sid": w.sid.to_string(), "friendly_name": w.name,
        "event_callback_url": w.event_callback_url, "default_activity_sid": w.default_activity.to_string(),
        "timeout_activity_sid": w.timeout_activity.to_string(), "multi_task_enabled": false, "prioritize_queue_order": "FIFO",
        "date_created": w.created.iso8601(), "date_updated": w.updated.iso8601(),
        "url": format!("{base}/v1/Workspaces/{}", w.sid), "links": {},
    })
}

fn activity_json(s: &Shared, base: &str, ws: &WorkspaceSid, a: &str) -> Result<Value, ApiError> {
    let tr = lock(&s.tr);
    let acc = tr.workspace(ws.as_str())?.account;
    let a = tr.activity(ws, a)?;
    Ok(rest(
        to_value(&a.to_eb(&acc)),
        format!("{base}/v1/Workspaces/{ws}/Activities/{}", a.sid),
    ))
}

fn worker_json(tr: &TaskRouter, base: &str, w: &crate::taskrouter::model::Worker) -> Value {
    rest(
        to_value(&tr.worker_eb(w)),
        format!("{base}/v1/Workspaces/{}/Workers/{}", w.workspace, w.sid),
    )
}

fn task_json(
    tr: &TaskRouter,
    base: &str,
    t: &crate::taskrouter::model::Task,
    now: UnixMillis,
) -> Value {
    rest(
        to_value(&tr.task_eb(t, now)),
        format!("{base}/v1/Workspaces/{}/Tasks/{}", t.workspace, t.sid),
    )
}

fn reservation_json(
    tr: &TaskRouter,
    base: &str,
    x: &crate::taskrouter::model::Reservation,
    now: UnixMillis,
) -> Value {
    let mut v = rest(
        to_value(&tr.reservation_eb(x, false, now)),
        format!(
            "{base}/v1/Workspaces/{}/Tasks/{}/Reservations/{}",
            x.workspace, x.task, x.sid
        ),
    );
    if let Value::Object(m) = &mut v {
        m.insert(
            "instruction".into(),
            x.instruction.clone().unwrap_or(Value::Null),
        );
    }
    v
}

fn queue_json(tr: &TaskRouter, base: &str, q: &crate::taskrouter::model::Queue) -> Value {
    let name = |a: &Option<tsunagi_twilio::sid::ActivitySid>| {
        a.and_then(|a| tr.activities.get(&a))
            .map(|a| a.name.clone())
    };
    json!({
        "account_sid": tr.workspaces.get(&q.workspace).map(|w| w.account.to_string()), "workspace_sid": q.workspace.to_string(),
        "sid": q.sid.to_string(), "friendly_name": q.name, "target_workers": q.target_workers,
        "reservation_activity_sid": q.reservation_activity.map(|a| a.to_string()), "reservation_activity_name": name(&q.reservation_activity),
        "assignment_activity_sid": q.assignment_activity.map(|a| a.to_string()), "assignment_activity_name": name(&q.assignment_activity),
        "max_reserved_workers": 1, "task_order": "FIFO",
        "date_created": q.created.iso8601(), "date_updated": q.updated.iso8601(),
        "url": format!("{base}/v1/Workspaces/{}/TaskQueues/{}", q.workspace, q.sid), "links": {},
    })
}

fn workflow_json(tr: &TaskRouter, base: &str, w: &crate::taskrouter::model::Workflow) -> Value {
    json!({
        "account_sid": tr.workspaces.get(&w.workspace).map(|x| x.account.to_string()), "workspace_sid": w.workspace.to_string(),
        "sid": w.sid.to_string(), "friendly_name": w.name, "configuration": w.configuration,
        "assignment_callback_url": w.assignment_callback_url, "fallback_assignment_callback_url": w.fallback_assignment_callback_url,
        "task_reservation_timeout": w.task_reservation_timeout, "document_content_type": "application/json",
        "date_created": w.created.iso8601(), "date_updated": w.updated.iso8601(),
        "url": format!("{base}/v1/Workspaces/{}/Workflows/{}", w.workspace, w.sid), "links": {},
    })
}

fn activity_counts(
    tr: &TaskRouter,
    workers: &[&crate::taskrouter::model::Worker],
    ws: &WorkspaceSid,
) -> Vec<Value> {
    tr.activities_of(ws)
        .map(|a| json!({"sid": a.sid.to_string(), "friendly_name": a.name, "workers": workers.iter().filter(|w| w.activity == a.sid).count()}))
        .collect()
}

fn workers_statistics(tr: &TaskRouter, ws: &WorkspaceSid, base: &str, wsp: &str) -> Value {
    let workers: Vec<_> = tr.workers_of(ws).collect();
    json!({
        "account_sid": tr.workspaces.get(ws).map(|w| w.account.to_string()), "workspace_sid": ws.to_string(),
        "realtime": {"activity_statistics": activity_counts(tr, &workers, ws), "total_workers": workers.len()},
        "activity_statistics": activity_counts(tr, &workers, ws), "total_workers": workers.len(),
        "cumulative": {"reservations_created": tr.reservations_of(ws).count()},
        "url": format!("{base}{wsp}/Workers/Statistics"),
    })
}

fn queue_statistics(
    tr: &TaskRouter,
    ws: &WorkspaceSid,
    q: &crate::taskrouter::model::Queue,
    base: &str,
    wsp: &str,
    which: &str,
) -> Value {
    use crate::taskrouter::expr::{Ctx, Scope};
    let members: Vec<_> = tr
        .workers_of(ws)
        .filter(|w| {
            q.target_expr.eval(&Ctx {
                default_scope: Scope::Worker,
                task: None,
                worker: Some(&w.attributes),
                workers: None,
            })
        })
        .collect();
    let by_status = |st: &str| {
        tr.tasks_of(ws)
            .filter(|t| t.queue == Some(q.sid) && t.status.as_str() == st)
            .count()
    };
    let available = members.iter().filter(|w| tr.is_available(w)).count();
    let eligible = members
        .iter()
        .filter(|w| tr.is_available(w) && !tr.is_busy(&w.sid))
        .count();
    let realtime = json!({
        "tasks_by_status": {"pending": by_status("pending"), "reserved": by_status("reserved"), "assigned": by_status("assigned"), "wrapping": by_status("wrapping")},
        "total_tasks": tr.tasks_of(ws).filter(|t| t.queue == Some(q.sid) && t.status.is_live()).count(),
        "total_available_workers": available, "total_eligible_workers": eligible,
        "activity_statistics": activity_counts(tr, &members, ws),
    });
    let cumulative = json!({
        "tasks_entered": tr.tasks_of(ws).filter(|t| t.queue == Some(q.sid)).count(),
        "tasks_completed": by_status("completed"), "tasks_canceled": by_status("canceled"),
        "reservations_created": tr.reservations_of(ws).filter(|x| tr.tasks.get(&x.task).is_some_and(|t| t.queue == Some(q.sid))).count(),
    });
    let mut v = json!({
        "account_sid": tr.workspaces.get(ws).map(|w| w.account.to_string()), "workspace_sid": ws.to_string(),
        "task_queue_sid": q.sid.to_string(), "url": format!("{base}{wsp}/TaskQueues/{}/{which}", q.sid),
    });
    if let Value::Object(m) = &mut v {
        match which {
            "RealTimeStatistics" => {
                if let Value::Object(rt) = realtime {
                    m.extend(rt);
                }
            }
            "CumulativeStatistics" => {
                if let Value::Object(c) = cumulative {
                    m.extend(c);
                }
            }
            _ => {
                m.insert("realtime".into(), realtime);
                m.insert("cumulative".into(), cumulative);
            }
        }
    }
    v
}
