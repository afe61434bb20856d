//! The `transfers` table: one row per transfer attempt. Every state change is a conditional update on the
//! current status, so a retried webhook or a late callback for a closed transfer changes nothing.

use sqlx::Row as _;

use crate::db::{now_unix, Db, StatusTable};

/// Cold (hand over at once) or warm (consult first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Hand over at once.
    Cold,
    /// Hold the customer and talk to the target first.
    Warm,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Self::Cold => "cold",
            Self::Warm => "warm",
        }
    }
}

/// Lifecycle of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The target's leg rings.
    Dialing,
    /// The target is in the conference (warm: consulting).
    Joined,
    /// The first agent left; the target has the customer.
    Completed,
    /// The target's leg failed or the target left during the consult.
    Failed,
    /// The first agent canceled a warm transfer.
    Canceled,
}

impl Status {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dialing => "dialing",
            Self::Joined => "joined",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "joined" => Self::Joined,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" => Self::Canceled,
            _ => Self::Dialing,
        }
    }
}

/// One transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    /// Id (also in the participant label `transfer-<id>`).
    pub id: String,
    /// `WT…`.
    pub task_sid: String,
    /// `CF…`.
    pub conference_sid: String,
    /// The agent handing the call over.
    pub from_agent_id: String,
    /// Their leg, which leaves when the transfer completes.
    pub from_call_sid: String,
    /// Cold or warm.
    pub mode: Mode,
    /// The receiving agent's id, when the target is an agent.
    pub target_agent_id: Option<String>,
    /// The target's leg.
    pub call_sid: Option<String>,
    /// Lifecycle.
    pub status: Status,
}

const COLUMNS: &str =
    "id, task_sid, conference_sid, from_agent_id, mode, target_kind, target, call_sid, status, from_call_sid";

const TABLE: StatusTable = StatusTable {
    table: "transfers",
    key: "id",
    columns: COLUMNS,
};

fn from_row(r: &sqlx::any::AnyRow) -> Result<TransferRow, sqlx::Error> {
    let mode: String = r.try_get(4)?;
    let kind: String = r.try_get(5)?;
    let target: String = r.try_get(6)?;
    let status: String = r.try_get(8)?;
    Ok(TransferRow {
        id: r.try_get(0)?,
        task_sid: r.try_get(1)?,
        conference_sid: r.try_get(2)?,
        from_agent_id: r.try_get(3)?,
        from_call_sid: r.try_get(9)?,
        mode: if mode == "warm" {
            Mode::Warm
        } else {
            Mode::Cold
        },
        target_agent_id: (kind == "agent").then_some(target),
        call_sid: r.try_get(7)?,
        status: Status::parse(&status),
    })
}

/// What a new transfer stores.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    /// Id.
    pub id: &'a str,
    /// `WT…`.
    pub task_sid: &'a str,
    /// `CF…`.
    pub conference_sid: &'a str,
    /// The agent handing over.
    pub from_agent_id: &'a str,
    /// Their leg.
    pub from_call_sid: &'a str,
    /// Cold or warm.
    pub mode: Mode,
    /// `agent` or `number`.
    pub target_kind: &'static str,
    /// Agent id or E.164 number.
    pub target: &'a str,
}

/// Inserts a `dialing` transfer; `Ok(false)` when the task already has an open one.
pub async fn insert(db: &Db, t: &NewTransfer<'_>) -> Result<bool, sqlx::Error> {
    let now = now_unix();
    let r = sqlx::query(
        "INSERT INTO transfers (id, task_sid, conference_sid, from_agent_id, mode, target_kind, target, status, \
                                created_at, updated_at, from_call_sid) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'dialing', $8, $8, $9)",
    )
    .bind(t.id)
    .bind(t.task_sid)
    .bind(t.conference_sid)
    .bind(t.from_agent_id)
    .bind(t.mode.as_str())
    .bind(t.target_kind)
    .bind(t.target)
    .bind(now)
    .bind(t.from_call_sid)
    .execute(&db.pool)
    .await;
    match r {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

async fn one(db: &Db, filter: &str, binds: &[&str]) -> Result<Option<TransferRow>, sqlx::Error> {
    let newest = "ORDER BY created_at DESC, id";
    TABLE.one(db, filter, newest, binds, from_row).await
}

/// A transfer by id.
pub async fn get(db: &Db, id: &str) -> Result<Option<TransferRow>, sqlx::Error> {
    one(db, "id = $1", &[id]).await
}

/// The task's open (dialing or joined) transfer.
pub async fn open_for_task(db: &Db, task: &str) -> Result<Option<TransferRow>, sqlx::Error> {
    one(
        db,
        "task_sid = $1 AND status IN ('dialing', 'joined')",
        &[task],
    )
    .await
}

/// The task's latest completed transfer (its target now has the customer).
pub async fn latest_completed(db: &Db, task: &str) -> Result<Option<TransferRow>, sqlx::Error> {
    one(db, "task_sid = $1 AND status = 'completed'", &[task]).await
}

/// Remembers the target's leg.
pub async fn set_call(db: &Db, id: &str, call_sid: &str) -> Result<(), sqlx::Error> {
    TABLE.set_once(db, id, "call_sid", call_sid).await
}

/// Moves `id` from one of `from` to `to`; `true` only for the caller that made the change.
pub async fn transition(
    db: &Db,
    id: &str,
    from: &[Status],
    to: Status,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let from: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
    TABLE.transition(db, id, &from, to.as_str(), reason).await
}
