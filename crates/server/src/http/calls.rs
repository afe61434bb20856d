//! `/v1/calls/{task}/…`: call control for the agent holding the task.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::control;
use crate::error::ApiResult;
use crate::policy::SupportedAgent;
use crate::state::AppState;

/// `POST /v1/calls/{task}/complete`: finish wrap-up (the worker leaves `wrapping`).
pub async fn complete(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    control::complete(&state, &agent, &task).await?;
    Ok(StatusCode::NO_CONTENT)
}
