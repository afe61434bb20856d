//! Audio codecs behind one encoder/decoder pair: PCMU (G.711 µ-law, 8 kHz) and Opus (48 kHz, libopus).
//!
//! Everything outside this module sees mono 16-bit PCM at [`ENGINE_RATE`] in [`FRAME_SAMPLES`] frames (20 ms);
//! PCMU is resampled here. Decoders also conceal lost packets (PLC): Opus with libopus' own concealment, PCMU
//! by repeating the last packet with a fade, then silence. Undecodable payloads are errors, never panics.

pub mod g711;
pub mod opus;
pub mod resample;

use serde::{Deserialize, Serialize};

use crate::error::MediaError;
use opus::{OpusDecoder, OpusEncoder};
use resample::{Decimator, Interpolator};

/// The engine's sample rate: capture, playout and Opus all run at 48 kHz mono.
pub const ENGINE_RATE: u32 = 48_000;
/// Samples in one 20 ms engine frame.
pub const FRAME_SAMPLES: usize = 960;
/// Longest concealment asked for at once (120 ms, the longest Opus packet).
const MAX_CONCEAL: usize = 5_760;
/// PCMU concealment: consecutive lost packets repeated (fading) before silence.
const PCMU_PLC_REPEATS: u32 = 3;

/// A codec this engine speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CodecKind {
    /// G.711 µ-law, 8 kHz (the Voice SDK's first preference).
    Pcmu,
    /// Opus, 48 kHz.
    Opus,
}

impl CodecKind {
    /// RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu => 8_000,
            Self::Opus => 48_000,
        }
    }

    /// RTP timestamp ticks per 20 ms frame.
    pub fn frame_ticks(self) -> u64 {
        u64::from(self.clock_rate() / 50)
    }

    /// The str0m codec this maps to.
    pub fn of(codec: str0m::format::Codec) -> Option<Self> {
        match codec {
            str0m::format::Codec::PCMU => Some(Self::Pcmu),
            str0m::format::Codec::Opus => Some(Self::Opus),
            _ => None,
        }
    }

    /// Whether this build can encode and decode it.
    pub fn is_available(self) -> bool {
        match self {
            Self::Pcmu => true,
            Self::Opus => opus::AVAILABLE,
        }
    }

    /// The codecs this build speaks.
    pub fn available() -> Vec<Self> {
        [Self::Pcmu, Self::Opus]
            .into_iter()
            .filter(|c| c.is_available())
            .collect()
    }

    /// The mime subtype (`PCMU`, `opus`) as it appears in SDP and `getStats`.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Opus => "opus",
        }
    }
}

/// Encodes engine frames into RTP payloads.
pub enum Encoder {
    /// PCMU with its decimator.
    Pcmu(Box<Decimator>),
    /// libopus, VoIP mode.
    Opus(Box<OpusEncoder>),
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pcmu(_) => "Encoder(PCMU)",
            Self::Opus(_) => "Encoder(opus)",
        })
    }
}

impl Encoder {
    /// A fresh encoder.
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        Ok(match kind {
            CodecKind::Pcmu => Self::Pcmu(Box::default()),
            CodecKind::Opus => Self::Opus(Box::new(OpusEncoder::new()?)),
        })
    }

    /// The codec.
    pub fn kind(&self) -> CodecKind {
        match self {
            Self::Pcmu(_) => CodecKind::Pcmu,
            Self::Opus(_) => CodecKind::Opus,
        }
    }

    /// Encodes one 20 ms engine frame.
    pub fn encode(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<Vec<u8>, MediaError> {
        match self {
            Self::Pcmu(d) => {
                let mut narrow = Vec::with_capacity(FRAME_SAMPLES / resample::RATIO);
                d.process(frame, &mut narrow);
                Ok(narrow.into_iter().map(g711::encode).collect())
            }
            Self::Opus(e) => e.encode(frame),
        }
    }
}

/// Decodes RTP payloads into engine samples and conceals losses.
pub enum Decoder {
    /// PCMU: interpolator, the last packet's 8 kHz samples and how many times it was repeated.
    Pcmu {
        /// Upsampler state.
        up: Box<Interpolator>,
        /// The last good packet, 8 kHz.
        last: Vec<i16>,
        /// Consecutive concealed packets.
        repeats: u32,
    },
    /// libopus.
    Opus(Box<OpusDecoder>),
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pcmu { .. } => "Decoder(PCMU)",
            Self::Opus(_) => "Decoder(opus)",
        })
    }
}

