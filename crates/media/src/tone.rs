//! Test signals at the engine rate: a sine [`ToneGenerator`] (the "test speaker" sound, and what tests send)
//! and [`tone_share`], a Goertzel measure of how much of a signal's energy sits at one frequency.

use std::f64::consts::PI;

use crate::codec::ENGINE_RATE;

/// A sine wave.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    hz: f64,
    amplitude: f64,
    phase: f64,
}

impl ToneGenerator {
    /// `hz` at `amplitude` (0‥32767).
    pub fn new(hz: f64, amplitude: f64) -> Self {
        Self {
            hz,
            amplitude: amplitude.clamp(0.0, 32_767.0),
            phase: 0.0,
        }
    }

    /// Fills `out` with the next samples at 48 kHz.
    pub fn fill(&mut self, out: &mut [i16]) {
        let step = self.hz / f64::from(ENGINE_RATE);
        for s in out {
            // Invariant: amplitude ≤ 32767 and |sin| ≤ 1.
            *s = ((self.phase * 2.0 * PI).sin() * self.amplitude) as i16;
            self.phase = (self.phase + step).fract();
        }
    }
}

/// Share (0‥1) of the energy of `samples` (48 kHz) at `hz`, from a Hann-windowed Goertzel filter. A clean
/// tone gives ≈1; silence gives 0; a different tone gives ≈0.
pub fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let n = samples.len();
    if n < 2 {
        return 0.0;
    }
    let coeff = 2.0 * (2.0 * PI * hz / f64::from(ENGINE_RATE)).cos();
    let (mut s1, mut s2, mut energy) = (0.0, 0.0, 0.0);
    for (i, &v) in samples.iter().enumerate() {
        let w = 0.5 - 0.5 * (2.0 * PI * i as f64 / (n - 1) as f64).cos();
        let x = f64::from(v) * w;
        energy += x * x;
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    if energy <= f64::EPSILON {
        return 0.0;
    }
    let power = (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0);
    // A windowed sine of energy E concentrates ≈ N·E/… in its bin: normalise by the pure-tone value.
    let pure = energy * n as f64 / 2.0 * (2.0 / 3.0);
    (power / pure).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_the_share_of_a_tone() {
        let mut g = ToneGenerator::new(440.0, 8_000.0);
        let mut x = vec![0i16; 9_600];
        g.fill(&mut x);
        let own = tone_share(&x, 440.0);
        assert!(own > 0.8, "{own}");
        assert!(tone_share(&x, 1_000.0) < 0.01);
        assert_eq!(tone_share(&[0; 960], 440.0), 0.0);
        let mut noise = 12_345u32;
        let n: Vec<i16> = (0..9_600)
            .map(|_| {
                noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (noise >> 16) as i16
            })
            .collect();
        assert!(tone_share(&n, 440.0) < 0.05);
    }
}
