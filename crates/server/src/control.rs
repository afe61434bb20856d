//! Call control through the server (spec §5), for the agent who holds the task (or a supervisor).
//! So far: completing the task so the worker leaves `wrapping` (§5.8), idempotently.

use crate::auth::{Agent, Role};
use crate::calls::{self, CallRow, CallStatus};
use crate::error::ApiError;
use crate::state::AppState;

/// Twilio's "invalid state transition" code (e.g. completing a completed task).
const INVALID_TRANSITION: i64 = 20001;

/// Loads the interaction and checks that `agent` may act on it.
pub async fn authorize(
    state: &AppState,
    agent: &Agent,
    task_sid: &str,
) -> Result<CallRow, ApiError> {
    tsunagi_twilio::TaskSid::parse(task_sid)
        .map_err(|e| ApiError::BadRequest(format!("task: {e}")))?;
    let row = calls::get(&state.db, task_sid)
        .await?
        .ok_or(ApiError::NotFound("unknown task"))?;
    let holds = row.agent_id.as_deref() == Some(agent.id.as_str());
    if holds || agent.role >= Role::Supervisor {
        Ok(row)
    } else {
        Err(ApiError::Forbidden("this task belongs to another agent"))
    }
}

/// Completes the task (`AssignmentStatus=completed`). Completing an already completed task succeeds.
pub async fn complete(state: &AppState, agent: &Agent, task_sid: &str) -> Result<(), ApiError> {
    let row = authorize(state, agent, task_sid).await?;
    if row.status == CallStatus::Completed {
        return Ok(());
    }
    let form = [
        ("AssignmentStatus", "completed"),
        ("Reason", "wrap-up finished by the agent"),
    ];
    match state.rest.update_task(task_sid, &form).await {
        Ok(()) => {}
        Err(e) if e.twilio_code() == Some(INVALID_TRANSITION) => {
            if state.rest.task_status(task_sid).await?.as_deref() != Some("completed") {
                return Err(ApiError::Conflict {
                    code: "TASK_NOT_COMPLETABLE",
                    message: "the task cannot be completed in its current state".into(),
                });
            }
        }
        Err(e) => return Err(e.into()),
    }
    calls::set_status(&state.db, task_sid, CallStatus::Completed).await?;
    tracing::info!(task = task_sid, agent = %agent.id, "task completed");
    Ok(())
}
