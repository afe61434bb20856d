//! Conference-based transfers (spec §5.4, §5.5): cold or warm, to another agent (`client:<identity>`, after an
//! availability check) or to a number, for the agent who currently has the customer.
//!
//! The target's leg is added to the task's conference with the label `transfer-<id>` and a status callback
//! carrying the id. Cold: when the target joins, the first agent's leg gets `EndConferenceOnExit=false` and is
//! removed (the target was added with `EndConferenceOnExit=true`). Warm: the customer is held, the target joins
//! with `EndConferenceOnExit=false` so the consult can fail safely; `complete` sets the target's flag, clears the
//! first agent's, removes them and resumes the customer; `cancel` removes the target and resumes the customer.
//! A target leg that ends busy / no-answer / failed / canceled (or a target who leaves mid-consult) resumes the
//! customer and tells the first agent with `transfer.failed` on `/v1/events`. Every step is keyed by the
//! transfer's status, so retried webhooks and double presses act once.

pub mod store;

use std::time::Duration;

use serde::Deserialize;

use crate::auth::{self, Agent};
use crate::calls::{self, CallRow, CallStatus};
use crate::control;
use crate::error::ApiError;
use crate::events::AgentEvent;
use crate::legs::{self, refs};
use crate::state::AppState;
pub use store::{Mode, Status, TransferRow};

/// Budget for the target's availability check.
const AVAILABILITY_BUDGET: Duration = Duration::from_secs(5);

/// Where to transfer: the JSON of `tsunagi_core::TransferTo` (`{"kind":"worker","worker":"WK…"}` or
/// `{"kind":"number","number":"+81…"}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Target {
    /// Another agent, by TaskRouter worker.
    Worker {
        /// `WK…`.
        worker: String,
    },
    /// A phone number (E.164).
    Number {
        /// `+81…`.
        number: String,
    },
}

/// Body of `POST /v1/calls/{task}/transfer`, exactly what the app sends.
#[derive(Debug, Clone, Deserialize)]
pub struct TransferRequest {
    /// Where to.
    pub to: Target,
    /// Cold or warm.
    pub mode: Mode,
}

/// What `POST …/transfer` answers.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Started {
    /// The transfer's id.
    pub transfer_id: String,
    /// Always `dialing`.
    pub status: &'static str,
}

/// The agent who has the customer now and their leg: the target of the latest completed transfer to an
/// agent, else the reserved agent.
pub async fn holder(
    state: &AppState,
    row: &CallRow,
) -> Result<(Option<String>, Option<String>), ApiError> {
    Ok(
        match store::latest_completed(&state.db, &row.task_sid).await? {
            Some(t) => (t.target_agent_id, t.call_sid),
            None => (row.agent_id.clone(), row.agent_call_sid.clone()),
        },
    )
}

/// The live interaction `agent` holds, with their leg; 404 / 403 / 409 otherwise.
async fn held_by(
    state: &AppState,
    agent: &Agent,
    task: &str,
) -> Result<(CallRow, String), ApiError> {
    tsunagi_twilio::TaskSid::parse(task).map_err(|e| ApiError::BadRequest(format!("task: {e}")))?;
    let row = calls::get(&state.db, task)
        .await?
        .ok_or(ApiError::NotFound("unknown task"))?;
    let (who, leg) = holder(state, &row).await?;
    if who.as_deref() != Some(agent.id.as_str()) {
        return Err(ApiError::Forbidden(
            "only the agent on the call can transfer it",
        ));
    }
    if matches!(
        row.status,
        CallStatus::Ended | CallStatus::Completed | CallStatus::Abandoned
    ) {
        return Err(ApiError::conflict("CALL_ENDED", "the call has ended"));
    }
    match (
        row.conference_sid.is_some(),
        row.customer_call_sid.is_some(),
        leg,
    ) {
        (true, true, Some(leg)) => Ok((row, leg)),
        _ => Err(control::not_ready()),
    }
}

