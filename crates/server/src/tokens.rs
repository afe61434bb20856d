//! Twilio Access Token issuance for an agent: one token with voice, task_router and data_sync grants (the grants
//! whose SIDs are configured), signed by `tsunagi_twilio::token`, with a lifetime of at most one hour.

use serde::Serialize;
use tsunagi_twilio::token::{AccessToken, SyncGrant, TaskRouterGrant, VoiceGrant};
use tsunagi_twilio::WorkerSid;

use crate::auth::Agent;
use crate::config::Config;
use crate::error::ApiError;

/// What `POST /v1/token` returns.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedToken {
    /// The JWT.
    pub token: String,
    /// The Twilio client identity.
    pub identity: String,
    /// Lifetime in seconds.
    pub ttl_secs: u64,
    /// Expiry (Unix seconds); refresh before it.
    pub expires_at: u64,
    /// The agent's worker, if any.
    pub worker_sid: Option<String>,
}

/// Mints the token for `agent` at `now_unix`.
pub fn issue(config: &Config, agent: &Agent, now_unix: u64) -> Result<IssuedToken, ApiError> {
    let tw = &config.twilio;
    let mut token = AccessToken::new(tw.account_sid, tw.api_key_sid, agent.id.clone());
    token.ttl_secs = tw.token_ttl_secs.min(3600);
    let mut voice = VoiceGrant::incoming();
    if let Some(app) = tw.twiml_app_sid {
        voice = voice.with_outgoing(app, Vec::new());
    }
    token.voice = Some(voice);
    if let Some(worker) = &agent.worker_sid {
        let worker = WorkerSid::parse(worker).map_err(|e| {
            ApiError::Internal(format!("agent {} has an invalid worker sid: {e}", agent.id))
        })?;
        token.task_router = Some(TaskRouterGrant::worker(tw.workspace_sid, worker));
    }
    if let Some(service) = tw.sync_service_sid {
        token.data_sync = Some(SyncGrant {
            service_sid: Some(service),
            endpoint_id: Some(format!("tsunagi:{}:desktop", agent.id)),
        });
    }
    let jwt = token
        .to_jwt(config.secrets.api_key_secret.expose(), now_unix)
        .map_err(|e| ApiError::Internal(format!("token: {e}")))?;
    Ok(IssuedToken {
        token: jwt,
        identity: agent.id.clone(),
        ttl_secs: token.ttl_secs,
        expires_at: now_unix + token.ttl_secs,
        worker_sid: agent.worker_sid.clone(),
    })
}
