//! Background work of a serving instance: the roster flusher ([`crate::roster::spawn_flusher`]), the outbound
//! sweeper ([`crate::outbound::sweep`], every 30 s), the recording archive worker
//! ([`crate::recordings::spawn_worker`]) with its reconciler ([`crate::recordings::reconcile::spawn`]) and an hourly
//! purge of expired sessions and old webhook receipts (Twilio stops retrying within minutes; a week is ample).

use std::time::Duration;

use crate::db::{now_unix, Db};
use crate::state::AppState;

/// How long webhook receipts are kept for deduplication.
pub const RECEIPT_RETENTION_SECS: i64 = 7 * 86_400;

/// Starts every background task of an instance.
pub fn spawn(state: &AppState) {
    crate::roster::spawn_flusher(state);
    if state.config.recordings.worker {
        crate::recordings::spawn_worker(state);
        crate::recordings::reconcile::spawn(state);
    }
    let sweeper = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            match crate::outbound::sweep(&sweeper, now_unix()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(closed = n, "outbound sweeper closed stale setups"),
                Err(e) => tracing::warn!(error = %e, "outbound sweep failed"),
            }
        }
    });
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match purge(&db, now_unix()).await {
                Ok((sessions, receipts)) => tracing::debug!(sessions, receipts, "purged"),
                Err(e) => tracing::warn!(error = %e, "purge failed"),
            }
        }
    });
}

/// Deletes sessions expired at `now` and receipts older than [`RECEIPT_RETENTION_SECS`]; returns the counts.
pub async fn purge(db: &Db, now: i64) -> Result<(u64, u64), sqlx::Error> {
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&db.pool)
        .await?;
    let receipts = sqlx::query("DELETE FROM webhook_receipts WHERE received_at < $1")
        .bind(now - RECEIPT_RETENTION_SECS)
        .execute(&db.pool)
        .await?;
    Ok((sessions.rows_affected(), receipts.rows_affected()))
}
