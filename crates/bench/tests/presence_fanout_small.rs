//! A small presence fan-out in-process: every agent's two changes reach the supervisor's roster over
//! `/v1/events`, and the final roster agrees with TaskRouter.

mod common;

use std::time::Duration;

use tsunagi_bench::scenarios::presence_fanout::{run, Params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_reaches_the_roster() {
    let report = run(Params {
        agents: 6,
        spread: Duration::from_millis(100),
        roster_interval_ms: 100,
    })
    .await
    .expect("scenario runs");
    common::assert_invariants(&report);
    let r = &report.results;
    assert_eq!(r["change_to_roster"]["count"], 12, "{r}");
    assert_eq!(r["missed_changes"], 0, "{r}");
    assert!(r["roster_pushes"].as_u64().unwrap() >= 2, "{r}");
}