/// Resolves the target to a `To` URI and its stored kind/value.
async fn resolve(
    state: &AppState,
    me: &Agent,
    to: &Target,
) -> Result<(String, &'static str, String), ApiError> {
    match to {
        Target::Number { number } if legs::is_e164(number) => {
            Ok((number.clone(), "number", number.clone()))
        }
        Target::Number { .. } => Err(ApiError::unprocessable(
            "INVALID_TARGET",
            "number must be E.164 (+81…)",
        )),
        Target::Worker { worker } => {
            let wk = tsunagi_twilio::WorkerSid::parse(worker)
                .map_err(|e| ApiError::unprocessable("INVALID_TARGET", format!("worker: {e}")))?;
            let Some(target) = auth::agent_by_worker(&state.db, wk.as_str()).await? else {
                return Err(ApiError::unprocessable(
                    "INVALID_TARGET",
                    "no agent has this worker",
                ));
            };
            if target.id == me.id {
                return Err(ApiError::unprocessable(
                    "INVALID_TARGET",
                    "cannot transfer to yourself",
                ));
            }
            if !state
                .rest
                .worker_available(wk.as_str(), AVAILABILITY_BUDGET)
                .await?
            {
                return Err(ApiError::conflict(
                    "TARGET_UNAVAILABLE",
                    "the agent is not available",
                ));
            }
            Ok((format!("client:{}", target.id), "agent", target.id))
        }
    }
}

/// The participant that rings the target (spec §5.4 step 2; §5.5 for `EndConferenceOnExit`).
pub fn leg_form(state: &AppState, id: &str, to: &str, mode: Mode) -> Vec<(&'static str, String)> {
    legs::form(
        state,
        &legs::Leg {
            to,
            label: &format!("transfer-{id}"),
            end_conference_on_exit: mode == Mode::Cold,
            timeout_secs: state.config.twilio.transfer_ring_timeout_secs,
            attempt: id,
            role: "transfer",
        },
    )
}

