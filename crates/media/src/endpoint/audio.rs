//! The endpoint's two audio paths: [`Sender`] cuts captured samples into 20 ms frames, encodes and stamps them;
//! [`Playout`] pulls from the jitter buffer at the playout rate, decodes, conceals and keeps the output level.

use std::collections::VecDeque;
use std::time::Instant;

use str0m::media::{Frequency, MediaTime, Pt};

use super::Endpoint;
use crate::codec::{CodecKind, Decoder, Encoder, FRAME_SAMPLES};
use crate::error::Result;
use crate::jitter::Pop;

/// Captured audio held while the call is not connected or the driver lags: 200 ms.
const MAX_CAPTURE: usize = 10 * FRAME_SAMPLES;

/// RMS level of a frame, 0‥1.
pub(crate) fn level(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt() / 32_768.0
}

/// The send path.
#[derive(Debug, Default)]
pub(super) struct Sender {
    pub(super) codec: Option<(CodecKind, Pt)>,
    encoder: Option<Encoder>,
    fifo: VecDeque<i16>,
    rtp_time: u64,
    pub(super) muted: bool,
    pub(super) packets: u64,
    pub(super) bytes: u64,
    pub(super) level: f64,
}

impl Sender {
    pub(super) fn select(&mut self, kind: CodecKind, pt: Pt) -> Result<()> {
        if self.encoder.as_ref().map(Encoder::kind) != Some(kind) {
            self.encoder = Some(Encoder::new(kind)?);
        }
        self.codec = Some((kind, pt));
        Ok(())
    }

    fn next_frame(&mut self) -> Option<[i16; FRAME_SAMPLES]> {
        if self.fifo.len() < FRAME_SAMPLES {
            return None;
        }
        let mut frame = [0i16; FRAME_SAMPLES];
        for (dst, src) in frame.iter_mut().zip(self.fifo.drain(..FRAME_SAMPLES)) {
            *dst = src;
        }
        Some(frame)
    }
}

/// The playout path.
#[derive(Debug)]
pub(super) struct Playout {
    decoder: Option<Decoder>,
    fifo: VecDeque<i16>,
    last_duration: usize,
    pub(super) level: f64,
}

impl Default for Playout {
    fn default() -> Self {
        Self {
            decoder: None,
            fifo: VecDeque::new(),
            last_duration: FRAME_SAMPLES,
            level: 0.0,
        }
    }
}

impl Endpoint {
    /// Adds captured microphone audio (48 kHz mono). Every complete 20 ms frame is encoded and sent at once,
    /// stamped `now`; before the call is connected, audio is discarded.
    pub fn push_capture(&mut self, now: Instant, samples: &[i16]) {
        self.send.fifo.extend(samples);
        if self.send.fifo.len() > MAX_CAPTURE {
            let excess = self.send.fifo.len() - MAX_CAPTURE;
            self.send.fifo.drain(..excess);
        }
        while let Some(mut frame) = self.send.next_frame() {
            if self.send.muted {
                frame = [0; FRAME_SAMPLES];
            }
            self.send.level = level(&frame);
            if let Err(e) = self.send_frame(now, &frame) {
                tracing::debug!(error = %e, "audio frame not sent");
            }
        }
    }

    fn send_frame(&mut self, now: Instant, frame: &[i16; FRAME_SAMPLES]) -> Result<()> {
        if !self.connected || self.closed {
            return Ok(());
        }
        let (Some(mid), Some((kind, pt)), Some(encoder)) =
            (self.mid, self.send.codec, self.send.encoder.as_mut())
        else {
            return Ok(());
        };
        let payload = encoder.encode(frame)?;
        let frequency = match kind {
            CodecKind::Pcmu => Frequency::EIGHT_KHZ,
            CodecKind::Opus => Frequency::FORTY_EIGHT_KHZ,
        };
        let rtp_time = MediaTime::new(self.send.rtp_time, frequency);
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(());
        };
        let bytes = payload.len() as u64;
        writer.write(pt, now, rtp_time, payload)?;
        self.send.rtp_time = self.send.rtp_time.wrapping_add(kind.frame_ticks());
        self.send.packets += 1;
        self.send.bytes += bytes;
        Ok(())
    }

    /// Fills `out` (48 kHz mono) with the next playout audio: decoded packets, concealment for losses, silence
    /// before the first packet. Call it at the playout rate: each call paces the jitter buffer.
    pub fn pull_playout(&mut self, out: &mut [i16]) {
        while self.playout.fifo.len() < out.len() {
            let missing = out.len() - self.playout.fifo.len();
            let mut decoded = Vec::new();
            match self.jitter.pop() {
                Pop::Play(p) => {
                    if self.playout.decoder.as_ref().map(Decoder::kind) != Some(p.codec) {
                        self.playout.decoder = Decoder::new(p.codec).ok();
                    }
                    let Some(d) = self.playout.decoder.as_mut() else {
                        decoded.resize(self.playout.last_duration, 0);
                        self.playout.fifo.extend(decoded);
                        continue;
                    };
                    match d.decode(&p.payload, &mut decoded) {
                        Ok(n) if n > 0 => {
                            self.playout.last_duration = n;
                            self.jitter.set_ptime_ms(n as f64 / 48.0);
                        }
                        Ok(_) | Err(_) => d.conceal(self.playout.last_duration, &mut decoded),
                    }
                }
                Pop::Lost | Pop::Underrun => match self.playout.decoder.as_mut() {
                    Some(d) => d.conceal(self.playout.last_duration, &mut decoded),
                    None => decoded.resize(missing, 0),
                },
                Pop::Empty => decoded.resize(missing, 0),
            }
            self.playout.fifo.extend(decoded);
        }
        let n = out.len();
        for (dst, src) in out.iter_mut().zip(self.playout.fifo.drain(..n)) {
            *dst = src;
        }
        self.playout.level = level(out);
    }
}
