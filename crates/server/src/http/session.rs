//! Agent login, refresh, logout and identity: `POST /v1/login`, `POST /v1/session/refresh`, `POST /v1/logout`,
//! `GET /v1/me`, plus the agent's own views: the active-call snapshot and the agent directory.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Agent, AgentSession};
use crate::error::{ApiError, ApiResult, AppJson};
use crate::refresh;
use crate::state::AppState;

/// Login body.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    /// Login name.
    pub login: String,
    /// Password.
    pub password: String,
}

/// Login (and refresh) answer.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    /// Bearer token for every other agent endpoint.
    pub session_token: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Opaque refresh token for `POST /v1/session/refresh` (single use: each refresh returns the next one).
    pub refresh_token: String,
    /// Refresh token expiry (Unix seconds).
    pub refresh_expires_at: i64,
    /// The agent.
    pub agent: Agent,
}

impl LoginResponse {
    fn new(issued: refresh::Issued, agent: Agent) -> Self {
        Self {
            session_token: issued.session_token,
            expires_at: issued.expires_at,
            refresh_token: issued.refresh_token,
            refresh_expires_at: issued.refresh_expires_at,
            agent,
        }
    }
}

/// `POST /v1/login`.
pub async fn login(
    State(state): State<AppState>,
    AppJson(req): AppJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let (issued, agent) = auth::log_in(&state, &req.login, &req.password).await?;
    Ok(Json(LoginResponse::new(issued, agent)))
}

/// Body of `POST /v1/session/refresh` (and the optional body of `POST /v1/logout`).
#[derive(Debug, Deserialize)]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub refresh_token: String,
}

/// `POST /v1/session/refresh`: spends the refresh token, answers like a login (401 `REFRESH_INVALID` /
/// `REFRESH_REUSED`).
pub async fn refresh(
    State(state): State<AppState>,
    AppJson(req): AppJson<RefreshRequest>,
) -> Result<Json<LoginResponse>, axum::response::Response> {
    use axum::response::IntoResponse;
    if req.refresh_token.is_empty() || req.refresh_token.len() > 256 {
        return Err(refresh::RefreshError::Invalid.into_response());
    }
    let ttl = auth::ttl(&state.config);
    let (issued, agent) = refresh::rotate(&state.db, &req.refresh_token, ttl)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(Json(LoginResponse::new(issued, agent)))
}

/// `POST /v1/logout`: ends the session and revokes its refresh family. Authenticated by the bearer session, or
/// by an optional body `{"refresh_token": "…"}` (an app whose session already expired); 401 if neither is valid.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let mut families = Vec::new();
    let mut authenticated = false;
    if let Some(token) = auth::bearer(&headers) {
        if auth::agent_for_token(&state.db, token).await?.is_some() {
            authenticated = true;
            families.extend(refresh::family_of_session(&state.db, token).await?);
            auth::delete_session(&state.db, token).await?;
        }
    }
    let body: Option<RefreshRequest> = serde_json::from_slice(&body).ok();
    if let Some(token) = body.map(|b| b.refresh_token).filter(|t| t.len() <= 256) {
        if let Some(family) = refresh::family_of_refresh(&state.db, &token).await? {
            authenticated = true;
            families.push(family);
        }
    }
    if !authenticated {
        return Err(ApiError::Unauthorized);
    }
    for family in families {
        refresh::revoke_family(&state.db, &family).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/agents/directory`: every other agent with presence, for the transfer dialog.
pub async fn directory(
    State(state): State<AppState>,
    crate::policy::SupportedAgent(agent): crate::policy::SupportedAgent,
) -> ApiResult<Json<serde_json::Value>> {
    let agents = crate::directory::list(&state.db, &agent.id).await?;
    Ok(Json(serde_json::json!({ "agents": agents })))
}

/// `GET /v1/me`.
pub async fn me(AgentSession(agent): AgentSession) -> Json<Agent> {
    Json((*agent).clone())
}

/// `GET /v1/agents/me/active-call`: the resync snapshot of the agent's current interaction (spec §4.6) and of
/// their outbound attempt (`outbound`), or 204 when there is neither.
pub async fn active_call(
    State(state): State<AppState>,
    crate::policy::SupportedAgent(agent): crate::policy::SupportedAgent,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse as _;
    Ok(match resync_snapshot(&state, &agent.id).await? {
        Some(body) => Json(body).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// The routed call's fields (absent without one) plus `outbound`: the live attempt, else the latest closed one,
/// as `{attempt, status (init|dialing|connected|failed|ended), conference_sid}` (`null` without any), the same
/// stages as the `outbound.*` pushes, so a client that missed one while disconnected catches up.
async fn resync_snapshot(state: &AppState, agent_id: &str) -> ApiResult<Option<serde_json::Value>> {
    let call = crate::calls::active_for_agent(&state.db, agent_id).await?;
    let outbound = crate::outbound::store::latest_for_agent(&state.db, agent_id).await?;
    if call.is_none() && outbound.is_none() {
        return Ok(None);
    }
    let mut body = serde_json::json!({});
    if let Some(row) = call {
        let customer = match &row.customer_id {
            Some(id) => crate::crm::context(&state.db, id).await?,
            None => None,
        };
        body = serde_json::json!({
            "task_sid": row.task_sid,
            "reservation_sid": row.reservation_sid,
            "conference_sid": row.conference_sid,
            "customer_call_sid": row.customer_call_sid,
            "agent_call_sid": row.agent_call_sid,
            "status": row.status.as_str(),
            "customer": customer,
        });
    }
    body["outbound"] = serde_json::json!(outbound.map(|a| serde_json::json!({
        "attempt": a.attempt,
        "status": a.status.as_str(),
        "conference_sid": a.conference_sid,
    })));
    Ok(Some(body))
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
