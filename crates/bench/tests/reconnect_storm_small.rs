//! A small reconnect storm in-process: all EventBridge sockets dropped at once, calls placed in the gap; every
//! agent reconnects and is Available again, each call rings once and completes.

mod common;

use std::time::Duration;

use tsunagi_bench::agent::Behaviour;
use tsunagi_bench::scenarios::reconnect_storm::{run, Params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_comes_back_and_no_call_is_lost_or_doubled() {
    let report = run(Params {
        agents: 6,
        storm_calls: 3,
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
    assert_eq!(r["sockets_dropped"], 6, "{r}");
    assert_eq!(r["reconnect_after_drop"]["count"], 6, "{r}");
    assert_eq!(r["storm_calls_completed"], 3, "{r}");
    assert_eq!(r["recovered"], true, "{r}");
}
