//! The inbound-call flow (spec §4): task attributes for `<Enqueue>` (CRM lookup within a time budget, the owner
//! availability pre-check), the conference instruction for the assignment callback, and what the status
//! callbacks change. Handlers in [`crate::http::twilio`] only extract and call these.

use std::time::Duration;

use serde_json::{json, Value};

use crate::calls::{self, CallStatus};
use crate::config::Config;
use crate::crm::{self, Customer};
use crate::error::ApiError;
use crate::events::AgentEvent;
use crate::state::AppState;

/// Budget for the CRM lookup (spec §4.1 step 1).
pub const CRM_BUDGET: Duration = Duration::from_millis(1500);
/// Budget for the owner availability pre-check.
pub const PRECHECK_BUDGET: Duration = Duration::from_millis(1000);

/// Task attributes for an inbound call from `from` (spec §4.2–4.3). Routing keys are ASCII; the customer's
/// name travels only percent-encoded. An unknown or slow CRM gives an "unknown customer" task.
pub async fn enqueue_attributes(state: &AppState, call_sid: &str, from: &str, to: &str) -> Value {
    let customer = match tokio::time::timeout(CRM_BUDGET, crm::by_phone(&state.db, from)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "CRM lookup failed; routing as unknown customer");
            None
        }
        Err(_) => {
            tracing::warn!("CRM lookup over budget; routing as unknown customer");
            None
        }
    };
    let route_owner = match customer
        .as_ref()
        .and_then(|c| c.owner_worker_sid.as_deref())
    {
        Some(owner) => owner_available(state, owner).await,
        None => false,
    };
    attributes(call_sid, from, to, customer.as_ref(), route_owner)
}

async fn owner_available(state: &AppState, owner: &str) -> bool {
    match state.rest.worker_available(owner, PRECHECK_BUDGET).await {
        Ok(available) => available,
        Err(e) => {
            tracing::warn!(error = %e, "owner availability pre-check failed; skipping the owner");
            false
        }
    }
}

/// The attribute object (pure).
pub fn attributes(
    call_sid: &str,
    from: &str,
    to: &str,
    customer: Option<&Customer>,
    route_owner: bool,
) -> Value {
    let mut attrs = json!({
        "type": "inbound_call",
        "call_sid": call_sid,
        "from": from,
        "to": to,
        "route_owner": route_owner,
    });
    if let (Some(c), Some(obj)) = (customer, attrs.as_object_mut()) {
        obj.insert("customer_id".into(), c.id.clone().into());
        obj.insert(
            "customer_name_enc".into(),
            crm::encode_uri_component(&c.name).into(),
        );
        if let Some(d) = &c.department_id {
            obj.insert("department_id".into(), d.clone().into());
        }
        if let Some(w) = &c.owner_worker_sid {
            obj.insert("owner_worker_sid".into(), w.clone().into());
        }
    }
    attrs
}

/// The inputs of an assignment callback that shape the instruction.
#[derive(Debug, Clone)]
pub struct Assignment<'a> {
    /// `WT…`.
    pub task_sid: &'a str,
    /// `WR…`.
    pub reservation_sid: &'a str,
    /// The worker's `contact_uri` (`client:agent_1024`).
    pub contact_uri: &'a str,
    /// Caller id to show on the agent leg (the customer's number).
    pub from: Option<&'a str>,
}

/// The conference instruction (spec §4.5). The agent leg's `client:` URI carries `TaskSid` and `ReservationSid`
/// as custom parameters, the join key of the client's reconciler.
pub fn conference_instruction(config: &Config, a: &Assignment<'_>) -> Value {
    let public = &config.server.public_base_url;
    let tw = &config.twilio;
    let to = format!(
        "{}?TaskSid={}&ReservationSid={}",
        a.contact_uri, a.task_sid, a.reservation_sid
    );
    let mut v = json!({
        "instruction": "conference",
        "to": to,
        "from": a.from.or(tw.caller_id.as_deref()).unwrap_or(""),
        "timeout": tw.agent_ring_timeout_secs,
        "status_callback": format!("{public}/twilio/taskrouter/agent-leg?task={}&res={}", a.task_sid, a.reservation_sid),
        "status_callback_method": "POST",
        "status_callback_event": "initiated,ringing,answered,completed",
        "record": false,
        "muted": false,
        "beep": "false",
        "beep_on_customer_entrance": false,
        "start_conference_on_enter": true,
        "end_conference_on_exit": true,
        "end_conference_on_customer_exit": true,
        "early_media": true,
        "max_participants": 10,
        "conference_status_callback": format!("{public}/twilio/conference/status?task={}", a.task_sid),
        "conference_status_callback_method": "POST",
        "conference_status_callback_event": "start,end,join,leave,mute,hold",
        "conference_record": crate::twiml::record_mode(config),
        "conference_trim": "do-not-trim",
        "conference_recording_status_callback": format!("{public}/twilio/recording/status?task={}", a.task_sid),
        "conference_recording_status_callback_method": "POST",
        "region": tw.region,
    });
    if let (Some(wrap), Some(obj)) = (tw.wrapup_activity_sid, v.as_object_mut()) {
        obj.insert("post_work_activity_sid".into(), wrap.to_string().into());
    }
    v
}

