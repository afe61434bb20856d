//! Test audio: a sine [`ToneGenerator`] and a [`ToneDetector`] that tells which frequency a leg is hearing.
//!
//! Both work on 8 kHz mono 16-bit samples (the PCMU clock). The detector keeps the last [`WINDOW`] samples and,
//! when asked, scans them with a Hann-windowed Goertzel filter from [`SCAN_MIN_HZ`] to [`SCAN_MAX_HZ`] in
//! [`SCAN_STEP_HZ`] steps, refining the peak by parabolic interpolation. Tests assert on
//! [`AudioReport::dominant_hz`] ("the agent heard 440 Hz") and on [`AudioReport::rms`] (≈0 while muted).

use std::collections::VecDeque;
use std::f64::consts::PI;

/// Sample rate of everything here (PCMU).
pub const SAMPLE_RATE: f64 = 8_000.0;
/// Samples analysed: 256 ms.
pub const WINDOW: usize = 2_048;
/// Lowest frequency scanned.
pub const SCAN_MIN_HZ: f64 = 100.0;
/// Highest frequency scanned.
pub const SCAN_MAX_HZ: f64 = 3_900.0;
/// Scan step.
pub const SCAN_STEP_HZ: f64 = 5.0;
/// Below this RMS the window counts as silence and no frequency is reported.
pub const SILENCE_RMS: f64 = 50.0;

/// A sine wave at a fixed frequency and amplitude.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    hz: f64,
    amplitude: f64,
    phase: f64,
}

impl ToneGenerator {
    /// A tone of `hz` at `amplitude` (0‥32767; 8000 ≈ −12 dBFS, what the spec's experiment used).
    pub fn new(hz: f64, amplitude: f64) -> Self {
        Self {
            hz,
            amplitude: amplitude.clamp(0.0, 32_767.0),
            phase: 0.0,
        }
    }

    /// The frequency.
    pub fn hz(&self) -> f64 {
        self.hz
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        let step = self.hz / SAMPLE_RATE;
        for s in out {
            // Invariant: amplitude ≤ 32767 and |sin| ≤ 1, so the cast cannot overflow.
            *s = ((self.phase * 2.0 * PI).sin() * self.amplitude) as i16;
            self.phase = (self.phase + step).fract();
        }
    }
}

/// What a leg has received.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AudioReport {
    /// RTP media packets received since the leg started.
    pub packets: u64,
    /// Samples received since the leg started.
    pub samples: u64,
    /// RMS of the last [`WINDOW`] samples.
    pub rms: f64,
    /// The strongest frequency in the last [`WINDOW`] samples, when they are not silence.
    pub dominant_hz: Option<f64>,
}

/// Keeps the recent received audio and analyses it on demand.
#[derive(Debug, Clone, Default)]
pub struct ToneDetector {
    window: VecDeque<i16>,
    packets: u64,
    samples: u64,
}

impl ToneDetector {
    /// An empty detector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one received packet's decoded samples.
    pub fn push_packet(&mut self, samples: impl IntoIterator<Item = i16>) {
        self.packets += 1;
        for s in samples {
            if self.window.len() == WINDOW {
                self.window.pop_front();
            }
            self.window.push_back(s);
            self.samples += 1;
        }
    }

    /// Analyses the current window.
    pub fn report(&self) -> AudioReport {
        let x: Vec<f64> = self.window.iter().map(|&s| f64::from(s)).collect();
        let rms = if x.is_empty() {
            0.0
        } else {
            (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt()
        };
        let dominant_hz = if rms < SILENCE_RMS || x.len() < WINDOW / 2 {
            None
        } else {
            dominant(&x)
        };
        AudioReport {
            packets: self.packets,
            samples: self.samples,
            rms,
            dominant_hz,
        }
    }
}

/// Goertzel power of `hz` in the Hann-windowed `x`.
fn power(x: &[f64], hz: f64) -> f64 {
    let n = x.len() as f64;
    let coeff = 2.0 * (2.0 * PI * hz / SAMPLE_RATE).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / (n - 1.0)).cos();
        let s0 = v * w + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

fn dominant(x: &[f64]) -> Option<f64> {
    let steps = ((SCAN_MAX_HZ - SCAN_MIN_HZ) / SCAN_STEP_HZ) as usize;
    let powers: Vec<f64> = (0..=steps)
        .map(|i| power(x, SCAN_MIN_HZ + i as f64 * SCAN_STEP_HZ))
        .collect();
    let (best, &p) = powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let hz = SCAN_MIN_HZ + best as f64 * SCAN_STEP_HZ;
    // Parabolic interpolation on log power between the neighbours refines the peak below the step size.
    let offset = match (
        best.checked_sub(1).and_then(|i| powers.get(i)),
        powers.get(best + 1),
    ) {
        (Some(&l), Some(&r)) if l > 0.0 && r > 0.0 && p > 0.0 => {
            let (a, b, c) = (l.ln(), p.ln(), r.ln());
            let denom = a - 2.0 * b + c;
            if denom.abs() > f64::EPSILON {
                (0.5 * (a - c) / denom).clamp(-0.5, 0.5)
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    Some(hz + offset * SCAN_STEP_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(hz: f64, amplitude: f64) -> AudioReport {
        let mut g = ToneGenerator::new(hz, amplitude);
        let mut d = ToneDetector::new();
        let mut frame = [0i16; 160];
        for _ in 0..20 {
            g.fill(&mut frame);
            d.push_packet(frame);
        }
        d.report()
    }

    #[test]
    fn detects_the_generated_frequency() {
        for hz in [300.0, 440.0, 437.0, 1000.0, 1333.0, 3000.0] {
            let r = heard(hz, 8000.0);
            let got = r.dominant_hz.unwrap();
            assert!((got - hz).abs() < 3.0, "{hz} Hz detected as {got}");
            assert!(
                (r.rms - 8000.0 / 2f64.sqrt()).abs() < 100.0,
                "rms {}",
                r.rms
            );
            assert_eq!(r.packets, 20);
        }
    }

    #[test]
    fn detects_through_pcmu() {
        let mut g = ToneGenerator::new(440.0, 8000.0);
        let mut d = ToneDetector::new();
        let mut frame = [0i16; 160];
        for _ in 0..20 {
            g.fill(&mut frame);
            d.push_packet(frame.iter().map(|&s| {
                tsunagi_media::codec::g711::decode(tsunagi_media::codec::g711::encode(s))
            }));
        }
        let got = d.report().dominant_hz.unwrap();
        assert!((got - 440.0).abs() < 3.0, "{got}");
    }

    #[test]
    fn silence_has_no_frequency() {
        let r = heard(440.0, 0.0);
        assert_eq!(r.dominant_hz, None);
        assert!(r.rms < 1.0);
        assert_eq!(ToneDetector::new().report().dominant_hz, None);
    }

    #[test]
    fn distinguishes_two_tones_by_strength() {
        let mut a = ToneGenerator::new(440.0, 6000.0);
        let mut b = ToneGenerator::new(1000.0, 2000.0);
        let mut d = ToneDetector::new();
        let (mut fa, mut fb) = ([0i16; 160], [0i16; 160]);
        for _ in 0..20 {
            a.fill(&mut fa);
            b.fill(&mut fb);
            d.push_packet(fa.iter().zip(fb).map(|(x, y)| x.saturating_add(y)));
        }
        let got = d.report().dominant_hz.unwrap();
        assert!((got - 440.0).abs() < 3.0, "{got}");
    }
}
