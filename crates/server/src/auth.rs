//! Agent authentication and sessions.
//!
//! [`Authenticator`] is the seam for login methods: [`LocalAccounts`] checks Argon2id password hashes stored in
//! `agents.password_hash`; an SSO implementation can be added beside it. A successful login yields an opaque
//! bearer session token; only its SHA-256 is stored. [`AgentSession`] is the axum extractor every agent
//! endpoint uses.

use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use async_trait::async_trait;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::db::{now_unix, Db};
use crate::error::ApiError;
use crate::state::AppState;

/// A stored agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Agent {
    /// Opaque ASCII identity (`agent_1024`), also the Twilio client identity.
    pub id: String,
    /// Login name.
    pub login: String,
    /// Display name (may be Japanese).
    pub display_name: String,
    /// TaskRouter worker (`WK…`).
    pub worker_sid: Option<String>,
    /// Department id.
    pub department_id: Option<String>,
    /// `agent`, `supervisor` or `admin`.
    pub role: Role,
    /// Update channel.
    pub channel: String,
}

/// What an agent may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes calls.
    Agent,
    /// Also monitors, whispers, barges; receives the roster.
    Supervisor,
    /// Also manages releases and accounts.
    Admin,
}

impl Role {
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "agent" => Some(Self::Agent),
            "supervisor" => Some(Self::Supervisor),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }
}

/// Why authentication failed for a reason other than wrong credentials.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    /// Hashing failed (invalid stored hash, or the blocking task died).
    #[error("password hashing: {0}")]
    Hash(String),
}

/// A login method. Returns the agent id on success, `None` for wrong credentials.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Checks `login` / `password`.
    async fn authenticate(&self, login: &str, password: &str) -> Result<Option<String>, AuthError>;
}

/// Local accounts with Argon2id hashes in the `agents` table.
#[derive(Debug, Clone)]
pub struct LocalAccounts {
    db: Db,
}

