//! A small ring-latency run in-process: every call rings once at one agent, is answered and completes in
//! TaskRouter; the report's counters agree with its figures.

mod common;

use std::time::Duration;

use tsunagi_bench::agent::Behaviour;
use tsunagi_bench::scenarios::ring_latency::{run, Params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_rings_once_and_completes() {
    let report = run(Params {
        agents: 4,
        calls: 8,
        concurrency: 2,
        rate: 0.0,
        behaviour: Behaviour {
            answer_after: Duration::from_millis(20),
            talk_for: Duration::from_millis(50),
            wrap_for: Duration::from_millis(20),
        },
    })
    .await
    .expect("scenario runs");
    common::assert_invariants(&report);
    let r = &report.results;
    assert_eq!(r["answered"], 8, "{r}");
    assert_eq!(r["completed_in_taskrouter"], 8, "{r}");
    assert_eq!(r["ring_latency"]["count"], 8, "{r}");
    assert!(r["ring_latency"]["p50_ms"].as_f64().unwrap() > 0.0, "{r}");
    assert_eq!(
        report.machine.nproc,
        std::thread::available_parallelism().unwrap().get()
    );
}
