//! The desktop update channel in the tauri-plugin-updater dynamic format (spec §8): `204` when there is nothing
//! to install (never 404), otherwise `{version, notes, pub_date, url, signature}` plus `mandatory`, `rollback`
//! and `min_supported`. Never gated by the client version, so outdated clients can always update.
//!
//! The bundle type (s14 contract §7): tauri-plugin-updater 2.14 sends it only as the `{{bundle_type}}` endpoint
//! variable (it replaces `{{bundle_type}}` in the URL, query included, with `deb`, `rpm`, `appimage`, `msi`, `nsis`,
//! `app` or `unknown`; no header carries it). The endpoint the policy hands out therefore ends in
//! `?bundle_type={{bundle_type}}`, and the check serves the `{target}-{arch}-{bundle_type}` artifact when the
//! release has one, else the plain `{target}-{arch}` one ([`releases::artifact_for`]).

use axum::extract::{Path, Query, State};
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

/// The updater endpoint of `channel` with the plugin's variables left in place.
pub fn endpoint_template(public_base_url: &str, channel: &str) -> String {
    format!(
        "{public_base_url}/v1/updates/{channel}/{{{{target}}}}/{{{{arch}}}}/{{{{current_version}}}}\
         ?bundle_type={{{{bundle_type}}}}"
    )
}

/// Query of the update check.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CheckQuery {
    /// The plugin's `{{bundle_type}}`.
    #[serde(default)]
    pub bundle_type: Option<String>,
}

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
    Query(q): Query<CheckQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let platform = Platform {
        target: &target,
        arch: &arch,
        bundle_type: q.bundle_type.as_deref(),
    };
    decide(&state, &channel, platform, &current, &headers).await
}

/// `GET /v1/updates/{target}/{arch}/{current_version}`: the channel is the signed-in agent's, else `stable`.
pub async fn check(
    State(state): State<AppState>,
    Path((target, arch, current)): Path<(String, String, String)>,
    Query(q): Query<CheckQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let channel = session_agent(&state, &headers)
        .await?
        .map_or_else(|| "stable".to_owned(), |a| a.channel);
    let platform = Platform {
        target: &target,
        arch: &arch,
        bundle_type: q.bundle_type.as_deref(),
    };
    decide(&state, &channel, platform, &current, &headers).await
}

/// What the plugin says about the install.
#[derive(Debug, Clone, Copy)]
struct Platform<'a> {
    target: &'a str,
    arch: &'a str,
    bundle_type: Option<&'a str>,
}

async fn decide(
    state: &AppState,
    channel: &str,
    platform: Platform<'_>,
    current: &str,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let Platform {
        target,
        arch,
        bundle_type,
    } = platform;
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
    let Some((_, url, signature)) = releases::artifact_for(&release, target, arch, bundle_type)
    else {
        tracing::warn!(%version, target, arch, bundle_type, "no artifact for this platform");
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
        "update_endpoint": endpoint_template(&state.config.server.public_base_url, &channel),
    })))
}