async fn set_hold(state: &AppState, row: &CallRow, on: bool) -> Result<(), ApiError> {
    let (Some(cf), Some(customer)) = (
        row.conference_sid.as_deref(),
        row.customer_call_sid.as_deref(),
    ) else {
        return Ok(());
    };
    let form = control::hold_form(on);
    match state
        .rest
        .update_participant(cf, customer, &refs(&form))
        .await
    {
        Ok(()) => Ok(()),
        Err(e) if e.http_status() == Some(404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Starts a transfer.
pub async fn start(
    state: &AppState,
    agent: &Agent,
    task: &str,
    req: &TransferRequest,
) -> Result<Started, ApiError> {
    let (row, from_leg) = held_by(state, agent, task).await?;
    let (to, kind, target) = resolve(state, agent, &req.to).await?;
    let id = uuid::Uuid::new_v4().simple().to_string();
    let cf = row.conference_sid.clone().unwrap_or_default();
    let new = store::NewTransfer {
        id: &id,
        task_sid: task,
        conference_sid: &cf,
        from_agent_id: &agent.id,
        from_call_sid: &from_leg,
        mode: req.mode,
        target_kind: kind,
        target: &target,
    };
    if !store::insert(&state.db, &new).await? {
        return Err(ApiError::conflict(
            "TRANSFER_IN_PROGRESS",
            "a transfer of this call is already under way",
        ));
    }
    let dialed = async {
        if req.mode == Mode::Warm {
            set_hold(state, &row, true).await?;
        }
        let form = leg_form(state, &id, &to, req.mode);
        Ok::<_, ApiError>(state.rest.create_participant(&cf, &refs(&form)).await?)
    }
    .await;
    match dialed {
        Ok(call) => store::set_call(&state.db, &id, &call).await?,
        Err(e) => {
            store::transition(
                &state.db,
                &id,
                &[Status::Dialing],
                Status::Failed,
                Some("create-failed"),
            )
            .await?;
            if req.mode == Mode::Warm {
                set_hold(state, &row, false).await?;
            }
            return Err(e);
        }
    }
    tracing::info!(task, transfer = %id, mode = ?req.mode, kind, "transfer dialing");
    Ok(Started {
        transfer_id: id,
        status: "dialing",
    })
}

/// Hands the customer over: the target ends the conference from now on, the first agent leaves (§5.5).
async fn hand_over(state: &AppState, t: &TransferRow) -> Result<(), ApiError> {
    let row = calls::get(&state.db, &t.task_sid)
        .await?
        .ok_or(ApiError::NotFound("unknown task"))?;
    let cf = t.conference_sid.as_str();
    if let (Mode::Warm, Some(target)) = (t.mode, t.call_sid.as_deref()) {
        state
            .rest
            .update_participant(cf, target, &[("EndConferenceOnExit", "true")])
            .await?;
    }
    let leg = t.from_call_sid.as_str();
    match state
        .rest
        .update_participant(cf, leg, &[("EndConferenceOnExit", "false")])
        .await
    {
        Ok(()) => state.rest.delete_participant(cf, leg).await.or_else(gone)?,
        Err(e) => gone(e)?,
    }
    if t.mode == Mode::Warm {
        set_hold(state, &row, false).await?;
    }
    if !store::transition(&state.db, &t.id, &[Status::Joined], Status::Completed, None).await? {
        return Ok(());
    }
    // The customer is someone else's now: the roster moves the "on a call" badge.
    state.roster.mark_dirty();
    if row.agent_id.as_deref() == Some(t.from_agent_id.as_str()) {
        // The reserved agent is out: their task wraps up (spec §5.4 step 4); they complete it as usual.
        if let Err(e) = state
            .rest
            .update_task(&t.task_sid, &[("AssignmentStatus", "wrapping")])
            .await
        {
            tracing::warn!(task = %t.task_sid, error = %e, "could not move the task to wrapping");
        }
    }
    let done = AgentEvent::TransferCompleted {
        task_sid: t.task_sid.clone(),
        transfer_id: t.id.clone(),
    };
    state.hub.publish(&t.from_agent_id, &done).await?;
    if let Some(target) = &t.target_agent_id {
        let mut handed = row.clone();
        handed.agent_id = Some(target.clone());
        handed.agent_call_sid = t.call_sid.clone();
        crate::inbound::push_context(state, &handed).await?;
    }
    tracing::info!(task = %t.task_sid, transfer = %t.id, "transfer completed");
    Ok(())
}

fn gone(e: crate::twilio_rest::RestError) -> Result<(), ApiError> {
    if e.http_status() == Some(404) {
        Ok(())
    } else {
        Err(e.into())
    }
}

/// Hands a cold transfer over in the background, so Twilio's callback is answered at once, retrying a
/// failed step (every step is idempotent) a few times with a growing pause.
fn spawn_hand_over(state: AppState, t: TransferRow) {
    tokio::spawn(async move {
        for attempt in 1..=4u32 {
            match hand_over(&state, &t).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(transfer = %t.id, attempt, error = %e, "hand-over step failed");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
            }
        }
        tracing::error!(transfer = %t.id, "hand-over gave up; the first agent is still on the call");
    });
}

/// Ends `t` as failed: resumes the customer (warm) and tells the first agent.
async fn fail(
    state: &AppState,
    t: &TransferRow,
    from: &[Status],
    reason: &str,
) -> Result<(), ApiError> {
    if !store::transition(&state.db, &t.id, from, Status::Failed, Some(reason)).await? {
        return Ok(());
    }
    if t.mode == Mode::Warm {
        if let Some(row) = calls::get(&state.db, &t.task_sid).await? {
            set_hold(state, &row, false).await?;
        }
    }
    let event = AgentEvent::TransferFailed {
        task_sid: t.task_sid.clone(),
        transfer_id: t.id.clone(),
        reason: reason.to_owned(),
    };
    state.hub.publish(&t.from_agent_id, &event).await?;
    tracing::info!(task = %t.task_sid, transfer = %t.id, reason, "transfer failed");
    Ok(())
}

/// Warm transfer: the first agent leaves, the customer is resumed with the target.
pub async fn complete(state: &AppState, agent: &Agent, task: &str) -> Result<(), ApiError> {
    let t = open_of(state, agent, task).await?;
    match (t.status, t.mode) {
        (Status::Joined, _) => hand_over(state, &t).await,
        (_, Mode::Cold) => Err(ApiError::conflict(
            "NOT_WARM",
            "a cold transfer completes by itself",
        )),
        _ => Err(ApiError::conflict(
            "TRANSFER_NOT_CONNECTED",
            "the target has not joined yet",
        )),
    }
}

/// Warm (or still ringing) transfer: drops the target's leg and resumes the customer.
pub async fn cancel(state: &AppState, agent: &Agent, task: &str) -> Result<(), ApiError> {
    let t = open_of(state, agent, task).await?;
    if !store::transition(
        &state.db,
        &t.id,
        &[Status::Dialing, Status::Joined],
        Status::Canceled,
        Some("canceled"),
    )
    .await?
    {
        return Ok(());
    }
    if let Some(leg) = t.call_sid.as_deref() {
        match state.rest.delete_participant(&t.conference_sid, leg).await {
            Ok(()) => {}
            // Still ringing (not a participant yet) or already gone: end the leg itself.
            Err(e) if e.http_status() == Some(404) => {
                if let Err(e) = state.rest.update_call(leg, &[("Status", "canceled")]).await {
                    tracing::info!(error = %e, "transfer leg already over");
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(row) = calls::get(&state.db, task).await? {
        set_hold(state, &row, false).await?;
    }
    tracing::info!(task, transfer = %t.id, "transfer canceled");
    Ok(())
}

async fn open_of(state: &AppState, agent: &Agent, task: &str) -> Result<TransferRow, ApiError> {
    held_by(state, agent, task).await?;
    store::open_for_task(&state.db, task)
        .await?
        .ok_or_else(|| ApiError::conflict("NO_TRANSFER", "no transfer is under way"))
}

/// The target leg's status callback (`/twilio/participant/status?attempt=<id>&role=transfer`).
pub async fn on_leg_status(
    state: &AppState,
    id: &str,
    call_sid: &str,
    status: &str,
) -> Result<(), ApiError> {
    let Some(t) = store::get(&state.db, id).await? else {
        tracing::info!(transfer = id, "status for an unknown transfer ignored");
        return Ok(());
    };
    store::set_call(&state.db, id, call_sid).await?;
    if legs::failed(status) {
        fail(state, &t, &[Status::Dialing], status).await
    } else if status == "completed" {
        fail(state, &t, &[Status::Joined], "target-left").await
    } else {
        Ok(())
    }
}

/// A participant joined or left the task's conference: the target's join moves the transfer on.
pub async fn on_participant(
    state: &AppState,
    task: &str,
    event: &str,
    call_sid: Option<&str>,
    label: Option<&str>,
) -> Result<(), ApiError> {
    let Some(t) = store::open_for_task(&state.db, task).await? else {
        return Ok(());
    };
    let by_label = label.and_then(|l| l.strip_prefix("transfer-")) == Some(t.id.as_str());
    let by_call = call_sid.is_some() && t.call_sid.as_deref() == call_sid;
    if !(by_label || by_call) {
        return Ok(());
    }
    if let Some(call) = call_sid {
        store::set_call(&state.db, &t.id, call).await?;
    }
    match event {
        "participant-join" => {
            store::transition(&state.db, &t.id, &[Status::Dialing], Status::Joined, None).await?;
            let Some(t) = store::get(&state.db, &t.id)
                .await?
                .filter(|t| t.status == Status::Joined)
            else {
                return Ok(());
            };
            match t.mode {
                Mode::Cold => {
                    spawn_hand_over(state.clone(), t);
                    Ok(())
                }
                Mode::Warm => {
                    let event = AgentEvent::TransferConnected {
                        task_sid: t.task_sid.clone(),
                        transfer_id: t.id.clone(),
                    };
                    Ok(state.hub.publish(&t.from_agent_id, &event).await?)
                }
            }
        }
        "participant-leave" => fail(state, &t, &[Status::Joined], "target-left").await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_body() {
        let w: TransferRequest = serde_json::from_str(
            r#"{"to":{"kind":"worker","worker":"WK55555555555555555555555555555555"},"mode":"cold"}"#,
        )
        .unwrap();
        assert!(matches!(w.to, Target::Worker { .. }) && w.mode == Mode::Cold);
        let n: TransferRequest = serde_json::from_str(
            r#"{"to":{"kind":"number","number":"+81312345678"},"mode":"warm"}"#,
        )
        .unwrap();
        assert!(matches!(n.to, Target::Number { .. }) && n.mode == Mode::Warm);
        assert!(serde_json::from_str::<TransferRequest>(
            r#"{"to":{"kind":"queue"},"mode":"cold"}"#
        )
        .is_err());
    }
}
