//! The desktop update channel in the tauri-plugin-updater dynamic format (spec §8): `204` when there is nothing
//! to install (never 404), otherwise `{version, notes, pub_date, url, signature}` plus `mandatory`, `rollback`
//! and `min_supported`. Never gated by the client version, so outdated clients can always update.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use semver::Version;
use serde_json::json;

use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::policy::ClientPolicy;
use crate::releases::{self, Decision};
use crate::state::AppState;

const INSTALL_ID: &str = "x-install-id";

async fn session_agent(state: &AppState, headers: &HeaderMap) -> ApiResult<Option<auth::Agent>> {
    match auth::bearer(headers) {
        Some(token) => Ok(auth::agent_for_token(&state.db, token).await?),
        None => Ok(None),
    }
}

/// `GET /v1/updates/{channel}/{target}/{arch}/{current_version}`.
pub async fn check_channel(
    State(state): State<AppState>,
    Path((channel, target, arch, current)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    decide(&state, &channel, &target, &arch, &current, &headers).await
}

/// `GET /v1/updates/{target}/{arch}/{current_version}`: the channel is the signed-in agent's, else `stable`.
pub async fn check(
    State(state): State<AppState>,
    Path((target, arch, current)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = session_agent(&state, &headers)
        .await?
        .map_or_else(|| "stable".to_owned(), |a| a.channel);
    decide(&state, &channel, &target, &arch, &current, &headers).await
}

async fn decide(
    state: &AppState,
    channel: &str,
    target: &str,
    arch: &str,
    current: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let Ok(current) = Version::parse(current.trim_start_matches('v')) else {
        tracing::info!("update check with an invalid current_version");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let Some(ch) = releases::channel(&state.db, channel)
        .await
        .map_err(internal)?
    else {
        tracing::info!(channel, "update check on an unknown channel");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let agent = session_agent(state, headers).await?.map(|a| a.id);
    let header_id = headers
        .get(INSTALL_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()));
    if let Some(id) = header_id {
        let target_key = format!("{target}-{arch}");
        releases::record_install(
            &state.db,
            id,
            agent.as_deref(),
            channel,
            &target_key,
            &current,
        )
        .await
        .map_err(internal)?;
    }
    let install = header_id.map(str::to_owned).or(agent);
    let policy = ClientPolicy::load(&state.db).await?;
    let Decision::Offer {
        version,
        rollback,
        mandatory,
    } = releases::decide(&ch, &policy, &current, install.as_deref())
    else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let Some(release) = releases::release(&state.db, &version)
        .await
        .map_err(internal)?
    else {
        tracing::error!(%version, channel, "channel points at a missing release");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let platform = format!("{target}-{arch}");
    let Some((url, signature)) = release.artifacts.get(&platform) else {
        tracing::warn!(%version, platform, "no artifact for this platform");
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    Ok(Json(json!({
        "version": release.version,
        "notes": release.notes,
        "pub_date": release.pub_date,
        "url": url,
        "signature": signature,
        "mandatory": mandatory,
        "rollback": rollback,
        "min_supported": policy.min_supported.to_string(),
    }))
    .into_response())
}

fn internal(e: releases::ReleaseError) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// `GET /v1/client/policy`: channel, floor, blocked versions and the update endpoint. Never gated.
pub async fn policy(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    let channel = session_agent(&state, &headers)
        .await?
        .map_or_else(|| "stable".to_owned(), |a| a.channel);
    let policy = ClientPolicy::load(&state.db).await?;
    let blocked: Vec<String> = policy.blocked.iter().map(ToString::to_string).collect();
    Ok(Json(json!({
        "channel": channel,
        "min_supported": policy.min_supported.to_string(),
        "blocked": blocked,
        "update_endpoint": format!(
            "{}/v1/updates/{channel}/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}",
            state.config.server.public_base_url
        ),
    })))
}