impl LocalAccounts {
    /// Uses `db`'s `agents` table.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

// A valid hash of a random password: verifying unknown logins against it keeps timing uniform.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2wJ2u7u2gLC6sEXsvLqUaLgHgNR2fw6i6I3x8PqMsAY";

#[async_trait]
impl Authenticator for LocalAccounts {
    async fn authenticate(&self, login: &str, password: &str) -> Result<Option<String>, AuthError> {
        let row = sqlx::query("SELECT id, password_hash FROM agents WHERE login = $1")
            .bind(login)
            .fetch_optional(&self.db.pool)
            .await?;
        let (id, hash) = match row {
            Some(r) => (
                Some(r.try_get::<String, _>(0)?),
                r.try_get::<Option<String>, _>(1)?,
            ),
            None => (None, None),
        };
        let known = id.is_some() && hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let password = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
            .await
            .map_err(|e| AuthError::Hash(e.to_string()))??;
        Ok(if ok && known { id } else { None })
    }
}

/// Hashes `password` with Argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

fn verify_password(hash: &str, password: &str) -> Result<bool, AuthError> {
    let parsed = PasswordHash::new(hash).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// Hex SHA-256 of a bearer or refresh token: the only form tokens are stored in.
pub(crate) fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates a session for `agent_id`; returns the bearer token (shown once, stored only as a hash).
pub async fn create_session(
    db: &Db,
    agent_id: &str,
    ttl_secs: u64,
) -> Result<(String, i64), sqlx::Error> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let now = now_unix();
    let expires = now + i64::try_from(ttl_secs).unwrap_or(i64::MAX / 2);
    sqlx::query("INSERT INTO sessions (token_hash, agent_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash(&token))
        .bind(agent_id)
        .bind(now)
        .bind(expires)
        .execute(&db.pool)
        .await?;
    Ok((token, expires))
}

/// Deletes the session behind `token` (logout).
pub async fn delete_session(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

const AGENT_COLUMNS: &str =
    "a.id, a.login, a.display_name, a.worker_sid, a.department_id, a.role, a.channel";

fn agent_from_row(r: &sqlx::any::AnyRow) -> Result<Agent, sqlx::Error> {
    let role: String = r.try_get(5)?;
    Ok(Agent {
        id: r.try_get(0)?,
        login: r.try_get(1)?,
        display_name: r.try_get(2)?,
        worker_sid: r.try_get(3)?,
        department_id: r.try_get(4)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        channel: r.try_get(6)?,
    })
}

/// The agent behind a live session token.
pub async fn agent_for_token(db: &Db, token: &str) -> Result<Option<Agent>, sqlx::Error> {
    let sql = format!(
        "SELECT {AGENT_COLUMNS} FROM sessions s JOIN agents a ON a.id = s.agent_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2"
    );
    let row = sqlx::query(&sql)
        .bind(token_hash(token))
        .bind(now_unix())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// Looks an agent up by id.
pub async fn agent_by_id(db: &Db, id: &str) -> Result<Option<Agent>, sqlx::Error> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents a WHERE a.id = $1");
    let row = sqlx::query(&sql).bind(id).fetch_optional(&db.pool).await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// Looks an agent up by TaskRouter worker SID.
pub async fn agent_by_worker(db: &Db, worker_sid: &str) -> Result<Option<Agent>, sqlx::Error> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM agents a WHERE a.worker_sid = $1");
    let row = sqlx::query(&sql)
        .bind(worker_sid)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(agent_from_row).transpose()
}

/// A new local account.
#[derive(Debug, Clone)]
pub struct NewAgent<'a> {
    /// Identity.
    pub id: &'a str,
    /// Login.
    pub login: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// Plain password to hash, or `None` for SSO-only.
    pub password: Option<&'a str>,
    /// Worker SID.
    pub worker_sid: Option<&'a str>,
    /// Department.
    pub department_id: Option<&'a str>,
    /// Role.
    pub role: Role,
}

/// Inserts an agent (hashing the password).
pub async fn create_agent(db: &Db, a: NewAgent<'_>) -> Result<(), AuthError> {
    let hash = match a.password {
        Some(p) => {
            let p = p.to_owned();
            Some(
                tokio::task::spawn_blocking(move || hash_password(&p))
                    .await
                    .map_err(|e| AuthError::Hash(e.to_string()))??,
            )
        }
        None => None,
    };
    sqlx::query(
        "INSERT INTO agents (id, login, display_name, password_hash, worker_sid, department_id, role, channel, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'stable', $8)",
    )
    .bind(a.id)
    .bind(a.login)
    .bind(a.display_name)
    .bind(hash)
    .bind(a.worker_sid)
    .bind(a.department_id)
    .bind(a.role.as_str())
    .bind(now_unix())
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// The authenticated agent of a request (`Authorization: Bearer <session token>`).
#[derive(Debug, Clone)]
pub struct AgentSession(pub Arc<Agent>);

/// Extracts the bearer token, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value.strip_prefix("Bearer ")?.trim();
    (!token.is_empty() && token.len() <= 256).then_some(token)
}

impl FromRequestParts<AppState> for AgentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let agent = agent_for_token(&state.db, token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        Ok(Self(Arc::new(agent)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2_round_trip_and_dummy_hash_parses() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse").unwrap());
        assert!(!verify_password(&h, "wrong").unwrap());
        assert!(!verify_password(DUMMY_HASH, "anything").unwrap());
    }
}

/// Failed logins allowed per login name within [`THROTTLE_WINDOW`] before it is refused for the rest of it.
pub const MAX_FAILURES: u32 = 5;
/// The throttle window.
pub const THROTTLE_WINDOW: std::time::Duration = std::time::Duration::from_secs(300);
const MAX_TRACKED: usize = 10_000;

/// Per-login failure counter (per instance) against password guessing.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: std::sync::Mutex<std::collections::HashMap<String, (u32, std::time::Instant)>>,
}

impl LoginThrottle {
    fn map(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (u32, std::time::Instant)>>
    {
        // A poisoned lock only means another request panicked mid-update; the counters stay usable.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether `login` may try now.
    pub fn allowed(&self, login: &str, now: std::time::Instant) -> bool {
        match self.map().get(login) {
            Some((n, since)) => *n < MAX_FAILURES || now.duration_since(*since) >= THROTTLE_WINDOW,
            None => true,
        }
    }

    /// Counts a failure.
    pub fn failed(&self, login: &str, now: std::time::Instant) {
        let mut map = self.map();
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| now.duration_since(*since) < THROTTLE_WINDOW);
        }
        let entry = map.entry(login.to_owned()).or_insert((0, now));
        if now.duration_since(entry.1) >= THROTTLE_WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Clears the counter after a success.
    pub fn succeeded(&self, login: &str) {
        self.map().remove(login);
    }
}

/// Checks credentials (with the failure throttle) and opens a session with its refresh-token family.
pub async fn log_in(
    state: &AppState,
    login: &str,
    password: &str,
) -> Result<(crate::refresh::Issued, Agent), ApiError> {
    if login.is_empty() || login.len() > 256 || password.len() > 1024 {
        return Err(ApiError::BadRequest(
            "login and password are required (login ≤ 256 bytes)".into(),
        ));
    }
    let now = std::time::Instant::now();
    if !state.login_throttle.allowed(login, now) {
        return Err(ApiError::TooManyRequests(
            "too many failed logins; try again in a few minutes",
        ));
    }
    let id = state
        .auth
        .authenticate(login, password)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let Some(agent) = (match id {
        Some(id) => agent_by_id(&state.db, &id).await?,
        None => None,
    }) else {
        state.login_throttle.failed(login, now);
        return Err(ApiError::Unauthorized);
    };
    state.login_throttle.succeeded(login);
    let issued = crate::refresh::open_family(&state.db, &agent.id, ttl(&state.config)).await?;
    tracing::info!(agent = %agent.id, "agent logged in");
    Ok((issued, agent))
}

/// The session and refresh-token lifetimes configured.
pub fn ttl(config: &crate::config::Config) -> crate::refresh::Ttl {
    crate::refresh::Ttl {
        session_secs: config.server.session_ttl_secs,
        refresh_secs: config.auth.refresh_ttl_secs,
    }
}
