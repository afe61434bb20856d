//! The recording reconciler (spec §6, step 6): lists `GET Recordings.json?DateCreatedAfter=…` at Twilio and
//! creates the archive job of every completed recording the server has none for (its status callback was
//! lost), through the same [`super::completed`] the callback uses; the archive worker ([`super::run_due`]) then
//! downloads, verifies, stores and deletes it as for any other job. Jobs are keyed by RecordingSid, so
//! reconciling twice, or on several instances, changes nothing.
//!
//! A recording is attributed by its conference (`calls.conference_sid`, `outbound_attempts.conference_sid`) or
//! its call (the customer or agent leg of either). A recording the server cannot attribute is not ours to
//! archive or delete: it is counted and left at Twilio.

use std::time::Duration;

use sqlx::Row as _;
use tsunagi_twilio::RecordingSid;

use super::{store, Completed};
use crate::db::{now_unix, Db};
use crate::state::AppState;
use crate::twilio_rest::{RecordingInfo, RestError};

/// Most recordings looked at in one run.
const MAX_LISTED: usize = 10_000;

/// What one run found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// Completed recordings listed at Twilio in the window.
    pub completed: usize,
    /// Jobs created now (callbacks that never arrived).
    pub queued: usize,
    /// Completed recordings of no known call or conference, left alone.
    pub unattributed: usize,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Listing at Twilio failed.
    #[error("twilio: {0}")]
    Rest(#[from] RestError),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// One reconciliation at `now` (Unix s) over recordings created in the last `recordings.reconcile_window_secs`.
pub async fn run(state: &AppState, now: i64) -> Result<Report, ReconcileError> {
    let window = i64::try_from(state.config.recordings.reconcile_window_secs).unwrap_or(i64::MAX);
    let after = chrono::DateTime::from_timestamp(now.saturating_sub(window), 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let listed = state
        .rest
        .recordings(&[("DateCreatedAfter", after.as_str())], MAX_LISTED)
        .await?;
    let mut report = Report::default();
    for r in listed.iter().filter(|r| r.status == "completed") {
        report.completed += 1;
        if RecordingSid::parse(&r.sid).is_err() || store::get(&state.db, &r.sid).await?.is_some() {
            continue;
        }
        let Some((owner, agent)) = owner_of(&state.db, r).await? else {
            report.unattributed += 1;
            continue;
        };
        let c = Completed {
            recording_sid: &r.sid,
            owner: &owner,
            agent_id: agent.as_deref(),
            conference_sid: r.conference_sid.as_deref(),
            duration_secs: r.duration_secs,
            channels: r.channels,
            // Filed under the recording's own day, not the day its lost callback is made up for.
            at: r.created_at.unwrap_or(now),
        };
        super::completed(state, &c).await?;
        tracing::warn!(recording = %r.sid, owner = %owner, "recording callback was lost; archive job queued");
        report.queued += 1;
    }
    Ok(report)
}

/// The owner key (`WT…` or `ob-…`) and agent of a listed recording, if it is one of ours.
async fn owner_of(
    db: &Db,
    r: &RecordingInfo,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    let lookups: [(&Option<String>, &str); 2] = [
        (
            &r.conference_sid,
            "SELECT task_sid, agent_id FROM calls WHERE conference_sid = $1 \
             UNION ALL SELECT conf_name, agent_id FROM outbound_attempts WHERE conference_sid = $1",
        ),
        (
            &r.call_sid,
            "SELECT task_sid, agent_id FROM calls WHERE customer_call_sid = $1 OR agent_call_sid = $1 \
             UNION ALL SELECT conf_name, agent_id FROM outbound_attempts \
             WHERE customer_call_sid = $1 OR agent_call_sid = $1",
        ),
    ];
    for (key, sql) in lookups {
        let Some(key) = key else { continue };
        if let Some(row) = sqlx::query(sql).bind(key).fetch_optional(&db.pool).await? {
            return Ok(Some((row.try_get(0)?, row.try_get(1)?)));
        }
    }
    Ok(None)
}

/// Runs [`run`] every `recordings.reconcile_interval_secs` (the first run one interval after start); stops with
/// the instance. Nothing when the interval is 0.
pub fn spawn(state: &AppState) {
    let every = state.config.recordings.reconcile_interval_secs;
    if every == 0 {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let period = Duration::from_secs(every);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut stopping = state.stopping();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stopping.changed() => return,
            }
            match run(&state, now_unix()).await {
                Ok(r) => tracing::info!(
                    completed = r.completed,
                    queued = r.queued,
                    unattributed = r.unattributed,
                    "recordings reconciled"
                ),
                Err(e) => tracing::warn!(error = %e, "recording reconciliation failed"),
            }
        }
    });
}
