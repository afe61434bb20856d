//! Who had a leg in a call, and the agent-scoped call history built on it (s14 contract §3, §6).
//!
//! An agent had a leg in an inbound interaction when they answered it (the reserved agent once the conference
//! existed, or an `in-progress` agent-leg callback naming them), when a transfer to them was taken (`joined` or
//! `completed`), or when they transferred it away; and in an outbound call when they dialled it. The same rule
//! decides who may read a call's recordings ([`had_leg`]) and which calls `GET /v1/calls/history` lists.
//!
//! History pages newest first by creation time with a `before` cursor in Unix milliseconds. Creation times are
//! whole seconds, so a page never ends inside a second: the calls of the second that straddles the limit move to
//! the next page whole ([`paginate`]), and no call is skipped or repeated.

use serde::Serialize;
use sqlx::Row as _;

use crate::db::Db;
use crate::reports::{self, call_record, CallLine, CallRecord, EventRecord};

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 200;
/// Most calls returned for one second when a whole page falls inside it.
const MAX_SAME_SECOND: i64 = 1000;

/// SQL condition on `calls c`: agent `$1` had a leg in it. Written as one set of the agent's tasks so each
/// branch uses an index on the agent (migrations 0009, 0010) instead of testing every call.
const HAD_LEG: &str = "c.task_sid IN ( \
       SELECT task_sid FROM calls WHERE agent_id = $1 AND conference_sid IS NOT NULL \
       UNION SELECT task_sid FROM call_events WHERE agent_id = $1 AND kind = 'agent-leg' \
                AND status IN ('in-progress', 'answered') \
       UNION SELECT task_sid FROM transfers WHERE target = $1 AND target_kind = 'agent' \
                AND status IN ('joined', 'completed') \
       UNION SELECT task_sid FROM transfers WHERE from_agent_id = $1)";

/// Whether `agent_id` had a leg in the call a recording belongs to: `owner` is a TaskSid (inbound) or an
/// outbound conference name `ob-…`.
pub async fn had_leg(db: &Db, owner: &str, agent_id: &str) -> Result<bool, sqlx::Error> {
    if owner.starts_with("ob-") {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM outbound_attempts WHERE conf_name = $2 AND agent_id = $1",
        )
        .bind(agent_id)
        .bind(owner)
        .fetch_one(&db.pool)
        .await?;
        return Ok(row.try_get::<i64, _>(0)? > 0);
    }
    let sql = format!("SELECT COUNT(*) FROM calls c WHERE c.task_sid = $2 AND {HAD_LEG}");
    let row = sqlx::query(&sql)
        .bind(agent_id)
        .bind(owner)
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// One call of the history: the report's line plus its direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRecord {
    /// The same object `GET /v1/reports/calls` returns (with `notes`). For an outbound call `task_sid` is the id
    /// the app controls it by, `ob-<attempt>`.
    #[serde(flatten)]
    pub line: CallLine,
    /// `inbound` or `outbound`.
    pub direction: &'static str,
}

/// A page of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// Newest first.
    pub calls: Vec<HistoryRecord>,
    /// The `before` of the next page (Unix ms), `null` at the end.
    pub next_before: Option<i64>,
}

/// A fetched call before assembly.
#[derive(Debug, Clone)]
struct Row {
    record: CallRecord,
    /// An outbound attempt (its `task_sid` is `ob-<attempt>`).
    outbound: bool,
    /// The outbound call's conference, once known.
    conference: Option<String>,
}

/// The page of `agent_id`'s calls created before `before_ms` (all when `None`).
pub async fn page(
    db: &Db,
    agent_id: &str,
    limit: u32,
    before_ms: Option<i64>,
) -> Result<Page, sqlx::Error> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let max_sec = before_ms.map_or(i64::MAX, |b| (b - 1).div_euclid(1000));
    let fetch = i64::from(limit) + 1;
    let mut rows = fetch_rows(db, agent_id, i64::MIN, max_sec, fetch).await?;
    let (mut keep, mut next) = paginate(&rows, limit as usize);
    if let (0, Some(first)) = (keep, rows.first().filter(|_| next.is_some())) {
        // The whole page is one second: return that second whole.
        let second = first.record.created_at;
        rows = fetch_rows(db, agent_id, second, second, MAX_SAME_SECOND).await?;
        keep = rows.len();
        next = Some(second.saturating_mul(1000));
    }
    rows.truncate(keep);
    Ok(Page {
        calls: assemble(db, rows).await?,
        next_before: next,
    })
}

/// How many of `rows` (newest first) make this page and the next page's cursor: never split a second.
/// `0` means the first `limit + 1` rows share one second.
fn paginate(rows: &[Row], limit: usize) -> (usize, Option<i64>) {
    let times: Vec<i64> = rows.iter().map(|r| r.record.created_at).collect();
    paginate_times(&times, limit)
}

