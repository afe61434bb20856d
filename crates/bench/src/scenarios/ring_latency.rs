//! `ring-latency`: N calls arrive at the stand-in (a task created through TaskRouter REST with the attributes the
//! server's inbound webhook sets); each must ring once in the owning agent's core, be answered, talked and
//! wrapped up. A call that did not ring, was not answered or did not reach `completed` counts as lost.
//!
//! Two figures: `ring_latency` is end to end, from just before the task is created to the `Ringing` event
//! leaving the core (it includes the stand-in's routing), and `push_to_ring` is from the stand-in's
//! `reservation.created` push (its scenario log, Unix ms) to the ring: the part Tsunagi owns, in whole ms.
//!
//! Calls are placed at `rate` per second (a real 300-agent floor sees a few per second; the default 20/s is
//! already well above), and at most `concurrency` are open at a time (below the number of agents), so a call
//! never waits in the queue for a free agent: the figure is the ring path, not queueing.

use std::time::{Duration, Instant};

use serde_json::json;
use tsunagi_core::{ErrorKind, TaskSid};

use super::{ms, populate, workers_not_in};
use crate::agent::Behaviour;
use crate::agent::Voice;
use crate::recorder::Ring;
use crate::report::{Invariants, Report};
use crate::stack::{worker_sid, StackConfig};
use crate::stats::Summary;
use crate::BenchError;

/// The goal from issue #10: p99 ring latency on one machine.
pub const GOAL_P99_MS: f64 = 50.0;

/// Parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Agents signed in.
    pub agents: usize,
    /// Calls to place.
    pub calls: usize,
    /// Calls open at once.
    pub concurrency: usize,
    /// Calls placed per second (0: as fast as `concurrency` allows).
    pub rate: f64,
    /// The agents' behaviour.
    pub behaviour: Behaviour,
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    let concurrency = p.concurrency.clamp(1, p.agents.max(1));
    let pop = populate(
        StackConfig {
            agents: p.agents,
            roster_interval_ms: 1000,
            voice: Voice::Simulated,
        },
        p.behaviour,
    )
    .await?;
    let (stack, recorder) = (&pop.stack, &pop.recorder);
    let per_call = p.behaviour.answer_after + p.behaviour.talk_for + p.behaviour.wrap_for;
    let stall = per_call + Duration::from_secs(20);

    let mut created: Vec<(String, Instant)> = Vec::with_capacity(p.calls);
    let placing = Instant::now();
    let mut stalled = false;
    for n in 0..p.calls {
        let open = created.len();
        if recorder
            .wait_for(stall, |log| open - log.ended.len().min(open) < concurrency)
            .await
            .is_err()
        {
            stalled = true;
            break;
        }
        if p.rate > 0.0 {
            let due = placing + Duration::from_secs_f64(n as f64 / p.rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let attrs = tsunagi_server::inbound::attributes(
            &format!("CA{:032x}", n + 1),
            &format!("+8150{:08}", n),
            "+81501234567",
            None,
            false,
        );
        let t0 = Instant::now();
        let sid = stack.create_task(&attrs).await?;
        created.push((sid, t0));
    }
    let total = created.len();
    let drained = recorder
        .wait_for(stall, |log| log.ended.len() >= total)
        .await
        .is_ok();
    let placing_s = placing.elapsed().as_secs_f64();
    // Wrap-up restores Available; give the last agents a moment before judging "stuck".
    let _ = recorder
        .wait_for(Duration::from_secs(10), |log| log.not_available() == 0)
        .await;

    let sids: Vec<String> = created.iter().map(|(s, _)| s.clone()).collect();
    let statuses = stack.task_statuses(&sids).await?;
    let stuck_workers = workers_not_in(stack, "Available").await?;
    let pushes = stack.pushes("reservation.created").await?;
    let server_5xx = stack.server_5xx().await;
    let log = recorder.lock();
    let mut latencies = Vec::with_capacity(total);
    let mut firsts: Vec<Ring> = Vec::with_capacity(total);
    let (mut lost, mut double, mut answered, mut rang_at_two) = (p.calls - total, 0, 0, 0);
    for ((sid, t0), status) in created.iter().zip(&statuses) {
        let rings = TaskSid::parse(sid)
            .ok()
            .and_then(|t| log.rings.get(&t).map(|r| (t, r)));
        match rings.and_then(|(task, rings)| Some((task, rings, rings.first()?))) {
            Some((task, rings, first)) => {
                latencies.push(first.at.saturating_duration_since(*t0));
                firsts.push(*first);
                if rings.len() > 1 {
                    double += 1;
                    if rings.iter().any(|r| r.agent != first.agent) {
                        rang_at_two += 1;
                    }
                }
                let was_answered = log.connected.get(&task).copied().unwrap_or(0) >= 1;
                answered += usize::from(was_answered);
                if !was_answered || status != "completed" {
                    lost += 1;
                }
            }
            None => lost += 1,
        }
    }
    let stuck_agents = log.not_available();
    let rate_limited = log.errors_of(ErrorKind::PresenceFailed);
    let core_errors = log.error_kinds();
    drop(log);
    let summary = Summary::of(&latencies);
    let from_push = Summary::of(&push_to_ring(&firsts, &pushes));
    let invariants = Invariants {
        lost,
        double,
        stuck: pop.sign_in_stuck.len() + stuck_agents + stuck_workers,
        rate_limited_54009: rate_limited,
        ..Invariants::default()
    };
    let p99 = summary.map(|s| s.p99_ms);
    Ok(Report::new(
        "ring-latency",
        json!({
            "agents": p.agents,
            "calls": p.calls,
            "concurrency": concurrency,
            "rate_per_s": p.rate,
            "answer_after_ms": ms(p.behaviour.answer_after),
            "talk_ms": ms(p.behaviour.talk_for),
            "wrap_ms": ms(p.behaviour.wrap_for),
        }),
        json!({
            "ring_latency": summary,
            "push_to_ring": from_push,
            "calls_placed": total,
            "answered": answered,
            "completed_in_taskrouter": statuses.iter().filter(|s| *s == "completed").count(),
            "rang_at_two_agents": rang_at_two,
            "placing_stalled": stalled,
            "all_ended": drained,
            "calls_per_s": (total as f64 / placing_s * 10.0).round() / 10.0,
            "sign_in_s": (pop.sign_in.as_secs_f64() * 10.0).round() / 10.0,
            "sign_in_stuck": pop.sign_in_stuck,
            "core_errors": core_errors,
            "server_5xx": server_5xx,
        }),
        invariants,
        json!({
            "ring_p99_ms_max": GOAL_P99_MS,
            "met": p99.is_some_and(|v| v <= GOAL_P99_MS),
            "met_from_push": from_push.is_some_and(|s| s.p99_ms <= GOAL_P99_MS),
        }),
        started,
    ))
}

/// For each first ring, the time since the latest `reservation.created` push to that agent's worker at or
/// before it (each agent holds one call at a time, so that push is this call's). Rings without a logged push
/// (the stand-in's log is bounded) are left out.
fn push_to_ring(firsts: &[Ring], pushes: &[(String, u64)]) -> Vec<Duration> {
    let mut by_worker: std::collections::HashMap<&str, Vec<u64>> = std::collections::HashMap::new();
    for (worker, at) in pushes {
        by_worker.entry(worker.as_str()).or_default().push(*at);
    }
    firsts
        .iter()
        .filter_map(|r| {
            let worker = worker_sid(r.agent);
            let pushed = by_worker
                .get(worker.as_str())?
                .iter()
                .filter(|at| **at <= r.wall_ms)
                .max()?;
            Some(Duration::from_millis(r.wall_ms - pushed))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_ring_pairs_with_the_latest_earlier_push_to_its_worker() {
        let ring = |agent, wall_ms| Ring {
            agent,
            at: Instant::now(),
            wall_ms,
        };
        let pushes = vec![
            (worker_sid(0), 1_000),
            (worker_sid(0), 2_000),
            (worker_sid(1), 1_990),
            (worker_sid(0), 3_000), // after the ring: a later call's
        ];
        let got = push_to_ring(&[ring(0, 2_003), ring(1, 1_991), ring(2, 5_000)], &pushes);
        assert_eq!(
            got,
            vec![Duration::from_millis(3), Duration::from_millis(1)]
        );
    }
}
