//! Refresh tokens (s14 contract §1): a login opens a *family*; its session and refresh token belong to it. A
//! refresh spends the presented token (rotation) and issues a new session and refresh token in the same family.
//! Presenting a spent token again means it leaked (or the client refreshed twice): the whole family is revoked —
//! every session and refresh token descended from that login. Logout revokes the family too.
//!
//! Tokens are ≥ 32 random bytes (base64url); only their SHA-256 is stored. Spending is one conditional
//! `UPDATE … WHERE spent_at IS NULL`, so of two concurrent refreshes with one token exactly one wins and the other
//! is a reuse.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rand::RngCore as _;
use sqlx::Row as _;

use crate::auth::{self, Agent};
use crate::db::{now_unix, Db};

/// What a login or a refresh hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// Bearer token for every other agent endpoint.
    pub session_token: String,
    /// Session expiry (Unix s).
    pub expires_at: i64,
    /// Opaque refresh token (shown once).
    pub refresh_token: String,
    /// Refresh token expiry (Unix s).
    pub refresh_expires_at: i64,
}

/// Lifetimes of what is issued.
#[derive(Debug, Clone, Copy)]
pub struct Ttl {
    /// Session token lifetime (s).
    pub session_secs: u64,
    /// Refresh token lifetime (s).
    pub refresh_secs: u64,
}

/// Why a refresh was refused.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired or revoked (`401 REFRESH_INVALID`).
    #[error("the refresh token is unknown or expired")]
    Invalid,
    /// Already spent: the family was revoked (`401 REFRESH_REUSED`).
    #[error("the refresh token was already used; every session of this sign-in was revoked")]
    Reused,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl IntoResponse for RefreshError {
    fn into_response(self) -> Response {
        let code = match &self {
            Self::Invalid => "REFRESH_INVALID",
            Self::Reused => "REFRESH_REUSED",
            Self::Db(e) => {
                return crate::error::ApiError::Internal(format!("database: {e}")).into_response()
            }
        };
        let body = serde_json::json!({"code": code, "message": self.to_string()});
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }
}

fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn expiry(now: i64, secs: u64) -> i64 {
    now.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX / 2))
}

/// Issues a session and a refresh token in `family` (inside the caller's transaction).
async fn issue(
    conn: &mut sqlx::AnyConnection,
    agent_id: &str,
    family: &str,
    ttl: Ttl,
) -> Result<Issued, sqlx::Error> {
    let now = now_unix();
    let session_token = random_token();
    let expires_at = expiry(now, ttl.session_secs);
    sqlx::query(
        "INSERT INTO sessions (token_hash, agent_id, created_at, expires_at, family_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::token_hash(&session_token))
    .bind(agent_id)
    .bind(now)
    .bind(expires_at)
    .bind(family)
    .execute(&mut *conn)
    .await?;
    let refresh_token = random_token();
    let refresh_expires_at = expiry(now, ttl.refresh_secs);
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, family_id, agent_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(auth::token_hash(&refresh_token))
    .bind(family)
    .bind(agent_id)
    .bind(now)
    .bind(refresh_expires_at)
    .execute(&mut *conn)
    .await?;
    Ok(Issued {
        session_token,
        expires_at,
        refresh_token,
        refresh_expires_at,
    })
}

/// A login: opens a new family with its first session and refresh token.
pub async fn open_family(db: &Db, agent_id: &str, ttl: Ttl) -> Result<Issued, sqlx::Error> {
    let family = uuid::Uuid::new_v4().simple().to_string();
    let mut tx = db.pool.begin().await?;
    let issued = issue(&mut tx, agent_id, &family, ttl).await?;
    tx.commit().await?;
    Ok(issued)
}

/// A refresh: spends `token` and issues the next session and refresh token of its family.
pub async fn rotate(db: &Db, token: &str, ttl: Ttl) -> Result<(Issued, Agent), RefreshError> {
    let hash = auth::token_hash(token);
    let now = now_unix();
    let mut tx = db.pool.begin().await?;
    let spent = sqlx::query(
        "UPDATE refresh_tokens SET spent_at = $1 \
         WHERE token_hash = $2 AND spent_at IS NULL AND revoked_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let row = sqlx::query(
        "SELECT family_id, agent_id, spent_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(RefreshError::Invalid);
    };
    let family: String = row.try_get(0)?;
    let agent_id: String = row.try_get(1)?;
    if !spent {
        tx.rollback().await?;
        if row.try_get::<Option<i64>, _>(2)?.is_some() {
            revoke_family(db, &family).await?;
            tracing::warn!(agent = %agent_id, family = %family, "refresh token reused; sign-in revoked");
            return Err(RefreshError::Reused);
        }
        return Err(RefreshError::Invalid);
    }
    let issued = issue(&mut tx, &agent_id, &family, ttl).await?;
    tx.commit().await?;
    let agent = auth::agent_by_id(db, &agent_id)
        .await?
        .ok_or(RefreshError::Invalid)?;
    Ok((issued, agent))
}

/// Revokes a family: deletes its sessions and marks its refresh tokens revoked.
pub async fn revoke_family(db: &Db, family: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE family_id = $1")
        .bind(family)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL",
    )
    .bind(now_unix())
    .bind(family)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The family of a live session token, if it has one.
pub async fn family_of_session(
    db: &Db,
    session_token: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT family_id FROM sessions WHERE token_hash = $1")
        .bind(auth::token_hash(session_token))
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .map(|r| r.try_get::<Option<String>, _>(0))
        .transpose()?
        .flatten())
}

/// The family of a refresh token (spent or not), if it is known.
pub async fn family_of_refresh(
    db: &Db,
    refresh_token: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row = sqlx::query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(auth::token_hash(refresh_token))
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| r.try_get::<String, _>(0)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_base64url() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&a)
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn expiry_saturates() {
        assert_eq!(expiry(10, 5), 15);
        assert!(expiry(i64::MAX - 1, u64::MAX) > 0);
    }
}
