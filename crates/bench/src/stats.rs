//! Latency summaries: nearest-rank percentiles over milliseconds.

use std::time::Duration;

use serde::Serialize;

/// p50 / p90 / p99 / max of a sample, in milliseconds (rounded to 0.01 ms).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// Sample size.
    pub count: usize,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

impl Summary {
    /// Summarizes `samples`; `None` when empty.
    pub fn of(samples: &[Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        Some(Self {
            count: ms.len(),
            p50_ms: round(percentile(&ms, 50.0)),
            p90_ms: round(percentile(&ms, 90.0)),
            p99_ms: round(percentile(&ms, 99.0)),
            max_ms: round(ms[ms.len() - 1]), // non-empty: checked above
            mean_ms: round(mean),
        })
    }
}

/// Nearest-rank percentile of an ascending, non-empty slice.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = Summary::of(&samples).unwrap();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p90_ms, 90.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.mean_ms, 50.5);
    }

    #[test]
    fn a_single_sample_is_every_percentile_and_empty_is_none() {
        let s = Summary::of(&[Duration::from_millis(7)]).unwrap();
        assert_eq!((s.p50_ms, s.p99_ms, s.max_ms), (7.0, 7.0, 7.0));
        assert!(Summary::of(&[]).is_none());
    }
}
