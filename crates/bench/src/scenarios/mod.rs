//! The scenarios. Each starts its own stack and agents, measures, checks its invariants and returns one
//! [`Report`](crate::report::Report).

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
    /// From the first login to every agent Available (core and stand-in).
    pub sign_in: Duration,
}

/// Starts a stack with `cfg.agents` agents and waits until every one is connected and Available, both in its
/// core and in TaskRouter.
pub async fn populate(cfg: StackConfig, behaviour: Behaviour) -> Result<Population, BenchError> {
    let stack = Stack::start(cfg).await?;
    let recorder = Arc::new(Recorder::new(cfg.agents));
    let t0 = Instant::now();
    let agents = agent::start_all(&stack, cfg.agents, behaviour, &recorder, 8).await?;
    let allowance = stack.allowance(Duration::from_secs(30));
    recorder
        .wait_for(allowance, |log| log.not_available() == 0)
        .await
        .map_err(|_| {
            let n = recorder.lock().not_available();
            BenchError::Timeout(format!(
                "{n} of {} agents not Available after sign-in",
                cfg.agents
            ))
        })?;
    wait_workers(&stack, "Available", allowance).await?;
    Ok(Population {
        stack,
        agents,
        recorder,
        sign_in: t0.elapsed(),
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
