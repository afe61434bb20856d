//! Shared assertion for the small in-process runs.

use tsunagi_bench::report::Report;

/// Asserts every invariant, tolerating only the known core race (crates/bench/README.md, finding 3): an agent
/// whose core ends sign-in showing `(Offline, Offline)` while TaskRouter has it Available. Such an agent counts
/// in `stuck` at sign-in and again at the end; anything else fails. Returns how many agents hit the race.
pub fn assert_invariants(report: &Report) -> usize {
    let inv = report.invariants;
    let known = report.results["sign_in_stuck"].as_array().map_or(0, |a| {
        a.iter()
            .filter(|s| {
                s.as_str()
                    .is_some_and(|s| s.contains("Some((Offline, Offline))"))
            })
            .count()
    });
    if known > 0 {
        eprintln!(
            "known core race hit (README finding 3): {}",
            report.results["sign_in_stuck"]
        );
    }
    assert_eq!(inv.lost, 0, "{inv:?}");
    assert_eq!(inv.double, 0, "{inv:?}");
    assert_eq!(inv.rate_limited_54009, 0, "{inv:?}");
    assert!(inv.stuck <= 2 * known, "{inv:?}: {}", report.results);
    known
}
