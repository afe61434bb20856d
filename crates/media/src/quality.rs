//! Call quality: the per-call statistics snapshot, a MOS estimate from a simplified E-model, and quality
//! warnings with hysteresis.
//!
//! MOS: ITU-T G.107 reduced to its network terms (Cole & Rosenbluth, 2001): `R = 93.2 − Id − Ie,eff` with the
//! delay impairment `Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)` for the one-way mouth-to-ear delay `d` (ms)
//! and the loss impairment `Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl + Bpl)` (G.711 with PLC: `Ie = 0`,
//! `Bpl = 25.1`, ITU-T G.113 App. I; used for Opus too, which is conservative), then the G.107 R→MOS mapping.
//!
//! Warnings follow the thresholds of the issue (RTT > 400 ms, jitter > 30 ms, loss > 3 %, MOS < 3.5). A
//! warning is raised when at least [`RAISE_OF_WINDOW`] of the last [`WINDOW`] samples cross its threshold and
//! cleared when none of them do, so one bad second neither raises nor clears it (the Voice SDK's
//! `warning`/`warning-cleared` behave the same way).

use std::collections::VecDeque;

use serde::Serialize;

use crate::codec::CodecKind;

/// Samples considered per warning.
pub const WINDOW: usize = 5;
/// Samples over the threshold that raise a warning.
pub const RAISE_OF_WINDOW: usize = 3;

/// RTT threshold, ms.
pub const MAX_RTT_MS: f64 = 400.0;
/// Jitter threshold, ms.
pub const MAX_JITTER_MS: f64 = 30.0;
/// Loss threshold, fraction.
pub const MAX_LOSS: f64 = 0.03;
/// MOS threshold.
pub const MIN_MOS: f64 = 3.5;

/// A quality problem the agent should see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QualityWarning {
    /// Round-trip time above 400 ms.
    HighRtt,
    /// Jitter above 30 ms.
    HighJitter,
    /// Packet loss above 3 %.
    HighPacketLoss,
    /// Estimated MOS below 3.5.
    LowMos,
}

impl QualityWarning {
    /// All warnings, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::HighRtt,
        Self::HighJitter,
        Self::HighPacketLoss,
        Self::LowMos,
    ];

    fn crossed(self, s: &QualitySample) -> bool {
        match self {
            Self::HighRtt => s.rtt_ms.is_some_and(|r| r > MAX_RTT_MS),
            Self::HighJitter => s.jitter_ms > MAX_JITTER_MS,
            Self::HighPacketLoss => s.loss.is_some_and(|l| l > MAX_LOSS),
            Self::LowMos => s.mos.is_some_and(|m| m < MIN_MOS),
        }
    }
}

/// One periodic measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QualitySample {
    /// Round-trip time, ms, when known.
    pub rtt_ms: Option<f64>,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Loss fraction over the last interval, when packets were expected.
    pub loss: Option<f64>,
    /// MOS estimate, when there was traffic to judge.
    pub mos: Option<f64>,
}

/// The per-call statistics snapshot the UI and the `getStats` shim read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallStats {
    /// The codec we send with.
    pub codec: Option<CodecKind>,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP payload bytes sent.
    pub bytes_sent: u64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP payload bytes received.
    pub bytes_received: u64,
    /// Packets lost (RFC 3550 cumulative).
    pub packets_lost: u64,
    /// Loss fraction over the last interval.
    pub loss: Option<f64>,
    /// Interarrival jitter, ms.
    pub jitter_ms: f64,
    /// Round-trip time, ms.
    pub rtt_ms: Option<f64>,
    /// MOS estimate (1‥4.5).
    pub mos: Option<f64>,
    /// Packets concealed at playout.
    pub concealed: u64,
    /// Packets arriving after their playout time.
    pub late: u64,
    /// Jitter buffer delay, ms (target depth × packet time).
    pub jitter_buffer_ms: f64,
    /// Level of the last sent frame, 0‥1 (RMS, full scale sine = 0.707).
    pub input_level: f64,
    /// Level of the last played frame, 0‥1.
    pub output_level: f64,
    /// Warnings raised now.
    pub warnings: Vec<QualityWarning>,
}

