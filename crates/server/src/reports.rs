//! Call-leg analytics (spec §7): one line per interaction (TaskSid) created in `[from, to)`, assembled from the
//! `calls` table and the append-only webhook log, plus the summary metrics (answered, abandoned, missed per
//! agent, handle time). [`assemble`] is pure; [`load`] feeds it from the database.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row as _;

use crate::db::Db;
use crate::releases::rfc3339_utc;

/// One interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallLine {
    /// `WT…`.
    pub task_sid: String,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
    /// CRM id.
    pub customer_id: Option<String>,
    /// The agent who had it last.
    pub agent_id: Option<String>,
    /// `queued|reserved|connected|ended|completed|abandoned`.
    pub status: String,
    /// The customer reached an agent (customer joined the conference).
    pub answered: bool,
    /// Agent legs offered (one per reservation attempt).
    pub agent_attempts: u32,
    /// Agent legs that ended busy / no-answer / failed / canceled.
    pub missed_attempts: u32,
    /// Customer join → conference end, in seconds.
    pub handle_secs: Option<i64>,
    /// Wrap-up notes (≤ 2,000 characters), if the agent wrote any.
    pub notes: Option<String>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Range start (Unix s, inclusive).
    pub from: i64,
    /// Range end (Unix s, exclusive).
    pub to: i64,
    /// Interactions.
    pub interactions: usize,
    /// Answered.
    pub answered: usize,
    /// Caller left before any agent answered.
    pub abandoned: usize,
    /// Missed agent legs per agent.
    pub missed_per_agent: BTreeMap<String, u32>,
    /// Lines.
    pub calls: Vec<CallLine>,
}

/// A `calls` row as the report needs it.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// `WT…`.
    pub task_sid: String,
    /// Unix s.
    pub created_at: i64,
    /// Customer leg.
    pub customer_call_sid: Option<String>,
    /// CRM id.
    pub customer_id: Option<String>,
    /// Last agent.
    pub agent_id: Option<String>,
    /// Stored status.
    pub status: String,
    /// Wrap-up notes.
    pub notes: Option<String>,
}

/// A logged webhook.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// `WT…`.
    pub task_sid: String,
    /// `agent-leg`, `conference`, `task`.
    pub kind: String,
    /// Call status or event name.
    pub status: String,
    /// Leg.
    pub call_sid: Option<String>,
    /// Agent concerned.
    pub agent_id: Option<String>,
    /// Unix s.
    pub at: i64,
}

fn failed_leg(status: &str) -> bool {
    matches!(status, "busy" | "no-answer" | "failed" | "canceled")
}

/// Builds the report (pure).
pub fn assemble(from: i64, to: i64, calls: Vec<CallRecord>, events: &[EventRecord]) -> Report {
    let mut by_task: BTreeMap<&str, Vec<&EventRecord>> = BTreeMap::new();
    for e in events {
        by_task.entry(e.task_sid.as_str()).or_default().push(e);
    }
    let mut missed_per_agent = BTreeMap::new();
    let mut lines = Vec::with_capacity(calls.len());
    for c in calls {
        let evs = by_task
            .get(c.task_sid.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let legs: Vec<_> = evs.iter().filter(|e| e.kind == "agent-leg").collect();
        let attempts = legs
            .iter()
            .filter_map(|e| e.call_sid.as_deref())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let missed: Vec<_> = legs.iter().filter(|e| failed_leg(&e.status)).collect();
        for m in &missed {
            if let Some(a) = &m.agent_id {
                *missed_per_agent.entry(a.clone()).or_insert(0u32) += 1;
            }
        }
        let customer_join = evs.iter().filter(|e| {
            e.kind == "conference"
                && e.status == "participant-join"
                && c.customer_call_sid.is_some()
                && e.call_sid == c.customer_call_sid
        });
        let joined_at = customer_join.map(|e| e.at).min();
        let ended_at = evs
            .iter()
            .filter(|e| e.kind == "conference" && e.status == "conference-end")
            .map(|e| e.at)
            .max();
        let answered = joined_at.is_some();
        lines.push(CallLine {
            task_sid: c.task_sid,
            created_at: rfc3339_utc(c.created_at),
            customer_id: c.customer_id,
            agent_id: c.agent_id,
            status: c.status,
            answered,
            agent_attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            missed_attempts: u32::try_from(missed.len()).unwrap_or(u32::MAX),
            handle_secs: joined_at.zip(ended_at).map(|(j, e)| (e - j).max(0)),
            notes: c.notes,
        });
    }
    Report {
        from,
        to,
        interactions: lines.len(),
        answered: lines.iter().filter(|l| l.answered).count(),
        abandoned: lines
            .iter()
            .filter(|l| !l.answered && l.status == "abandoned")
            .count(),
        missed_per_agent,
        calls: lines,
    }
}

/// Reads the range from the database and assembles the report.
pub async fn load(db: &Db, from: i64, to: i64) -> Result<Report, sqlx::Error> {
    let calls = sqlx::query(
        "SELECT task_sid, created_at, customer_call_sid, customer_id, agent_id, status, notes FROM calls \
         WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, task_sid",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(call_record)
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let rows = sqlx::query(
        "SELECT e.task_sid, e.kind, e.status, e.call_sid, e.agent_id, e.at FROM call_events e \
         JOIN calls c ON c.task_sid = e.task_sid WHERE c.created_at >= $1 AND c.created_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&db.pool)
    .await?;
    let events = event_records(&rows)?;
    Ok(assemble(from, to, calls, &events))
}

/// Decodes a row starting `task_sid, created_at, customer_call_sid, customer_id, agent_id, status, notes`.
pub(crate) fn call_record(r: &sqlx::any::AnyRow) -> Result<CallRecord, sqlx::Error> {
    Ok(CallRecord {
        task_sid: r.try_get(0)?,
        created_at: r.try_get(1)?,
        customer_call_sid: r.try_get(2)?,
        customer_id: r.try_get(3)?,
        agent_id: r.try_get(4)?,
        status: r.try_get(5)?,
        notes: r.try_get(6)?,
    })
}

/// Decodes rows of `task_sid, kind, status, call_sid, agent_id, at`.
pub(crate) fn event_records(rows: &[sqlx::any::AnyRow]) -> Result<Vec<EventRecord>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            Ok(EventRecord {
                task_sid: r.try_get(0)?,
                kind: r.try_get(1)?,
                status: r.try_get(2)?,
                call_sid: r.try_get(3)?,
                agent_id: r.try_get(4)?,
                at: r.try_get(5)?,
            })
        })
        .collect()
}

