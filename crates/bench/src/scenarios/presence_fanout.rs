//! `presence-fanout`: every agent changes presence (Available → Break, then back), spread over a window; a
//! supervisor watches the server's roster over `/v1/events`. Latency per change is from the agent's command to
//! the first roster push showing it. The path is the product's: core → TaskRouter activity (REST proxy) →
//! the stand-in's signed `worker.activity.update` webhook → the server's presence table → a roster push at most
//! once per `roster_interval_ms`. No Sync object is written by anyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tsunagi_core::{Activity, Command, ErrorKind};

use super::{ms, populate, workers_not_in};
use crate::agent::Behaviour;
use crate::agent::Voice;
use crate::report::{Invariants, Report};
use crate::stack::{agent_id, roster_entries, Stack, StackConfig, CLIENT_VERSION, SUPERVISOR};
use crate::stats::Summary;
use crate::BenchError;

/// The goal from issue #10: p99 from change to every supervisor roster.
pub const GOAL_P99_MS: f64 = 1000.0;

/// Parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Agents signed in.
    pub agents: usize,
    /// Window over which the agents' changes of one round are spread (0 = all at once).
    pub spread: Duration,
    /// The server's roster push interval.
    pub roster_interval_ms: u64,
}

/// Per agent id: each change of activity the supervisor saw, with when.
type Seen = Arc<Mutex<HashMap<String, Vec<(Instant, String)>>>>;

/// Roster pushes received.
#[derive(Debug, Default)]
struct Watch {
    seen: Seen,
    pushes: Arc<Mutex<(usize, usize)>>, // (pushes, bytes)
}

async fn watch_roster(stack: &Stack, session: &str) -> Result<Watch, BenchError> {
    let url = format!("{}/v1/events", stack.server_url.replace("http://", "ws://"));
    let mut req = url
        .into_client_request()
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let headers = req.headers_mut();
    for (k, v) in [
        ("authorization", format!("Bearer {session}")),
        ("x-client-version", CLIENT_VERSION.to_owned()),
    ] {
        headers.insert(
            k,
            v.parse().map_err(|_| BenchError::Setup("header".into()))?,
        );
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| BenchError::Setup(format!("supervisor socket: {e}")))?;
    let watch = Watch::default();
    let (seen, pushes) = (watch.seen.clone(), watch.pushes.clone());
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(text) = msg else { continue };
            let at = Instant::now();
            let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
                continue;
            };
            if v["type"] != "roster" {
                continue;
            }
            let entries = roster_entries(v["agents"].as_array().map_or(&[][..], Vec::as_slice));
            {
                let mut p = pushes.lock().unwrap_or_else(|e| e.into_inner());
                p.0 += 1;
                p.1 += text.len();
            }
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            for (agent, activity) in entries {
                let changes = seen.entry(agent).or_default();
                if changes.last().is_none_or(|(_, a)| *a != activity) {
                    changes.push((at, activity));
                }
            }
        }
    });
    Ok(watch)
}

impl Watch {
    /// Agents whose latest roster activity is not `activity`.
    fn not_showing(&self, agents: usize, activity: &str) -> usize {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        (0..agents)
            .filter(|i| {
                seen.get(&agent_id(*i))
                    .and_then(|c| c.last())
                    .is_none_or(|(_, a)| a != activity)
            })
            .count()
    }

