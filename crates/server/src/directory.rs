//! The agent directory (s14 contract §2): every agent except the caller, with their latest TaskRouter activity
//! from the `presence` table, for the transfer dialog. Sorted by department (agents without one last), then
//! display name, then id — in Rust, so SQLite and PostgreSQL (whose collations differ) give the same order.

use serde::Serialize;
use sqlx::Row as _;

use crate::db::Db;

/// One agent of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryEntry {
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub display_name: String,
    /// Department id.
    pub department_id: Option<String>,
    /// TaskRouter worker (`WK…`); transfers to an agent address it.
    pub worker_sid: Option<String>,
    /// Latest TaskRouter activity name, `Unknown` before the first event.
    pub activity: String,
    /// Whether the activity is `Available` (the agent can take a transfer).
    pub available: bool,
}

/// The activity that takes calls.
const AVAILABLE: &str = "Available";

/// Every agent except `caller`, in directory order.
pub async fn list(db: &Db, caller: &str) -> Result<Vec<DirectoryEntry>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.id, a.display_name, a.department_id, a.worker_sid, p.activity FROM agents a \
         LEFT JOIN presence p ON p.worker_sid = a.worker_sid WHERE a.id <> $1",
    )
    .bind(caller)
    .fetch_all(&db.pool)
    .await?;
    let mut agents = rows
        .iter()
        .map(|r| {
            let activity = r
                .try_get::<Option<String>, _>(4)?
                .unwrap_or_else(|| "Unknown".into());
            Ok(DirectoryEntry {
                agent_id: r.try_get(0)?,
                display_name: r.try_get(1)?,
                department_id: r.try_get(2)?,
                worker_sid: r.try_get(3)?,
                available: activity.eq_ignore_ascii_case(AVAILABLE),
                activity,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    sort(&mut agents);
    Ok(agents)
}

/// Department (none last), then display name, then id.
pub fn sort(agents: &mut [DirectoryEntry]) {
    agents.sort_by(|a, b| {
        (
            a.department_id.is_none(),
            &a.department_id,
            &a.display_name,
            &a.agent_id,
        )
            .cmp(&(
                b.department_id.is_none(),
                &b.department_id,
                &b.display_name,
                &b.agent_id,
            ))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, dept: Option<&str>, name: &str) -> DirectoryEntry {
        DirectoryEntry {
            agent_id: id.into(),
            display_name: name.into(),
            department_id: dept.map(Into::into),
            worker_sid: None,
            activity: "Unknown".into(),
            available: false,
        }
    }

    #[test]
    fn department_then_name_and_no_department_last() {
        let mut v = vec![
            entry("a1", None, "Aoki"),
            entry("a2", Some("d2"), "Abe"),
            entry("a3", Some("d1"), "渡辺"),
            entry("a4", Some("d1"), "Sato"),
        ];
        sort(&mut v);
        let ids: Vec<_> = v.iter().map(|e| e.agent_id.as_str()).collect();
        assert_eq!(ids, ["a4", "a3", "a2", "a1"]);
    }
}
