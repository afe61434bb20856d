//! Echo cancellation, noise suppression and gain control (feature `aec`) from WebRTC's AudioProcessing module
//! as Debian ships it (`libwebrtc-audio-processing-dev` 0.3, found by pkg-config; building the binding also
//! needs libclang for bindgen: Debian `libclang1-14`).
//!
//! [`EchoCanceller`] works on the engine format (48 kHz mono i16) in any chunk size: the far end (what the
//! speaker plays) goes in with [`EchoCanceller::far_end`], the microphone is cleaned in place with
//! [`EchoCanceller::near_end`]; both are cut into the module's 10 ms frames internally, and at most one
//! partial frame of microphone audio is held back (10 ms of latency at worst). Which stages run is a
//! [`Processing`] (the `getUserMedia` constraints of the same names; all on by default).
//!
//! [`ProcessedAudio`] (with feature `driver`) puts it in a call: it wraps the call's
//! [`AudioPort`](crate::driver::AudioPort), feeds every frame handed to the speaker as the far end and cleans
//! every captured chunk before the endpoint encodes it.
//!
//! Noise suppression treats any steady sound as noise, a test tone included (a steady 1 kHz loses about
//! 11 dB); speech, whose spectrum keeps moving, passes. Test with speech-like signals ([`crate::tone::Babble`]).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use webrtc_audio_processing::{
    Config, EchoCancellation, EchoCancellationSuppressionLevel, GainControl, GainControlMode,
    InitializationConfig, NoiseSuppression, NoiseSuppressionLevel, Processor,
    NUM_SAMPLES_PER_FRAME,
};

use crate::error::{MediaError, Result};

const FRAME: usize = NUM_SAMPLES_PER_FRAME as usize;

/// Delay first assumed between a frame handed to the speaker and its echo in the microphone: the playout ring's
/// prebuffer (40 ms), the sound server's buffer (40 ms) and the capture fragment (10 ms). The delay-agnostic
/// mode measures the real one.
pub const DEFAULT_ECHO_DELAY_MS: i32 = 90;

/// Which microphone processing a call runs; the names and defaults of the `getUserMedia` constraints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Processing {
    /// Remove the far end's voice coming back from the speaker into the microphone.
    pub echo_cancellation: bool,
    /// Remove steady background noise (fans, hum).
    pub noise_suppression: bool,
    /// Bring a quiet or loud microphone to a steady level.
    pub auto_gain_control: bool,
}

impl Default for Processing {
    fn default() -> Self {
        Self {
            echo_cancellation: true,
            noise_suppression: true,
            auto_gain_control: true,
        }
    }
}

impl Processing {
    /// Everything off: the microphone goes out as captured.
    pub const OFF: Self = Self {
        echo_cancellation: false,
        noise_suppression: false,
        auto_gain_control: false,
    };

    /// Whether any stage runs.
    pub fn any(self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.auto_gain_control
    }
}

/// The audio processing of one call's microphone.
pub struct EchoCanceller {
    processor: Processor,
    far: VecDeque<i16>,
    near_in: VecDeque<i16>,
    near_out: VecDeque<i16>,
    frame: Vec<f32>,
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
    /// The stages of `processing`; echo cancellation starts from `delay_ms` between the far end's playout and
    /// its echo in the microphone (as far as known; the delay-agnostic mode tracks the real one).
    pub fn new(processing: Processing, delay_ms: i32) -> Result<Self> {
        let mut processor = Processor::new(&InitializationConfig {
            num_capture_channels: 1,
            num_render_channels: 1,
            ..InitializationConfig::default()
        })
        .map_err(|e| MediaError::Device(format!("echo canceller: {e:?}")))?;
        processor.set_config(Config {
            echo_cancellation: processing.echo_cancellation.then_some(EchoCancellation {
                suppression_level: EchoCancellationSuppressionLevel::High,
                enable_extended_filter: true,
                enable_delay_agnostic: true,
                stream_delay_ms: Some(delay_ms),
            }),
            noise_suppression: processing.noise_suppression.then_some(NoiseSuppression {
                suppression_level: NoiseSuppressionLevel::Moderate,
            }),
            // WebRTC's defaults: peaks towards −3 dBFS, at most 9 dB of gain, limited.
            gain_control: processing.auto_gain_control.then_some(GainControl {
                mode: GainControlMode::AdaptiveDigital,
                target_level_dbfs: 3,
                compression_gain_db: 9,
                enable_limiter: true,
            }),
            enable_high_pass_filter: processing.any(),
            ..Config::default()
        });
        Ok(Self {
            processor,
            far: VecDeque::new(),
            near_in: VecDeque::new(),
            near_out: VecDeque::new(),
            frame: vec![0.0; FRAME],
        })
    }

    /// Feeds what the speaker plays (the echo's source).
    pub fn far_end(&mut self, samples: &[i16]) {
        self.far.extend(samples);
        while self.far.len() >= FRAME {
            for (dst, src) in self.frame.iter_mut().zip(self.far.drain(..FRAME)) {
                *dst = to_f32(src);
            }
            if let Err(e) = self.processor.process_render_frame(&mut self.frame) {
                tracing::debug!(error = ?e, "echo canceller: far-end frame rejected");
            }
        }
    }