/// [`paginate`] on creation times (Unix s, newest first).
pub fn paginate_times(times: &[i64], limit: usize) -> (usize, Option<i64>) {
    if times.len() <= limit {
        return (times.len(), None);
    }
    let first_out = times[limit];
    let keep = times.iter().take_while(|t| **t > first_out).count();
    (keep, Some(first_out.saturating_add(1).saturating_mul(1000)))
}

async fn fetch_rows(
    db: &Db,
    agent_id: &str,
    min_sec: i64,
    max_sec: i64,
    limit: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    let inbound = format!(
        "SELECT c.task_sid, c.created_at, c.customer_call_sid, c.customer_id, c.agent_id, c.status, c.notes \
         FROM calls c WHERE c.created_at >= $2 AND c.created_at <= $3 AND {HAD_LEG} \
         ORDER BY c.created_at DESC, c.task_sid DESC LIMIT $4"
    );
    let outbound = "SELECT o.attempt, o.created_at, o.customer_call_sid, cu.id, o.agent_id, o.status, o.notes, \
                    o.conference_sid FROM outbound_attempts o LEFT JOIN customers cu ON cu.phone = o.to_number \
                    WHERE o.agent_id = $1 AND o.created_at >= $2 AND o.created_at <= $3 \
                    ORDER BY o.created_at DESC, o.attempt DESC LIMIT $4";
    let mut rows = Vec::new();
    for (sql, is_outbound) in [(inbound.as_str(), false), (outbound, true)] {
        let found = sqlx::query(sql)
            .bind(agent_id)
            .bind(min_sec)
            .bind(max_sec)
            .bind(limit)
            .fetch_all(&db.pool)
            .await?;
        for r in &found {
            let mut record = call_record(r)?;
            if is_outbound {
                record.task_sid = format!("ob-{}", record.task_sid);
            }
            rows.push(Row {
                record,
                outbound: is_outbound,
                conference: if is_outbound { r.try_get(7)? } else { None },
            });
        }
    }
    rows.sort_by(|a, b| {
        (b.record.created_at, &b.record.task_sid).cmp(&(a.record.created_at, &a.record.task_sid))
    });
    Ok(rows)
}

/// The lines of `rows` (order kept), with their leg events.
async fn assemble(db: &Db, rows: Vec<Row>) -> Result<Vec<HistoryRecord>, sqlx::Error> {
    let tasks: Vec<&str> = rows
        .iter()
        .filter(|r| !r.outbound)
        .map(|r| r.record.task_sid.as_str())
        .collect();
    let conferences: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|r| Some((r.conference.as_deref()?, r.record.task_sid.as_str())))
        .collect();
    let mut events = in_list(
        db,
        "SELECT e.task_sid, e.kind, e.status, e.call_sid, e.agent_id, e.at FROM call_events e WHERE e.task_sid IN",
        &tasks,
    )
    .await?;
    let cfs: Vec<&str> = conferences.iter().map(|(cf, _)| *cf).collect();
    let outbound = in_list(
        db,
        "SELECT e.conference_sid, 'conference', e.status, e.call_sid, e.agent_id, e.at FROM call_events e \
         WHERE e.kind = 'outbound-conference' AND e.conference_sid IN",
        &cfs,
    )
    .await?;
    // Outbound conference events keyed like the report keys calls: by the line's id.
    for mut e in outbound {
        if let Some((_, id)) = conferences.iter().find(|(cf, _)| *cf == e.task_sid) {
            e.task_sid = (*id).to_owned();
            events.push(e);
        }
    }
    let directions: Vec<&'static str> = rows
        .iter()
        .map(|r| if r.outbound { "outbound" } else { "inbound" })
        .collect();
    let records = rows.into_iter().map(|r| r.record).collect();
    let report = reports::assemble(i64::MIN, i64::MAX, records, &events);
    Ok(report
        .calls
        .into_iter()
        .zip(directions)
        .map(|(line, direction)| HistoryRecord { line, direction })
        .collect())
}

/// Runs `select … IN (<keys>)` and decodes event rows; nothing for no keys.
async fn in_list(db: &Db, select: &str, keys: &[&str]) -> Result<Vec<EventRecord>, sqlx::Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
    let sql = format!("{select} ({})", marks.join(", "));
    let mut q = sqlx::query(&sql);
    for k in keys {
        q = q.bind(*k);
    }
    reports::event_records(&q.fetch_all(&db.pool).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_never_split_a_second() {
        // Fewer than the limit: everything, no next page.
        assert_eq!(paginate_times(&[30, 20], 5), (2, None));
        // The limit falls between seconds: cut there; the next page starts below the first left out.
        assert_eq!(paginate_times(&[30, 20, 10], 2), (2, Some(11_000)));
        // The limit falls inside second 20: that second moves whole to the next page.
        assert_eq!(paginate_times(&[30, 20, 20, 10], 2), (1, Some(21_000)));
        // The whole page is one second.
        assert_eq!(paginate_times(&[20, 20, 20], 2), (0, Some(21_000)));
    }
}
