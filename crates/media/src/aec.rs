//! Echo cancellation, noise suppression and gain control (feature `aec`) from WebRTC's AudioProcessing module
//! as Debian ships it (`libwebrtc-audio-processing-dev` 0.3, found by pkg-config; building the binding also
//! needs libclang for bindgen: Debian `libclang1-14`).
//!
//! [`EchoCanceller`] works on the engine format (48 kHz mono i16) in any chunk size: the far end (what the
//! speaker plays) goes in with [`EchoCanceller::far_end`], the microphone is cleaned in place with
//! [`EchoCanceller::near_end`]; both are cut into the module's 10 ms frames internally, and at most one
//! partial frame of microphone audio is held back (10 ms of latency at worst).

use std::collections::VecDeque;

use webrtc_audio_processing::{
    Config, EchoCancellation, EchoCancellationSuppressionLevel, InitializationConfig,
    NoiseSuppression, NoiseSuppressionLevel, Processor, NUM_SAMPLES_PER_FRAME,
};

use crate::error::{MediaError, Result};

const FRAME: usize = NUM_SAMPLES_PER_FRAME as usize;

/// The audio processing of one call's microphone.
pub struct EchoCanceller {
    processor: Processor,
    far: VecDeque<i16>,
    near_in: VecDeque<i16>,
    near_out: VecDeque<i16>,
}

impl std::fmt::Debug for EchoCanceller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EchoCanceller").finish_non_exhaustive()
    }
}

fn to_f32(s: i16) -> f32 {
    f32::from(s) / 32_768.0
}

fn to_i16(s: f32) -> i16 {
    (s * 32_768.0).clamp(-32_768.0, 32_767.0) as i16
}

impl EchoCanceller {
    /// Echo cancellation (delay `delay_ms` between the far end's playout and its echo in the microphone, as
    /// far as known; the delay-agnostic mode also tracks it), and moderate noise suppression if `denoise`
    /// (it treats any steady sound, a test tone included, as noise).
    pub fn new(delay_ms: i32, denoise: bool) -> Result<Self> {
        let mut processor = Processor::new(&InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            ..InitializationConfig::default()
        })
        .map_err(|e| MediaError::Device(format!("echo canceller: {e:?}")))?;
        processor.set_config(Config {
            echo_cancellation: Some(EchoCancellation {
                suppression_level: EchoCancellationSuppressionLevel::High,
                enable_extended_filter: true,
                enable_delay_agnostic: true,
                stream_delay_ms: Some(delay_ms),
            }),
            noise_suppression: denoise.then_some(NoiseSuppression {
                suppression_level: NoiseSuppressionLevel::Moderate,
            }),
            enable_high_pass_filter: true,
            ..Config::default()
        });
        Ok(Self {
            processor,
            far: VecDeque::new(),
            near_in: VecDeque::new(),
            near_out: VecDeque::new(),
        })
    }

    /// Feeds what the speaker plays (the echo's source).
    pub fn far_end(&mut self, samples: &[i16]) {
        self.far.extend(samples);
        while self.far.len() >= FRAME {
            let mut frame: Vec<f32> = self.far.drain(..FRAME).map(to_f32).collect();
            if let Err(e) = self.processor.process_render_frame(&mut frame) {
                tracing::debug!(error = ?e, "echo canceller: far-end frame rejected");
            }
        }
    }

    /// Cleans microphone samples in place (delayed by up to one 10 ms frame).
    pub fn near_end(&mut self, samples: &mut [i16]) {
        self.near_in.extend(samples.iter());
        while self.near_in.len() >= FRAME {
            let mut frame: Vec<f32> = self.near_in.drain(..FRAME).map(to_f32).collect();
            if let Err(e) = self.processor.process_capture_frame(&mut frame) {
                tracing::debug!(error = ?e, "echo canceller: microphone frame rejected");
            }
            self.near_out.extend(frame.into_iter().map(to_i16));
        }
        // Until the first frame is processed, the output is silence (the held-back start of the stream).
        let pad = samples.len().saturating_sub(self.near_out.len());
        for (i, s) in samples.iter_mut().enumerate() {
            *s = if i < pad {
                0
            } else {
                self.near_out.pop_front().unwrap_or(0)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::ToneGenerator;

    fn rms(s: &[i16]) -> f64 {
        (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
    }

    /// The far end's voice-band tone comes back into the microphone 40 ms later at half amplitude, and the agent
    /// speaks (1 kHz) while the far end is quiet; after the canceller has converged, the echo it lets through is
    /// at least 10 dB below the echo (12 dB measured; 48 dB with no double-talk), while the agent's own voice keeps most of its level (within 6 dB).
    #[test]
    fn echo_of_the_far_end_is_attenuated() {
        let mut aec = EchoCanceller::new(40, false).unwrap();
        let mut far = vec![0i16; 48_000 * 10];
        ToneGenerator::new(440.0, 8_000.0).fill(&mut far);
        // Speech-like: the tone switches on and off every 300 ms.
        for (i, s) in far.iter_mut().enumerate() {
            if (i / 14_400) % 2 == 1 {
                *s = 0;
            }
        }
        let delay = 48 * 40;
        let mut voice = vec![0i16; far.len()];
        ToneGenerator::new(1_000.0, 6_000.0).fill(&mut voice);
        let (mut echo_in, mut echo_out) = (Vec::new(), Vec::new());
        let (mut voice_in, mut voice_out) = (Vec::new(), Vec::new());
        for (k, chunk) in far.chunks(960).enumerate() {
            aec.far_end(chunk);
            let start = k * 960;
            // The agent talks in the far end's pauses (chunks wholly inside one, echo tail included).
            let talking = (start / 14_400) % 2 == 1 && ((start + 959) / 14_400) % 2 == 1;
            let talk_clear = talking && ((start - delay) / 14_400) % 2 == 1;
            let mut mic: Vec<i16> = (start..start + chunk.len())
                .map(|i| {
                    let echo = i.checked_sub(delay).map_or(0, |j| far[j] / 2);
                    echo + if talking { voice[i] } else { 0 }
                })
                .collect();
            let before = mic.clone();
            aec.near_end(&mut mic);
            if start >= 48_000 * 8 {
                if talk_clear {
                    voice_in.extend(before);
                    voice_out.extend(mic);
                } else if !talking {
                    echo_in.extend(before);
                    echo_out.extend(mic);
                }
            }
        }
        let attenuation = 20.0 * (rms(&echo_in) / rms(&echo_out).max(1.0)).log10();
        let voice_loss = 20.0 * (rms(&voice_in) / rms(&voice_out).max(1.0)).log10();
        println!("over the last 2 s: echo attenuated {attenuation:.1} dB, the agent's voice {voice_loss:.1} dB");
        assert!(attenuation >= 10.0, "echo only {attenuation:.1} dB down");
        assert!(
            voice_loss <= 6.0,
            "the agent's voice lost {voice_loss:.1} dB"
        );
    }
}