    /// When the roster first showed `agent` in `activity` at or after `since`.
    fn first_seen(&self, agent: &str, activity: &str, since: Instant) -> Option<Instant> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.get(agent)?
            .iter()
            .find(|(at, a)| *at >= since && a == activity)
            .map(|(at, _)| *at)
    }

    async fn wait_showing(
        &self,
        agents: usize,
        activity: &str,
        timeout: Duration,
    ) -> Result<Duration, usize> {
        let start = Instant::now();
        loop {
            let off = self.not_showing(agents, activity);
            if off == 0 {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                return Err(off);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// One round: every agent switches to `to`, spread over the window; returns per-change latencies and the
/// changes the roster never showed.
async fn round(
    pop: &super::Population,
    watch: &Watch,
    to: Activity,
    name: &str,
    spread: Duration,
) -> (Vec<Duration>, usize, Duration) {
    let n = pop.agents.len();
    let gap = spread / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    let start = Instant::now();
    let mut sent = Vec::with_capacity(n);
    for agent in &pop.agents {
        sent.push(Instant::now());
        agent.command(Command::SetPresence { activity: to }).await;
        if !gap.is_zero() {
            tokio::time::sleep(gap).await;
        }
    }
    let timeout = pop.stack.allowance(Duration::from_secs(30));
    let _ = watch.wait_showing(n, name, timeout).await;
    let converged = start.elapsed();
    let mut latencies = Vec::with_capacity(n);
    let mut missed = 0;
    for (i, t0) in sent.iter().enumerate() {
        match watch.first_seen(&agent_id(i), name, *t0) {
            Some(at) => latencies.push(at.saturating_duration_since(*t0)),
            None => missed += 1,
        }
    }
    (latencies, missed, converged)
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    let behaviour = Behaviour {
        answer_after: Duration::ZERO,
        talk_for: Duration::ZERO,
        wrap_for: Duration::ZERO,
    };
    let pop = populate(
        StackConfig {
            agents: p.agents,
            roster_interval_ms: p.roster_interval_ms,
            voice: Voice::Simulated,
        },
        behaviour,
    )
    .await?;
    let stack = &pop.stack;
    let supervisor = stack.login(SUPERVISOR).await?;
    let watch = watch_roster(stack, &supervisor).await?;
    watch
        .wait_showing(
            p.agents,
            "Available",
            stack.allowance(Duration::from_secs(30)),
        )
        .await
        .map_err(|off| {
            BenchError::Timeout(format!("{off} agents never Available in the roster"))
        })?;

    let (mut latencies, missed_break, converge_break) =
        round(&pop, &watch, Activity::Break, "Break", p.spread).await;
    let (back, missed_back, converge_back) =
        round(&pop, &watch, Activity::Available, "Available", p.spread).await;
    latencies.extend(back);

    // Cross-check the final state through GET /v1/roster and TaskRouter.
    let roster = stack.roster(&supervisor).await?;
    let roster_wrong = (0..p.agents)
        .filter(|i| roster.get(&agent_id(*i)).map(String::as_str) != Some("Available"))
        .count();
    let stuck_workers = workers_not_in(stack, "Available").await?;
    let server_5xx = stack.server_5xx().await;
    let log = pop.recorder.lock();
    let stuck_agents = log.not_available();
    let rate_limited = log.errors_of(ErrorKind::PresenceFailed);
    let core_errors = log.error_kinds();
    drop(log);
    let (pushes, bytes) = *watch.pushes.lock().unwrap_or_else(|e| e.into_inner());

    let summary = Summary::of(&latencies);
    let invariants = Invariants {
        lost: 0,
        double: 0,
        stuck: pop.sign_in_stuck.len()
            + missed_break
            + missed_back
            + roster_wrong.max(stuck_agents)
            + stuck_workers,
        rate_limited_54009: rate_limited,
        ..Invariants::default()
    };
    let p99 = summary.map(|s| s.p99_ms);
    Ok(Report::new(
        "presence-fanout",
        json!({
            "agents": p.agents,
            "supervisors": 1,
            "changes_per_agent": 2,
            "spread_ms": ms(p.spread),
            "roster_interval_ms": p.roster_interval_ms,
        }),
        json!({
            "change_to_roster": summary,
            "converged_ms": {"to_break": ms(converge_break), "to_available": ms(converge_back)},
            "missed_changes": missed_break + missed_back,
            "roster_pushes": pushes,
            "roster_bytes": bytes,
            "sign_in_s": (pop.sign_in.as_secs_f64() * 10.0).round() / 10.0,
            "sign_in_stuck": pop.sign_in_stuck,
            "core_errors": core_errors,
            "server_5xx": server_5xx,
        }),
        invariants,
        json!({"change_to_roster_p99_ms_max": GOAL_P99_MS, "met": p99.is_some_and(|v| v <= GOAL_P99_MS)}),
        started,
    ))
}
