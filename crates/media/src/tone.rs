//! Test signals at the engine rate: a sine [`ToneGenerator`] (the "test speaker" sound, and what tests send),
//! a speech-like [`Babble`] (what echo and noise tests send: a steady tone is exactly what noise suppression
//! removes, speech is not), and [`tone_share`], a Goertzel measure of how much of a signal's energy sits at one
//! frequency.

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

/// A speech-like voice: syllables of 120‥300 ms separated by 40‥200 ms pauses (a pseudo-random but
/// reproducible rhythm), each a harmonic series (1/k amplitudes, up to 3.4 kHz) on a pitch that glides down
/// by about a quarter during the syllable, under a raised-cosine envelope. Its spectrum and level change all
/// the time, as a talker's do, so noise suppression keeps it while it removes a steady tone.
#[derive(Debug, Clone)]
pub struct Babble {
    pitch: f64,
    amplitude: f64,
    seed: u32,
    /// Samples left in the current syllable or pause, and its length.
    left: usize,
    length: usize,
    voiced: bool,
    phase: f64,
    glide: f64,
}

impl Babble {
    /// A talker at pitch `pitch` Hz (e.g. 120 for a low voice, 220 for a high one) peaking near `amplitude`;
    /// `seed` picks the rhythm.
    pub fn new(pitch: f64, amplitude: f64, seed: u32) -> Self {
        Self {
            pitch: pitch.clamp(50.0, 400.0),
            amplitude: amplitude.clamp(0.0, 32_767.0),
            seed: seed | 1,
            left: 0,
            length: 1,
            voiced: false,
            phase: 0.0,
            glide: 1.0,
        }
    }

    fn random(&mut self, low: usize, high: usize) -> usize {
        self.seed = self.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        low + (self.seed >> 16) as usize % (high - low + 1)
    }

    /// Fills `out` with the next samples at 48 kHz.
    pub fn fill(&mut self, out: &mut [i16]) {
        let rate = f64::from(ENGINE_RATE);
        let harmonics = (3_400.0 / self.pitch) as usize;
        // 1/k amplitudes sum to about ln(k)+0.58: scale so the peak stays near `amplitude`.
        let norm = (harmonics as f64).ln() + 0.58;
        for s in out {
            if self.left == 0 {
                self.voiced = !self.voiced;
                self.length = if self.voiced {
                    self.random(120, 300) * 48
                } else {
                    self.random(40, 200) * 48
                };
                self.left = self.length;
                self.glide = 1.0 + self.random(0, 30) as f64 / 100.0;
            }
            let t = 1.0 - self.left as f64 / self.length as f64;
            self.left -= 1;
            if !self.voiced {
                *s = 0;
                continue;
            }
            let f0 = self.pitch * (self.glide - 0.25 * t);
            self.phase = (self.phase + f0 / rate).fract();
            let mut v = 0.0;
            for k in 1..=harmonics {
                v += (2.0 * PI * k as f64 * self.phase).sin() / k as f64;
            }
            let envelope = 0.5 - 0.5 * (2.0 * PI * t).cos();
            // Invariant: |v| ≤ norm·(a little) and the result is clamped to i16.
            *s = (v / norm * envelope * self.amplitude).clamp(-32_768.0, 32_767.0) as i16;
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

    #[test]
    fn babble_talks_in_syllables() {
        let mut b = Babble::new(120.0, 8_000.0, 7);
        let mut x = vec![0i16; 48_000 * 3];
        b.fill(&mut x);
        let frames: Vec<f64> = x
            .chunks(480)
            .map(|c| (c.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / 480.0).sqrt())
            .collect();
        let silent = frames.iter().filter(|&&r| r < 1.0).count();
        let loud = frames.iter().filter(|&&r| r > 1_000.0).count();
        // Pauses and syllables both take a real share of the time; no sample clips.
        assert!(
            silent > frames.len() / 10 && loud > frames.len() / 4,
            "{silent} {loud}"
        );
        assert!(x.iter().all(|&v| v.abs() < 32_000));
        assert!(tone_share(&x, 1_000.0) < 0.05, "not a tone");
    }
}
