//! A small call storm in-process: customer calls through the server's Voice webhook reach agents' Devices
//! through the conference instruction, every one is answered, talked, wrapped and completed; the report's
//! counters agree with its figures.

mod common;

use std::time::Duration;

use tsunagi_bench::agent::Behaviour;
use tsunagi_bench::device::Media;
use tsunagi_bench::scenarios::call_storm::{run, Params};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_customer_call_is_answered_once_and_completed() {
    let report = run(Params {
        agents: 4,
        rate: 4.0,
        duration: Duration::from_secs(2),
        behaviour: Behaviour {
            answer_after: Duration::from_millis(50),
            talk_for: Duration::from_millis(300),
            wrap_for: Duration::from_millis(50),
        },
        media: Media::Signaling,
        grace: Duration::from_secs(1),
    })
    .await
    .expect("scenario runs");
    common::assert_invariants(&report);
    let inv = report.invariants;
    assert_eq!(inv.unanswered_while_free, 0, "{inv:?}");
    assert_eq!(inv.stuck_wrapping, 0, "{inv:?}");
    let r = &report.results;
    assert_eq!(r["calls_placed"], 8, "{r}");
    assert_eq!(r["answered_and_completed"], 8, "{r}");
    assert_eq!(r["placed_to_ring"]["count"], 8, "{r}");
    assert_eq!(r["customer_legs_seen"], 8, "{r}");
    assert_eq!(r["devices_unregistered"], 0, "{r}");
    assert!(r["queue_samples"].as_u64().unwrap() > 0, "{r}");
}
