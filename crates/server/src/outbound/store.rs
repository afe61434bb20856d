//! The `outbound_attempts` table. State changes are conditional updates on the current status, so a retried
//! webhook, a double press or a late callback changes nothing once the attempt has moved on.

use sqlx::Row as _;

use crate::db::{now_unix, Db, StatusTable};

/// Lifecycle of an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The TwiML was answered; the agent's leg has not joined yet.
    Init,
    /// The agent joined; the customer's leg rings.
    Dialing,
    /// The customer joined.
    Connected,
    /// The customer's leg failed (or setup went stale); the conference was ended.
    Failed,
    /// The conference ended after the call.
    Ended,
}

impl Status {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Dialing => "dialing",
            Self::Connected => "connected",
            Self::Failed => "failed",
            Self::Ended => "ended",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "dialing" => Self::Dialing,
            "connected" => Self::Connected,
            "failed" => Self::Failed,
            "ended" => Self::Ended,
            _ => Self::Init,
        }
    }
    /// Whether the attempt is over.
    pub fn closed(self) -> bool {
        matches!(self, Self::Failed | Self::Ended)
    }
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The client's key.
    pub attempt: String,
    /// Who dials.
    pub agent_id: String,
    /// `ob-<uuid>`.
    pub conf_name: String,
    /// E.164.
    pub to_number: String,
    /// The agent's leg.
    pub agent_call_sid: Option<String>,
    /// `CF…` once the agent joined.
    pub conference_sid: Option<String>,
    /// The customer's leg.
    pub customer_call_sid: Option<String>,
    /// Lifecycle.
    pub status: Status,
    /// Created, Unix s.
    pub created_at: i64,
}

const COLUMNS: &str =
    "attempt, agent_id, conf_name, to_number, agent_call_sid, conference_sid, customer_call_sid, \
                       status, created_at";

const TABLE: StatusTable = StatusTable {
    table: "outbound_attempts",
    key: "attempt",
    columns: COLUMNS,
};

fn from_row(r: &sqlx::any::AnyRow) -> Result<Attempt, sqlx::Error> {
    let status: String = r.try_get(7)?;
    Ok(Attempt {
        attempt: r.try_get(0)?,
        agent_id: r.try_get(1)?,
        conf_name: r.try_get(2)?,
        to_number: r.try_get(3)?,
        agent_call_sid: r.try_get(4)?,
        conference_sid: r.try_get(5)?,
        customer_call_sid: r.try_get(6)?,
        status: Status::parse(&status),
        created_at: r.try_get(8)?,
    })
}

async fn one(db: &Db, filter: &str, bind: &str) -> Result<Option<Attempt>, sqlx::Error> {
    TABLE.one(db, filter, "", &[bind], from_row).await
}

/// An attempt by key.
pub async fn get(db: &Db, attempt: &str) -> Result<Option<Attempt>, sqlx::Error> {
    one(db, "attempt = $1", attempt).await
}

/// An attempt by conference name.
pub async fn by_name(db: &Db, conf_name: &str) -> Result<Option<Attempt>, sqlx::Error> {
    one(db, "conf_name = $1", conf_name).await
}

/// The agent's attempt for a resync snapshot: the live one (`init`, `dialing`, `connected`) if any, else the most
/// recent closed one (so a client that missed its end learns it; a client that never held it ignores it).
pub async fn latest_for_agent(db: &Db, agent_id: &str) -> Result<Option<Attempt>, sqlx::Error> {
    let order = "ORDER BY CASE WHEN status IN ('init', 'dialing', 'connected') THEN 0 ELSE 1 END, \
                 created_at DESC, updated_at DESC";
    TABLE
        .one(db, "agent_id = $1", order, &[agent_id], from_row)
        .await
}

/// Creates the attempt unless it exists (with a fresh `ob-<uuid>` name) and returns the stored one.
pub async fn create_or_get(
    db: &Db,
    attempt: &str,
    agent_id: &str,
    to: &str,
    agent_call_sid: &str,
) -> Result<Option<Attempt>, sqlx::Error> {
    let name = format!("ob-{}", uuid::Uuid::new_v4());
    sqlx::query(
        "INSERT INTO outbound_attempts (attempt, agent_id, conf_name, to_number, agent_call_sid, status, created_at, \
                                        updated_at) VALUES ($1, $2, $3, $4, $5, 'init', $6, $6) \
         ON CONFLICT (attempt) DO NOTHING",
    )
    .bind(attempt)
    .bind(agent_id)
    .bind(&name)
    .bind(to)
    .bind(agent_call_sid)
    .bind(now_unix())
    .execute(&db.pool)
    .await?;
    get(db, attempt).await
}

/// Whether `agent_id` has another attempt still being set up since `since`.
pub async fn other_in_setup(
    db: &Db,
    agent_id: &str,
    attempt: &str,
    since: i64,
) -> Result<bool, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM outbound_attempts WHERE agent_id = $1 AND attempt <> $2 \
         AND status IN ('init', 'dialing') AND created_at >= $3",
    )
    .bind(agent_id)
    .bind(attempt)
    .bind(since)
    .fetch_one(&db.pool)
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Attempts still being set up that were created before `before`.
pub async fn stale(db: &Db, before: i64) -> Result<Vec<Attempt>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM outbound_attempts WHERE status IN ('init', 'dialing') AND created_at < $1 LIMIT 500"
    );
    let rows = sqlx::query(&sql).bind(before).fetch_all(&db.pool).await?;
    rows.iter().map(from_row).collect()
}

/// Records a leg or the conference (`column` is one of ours, never input).
pub async fn set(db: &Db, attempt: &str, column: Column, value: &str) -> Result<(), sqlx::Error> {
    TABLE.set_once(db, attempt, column.name(), value).await
}

/// A settable column.
#[derive(Debug, Clone, Copy)]
pub enum Column {
    /// `conference_sid`.
    Conference,
    /// `customer_call_sid`.
    Customer,
}

impl Column {
    fn name(self) -> &'static str {
        match self {
            Self::Conference => "conference_sid",
            Self::Customer => "customer_call_sid",
        }
    }
}

/// Moves `attempt` from one of `from` to `to`; `true` only for the caller that made the change.
pub async fn transition(
    db: &Db,
    attempt: &str,
    from: &[Status],
    to: Status,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let from: Vec<&'static str> = from.iter().map(|s| s.as_str()).collect();
    TABLE
        .transition(db, attempt, &from, to.as_str(), reason)
        .await
}