    /// Cleans microphone samples in place (delayed by up to one 10 ms frame).
    pub fn near_end(&mut self, samples: &mut [i16]) {
        self.near_in.extend(samples.iter());
        while self.near_in.len() >= FRAME {
            for (dst, src) in self.frame.iter_mut().zip(self.near_in.drain(..FRAME)) {
                *dst = to_f32(src);
            }
            if let Err(e) = self.processor.process_capture_frame(&mut self.frame) {
                tracing::debug!(error = ?e, "echo canceller: microphone frame rejected");
            }
            self.near_out.extend(self.frame.iter().map(|&s| to_i16(s)));
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

/// A call's audio port with its microphone processed: see the module docs.
#[cfg(feature = "driver")]
pub struct ProcessedAudio {
    inner: Box<dyn crate::driver::AudioPort>,
    processor: Option<EchoCanceller>,
}

#[cfg(feature = "driver")]
impl std::fmt::Debug for ProcessedAudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessedAudio")
            .field("processing", &self.processor.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "driver")]
impl ProcessedAudio {
    /// Wraps `inner` with the stages of `processing` (none: `inner` as is). If the processing module cannot
    /// start, the call goes on unprocessed and says so in the log: a call is never lost to its echo canceller.
    pub fn new(inner: Box<dyn crate::driver::AudioPort>, processing: Processing) -> Self {
        let processor = if processing.any() {
            EchoCanceller::new(processing, DEFAULT_ECHO_DELAY_MS)
                .map_err(|e| tracing::warn!(error = %e, "microphone processing unavailable"))
                .ok()
        } else {
            None
        };
        Self { inner, processor }
    }

    /// Whether the microphone is processed.
    pub fn is_processing(&self) -> bool {
        self.processor.is_some()
    }
}

#[cfg(feature = "driver")]
impl crate::driver::AudioPort for ProcessedAudio {
    fn capture(&mut self, out: &mut Vec<i16>) {
        let start = out.len();
        self.inner.capture(out);
        if let (Some(p), Some(new)) = (&mut self.processor, out.get_mut(start..)) {
            p.near_end(new);
        }
    }

    fn play(&mut self, frame: &[i16; crate::codec::FRAME_SAMPLES]) {
        if let Some(p) = &mut self.processor {
            p.far_end(frame);
        }
        self.inner.play(frame);
    }

    fn poll_event(&mut self) -> Option<crate::device::DeviceEvent> {
        self.inner.poll_event()
    }

    fn set_devices(&mut self, input: Option<String>, output: Option<String>) {
        self.inner.set_devices(input, output);
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
        let processing = Processing {
            noise_suppression: false,
            auto_gain_control: false,
            ..Processing::default()
        };
        let mut aec = EchoCanceller::new(processing, 40).unwrap();
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

    /// No far end. Noise suppression alone: a talker (speech-like) keeps its level within 3 dB, while a steady
    /// tone is treated as noise (the trap for tone tests). Everything on: the gain control raises the same
    /// talker (peaking at −12 dBFS) and never lowers it. Levels over the last 2 s of 6 s.
    #[test]
    fn noise_suppression_keeps_speech_and_removes_a_steady_tone() {
        use crate::tone::Babble;
        let run = |processing: Processing, signal: &mut dyn FnMut(&mut [i16])| {
            let mut p = EchoCanceller::new(processing, DEFAULT_ECHO_DELAY_MS).unwrap();
            let (mut before, mut after) = (Vec::new(), Vec::new());
            for k in 0..300 {
                let mut chunk = [0i16; 960];
                signal(&mut chunk);
                p.far_end(&[0; 960]);
                let raw = chunk;
                p.near_end(&mut chunk);
                if k >= 200 {
                    before.extend(raw);
                    after.extend(chunk);
                }
            }
            20.0 * (rms(&before) / rms(&after).max(1.0)).log10()
        };
        let ns = Processing {
            noise_suppression: true,
            ..Processing::OFF
        };
        let mut babble = Babble::new(150.0, 8_000.0, 3);
        let speech_loss = run(ns, &mut |c| babble.fill(c));
        let mut tone = ToneGenerator::new(1_000.0, 3_000.0);
        let tone_loss = run(ns, &mut |c| tone.fill(c));
        let mut babble = Babble::new(150.0, 8_000.0, 3);
        let speech_all = run(Processing::default(), &mut |c| babble.fill(c));
        println!(
            "noise suppression: speech {speech_loss:.1} dB down, a steady tone {tone_loss:.1} dB down; \
             everything on: speech {speech_all:.1} dB down"
        );
        assert!(
            speech_loss.abs() <= 3.0,
            "speech changed by {speech_loss:.1} dB"
        );
        assert!(
            tone_loss >= 6.0,
            "the tone is not treated as noise: {tone_loss:.1} dB"
        );
        assert!(
            speech_all <= 1.0,
            "the gain control lowered speech by {speech_all:.1} dB"
        );
    }
}
