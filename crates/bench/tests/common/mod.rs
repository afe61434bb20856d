//! Shared assertion for the small in-process runs.

use tsunagi_bench::report::Report;

/// Asserts every invariant: nothing lost, double-assigned, stuck or rate-limited.
pub fn assert_invariants(report: &Report) {
    let inv = report.invariants;
    assert_eq!(inv.lost, 0, "{inv:?}");
    assert_eq!(inv.double, 0, "{inv:?}");
    assert_eq!(inv.rate_limited_54009, 0, "{inv:?}");
    assert_eq!(inv.stuck, 0, "{inv:?}: {}", report.results);
    assert!(report.ok, "{inv:?}");
}
