//! The `calls` table: one row per inbound interaction keyed by TaskSid, filled in as Twilio's callbacks arrive
//! (task created → reservation → agent leg → conference join → end). Every write is an idempotent upsert or a
//! conditional update, so replayed webhooks change nothing.

use sqlx::Row as _;

use crate::db::{now_unix, Db};

/// Lifecycle of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStatus {
    /// Task waiting in the queue.
    Queued,
    /// A reservation is offered to an agent.
    Reserved,
    /// The conference exists.
    Connected,
    /// The conference ended; the task is wrapping.
    Ended,
    /// The task was completed.
    Completed,
    /// The caller left before being answered.
    Abandoned,
}

impl CallStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Reserved => "reserved",
            Self::Connected => "connected",
            Self::Ended => "ended",
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "reserved" => Self::Reserved,
            "connected" => Self::Connected,
            "ended" => Self::Ended,
            "completed" => Self::Completed,
            "abandoned" => Self::Abandoned,
            _ => Self::Queued,
        }
    }
}

/// One interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallRow {
    /// `WT…`.
    pub task_sid: String,
    /// Customer leg `CA…`.
    pub customer_call_sid: Option<String>,
    /// CRM id.
    pub customer_id: Option<String>,
    /// Current reservation `WR…`.
    pub reservation_sid: Option<String>,
    /// Reserved worker `WK…`.
    pub worker_sid: Option<String>,
    /// Reserved agent id.
    pub agent_id: Option<String>,
    /// Agent leg `CA…`.
    pub agent_call_sid: Option<String>,
    /// `CF…`.
    pub conference_sid: Option<String>,
    /// Lifecycle.
    pub status: CallStatus,
    /// A hang-up was requested before the conference existed.
    pub hangup_requested: bool,
}

const COLUMNS: &str = "task_sid, customer_call_sid, customer_id, reservation_sid, worker_sid, agent_id, agent_call_sid, \
                       conference_sid, status, hangup_requested";

fn from_row(r: &sqlx::any::AnyRow) -> Result<CallRow, sqlx::Error> {
    let status: String = r.try_get(8)?;
    let hangup: i64 = r.try_get(9)?;
    Ok(CallRow {
        task_sid: r.try_get(0)?,
        customer_call_sid: r.try_get(1)?,
        customer_id: r.try_get(2)?,
        reservation_sid: r.try_get(3)?,
        worker_sid: r.try_get(4)?,
        agent_id: r.try_get(5)?,
        agent_call_sid: r.try_get(6)?,
        conference_sid: r.try_get(7)?,
        status: CallStatus::parse(&status),
        hangup_requested: hangup != 0,
    })
}

/// Reads one interaction.
pub async fn get(db: &Db, task_sid: &str) -> Result<Option<CallRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM calls WHERE task_sid = $1");
    let row = sqlx::query(&sql)
        .bind(task_sid)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The interaction an agent is currently on (reserved or connected), most recent first.
