//! Client version policy (spec §8.5): `X-Client-Version` below `min_supported` or in `blocked_versions` gets
//! `426 CLIENT_UPGRADE_REQUIRED` and no Twilio token. A missing or unparsable header counts as outdated.
//! The policy and update endpoints themselves are never gated.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use semver::Version;
use sqlx::Row as _;

use crate::auth::{Agent, AgentSession};
use crate::db::Db;
use crate::error::{ApiError, UpgradeRequired};
use crate::state::AppState;

/// Header carrying the client's version.
pub const CLIENT_VERSION: &str = "x-client-version";

/// The stored policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientPolicy {
    /// Oldest accepted version.
    pub min_supported: Version,
    /// Explicitly refused versions.
    pub blocked: Vec<Version>,
}

impl ClientPolicy {
    /// Reads the policy row.
    pub async fn load(db: &Db) -> Result<Self, ApiError> {
        let row =
            sqlx::query("SELECT min_supported, blocked_versions FROM client_policy WHERE id = 1")
                .fetch_one(&db.pool)
                .await?;
        let min: String = row.try_get(0)?;
        let blocked: String = row.try_get(1)?;
        Ok(Self {
            min_supported: Version::parse(&min)
                .map_err(|e| ApiError::Internal(format!("policy min_supported: {e}")))?,
            blocked: parse_list(&blocked),
        })
    }

    /// Stores `min_supported` and the blocked list.
    pub async fn store(&self, db: &Db) -> Result<(), sqlx::Error> {
        let blocked: Vec<String> = self.blocked.iter().map(ToString::to_string).collect();
        sqlx::query(
            "UPDATE client_policy SET min_supported = $1, blocked_versions = $2 WHERE id = 1",
        )
        .bind(self.min_supported.to_string())
        .bind(blocked.join(","))
        .execute(&db.pool)
        .await?;
        Ok(())
    }

    /// Whether `version` may run (`None` = header missing or invalid).
    pub fn allows(&self, version: Option<&Version>) -> Result<(), bool> {
        match version {
            None => Err(false),
            Some(v) if self.blocked.contains(v) => Err(true),
            Some(v) if *v < self.min_supported => Err(false),
            Some(_) => Ok(()),
        }
    }
}

/// Parses a comma-separated version list, skipping invalid entries.
pub fn parse_list(s: &str) -> Vec<Version> {
    s.split(',')
        .filter_map(|v| Version::parse(v.trim()).ok())
        .collect()
}

/// An authenticated agent whose client version is supported.
#[derive(Debug, Clone)]
pub struct SupportedAgent(pub Arc<Agent>);

impl FromRequestParts<AppState> for SupportedAgent {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AgentSession(agent) = AgentSession::from_request_parts(parts, state).await?;
        let version = parts
            .headers
            .get(CLIENT_VERSION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Version::parse(v.trim().trim_start_matches('v')).ok());
        let policy = ClientPolicy::load(&state.db).await?;
        if let Err(blocked) = policy.allows(version.as_ref()) {
            state
                .metrics
                .upgrade_required
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(ApiError::UpgradeRequired(Box::new(UpgradeRequired {
                min_supported: policy.min_supported.to_string(),
                blocked,
                channel: agent.channel.clone(),
                update_endpoint: crate::http::updates::endpoint_template(
                    &state.config.server.public_base_url,
                    &agent.channel,
                ),
            })));
        }
        Ok(Self(agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_min_blocked_and_missing_are_refused() {
        let p = ClientPolicy {
            min_supported: Version::new(1, 6, 0),
            blocked: parse_list("1.7.1, junk"),
        };
        assert_eq!(p.allows(None), Err(false));
        assert_eq!(p.allows(Some(&Version::new(1, 5, 9))), Err(false));
        assert_eq!(p.allows(Some(&Version::new(1, 7, 1))), Err(true));
        assert_eq!(p.allows(Some(&Version::new(1, 6, 0))), Ok(()));
        assert_eq!(p.allows(Some(&Version::new(2, 0, 0))), Ok(()));
    }
}
