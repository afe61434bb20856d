//! `/v1/calls/{task}/…`: call control for the agent holding the task (or, for hold / unhold / hang-up /
//! complete, the agent who dialled an outbound call `ob-<attempt>`), and `GET /v1/calls/history`.

use axum::extract::{Path, State};
use axum::http::StatusCode;

use crate::control;
use crate::error::ApiResult;
use crate::policy::SupportedAgent;
use crate::state::AppState;
use crate::transfer;

/// `POST /v1/calls/{task}/complete` `[{"notes": "…"}]`: finish wrap-up (the worker leaves `wrapping`), storing
/// the notes (≤ 2,000 characters, else 422 `NOTES_TOO_LONG`).
pub async fn complete(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let notes = control::complete_notes(&body)?;
    control::complete(&state, &agent, &task, notes.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /v1/calls/history`.
#[derive(Debug, serde::Deserialize)]
pub struct HistoryQuery {
    /// Page size, 1..=200 (default 50).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only calls created before this (Unix ms): the previous page's `next_before`.
    #[serde(default)]
    pub before: Option<i64>,
}

/// `GET /v1/calls/history?limit=50&before=<unix ms>`: the calls the signed-in agent had a leg in, newest first.
pub async fn history(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    query: Result<axum::extract::Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::Json<crate::history::Page>> {
    use crate::error::ApiError;
    let axum::extract::Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = q.limit.unwrap_or(crate::history::DEFAULT_LIMIT);
    if !(1..=crate::history::MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest("limit must be 1..=200".into()));
    }
    let page = crate::history::page(&state.db, &agent.id, limit, q.before).await?;
    Ok(axum::Json(page))
}

/// 409 `NOT_SUPPORTED_FOR_OUTBOUND` for a transfer step on an outbound call.
fn no_outbound_transfer(id: &str) -> ApiResult<()> {
    if control::is_outbound(id) {
        return Err(crate::error::ApiError::conflict(
            "NOT_SUPPORTED_FOR_OUTBOUND",
            "outbound calls cannot be transferred",
        ));
    }
    Ok(())
}

/// `POST /v1/calls/{task}/hold`: holds the customer.
pub async fn hold(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    control::hold(&state, &agent, &task, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/calls/{task}/unhold`: resumes the customer.
pub async fn unhold(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    control::hold(&state, &agent, &task, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/calls/{task}/hangup`: 204 when done, 202 when queued until the conference starts.
pub async fn hangup(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    Ok(match control::hangup(&state, &agent, &task).await? {
        control::Hangup::Done => StatusCode::NO_CONTENT,
        control::Hangup::Queued => StatusCode::ACCEPTED,
    })
}

/// `POST /v1/calls/{task}/transfer` `{"to": {"kind":"worker","worker":"WK…"} | {"kind":"number","number":"+81…"},
/// "mode": "cold"|"warm"}`: 202 with the transfer id; 422 for a bad target.
pub async fn transfer(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
    crate::error::AppJson(body): crate::error::AppJson<serde_json::Value>,
) -> ApiResult<(StatusCode, axum::Json<transfer::Started>)> {
    no_outbound_transfer(&task)?;
    let req: transfer::TransferRequest = serde_json::from_value(body)
        .map_err(|e| crate::error::ApiError::unprocessable("INVALID_TARGET", e.to_string()))?;
    let started = transfer::start(&state, &agent, &task, &req).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(started)))
}

/// `POST /v1/calls/{task}/transfer/complete`: warm transfer, the agent leaves.
pub async fn transfer_complete(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    no_outbound_transfer(&task)?;
    transfer::complete(&state, &agent, &task).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/calls/{task}/transfer/cancel`: drops the target, resumes the customer.
pub async fn transfer_cancel(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<StatusCode> {
    no_outbound_transfer(&task)?;
    transfer::cancel(&state, &agent, &task).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /v1/supervise/{task}`.
#[derive(Debug, serde::Deserialize)]
pub struct SuperviseBody {
    /// `monitor`, `coach` or `barge`.
    pub mode: control::SuperviseMode,
}

/// `POST /v1/supervise/{task}` `{"mode": "monitor"|"coach"|"barge"}`.
pub async fn supervise(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
    crate::error::AppJson(body): crate::error::AppJson<SuperviseBody>,
) -> ApiResult<StatusCode> {
    control::supervise(&state, &agent, &task, body.mode).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /v1/reports/calls`.
#[derive(Debug, serde::Deserialize)]
pub struct ReportQuery {
    /// Start (Unix s or `YYYY-MM-DD`, inclusive).
    pub from: String,
    /// End (Unix s or `YYYY-MM-DD`, exclusive).
    pub to: String,
    /// `json` (default) or `csv`.
    #[serde(default)]
    pub format: Option<String>,
}

/// `GET /v1/reports/calls?from&to[&format=csv]`: call-leg analytics (supervisors and admins).
pub async fn report(
    State(state): State<AppState>,
    crate::auth::AgentSession(agent): crate::auth::AgentSession,
    query: Result<axum::extract::Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<axum::response::Response> {
    use crate::error::ApiError;
    use axum::response::IntoResponse as _;
    if agent.role < crate::auth::Role::Supervisor {
        return Err(ApiError::Forbidden("supervisors only"));
    }
    let axum::extract::Query(q) = query.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let bound = |s: &str| {
        crate::reports::parse_bound(s).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "invalid bound {s:?}: use Unix seconds or YYYY-MM-DD"
            ))
        })
    };
    let (from, to) = (bound(&q.from)?, bound(&q.to)?);
    if to <= from || to - from > 366 * 86_400 {
        return Err(ApiError::BadRequest(
            "need from < to, at most 366 days apart".into(),
        ));
    }
    let report = crate::reports::load(&state.db, from, to).await?;
    Ok(match q.format.as_deref() {
        Some("csv") => (
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"calls.csv\"",
                ),
            ],
            crate::reports::to_csv(&report),
        )
            .into_response(),
        None | Some("json") => axum::Json(report).into_response(),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format {other:?}: use json or csv"
            )))
        }
    })
}
