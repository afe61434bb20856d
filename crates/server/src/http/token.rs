//! `POST /v1/token` (alias `/v1/tokens`): a fresh Twilio Access Token for the session's agent. Gated by the client
//! version policy; calling it again is the refresh.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::Json;

use crate::db::now_unix;
use crate::error::ApiResult;
use crate::policy::SupportedAgent;
use crate::state::AppState;
use crate::tokens::{self, IssuedToken};

/// Issues the token.
pub async fn issue(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
) -> ApiResult<Json<IssuedToken>> {
    let issued = tokens::issue(
        &state.config,
        &agent,
        u64::try_from(now_unix()).unwrap_or(0),
    )?;
    state.metrics.tokens_issued.fetch_add(1, Ordering::Relaxed);
    Ok(Json(issued))
}
