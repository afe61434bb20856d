//! Agent login, logout and identity: `POST /v1/login`, `POST /v1/logout`, `GET /v1/me`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Agent, AgentSession};
use crate::error::{ApiError, ApiResult, AppJson};
use crate::state::AppState;

/// Login body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
}

/// Login answer.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    /// Bearer token for every other agent endpoint.
    pub session_token: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// The agent.
    pub agent: Agent,
}

/// `POST /v1/login`.
pub async fn login(
    State(state): State<AppState>,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (session_token, expires_at, agent) =
        auth::log_in(&state, &req.login, &req.password).await?;
    Ok(Json(LoginResponse {
        session_token,
        expires_at,
        agent,
    }))
}

/// `POST /v1/logout`: ends the current session.
pub async fn logout(
    State(state): State<AppState>,
    _who: AgentSession,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    if let Some(token) = auth::bearer(&headers) {
        auth::delete_session(&state.db, token).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`.
pub async fn me(AgentSession(agent): AgentSession) -> Json<Agent> {
    Json((*agent).clone())
}

/// `GET /v1/agents/me/active-call`: the resync snapshot of the agent's current interaction (spec §4.6), or 204.
pub async fn active_call(
    State(state): State<AppState>,
    crate::policy::SupportedAgent(agent): crate::policy::SupportedAgent,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    let Some(row) = crate::calls::active_for_agent(&state.db, &agent.id).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let customer = match &row.customer_id {
        Some(id) => crate::crm::by_id(&state.db, id)
            .await?
            .map(|c| serde_json::json!({"id": c.id, "name": c.name})),
        None => None,
    };
    Ok(Json(serde_json::json!({
        "task_sid": row.task_sid,
        "reservation_sid": row.reservation_sid,
        "conference_sid": row.conference_sid,
        "customer_call_sid": row.customer_call_sid,
        "agent_call_sid": row.agent_call_sid,
        "status": row.status.as_str(),
        "customer": customer,
    }))
    .into_response())
}

/// `GET /v1/roster`: the presence roster (supervisors and admins only).
pub async fn roster(
    State(state): State<AppState>,
    AgentSession(agent): AgentSession,
) -> ApiResult<Json<serde_json::Value>> {
    if agent.role < crate::auth::Role::Supervisor {
        return Err(ApiError::Forbidden("supervisors only"));
    }
    let agents = crate::roster::snapshot(&state.db).await?;
    Ok(Json(serde_json::json!({ "agents": agents })))
}
