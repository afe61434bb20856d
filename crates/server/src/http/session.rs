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
    if req.login.is_empty() || req.login.len() > 256 || req.password.len() > 1024 {
        return Err(ApiError::BadRequest(
            "login and password are required (login ≤ 256 bytes)".into(),
        ));
    }
    let id = state
        .auth
        .authenticate(&req.login, &req.password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or(ApiError::Unauthorized)?;
    let agent = auth::agent_by_id(&state.db, &id)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let (session_token, expires_at) =
        auth::create_session(&state.db, &id, state.config.server.session_ttl_secs).await?;
    tracing::info!(agent = %id, "agent logged in");
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
