//! The presence roster for supervisors. TaskRouter's `worker.activity.update` events (workspace event callback)
//! update the `presence` table (newest event wins, replays and reordering are harmless); each line also says
//! whether the agent is on a call ([`OnCall`], read from the calls, transfers and outbound attempts, and marked
//! dirty by every conference callback, so the badge follows answers and hang-ups); a flusher pushes the
//! whole roster to supervisors at most once per `server.roster_interval_ms`, and only after a change, so a
//! burst of 300 agents changing state costs supervisors one message per interval (DESIGN §4.2: no shared
//! Sync Map written by everyone).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;
use sqlx::Row as _;

use crate::db::Db;
use crate::events::{AgentEvent, SUPERVISORS};
use crate::state::AppState;

/// One line of the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RosterEntry {
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub display_name: String,
    /// Department.
    pub department_id: Option<String>,
    /// TaskRouter activity name (`Available`, `Break`, …), `Unknown` before the first event.
    pub activity: String,
    /// When the activity started (Unix ms), 0 if unknown.
    pub since_ms: i64,
    /// The call the agent is on now, `null` when none (added in 0.x; older clients ignore it).
    #[serde(default)]
    pub on_call: Option<OnCall>,
}

/// The call an agent is on, as the roster shows it: a routed call whose conference is up (the agent who has the
/// customer now, after any completed transfer), or an outbound call from the dial until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct OnCall {
    /// `inbound` or `outbound`.
    pub direction: Direction,
    /// The routed call's task (what a supervisor monitors); `null` for an outbound call.
    pub task_sid: Option<String>,
}

/// Which way a call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A routed call the agent answered (or took over by transfer).
    Inbound,
    /// A call the agent dialled.
    Outbound,
}

/// Change tracking for the bounded-rate push.
#[derive(Debug, Default)]
pub struct Roster {
    dirty: AtomicBool,
}

impl Roster {
    /// Notes a change.
    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
    }

    /// Whether a push is due now (clears the flag): at most one per tick, none without a change.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

/// Records a worker's activity if the event is newer than what is stored.
pub async fn record_activity(
    db: &Db,
    worker_sid: &str,
    activity: &str,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO presence (worker_sid, activity, since_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (worker_sid) DO UPDATE SET activity = excluded.activity, since_ms = excluded.since_ms \
         WHERE excluded.since_ms >= presence.since_ms",
    )
    .bind(worker_sid)
    .bind(activity)
    .bind(at_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Who is on a call now, by agent id.
async fn on_calls(db: &Db) -> Result<HashMap<String, OnCall>, sqlx::Error> {
    let mut on = HashMap::new();
    let outbound = sqlx::query(
        "SELECT agent_id FROM outbound_attempts WHERE status IN ('init', 'dialing', 'connected')",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &outbound {
        let call = OnCall {
            direction: Direction::Outbound,
            task_sid: None,
        };
        on.insert(r.try_get::<String, _>(0)?, call);
    }
    // The reserved agent has the customer, unless a completed transfer handed them over (to an agent, or to a
    // number: then no agent has them).
    let mut holders: HashMap<String, Option<String>> = HashMap::new();
    let connected = sqlx::query("SELECT task_sid, agent_id FROM calls WHERE status = 'connected'")
        .fetch_all(&db.pool)
        .await?;
    for r in &connected {
        holders.insert(r.try_get(0)?, r.try_get(1)?);
    }
    let handed = sqlx::query(
        "SELECT t.task_sid, t.target_kind, t.target FROM transfers t JOIN calls c ON c.task_sid = t.task_sid \
         WHERE c.status = 'connected' AND t.status = 'completed' ORDER BY t.updated_at, t.created_at",
    )
    .fetch_all(&db.pool)
    .await?;
    for r in &handed {
        let (kind, target): (String, String) = (r.try_get(1)?, r.try_get(2)?);
        holders.insert(r.try_get(0)?, (kind == "agent").then_some(target));
    }
    for (task, agent) in holders {
        if let Some(agent) = agent {
            let call = OnCall {
                direction: Direction::Inbound,
                task_sid: Some(task),
            };
            on.insert(agent, call);
        }
    }
    Ok(on)
}

/// Every agent with a worker, with their latest activity and the call they are on.
pub async fn snapshot(db: &Db) -> Result<Vec<RosterEntry>, sqlx::Error> {
    let mut on = on_calls(db).await?;
    let rows = sqlx::query(
        "SELECT a.id, a.display_name, a.department_id, p.activity, p.since_ms FROM agents a \
         LEFT JOIN presence p ON p.worker_sid = a.worker_sid WHERE a.worker_sid IS NOT NULL ORDER BY a.id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            let agent_id: String = r.try_get(0)?;
            Ok(RosterEntry {
                on_call: on.remove(&agent_id),
                agent_id,
                display_name: r.try_get(1)?,
                department_id: r.try_get(2)?,
                activity: r
                    .try_get::<Option<String>, _>(3)?
                    .unwrap_or_else(|| "Unknown".into()),
                since_ms: r.try_get::<Option<i64>, _>(4)?.unwrap_or(0),
            })
        })
        .collect()
}

/// Starts the flusher: every `roster_interval_ms`, if the roster changed, push it to supervisors.
pub fn spawn_flusher(state: &AppState) {
    let state = state.clone();
    let every = Duration::from_millis(state.config.server.roster_interval_ms.max(50));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if !state.roster.take_dirty() {
                continue;
            }
            let pushed = match snapshot(&state.db).await {
                Ok(agents) => {
                    state
                        .hub
                        .publish(SUPERVISORS, &AgentEvent::Roster { agents })
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = pushed {
                tracing::warn!(error = %e, "roster push failed; retrying next tick");
                state.roster.mark_dirty();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_changes_is_one_push_and_no_change_is_none() {
        let r = Roster::default();
        assert!(!r.take_dirty());
        for _ in 0..300 {
            r.mark_dirty();
        }
        assert!(r.take_dirty());
        assert!(!r.take_dirty());
    }
}
