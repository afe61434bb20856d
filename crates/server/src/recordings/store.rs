//! The `recordings` job table. Creation is idempotent on RecordingSid; a job is claimed with a lease before
//! work, and every step is a conditional update on its state.

use sqlx::Row as _;

use crate::db::{now_unix, Db};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not yet in the object store.
    Pending,
    /// Stored and verified; not yet deleted at Twilio.
    Stored,
    /// Stored and deleted at Twilio.
    Done,
    /// Gave up (the recording no longer exists at Twilio, or too many failures).
    Failed,
}

impl State {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Stored => "stored",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "stored" => Self::Stored,
            "done" => Self::Done,
            "failed" => Self::Failed,
            _ => Self::Pending,
        }
    }
    /// Whether the audio is in the archive.
    pub fn archived(self) -> bool {
        matches!(self, Self::Stored | Self::Done)
    }
}

/// One archive job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Job {
    /// `RE…`.
    pub recording_sid: String,
    /// `WT…` or `ob-…`.
    pub owner: String,
    /// The agent who may fetch it.
    #[serde(skip)]
    pub agent_id: Option<String>,
    /// `CF…`.
    pub conference_sid: Option<String>,
    /// Object key.
    pub object_key: String,
    /// State.
    pub state: State,
    /// Bytes stored.
    pub size_bytes: Option<i64>,
    /// Hex SHA-256 of what was stored.
    pub sha256: Option<String>,
    /// Seconds.
    pub duration_secs: Option<i64>,
    /// 1 or 2.
    pub channels: Option<i64>,
    /// Failed attempts so far.
    #[serde(skip)]
    pub attempts: i64,
}

const COLUMNS: &str =
    "recording_sid, owner, agent_id, conference_sid, object_key, state, size_bytes, sha256, \
                       duration_secs, channels, attempts";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Job, sqlx::Error> {
    let state: String = r.try_get(5)?;
    Ok(Job {
        recording_sid: r.try_get(0)?,
        owner: r.try_get(1)?,
        agent_id: r.try_get(2)?,
        conference_sid: r.try_get(3)?,
        object_key: r.try_get(4)?,
        state: State::parse(&state),
        size_bytes: r.try_get(6)?,
        sha256: r.try_get(7)?,
        duration_secs: r.try_get(8)?,
        channels: r.try_get(9)?,
        attempts: r.try_get(10)?,
    })
}

/// What a `completed` status callback creates.
#[derive(Debug, Clone)]
pub struct NewJob<'a> {
    /// `RE…`.
    pub recording_sid: &'a str,
    /// `WT…` or `ob-…`.
    pub owner: &'a str,
    /// The agent.
    pub agent_id: Option<&'a str>,
    /// `CF…`.
    pub conference_sid: Option<&'a str>,
    /// Object key.
    pub object_key: &'a str,
    /// Seconds.
    pub duration_secs: Option<i64>,
    /// Channels.
    pub channels: Option<i64>,
}

/// Creates the job unless it exists; `true` when created.
pub async fn create(db: &Db, j: &NewJob<'_>) -> Result<bool, sqlx::Error> {
    let now = now_unix();
    let r = sqlx::query(
        "INSERT INTO recordings (recording_sid, owner, agent_id, conference_sid, object_key, state, duration_secs, \
                                 channels, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8, $8) ON CONFLICT (recording_sid) DO NOTHING",
    )
    .bind(j.recording_sid)
    .bind(j.owner)
    .bind(j.agent_id)
    .bind(j.conference_sid)
    .bind(j.object_key)
    .bind(j.duration_secs)
    .bind(j.channels)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A job by RecordingSid.
pub async fn get(db: &Db, sid: &str) -> Result<Option<Job>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM recordings WHERE recording_sid = $1");
    sqlx::query(&sql)
        .bind(sid)
        .fetch_optional(&db.pool)
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// The jobs of an owner (task or outbound conference name), oldest first.
pub async fn for_owner(db: &Db, owner: &str) -> Result<Vec<Job>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM recordings WHERE owner = $1 ORDER BY created_at, recording_sid"
    );
    let rows = sqlx::query(&sql).bind(owner).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// Up to `limit` jobs due at `now` (pending or stored, not leased).
pub async fn due(db: &Db, now: i64, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT recording_sid FROM recordings WHERE state IN ('pending', 'stored') AND next_attempt_at <= $1 \
         AND lease_until < $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
}

/// Claims `sid` until `until`; `None` when another worker has it or it is not due.
pub async fn claim(db: &Db, sid: &str, now: i64, until: i64) -> Result<Option<Job>, sqlx::Error> {
    let r = sqlx::query(
        "UPDATE recordings SET lease_until = $1 WHERE recording_sid = $2 AND state IN ('pending', 'stored') \
         AND next_attempt_at <= $3 AND lease_until < $3",
    )
    .bind(until)
    .bind(sid)
    .bind(now)
    .execute(&db.pool)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    get(db, sid).await
}

/// pending → stored, with what was verified.
pub async fn mark_stored(db: &Db, sid: &str, size: i64, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE recordings SET state = 'stored', size_bytes = $1, sha256 = $2, last_error = NULL, updated_at = $3 \
         WHERE recording_sid = $4 AND state = 'pending'",
    )
    .bind(size)
    .bind(sha256)
    .bind(now_unix())
    .bind(sid)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Moves `sid` to `state` and releases its lease.
pub async fn finish(
    db: &Db,
    sid: &str,
    state: State,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE recordings SET state = $1, last_error = $2, lease_until = 0, updated_at = $3 WHERE recording_sid = $4",
    )
    .bind(state.as_str())
    .bind(error)
    .bind(now_unix())
    .bind(sid)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Records a failed attempt: retry at `next`, lease released.
pub async fn retry_later(db: &Db, sid: &str, next: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE recordings SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, lease_until = 0, \
         updated_at = $3 WHERE recording_sid = $4",
    )
    .bind(next)
    .bind(error)
    .bind(now_unix())
    .bind(sid)
    .execute(&db.pool)
    .await?;
    Ok(())
}
