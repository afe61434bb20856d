//! `call-storm`: customers call the stand-in number at a steady rate (default 20/s for 5 minutes) while `N`
//! agents take the calls with real Devices. Every call runs the whole product path: the stand-in's scripted
//! PSTN caller → the server's signed Voice webhook (`/twilio/voice/inbound`, CRM lookup, `<Enqueue>`) →
//! TaskRouter workflow → reservation → the server's assignment callback answers a `conference` instruction →
//! the stand-in dials `client:agent_…` → the agent's Device gets the `invite` → the core joins it to the
//! reservation and rings → the agent answers (reservation accepted, call accepted) → talk → hang up (the
//! conference ends, the customer's leg completes, the task wraps) → wrap-up done (task completed).
//!
//! Invariants, all counted and all must be 0:
//! - `lost`: a placed call that did not end up bridged to exactly one agent and completed everywhere (the
//!   server's `calls` row completed with an agent and a conference, the agent's core connected once, the
//!   customer's leg `completed` without Twilio errors at the stand-in);
//! - `double`: a task that rang or connected more than once, or at two agents;
//! - `unanswered_while_free`: the queue's real-time statistics (sampled every 200 ms) showed a pending task
//!   and an idle Available worker at once for longer than the grace (1 s): a call left waiting while an agent
//!   was free;
//! - `stuck_wrapping`: tasks still `wrapping` at the end; `stuck`: agents or workers not Available at the end,
//!   Devices not registered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row as _;
use tsunagi_core::{ErrorKind, TaskSid};

use super::{ms, populate, workers_not_in};
use crate::agent::{Behaviour, Voice};
use crate::device::Media;
use crate::report::{Invariants, Report};
use crate::stack::{Stack, StackConfig};
use crate::stats::Summary;
use crate::BenchError;

/// Parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Agents signed in.
    pub agents: usize,
    /// Calls per second.
    pub rate: f64,
    /// How long calls keep arriving.
    pub duration: Duration,
    /// The agents' behaviour.
    pub behaviour: Behaviour,
    /// Signaling only, or real RTP per call.
    pub media: Media,
    /// How long a pending task may coexist with an idle Available worker before it counts.
    pub grace: Duration,
}

/// One sample of the queue.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    pending: u64,
    idle: u64,
}

/// A placed call.
pub(crate) struct Placed {
    pub(crate) sid: String,
    pub(crate) at: Instant,
}