/// MOS from the simplified E-model; `one_way_ms` is the mouth-to-ear delay, `loss` a fraction.
pub fn mos(one_way_ms: f64, loss: f64, codec: CodecKind) -> f64 {
    let (ie, bpl) = match codec {
        CodecKind::Pcmu | CodecKind::Opus => (0.0, 25.1),
    };
    let d = one_way_ms.max(0.0);
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = (loss * 100.0).clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    (1.0 + 0.035 * r + 7.0e-6 * r * (r - 60.0) * (100.0 - r)).clamp(1.0, 4.5)
}

/// Keeps the recent samples and decides which warnings are raised.
#[derive(Debug, Clone, Default)]
pub struct QualityMonitor {
    samples: VecDeque<QualitySample>,
    raised: Vec<QualityWarning>,
}

impl QualityMonitor {
    /// A monitor with no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; returns the warnings that changed, with `true` for raised and `false` for cleared.
    pub fn push(&mut self, sample: QualitySample) -> Vec<(QualityWarning, bool)> {
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        let mut changes = Vec::new();
        for w in QualityWarning::ALL {
            let over = self.samples.iter().filter(|s| w.crossed(s)).count();
            let is_raised = self.raised.contains(&w);
            if !is_raised && over >= RAISE_OF_WINDOW {
                self.raised.push(w);
                changes.push((w, true));
            } else if is_raised && over == 0 {
                self.raised.retain(|r| *r != w);
                changes.push((w, false));
            }
        }
        changes
    }

    /// Warnings raised now.
    pub fn raised(&self) -> &[QualityWarning] {
        &self.raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mos_follows_the_e_model() {
        let clean = mos(60.0, 0.0, CodecKind::Pcmu);
        assert!((4.3..=4.45).contains(&clean), "{clean}");
        let lossy = mos(60.0, 0.10, CodecKind::Pcmu);
        assert!((3.2..3.5).contains(&lossy), "10 % loss: {lossy}");
        assert!(mos(60.0, 0.03, CodecKind::Pcmu) > 3.9);
        let slow = mos(400.0, 0.0, CodecKind::Pcmu);
        assert!(slow < 3.9 && slow > 2.5, "400 ms one way: {slow}");
        assert_eq!(mos(10_000.0, 1.0, CodecKind::Opus), 1.0);
        let _ = mos(f64::NAN, f64::NAN, CodecKind::Opus);
    }

    fn sample(rtt: f64, jitter: f64, loss: f64) -> QualitySample {
        QualitySample {
            rtt_ms: Some(rtt),
            jitter_ms: jitter,
            loss: Some(loss),
            mos: Some(mos(rtt / 2.0 + 40.0, loss, CodecKind::Pcmu)),
        }
    }

    #[test]
    fn warnings_need_three_of_five_and_clear_after_five_good() {
        let mut m = QualityMonitor::new();
        let good = sample(50.0, 5.0, 0.0);
        let bad = sample(500.0, 40.0, 0.05);
        assert!(m.push(bad).is_empty());
        assert!(m.push(good).is_empty());
        assert!(m.push(bad).is_empty());
        let raised = m.push(bad);
        assert_eq!(
            raised,
            vec![
                (QualityWarning::HighRtt, true),
                (QualityWarning::HighJitter, true),
                (QualityWarning::HighPacketLoss, true),
                (QualityWarning::LowMos, true)
            ]
        );
        for _ in 0..4 {
            assert!(m.push(good).is_empty(), "still a bad sample in the window");
        }
        let cleared = m.push(good);
        assert_eq!(cleared.len(), 4);
        assert!(cleared.iter().all(|(_, r)| !r));
        assert!(m.raised().is_empty());
    }

    #[test]
    fn low_mos_alone_raises_low_mos() {
        let mut m = QualityMonitor::new();
        let s = QualitySample {
            rtt_ms: None,
            jitter_ms: 0.0,
            loss: None,
            mos: Some(3.0),
        };
        m.push(s);
        m.push(s);
        assert_eq!(m.push(s), vec![(QualityWarning::LowMos, true)]);
    }
}