impl Decoder {
    /// A fresh decoder.
    pub fn new(kind: CodecKind) -> Result<Self, MediaError> {
        Ok(match kind {
            CodecKind::Pcmu => Self::Pcmu {
                up: Box::default(),
                last: Vec::new(),
                repeats: 0,
            },
            CodecKind::Opus => Self::Opus(Box::new(OpusDecoder::new()?)),
        })
    }

    /// The codec.
    pub fn kind(&self) -> CodecKind {
        match self {
            Self::Pcmu { .. } => CodecKind::Pcmu,
            Self::Opus(_) => CodecKind::Opus,
        }
    }

    /// Decodes one payload, appending 48 kHz samples to `out`; returns how many were appended.
    pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize, MediaError> {
        let before = out.len();
        match self {
            Self::Pcmu { up, last, repeats } => {
                if payload.is_empty() {
                    return Err(MediaError::Codec("empty PCMU payload".into()));
                }
                last.clear();
                last.extend(payload.iter().map(|&b| g711::decode(b)));
                *repeats = 0;
                up.process(last, out);
            }
            Self::Opus(d) => {
                d.decode(payload, out)?;
            }
        }
        Ok(out.len() - before)
    }

    /// Conceals one lost packet of `samples` engine samples, appending them to `out`.
    pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
        let samples = samples.clamp(1, MAX_CONCEAL);
        match self {
            Self::Pcmu { up, last, repeats } => {
                *repeats += 1;
                let narrow = samples / resample::RATIO;
                let gain = if *repeats > PCMU_PLC_REPEATS || last.is_empty() {
                    0.0
                } else {
                    0.5f64.powi(*repeats as i32)
                };
                let faded: Vec<i16> = (0..narrow)
                    .map(|i| {
                        let s = last.get(i % last.len().max(1)).copied().unwrap_or(0);
                        // Invariant: |gain| ≤ 1, so the product stays in range.
                        (f64::from(s) * gain) as i16
                    })
                    .collect();
                up.process(&faded, out);
            }
            Self::Opus(d) => d.conceal(samples, out),
        }
    }

    /// Engine samples a payload will decode to, if it can tell (for concealing a packet of the same size).
    pub fn duration(&self, payload: &[u8]) -> Option<usize> {
        match self {
            Self::Pcmu { .. } => Some(payload.len() * resample::RATIO),
            Self::Opus(d) => d.duration(payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(n: usize) -> [i16; FRAME_SAMPLES] {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let t = (n * FRAME_SAMPLES + i) as f64 / f64::from(ENGINE_RATE);
            *s = ((2.0 * std::f64::consts::PI * 440.0 * t).sin() * 8_000.0) as i16;
        }
        f
    }

    #[test]
    fn both_codecs_round_trip_a_frame_to_20_ms() {
        for kind in CodecKind::available() {
            let mut e = Encoder::new(kind).unwrap();
            let mut d = Decoder::new(kind).unwrap();
            let mut out = Vec::new();
            for n in 0..10 {
                let payload = e.encode(&tone(n)).unwrap();
                if kind == CodecKind::Pcmu {
                    assert_eq!(payload.len(), 160);
                }
                assert_eq!(d.duration(&payload), Some(FRAME_SAMPLES));
                assert_eq!(d.decode(&payload, &mut out).unwrap(), FRAME_SAMPLES);
            }
            let tail = &out[out.len() - FRAME_SAMPLES..];
            let rms = (tail.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
                / FRAME_SAMPLES as f64)
                .sqrt();
            assert!(rms > 3_000.0, "{kind:?} rms {rms}");
        }
    }

    #[test]
    fn concealment_fades_to_silence_and_garbage_is_an_error() {
        for kind in CodecKind::available() {
            let mut e = Encoder::new(kind).unwrap();
            let mut d = Decoder::new(kind).unwrap();
            let mut out = Vec::new();
            d.decode(&e.encode(&tone(0)).unwrap(), &mut out).unwrap();
            for _ in 0..20 {
                out.clear();
                d.conceal(FRAME_SAMPLES, &mut out);
                assert_eq!(out.len(), FRAME_SAMPLES);
            }
            let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            assert!(
                peak < 500,
                "{kind:?} still loud after 400 ms of loss: {peak}"
            );
            assert!(d.decode(&[], &mut out).is_err());
        }
        let Ok(mut d) = Decoder::new(CodecKind::Opus) else {
            assert!(!CodecKind::Opus.is_available());
            return;
        };
        for garbage in [&[0xffu8; 3][..], &[0x0b, 0xff], &[0xfc; 1_300]] {
            let _ = d.decode(garbage, &mut Vec::new());
        }
    }
}