/// What the server recorded for one interaction.
pub(crate) struct Row {
    pub(crate) task: String,
    pub(crate) agent: Option<String>,
    pub(crate) conference: Option<String>,
    pub(crate) status: String,
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    let pop = populate(
        StackConfig {
            agents: p.agents,
            roster_interval_ms: 1000,
            voice: Voice::Device(p.media),
        },
        p.behaviour,
    )
    .await?;
    let (stack, recorder) = (&pop.stack, &pop.recorder);
    let allowance = stack.allowance(Duration::from_secs(10));
    let t_reg = Instant::now();
    while pop.agents.iter().any(|a| !registered(a)) && t_reg.elapsed() < allowance {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let unregistered = pop.agents.iter().filter(|a| !registered(a)).count();

    let total = (p.rate * p.duration.as_secs_f64()).round() as usize;
    let per_call = p.behaviour.answer_after + p.behaviour.talk_for + p.behaviour.wrap_for;
    let stall = per_call + Duration::from_secs(30);
    let stop = AtomicBool::new(false);
    let mut samples: Vec<Sample> = Vec::new();
    let mut seen: HashMap<String, Value> = HashMap::new();
    let mut placed: Vec<Placed> = Vec::with_capacity(total);
    let mut place_errors = 0usize;
    let mut max_lag = Duration::ZERO;
    let mut placing_s = 0.0;
    let placing = Instant::now();

    let drive = async {
        for n in 0..total {
            let due = placing + Duration::from_secs_f64(n as f64 / p.rate);
            tokio::time::sleep_until(due.into()).await;
            max_lag = max_lag.max(due.elapsed());
            let at = Instant::now();
            match stack.place_call(&format!("+8190{:08}", n)).await {
                Ok(sid) => placed.push(Placed { sid, at }),
                Err(e) => {
                    tracing::warn!(error = %e, "placing a call failed");
                    place_errors += 1;
                }
            }
        }
        placing_s = placing.elapsed().as_secs_f64();
        let count = placed.len();
        let drained = recorder
            .wait_for(stall, |log| log.ended.len() >= count)
            .await
            .is_ok();
        // Wrap-up restores Available; give the last agents a moment before judging "stuck".
        let _ = recorder
            .wait_for(Duration::from_secs(10), |log| log.not_available() == 0)
            .await;
        stop.store(true, Ordering::Relaxed);
        drained
    };
    let watch = async {
        let mut last_calls = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            match stack.queue_waiting().await {
                Ok((pending, idle)) => samples.push(Sample {
                    at: Instant::now(),
                    pending,
                    idle,
                }),
                Err(e) => tracing::warn!(error = %e, "queue statistics"),
            }
            // The stand-in keeps the latest 2,000 ended calls: reading every 2 s sees every call's end.
            if last_calls.elapsed() >= Duration::from_secs(2) {
                last_calls = Instant::now();
                if let Ok(calls) = stack.sim_calls().await {
                    seen.extend(calls);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        if let Ok(calls) = stack.sim_calls().await {
            seen.extend(calls);
        }
    };
    let (drained, ()) = tokio::join!(drive, watch);

    let rows = settled_rows(stack, &placed).await?;
    let live_tasks = live_tasks(stack).await?;
    let stuck_workers = workers_not_in(stack, "Available").await?;
    let server_5xx = stack.server_5xx().await;
    let by_call: HashMap<&str, &Row> = rows
        .iter()
        .filter_map(|(call, row)| Some((call.as_deref()?, row)))
        .collect();

    let log = recorder.lock();
    let (mut lost, mut double) = (place_errors, 0usize);
    let mut lost_why: HashMap<&'static str, usize> = HashMap::new();
    let mut to_ring = Vec::with_capacity(placed.len());
    let mut answered = 0usize;
    for c in &placed {
        let why = judge(
            c,
            by_call.get(c.sid.as_str()).copied(),
            seen.get(&c.sid),
            &log,
        );
        match why {
            Verdict::Ok { ring } => {
                answered += 1;
                to_ring.push(ring);
            }
            Verdict::Double => double += 1,
            // Nothing is killed here: any Twilio error on a customer leg is a failure.
            Verdict::Recovered { .. } => {
                lost += 1;
                *lost_why
                    .entry("Twilio errors on the customer leg")
                    .or_default() += 1;
            }
            Verdict::Lost(why) => {
                lost += 1;
                *lost_why.entry(why).or_default() += 1;
            }
        }
    }
    let stuck_agents = log.not_available();
    let rate_limited = log.errors_of(ErrorKind::PresenceFailed);
    let core_errors = log.error_kinds();
    let media = log.media;
    drop(log);
    let (episodes, longest) = starvation(&samples, p.grace);
    let peak_pending = samples.iter().map(|s| s.pending).max().unwrap_or(0);
    let min_idle = samples.iter().map(|s| s.idle).min().unwrap_or(0);
    let invariants = Invariants {
        lost,
        double,
        stuck: pop.sign_in_stuck.len() + unregistered + stuck_agents + stuck_workers,
        rate_limited_54009: rate_limited,
        unanswered_while_free: episodes,
        stuck_wrapping: live_tasks.get("wrapping").copied().unwrap_or(0),
        ..Invariants::default()
    };
    let ring = Summary::of(&to_ring);
    Ok(Report::new(
        "call-storm",
        json!({
            "agents": p.agents,
            "rate_per_s": p.rate,
            "duration_s": p.duration.as_secs_f64(),
            "calls": total,
            "media": format!("{:?}", p.media),
            "answer_after_ms": ms(p.behaviour.answer_after),
            "talk_ms": ms(p.behaviour.talk_for),
            "wrap_ms": ms(p.behaviour.wrap_for),
            "grace_ms": ms(p.grace),
        }),
        json!({
            "calls_placed": placed.len(),
            "place_errors": place_errors,
            "answered_and_completed": answered,
            "lost_by_reason": lost_why,
            "placed_to_ring": ring,
            "calls_per_s": (placed.len() as f64 / placing_s * 10.0).round() / 10.0,
            "max_placing_lag_ms": ms(max_lag),
            "all_ended": drained,
            "customer_legs_seen": placed.iter().filter(|c| seen.contains_key(&c.sid)).count(),
            "queue_samples": samples.len(),
            "queue_peak_pending": peak_pending,
            "queue_min_idle_workers": min_idle,
            "longest_wait_with_idle_worker_ms": ms(longest),
            "live_tasks_at_end": live_tasks,
            "devices_unregistered": unregistered,
            "sign_in_s": (pop.sign_in.as_secs_f64() * 10.0).round() / 10.0,
            "sign_in_stuck": pop.sign_in_stuck,
            "core_errors": core_errors,
            "server_5xx": server_5xx,
            "media_legs": (p.media == Media::Rtp).then(|| json!({
                "legs": media.legs,
                "connected": media.connected,
                "silent": media.silent,
                "packets": media.packets,
                "packets_per_leg_s": media.packets_per_s(),
            })),
        }),
        invariants,
        json!({
            "no_call_waits_while_an_agent_is_free": episodes == 0,
            "met": invariants.hold(),
        }),
        started,
    ))
}

fn registered(a: &crate::agent::LoadAgent) -> bool {
    a.device.as_ref().is_some_and(|d| d.is_registered())
}

pub(crate) enum Verdict {
    Ok {
        ring: Duration,
    },
    /// Answered once and completed everywhere, but Twilio logged errors on the customer's leg (a webhook
    /// fetch failed and the fallback URL or the hold loop carried the call on).
    Recovered {
        errors: Vec<u64>,
    },
    Double,
    Lost(&'static str),
}

/// Judges one placed call from the server's row, the stand-in's view of the customer leg and the cores' log.
pub(crate) fn judge(
    c: &Placed,
    row: Option<&Row>,
    leg: Option<&Value>,
    log: &crate::recorder::Log,
) -> Verdict {
    let Some(row) = row else {
        return Verdict::Lost("no task at the server");
    };
    let Ok(task) = TaskSid::parse(&row.task) else {
        return Verdict::Lost("bad task sid");
    };
    let rings = log.rings.get(&task).map(Vec::as_slice).unwrap_or_default();
    let connected = log.connected.get(&task).copied().unwrap_or(0);
    if rings.len() > 1 || connected > 1 {
        return Verdict::Double;
    }
    let Some(first) = rings.first() else {
        return Verdict::Lost("never rang");
    };
    if connected == 0 {
        return Verdict::Lost("never connected");
    }
    if row.status != "completed" || row.agent.is_none() || row.conference.is_none() {
        return Verdict::Lost("server row not completed with agent and conference");
    }
    match leg {
        Some(v) if v["status"] != "completed" => {
            return Verdict::Lost("customer leg not completed")
        }
        Some(v) if v["errors"].as_array().is_some_and(|e| !e.is_empty()) => {
            return Verdict::Recovered {
                errors: v["errors"]
                    .as_array()
                    .map(|e| e.iter().filter_map(Value::as_u64).collect())
                    .unwrap_or_default(),
            };
        }
        // Not seen at all: the stand-in pruned it between two readings (counted as fine only if the rest
        // agrees, which it does here).
        _ => {}
    }
    Verdict::Ok {
        ring: first.at.saturating_duration_since(c.at),
    }
}

/// Episodes where a task was pending while a worker was idle and Available for longer than `grace` (from
/// consecutive samples), and the longest such stretch.
fn starvation(samples: &[Sample], grace: Duration) -> (usize, Duration) {
    let (mut episodes, mut longest) = (0, Duration::ZERO);
    let mut since: Option<Instant> = None;
    let mut counted = false;
    for s in samples {
        if s.pending > 0 && s.idle > 0 {
            let start = *since.get_or_insert(s.at);
            let lasted = s.at.saturating_duration_since(start);
            longest = longest.max(lasted);
            if lasted > grace && !counted {
                episodes += 1;
                counted = true;
            }
        } else {
            since = None;
            counted = false;
        }
    }
    (episodes, longest)
}

/// The server's rows once every placed call's row is `completed` (its last webhook may still be in flight
/// when the cores report wrap-up done), or after 10 s.
pub(crate) async fn settled_rows(
    stack: &Stack,
    placed: &[Placed],
) -> Result<Vec<(Option<String>, Row)>, BenchError> {
    let start = Instant::now();
    loop {
        let rows = server_rows(stack).await?;
        let done: std::collections::HashSet<&str> = rows
            .iter()
            .filter(|(_, r)| r.status == "completed")
            .filter_map(|(c, _)| c.as_deref())
            .collect();
        if placed.iter().all(|p| done.contains(p.sid.as_str()))
            || start.elapsed() > Duration::from_secs(10)
        {
            return Ok(rows);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The server's `calls` table: customer CallSid → row.
pub(crate) async fn server_rows(stack: &Stack) -> Result<Vec<(Option<String>, Row)>, BenchError> {
    let rows = sqlx::query(
        "SELECT task_sid, customer_call_sid, agent_id, conference_sid, status FROM calls",
    )
    .fetch_all(&stack.state.db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<Option<String>, _>(1)?,
                Row {
                    task: r.try_get(0)?,
                    agent: r.try_get(2)?,
                    conference: r.try_get(3)?,
                    status: r.try_get(4)?,
                },
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(BenchError::from)
}

/// Tasks not completed or canceled at the end, by assignment status.
pub(crate) async fn live_tasks(stack: &Stack) -> Result<HashMap<String, usize>, BenchError> {
    let (_, body) = stack
        .taskrouter(
            reqwest::Method::GET,
            "Tasks",
            &[
                ("AssignmentStatus", "pending,reserved,assigned,wrapping"),
                ("PageSize", "1000"),
            ],
        )
        .await?;
    let mut out = HashMap::new();
    for t in body["tasks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(s) = t["assignment_status"].as_str() {
            *out.entry(s.to_owned()).or_default() += 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starvation_counts_only_stretches_longer_than_the_grace() {
        let t0 = Instant::now();
        let s = |ms: u64, pending, idle| Sample {
            at: t0 + Duration::from_millis(ms),
            pending,
            idle,
        };
        let samples = [
            s(0, 1, 1),
            s(200, 1, 1), // 200 ms: within the grace
            s(400, 0, 5),
            s(600, 2, 3),
            s(1800, 2, 3), // 1.2 s: one episode
            s(2000, 2, 3), // same episode
            s(2200, 2, 0), // no idle worker: fine
            s(2400, 1, 1),
        ];
        let (episodes, longest) = starvation(&samples, Duration::from_secs(1));
        assert_eq!(episodes, 1);
        assert_eq!(longest, Duration::from_millis(1400));
    }
}
