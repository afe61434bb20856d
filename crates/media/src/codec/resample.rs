//! Integer-ratio resampling between the engine rate (48 kHz) and narrow-band codecs (8 kHz).
//!
//! One windowed-sinc low-pass FIR (cut-off 3.6 kHz at 48 kHz) serves both directions: [`Decimator`] filters
//! and keeps every 6th sample (anti-aliasing), [`Interpolator`] runs the same filter polyphase over the
//! zero-stuffed input (anti-imaging). Both keep their filter history between calls, so frames join seamlessly.

use std::f64::consts::PI;

/// Ratio between the engine rate and 8 kHz.
pub const RATIO: usize = 6;
/// FIR length: 8 taps per phase.
const TAPS: usize = 48;

fn design() -> [f64; TAPS] {
    let cutoff = 3_600.0 / 48_000.0;
    let mut h = [0.0; TAPS];
    let mid = (TAPS - 1) as f64 / 2.0;
    for (i, tap) in h.iter_mut().enumerate() {
        let x = i as f64 - mid;
        let sinc = if x == 0.0 {
            2.0 * cutoff
        } else {
            (2.0 * PI * cutoff * x).sin() / (PI * x)
        };
        let window = 0.54 - 0.46 * (2.0 * PI * i as f64 / (TAPS - 1) as f64).cos();
        *tap = sinc * window;
    }
    let sum: f64 = h.iter().sum();
    h.map(|v| v / sum)
}

fn clamp(v: f64) -> i16 {
    // Invariant: clamped into the i16 range before the cast.
    v.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// 48 kHz → 8 kHz.
#[derive(Debug, Clone)]
pub struct Decimator {
    h: [f64; TAPS],
    history: [f64; TAPS],
    pos: usize,
    phase: usize,
}

impl Default for Decimator {
    fn default() -> Self {
        Self {
            h: design(),
            history: [0.0; TAPS],
            pos: 0,
            phase: 0,
        }
    }
}

impl Decimator {
    /// Filters `input` (48 kHz) and appends the 8 kHz result to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        for &s in input {
            self.history[self.pos] = f64::from(s);
            self.pos = (self.pos + 1) % TAPS;
            self.phase += 1;
            if self.phase == RATIO {
                self.phase = 0;
                // history[pos] is the oldest sample; h is symmetric, so the order of the dot product is free.
                let acc: f64 = (0..TAPS)
                    .map(|k| self.h[k] * self.history[(self.pos + k) % TAPS])
                    .sum();
                out.push(clamp(acc));
            }
        }
    }
}

/// 8 kHz → 48 kHz.
#[derive(Debug, Clone)]
pub struct Interpolator {
    h: [f64; TAPS],
    history: [f64; TAPS / RATIO],
    pos: usize,
}

impl Default for Interpolator {
    fn default() -> Self {
        Self {
            h: design().map(|v| v * RATIO as f64),
            history: [0.0; TAPS / RATIO],
            pos: 0,
        }
    }
}

impl Interpolator {
    /// Upsamples `input` (8 kHz) and appends six 48 kHz samples per input sample to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let n = TAPS / RATIO;
        for &s in input {
            self.history[self.pos] = f64::from(s);
            self.pos = (self.pos + 1) % n;
            for phase in 0..RATIO {
                // Newest sample first: tap phase + RATIO·k meets the input k samples back.
                let acc: f64 = (0..n)
                    .map(|k| self.h[phase + RATIO * k] * self.history[(self.pos + n - 1 - k) % n])
                    .sum();
                out.push(clamp(acc));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, rate: f64, n: usize, amp: f64) -> Vec<i16> {
        (0..n)
            .map(|i| ((2.0 * PI * hz * i as f64 / rate).sin() * amp) as i16)
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn passband_tone_survives_both_directions() {
        let mut d = Decimator::default();
        let mut narrow = Vec::new();
        d.process(&sine(440.0, 48_000.0, 9_600, 8_000.0), &mut narrow);
        assert_eq!(narrow.len(), 1_600);
        let r = rms(&narrow[200..]);
        assert!(
            (r - 8_000.0 / 2f64.sqrt()).abs() < 300.0,
            "decimated rms {r}"
        );

        let mut i = Interpolator::default();
        let mut wide = Vec::new();
        i.process(&narrow, &mut wide);
        assert_eq!(wide.len(), 9_600);
        let r = rms(&wide[2_000..]);
        assert!(
            (r - 8_000.0 / 2f64.sqrt()).abs() < 400.0,
            "interpolated rms {r}"
        );
    }

    #[test]
    fn stopband_is_attenuated() {
        let mut d = Decimator::default();
        let mut narrow = Vec::new();
        d.process(&sine(10_000.0, 48_000.0, 9_600, 8_000.0), &mut narrow);
        assert!(
            rms(&narrow[200..]) < 400.0,
            "10 kHz aliased: {}",
            rms(&narrow)
        );
    }
}
