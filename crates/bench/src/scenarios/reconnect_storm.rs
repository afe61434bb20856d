//! `reconnect-storm`: every EventBridge socket is closed at once by the stand-in (`/_sim/sockets/drop`) while
//! calls keep arriving. Each core must reconnect (full-jitter backoff), re-bootstrap and resync, and be
//! Connected and Available again; every call routed during the storm must ring exactly once, be answered and
//! reach `completed` (a reservation pushed to a dying socket is recovered by the resync, never duplicated).

use std::time::{Duration, Instant};

use serde_json::json;
use tsunagi_core::{ErrorKind, TaskSid};

use super::{ms, populate, workers_not_in};
use crate::agent::Behaviour;
use crate::agent::Voice;
use crate::report::{Invariants, Report};
use crate::stack::StackConfig;
use crate::stats::Summary;
use crate::BenchError;

/// The goal from issue #10: everyone Available again within this.
pub const GOAL_RECOVERY_S: f64 = 30.0;

/// Parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Agents signed in.
    pub agents: usize,
    /// Calls placed right after the drop.
    pub storm_calls: usize,
    /// The agents' behaviour.
    pub behaviour: Behaviour,
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    let storm_calls = p.storm_calls.min(p.agents);
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
    let before: Vec<usize> = recorder
        .lock()
        .agents
        .iter()
        .map(|a| a.connected_at.len())
        .collect();

    let dropped_at = Instant::now();
    let dropped = stack.drop_eventbridge_sockets().await?;
    if dropped < p.agents as u64 {
        return Err(BenchError::Setup(format!(
            "the stand-in dropped {dropped} sockets for {} agents",
            p.agents
        )));
    }
    let mut created = Vec::with_capacity(storm_calls);
    for n in 0..storm_calls {
        let attrs = tsunagi_server::inbound::attributes(
            &format!("CA{:032x}", n + 1),
            &format!("+8150{:08}", n),
            "+81501234567",
            None,
            false,
        );
        created.push(stack.create_task(&attrs).await?);
    }
    let tasks: Vec<Option<TaskSid>> = created.iter().map(|s| TaskSid::parse(s).ok()).collect();

    // Recovered: every agent reconnected since the drop and shows Available, and every storm call has ended.
    let allowance = stack.allowance(Duration::from_secs(60));
    let recovered = recorder
        .wait_for(allowance, |log| {
            log.agents
                .iter()
                .zip(&before)
                .all(|(a, n)| a.connected_at.len() > *n && a.is_available())
                && tasks.iter().flatten().all(|t| log.ended.contains_key(t))
        })
        .await;
    let all_available = recovered.unwrap_or_else(|e| e);
    let stuck_workers = workers_not_in(stack, "Available").await?;
    let statuses = stack.task_statuses(&created).await?;

    let server_5xx = stack.server_5xx().await;
    let log = recorder.lock();
    let reconnects: Vec<Duration> = log
        .agents
        .iter()
        .zip(&before)
        .filter_map(|(a, n)| {
            a.connected_at
                .get(*n)
                .map(|t| t.saturating_duration_since(dropped_at))
        })
        .collect();
    let never_reconnected = p.agents - reconnects.len();
    let (mut lost, mut double) = (0, 0);
    for (task, status) in tasks.iter().zip(&statuses) {
        let rings = task.and_then(|t| log.rings.get(&t)).map_or(0, Vec::len);
        let answered = task
            .and_then(|t| log.connected.get(&t))
            .copied()
            .unwrap_or(0);
        if rings == 0 || answered == 0 || status != "completed" {
            lost += 1;
        }
        if rings > 1 || answered > 1 {
            double += 1;
        }
    }
    let stuck_agents = log.not_available();
    let rate_limited = log.errors_of(ErrorKind::PresenceFailed);
    let core_errors = log.error_kinds();
    drop(log);

    let invariants = Invariants {
        lost,
        double,
        stuck: pop.sign_in_stuck.len() + stuck_agents.max(never_reconnected) + stuck_workers,
        rate_limited_54009: rate_limited,
        ..Invariants::default()
    };
    let recovery_s = (all_available.as_secs_f64() * 100.0).round() / 100.0;
    Ok(Report::new(
        "reconnect-storm",
        json!({
            "agents": p.agents,
            "storm_calls": storm_calls,
            "answer_after_ms": ms(p.behaviour.answer_after),
            "talk_ms": ms(p.behaviour.talk_for),
            "wrap_ms": ms(p.behaviour.wrap_for),
            "backoff": "core default: full jitter, base 1 s, cap 30 s",
        }),
        json!({
            "sockets_dropped": dropped,
            "reconnect_after_drop": Summary::of(&reconnects),
            "all_available_again_s": recovery_s,
            "recovered": recovered.is_ok(),
            "never_reconnected": never_reconnected,
            "storm_calls_completed": statuses.iter().filter(|s| *s == "completed").count(),
            "sign_in_s": (pop.sign_in.as_secs_f64() * 10.0).round() / 10.0,
            "sign_in_stuck": pop.sign_in_stuck,
            "core_errors": core_errors,
            "server_5xx": server_5xx,
        }),
        invariants,
        json!({"all_available_s_max": GOAL_RECOVERY_S, "met": recovered.is_ok() && recovery_s <= GOAL_RECOVERY_S}),
        started,
    ))
}
