//! One scenario's result as one JSON object: what ran (scenario, parameters), where (machine facts), what it
//! measured, and the invariant counters that decide pass or fail.

use serde::Serialize;
use serde_json::Value;

use crate::machine::{self, Machine};

/// The counters every scenario checks; all must be zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Invariants {
    /// Calls (tasks) that never rang, or never reached `completed` in TaskRouter.
    pub lost: usize,
    /// Tasks that rang more than once (twice at one agent, or at two agents).
    pub double: usize,
    /// Agents not Available after sign-in, agents (or workers) not back to Available at the end, and presence
    /// changes the roster never showed (an agent may count twice).
    pub stuck: usize,
    /// Presence writes refused by the platform (a Sync `54009` or REST `429` would land here; the presence path
    /// writes no Sync object: agents set their TaskRouter activity and the server aggregates the roster).
    pub rate_limited_54009: usize,
    /// Call storm: episodes of a call waiting in the queue while a worker was Available and idle, longer than
    /// the scenario's grace (sampled from the queue's real-time statistics).
    pub unanswered_while_free: usize,
    /// Call storm: tasks still `wrapping` at the end (a worker never released from wrap-up).
    pub stuck_wrapping: usize,
    /// Failover: call-control requests (hold / unhold through the balancer) that failed while an instance was
    /// down.
    pub control_failed: usize,
    /// Failover: TaskRouter events without exactly one webhook receipt at the server (a delivery lost, or a
    /// retry the stand-in gave up on).
    pub webhooks_not_once: usize,
}

impl Invariants {
    /// Every counter is zero.
    pub fn hold(&self) -> bool {
        *self == Self::default()
    }
}

/// A scenario's JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Scenario name, e.g. `ring-latency`.
    pub scenario: &'static str,
    /// Its parameters.
    pub parameters: Value,
    /// The machine.
    pub machine: Machine,
    /// Figures.
    pub results: Value,
    /// Invariant counters.
    pub invariants: Invariants,
    /// Stated goals and whether this run met them (informative; only invariants fail a run).
    pub goals: Value,
    /// Resident memory of the whole process (agents, stand-in and server) at the end, MiB.
    pub rss_mib: Option<f64>,
    /// Peak resident memory, MiB.
    pub peak_rss_mib: Option<f64>,
    /// The source the run was built from, when the caller says (`TSUNAGI_BENCH_COMMIT`, set by `scripts/bench`).
    pub commit: Option<String>,
    /// Wall time of the scenario including setup, seconds.
    pub wall_s: f64,
    /// `invariants` all zero.
    pub ok: bool,
}

impl Report {
    /// Builds the report, reading machine facts and memory now.
    pub fn new(
        scenario: &'static str,
        parameters: Value,
        results: Value,
        invariants: Invariants,
        goals: Value,
        started: std::time::Instant,
    ) -> Self {
        let (rss_mib, peak_rss_mib) = machine::memory_mib();
        Self {
            scenario,
            parameters,
            machine: Machine::detect(),
            results,
            invariants,
            goals,
            rss_mib,
            peak_rss_mib,
            commit: std::env::var("TSUNAGI_BENCH_COMMIT").ok(),
            wall_s: (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
            ok: invariants.hold(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_nonzero_counter_fails_the_run() {
        assert!(Invariants::default().hold());
        for broken in [
            Invariants {
                lost: 1,
                ..Invariants::default()
            },
            Invariants {
                double: 1,
                ..Invariants::default()
            },
            Invariants {
                stuck: 1,
                ..Invariants::default()
            },
            Invariants {
                rate_limited_54009: 1,
                ..Invariants::default()
            },
        ] {
            assert!(!broken.hold());
            let r = Report::new(
                "t",
                Value::Null,
                Value::Null,
                broken,
                Value::Null,
                std::time::Instant::now(),
            );
            assert!(!r.ok);
        }
    }
}