/// Agent-leg statuses after which the reservation must be rejected (spec §5.9).
pub fn leg_failed(call_status: &str) -> bool {
    matches!(call_status, "busy" | "no-answer" | "failed" | "canceled")
}

/// Twilio codes meaning "the reservation is no longer pending": the reject already happened, treat as success.
fn reservation_gone(e: &crate::twilio_rest::RestError) -> bool {
    matches!(e.twilio_code(), Some(20001 | 20404 | 40136 | 40144)) || e.http_status() == Some(404)
}

/// Agent leg `call_status` for `task`/`res`: remembers the leg, or rejects the reservation when it failed.
pub async fn agent_leg(
    state: &AppState,
    task: &str,
    res: &str,
    call_sid: &str,
    call_status: &str,
) -> Result<(), ApiError> {
    if leg_failed(call_status) {
        let mut form = vec![("ReservationStatus", "rejected")];
        let missed = state
            .config
            .twilio
            .missed_activity_sid
            .map(|s| s.to_string());
        if let Some(m) = missed.as_deref() {
            form.push(("WorkerActivitySid", m));
        }
        match state.rest.update_reservation(task, res, &form).await {
            Ok(()) => tracing::info!(
                task,
                res,
                call_status,
                "agent leg failed; reservation rejected"
            ),
            Err(e) if reservation_gone(&e) => {
                tracing::info!(task, res, "reservation no longer pending")
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        calls::set_agent_leg(&state.db, task, res, call_sid).await?;
    }
    Ok(())
}

/// A conference status callback for `task`.
pub async fn conference_event(
    state: &AppState,
    task: &str,
    conference_sid: &str,
    event: &str,
    call_sid: Option<&str>,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    match event {
        "conference-start" | "participant-join" => {
            let joined = if event == "participant-join" {
                call_sid
            } else {
                None
            };
            let Some(row) = calls::on_conference(&state.db, task, conference_sid, joined).await?
            else {
                tracing::warn!(task, "conference event for an unknown task");
                return Ok(());
            };
            if row.hangup_requested {
                crate::control::end_conference(state, conference_sid).await?;
                tracing::info!(task, "queued hang-up applied on conference start");
                return Ok(());
            }
            if event == "participant-join" {
                push_context(state, &row).await?;
            }
        }
        "conference-end" => {
            calls::set_status(&state.db, task, CallStatus::Ended).await?;
            let Some(row) = calls::get(&state.db, task).await? else {
                return Ok(());
            };
            let (holder, _) = crate::transfer::holder(state, &row).await?;
            let ended = AgentEvent::CallEnded {
                task_sid: task.to_owned(),
                reason: reason.map(str::to_owned),
            };
            let mut told = row.agent_id.iter().chain(holder.iter()).collect::<Vec<_>>();
            told.dedup();
            for agent in told {
                state.hub.publish(agent, &ended).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Pushes `call.context` for `row` to its agent.
pub(crate) async fn push_context(state: &AppState, row: &calls::CallRow) -> Result<(), ApiError> {
    let (Some(agent), Some(conference_sid)) = (&row.agent_id, &row.conference_sid) else {
        return Ok(());
    };
    let customer = match &row.customer_id {
        Some(id) => crm::context(&state.db, id).await?,
        None => None,
    };
    let event = AgentEvent::CallContext {
        task_sid: row.task_sid.clone(),
        reservation_sid: row.reservation_sid.clone(),
        conference_sid: conference_sid.clone(),
        customer_call_sid: row.customer_call_sid.clone(),
        agent_call_sid: row.agent_call_sid.clone(),
        customer,
    };
    state.hub.publish(agent, &event).await?;
    Ok(())
}