/// The lines as CSV (RFC 4180, header first).
pub fn to_csv(report: &Report) -> String {
    let mut out = String::from("task_sid,created_at,customer_id,agent_id,status,answered,agent_attempts,missed_attempts,handle_secs,notes\r\n");
    for l in &report.calls {
        let fields = [
            l.task_sid.clone(),
            l.created_at.clone(),
            l.customer_id.clone().unwrap_or_default(),
            l.agent_id.clone().unwrap_or_default(),
            l.status.clone(),
            l.answered.to_string(),
            l.agent_attempts.to_string(),
            l.missed_attempts.to_string(),
            l.handle_secs.map(|h| h.to_string()).unwrap_or_default(),
            l.notes.clone().unwrap_or_default(),
        ];
        let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(s: &str) -> String {
    // Leading =,+,-,@ would be formulas in spreadsheets: prefix a quote mark.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// Parses a range bound: Unix seconds or a UTC date `YYYY-MM-DD`.
pub fn parse_bound(s: &str) -> Option<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let y: i64 = s.get(0..4)?.parse().ok()?;
    let m: i64 = s.get(5..7)?.parse().ok()?;
    let d: i64 = s.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days-from-civil (H. Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(
        task: &str,
        kind: &str,
        status: &str,
        call: Option<&str>,
        agent: Option<&str>,
        at: i64,
    ) -> EventRecord {
        EventRecord {
            task_sid: task.into(),
            kind: kind.into(),
            status: status.into(),
            call_sid: call.map(Into::into),
            agent_id: agent.map(Into::into),
            at,
        }
    }

    #[test]
    fn answered_abandoned_missed_and_handle_time() {
        let call = |t: &str, status: &str| CallRecord {
            task_sid: t.into(),
            created_at: 1_700_000_000,
            customer_call_sid: Some(format!("CA-{t}")),
            customer_id: Some("C-1".into()),
            agent_id: Some("agent_2".into()),
            status: status.into(),
            notes: (t == "WT1").then(|| "折り返し希望, \"至急\"\n明日".to_owned()),
        };
        let events = vec![
            ev(
                "WT1",
                "agent-leg",
                "initiated",
                Some("CAa1"),
                Some("agent_1"),
                10,
            ),
            ev(
                "WT1",
                "agent-leg",
                "no-answer",
                Some("CAa1"),
                Some("agent_1"),
                30,
            ),
            ev(
                "WT1",
                "agent-leg",
                "initiated",
                Some("CAa2"),
                Some("agent_2"),
                31,
            ),
            ev(
                "WT1",
                "conference",
                "participant-join",
                Some("CAa2"),
                None,
                35,
            ),
            ev(
                "WT1",
                "conference",
                "participant-join",
                Some("CA-WT1"),
                None,
                36,
            ),
            ev("WT1", "conference", "conference-end", None, None, 156),
            ev(
                "WT2",
                "agent-leg",
                "initiated",
                Some("CAb1"),
                Some("agent_1"),
                10,
            ),
            ev(
                "WT2",
                "agent-leg",
                "canceled",
                Some("CAb1"),
                Some("agent_1"),
                12,
            ),
        ];
        let r = assemble(
            0,
            2_000_000_000,
            vec![call("WT1", "completed"), call("WT2", "abandoned")],
            &events,
        );
        assert_eq!((r.interactions, r.answered, r.abandoned), (2, 1, 1));
        assert_eq!(r.missed_per_agent.get("agent_1"), Some(&2));
        assert_eq!(r.calls[0].agent_attempts, 2);
        assert_eq!(r.calls[0].missed_attempts, 1);
        assert_eq!(r.calls[0].handle_secs, Some(120));
        assert_eq!(r.calls[1].handle_secs, None);
        let csv = to_csv(&r);
        assert!(csv.starts_with("task_sid,created_at,"));
        assert!(
            csv.contains(
                "WT1,2023-11-14T22:13:20Z,C-1,agent_2,completed,true,2,1,120,\"折り返し希望, \"\"至急\"\"\n明日\"\r\n"
            ),
            "{csv}"
        );
        assert!(csv.contains(",abandoned,false,1,1,,\r\n"), "{csv}");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn bounds() {
        assert_eq!(parse_bound("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_bound("1970-01-01"), Some(0));
        assert_eq!(parse_bound("2023-11-14"), Some(1_699_920_000));
        assert_eq!(parse_bound("2023-13-01"), None);
        assert_eq!(parse_bound("yesterday"), None);
    }
}