pub async fn active_for_agent(db: &Db, agent_id: &str) -> Result<Option<CallRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM calls WHERE agent_id = $1 AND status IN ('reserved', 'connected', 'ended') \
         ORDER BY updated_at DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(agent_id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// `task.created`: the task exists and carries the customer leg.
pub async fn upsert_queued(
    db: &Db,
    task_sid: &str,
    customer_call_sid: Option<&str>,
    customer_id: Option<&str>,
) -> Result<(), sqlx::Error> {
    let now = now_unix();
    sqlx::query(
        "INSERT INTO calls (task_sid, customer_call_sid, customer_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, $4) \
         ON CONFLICT (task_sid) DO UPDATE SET \
           customer_call_sid = COALESCE(calls.customer_call_sid, excluded.customer_call_sid), \
           customer_id = COALESCE(calls.customer_id, excluded.customer_id)",
    )
    .bind(task_sid)
    .bind(customer_call_sid)
    .bind(customer_id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// What an assignment callback tells us.
#[derive(Debug, Clone)]
pub struct Reservation<'a> {
    /// `WT…`.
    pub task_sid: &'a str,
    /// `WR…`.
    pub reservation_sid: &'a str,
    /// `WK…`.
    pub worker_sid: &'a str,
    /// Agent id, if the worker is one of ours.
    pub agent_id: Option<&'a str>,
    /// Customer leg from the task attributes.
    pub customer_call_sid: Option<&'a str>,
    /// CRM id from the task attributes.
    pub customer_id: Option<&'a str>,
}

/// Assignment callback: the task is offered to a worker (a new reservation replaces an earlier one).
pub async fn upsert_reserved(db: &Db, r: &Reservation<'_>) -> Result<(), sqlx::Error> {
    let now = now_unix();
    sqlx::query(
        "INSERT INTO calls (task_sid, customer_call_sid, customer_id, reservation_sid, worker_sid, agent_id, status, \
                            created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'reserved', $7, $7) \
         ON CONFLICT (task_sid) DO UPDATE SET \
           customer_call_sid = COALESCE(calls.customer_call_sid, excluded.customer_call_sid), \
           customer_id = COALESCE(calls.customer_id, excluded.customer_id), \
           reservation_sid = excluded.reservation_sid, worker_sid = excluded.worker_sid, \
           agent_id = excluded.agent_id, \
           agent_call_sid = CASE WHEN calls.reservation_sid = excluded.reservation_sid THEN calls.agent_call_sid END, \
           status = CASE WHEN calls.status IN ('queued', 'reserved') THEN 'reserved' ELSE calls.status END, \
           updated_at = excluded.updated_at",
    )
    .bind(r.task_sid)
    .bind(r.customer_call_sid)
    .bind(r.customer_id)
    .bind(r.reservation_sid)
    .bind(r.worker_sid)
    .bind(r.agent_id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Agent-leg status callback: remembers the agent's CallSid for the current reservation.
pub async fn set_agent_leg(
    db: &Db,
    task_sid: &str,
    reservation_sid: &str,
    call_sid: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE calls SET agent_call_sid = $1, updated_at = $2 \
         WHERE task_sid = $3 AND reservation_sid = $4 AND agent_call_sid IS NULL",
    )
    .bind(call_sid)
    .bind(now_unix())
    .bind(task_sid)
    .bind(reservation_sid)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Conference start or participant join: records the ConferenceSid and, for a leg that is not the customer's,
/// the agent leg. Returns the row after the update.
pub async fn on_conference(
    db: &Db,
    task_sid: &str,
    conference_sid: &str,
    joined_call_sid: Option<&str>,
) -> Result<Option<CallRow>, sqlx::Error> {
    sqlx::query(
        "UPDATE calls SET conference_sid = $1, \
           status = CASE WHEN status IN ('queued', 'reserved') THEN 'connected' ELSE status END, \
           agent_call_sid = CASE WHEN agent_call_sid IS NULL AND $2 IS NOT NULL \
                                  AND (customer_call_sid IS NULL OR customer_call_sid <> $2) \
                                 THEN $2 ELSE agent_call_sid END, \
           updated_at = $3 \
         WHERE task_sid = $4",
    )
    .bind(conference_sid)
    .bind(joined_call_sid)
    .bind(now_unix())
    .bind(task_sid)
    .execute(&db.pool)
    .await?;
    get(db, task_sid).await
}

/// Moves the interaction to `status` unless it is already completed.
pub async fn set_status(db: &Db, task_sid: &str, status: CallStatus) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE calls SET status = $1, updated_at = $2 WHERE task_sid = $3 AND status <> 'completed'")
        .bind(status.as_str())
        .bind(now_unix())
        .bind(task_sid)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Records a hang-up requested before the conference existed; applied on conference start.
pub async fn request_hangup(db: &Db, task_sid: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE calls SET hangup_requested = 1, updated_at = $1 WHERE task_sid = $2")
        .bind(now_unix())
        .bind(task_sid)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Whether the agent leg `call_sid` of `task_sid` was answered (`in-progress` status callback seen).
pub async fn agent_leg_answered(
    db: &Db,
    task_sid: &str,
    call_sid: &str,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM call_events WHERE kind = 'agent-leg' AND task_sid = $1 AND call_sid = $2 \
         AND status IN ('in-progress', 'answered')",
    )
    .bind(task_sid)
    .bind(call_sid)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Stores the wrap-up notes of an interaction (replacing earlier ones).
pub async fn set_notes(db: &Db, task_sid: &str, notes: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE calls SET notes = $1 WHERE task_sid = $2")
        .bind(notes)
        .bind(task_sid)
        .execute(&db.pool)
        .await?;
    Ok(())
}
