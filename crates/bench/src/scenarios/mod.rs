//! The scenarios. Each starts its own stack and agents, measures, checks its invariants and returns one
//! [`Report`](crate::report::Report).

pub mod call_storm;
pub mod failover;
pub mod memory;
pub mod presence_fanout;
pub mod reconnect_storm;
pub mod ring_latency;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::agent::{self, Behaviour, LoadAgent};
use crate::recorder::Recorder;
use crate::stack::{worker_sid, Stack, StackConfig};
use crate::BenchError;

/// A signed-in population: the stack, its agents and their recorder.
pub struct Population {
    /// The stand-in and server.
    pub stack: Stack,
    /// The agents, by index.
    pub agents: Vec<LoadAgent>,
    /// What their cores said.
    pub recorder: Arc<Recorder>,
    /// From the first login to every agent Available in its core (or the allowance, if some never were).
    pub sign_in: Duration,
    /// Agents not Available in their core after sign-in, described (connection, presence, errors).
    pub sign_in_stuck: Vec<String>,
}

/// Starts a stack with `cfg.agents` agents and waits until every one is connected and Available, both in its
/// core and in TaskRouter (agents that never are in their core are listed in [`Population::sign_in_stuck`]).
pub async fn populate(cfg: StackConfig, behaviour: Behaviour) -> Result<Population, BenchError> {
    populate_on(Stack::start(cfg).await?, cfg, behaviour).await
}

/// [`populate`] on a stack already started (e.g. [`Stack::start_external`]).
pub async fn populate_on(
    stack: Stack,
    cfg: StackConfig,
    behaviour: Behaviour,
) -> Result<Population, BenchError> {
    let recorder = Arc::new(Recorder::new(cfg.agents));
    let t0 = Instant::now();
    let agents = agent::start_all(&stack, cfg.agents, behaviour, &recorder, 8, cfg.voice).await?;
    let allowance = stack.allowance(Duration::from_secs(30));
    // An agent that never becomes Available is a finding, not a setup failure: it is counted as stuck
    // and described, and the scenario goes on with the others.
    let signed_in = recorder
        .wait_for(allowance, |log| log.not_available() == 0)
        .await;
    let sign_in = t0.elapsed();
    let sign_in_stuck: Vec<String> = match signed_in {
        Ok(_) => Vec::new(),
        Err(_) => {
            let log = recorder.lock();
            log.agents
                .iter()
                .enumerate()
                .filter(|(_, a)| !a.is_available())
                .map(|(i, a)| {
                    let presence = a.presence.map(|p| (p.0, p.1));
                    format!(
                        "agent {i}: {:?} {presence:?} errors {:?}",
                        a.connection, a.errors
                    )
                })
                .collect()
        }
    };
    if !sign_in_stuck.is_empty() {
        eprintln!(
            "tsunagi-bench: {} agents not Available after sign-in: {}",
            sign_in_stuck.len(),
            sign_in_stuck.join("; ")
        );
    }
    wait_workers(&stack, "Available", allowance).await?;
    Ok(Population {
        stack,
        agents,
        recorder,
        sign_in,
        sign_in_stuck,
    })
}

/// Waits until the stand-in shows every worker in `activity`; `Err` names how many are not.
pub async fn wait_workers(
    stack: &Stack,
    activity: &str,
    timeout: Duration,
) -> Result<(), BenchError> {
    let start = Instant::now();
    loop {
        let off = workers_not_in(stack, activity).await?;
        if off == 0 {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(BenchError::Timeout(format!(
                "{off} workers not {activity} in TaskRouter"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many workers the stand-in does not show in `activity`.
pub async fn workers_not_in(stack: &Stack, activity: &str) -> Result<usize, BenchError> {
    let acts = stack.worker_activities().await?;
    Ok((0..stack.agents)
        .filter(|i| acts.get(&worker_sid(*i)).map(String::as_str) != Some(activity))
        .count())
}

/// Milliseconds, rounded to 0.1.
pub fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}
