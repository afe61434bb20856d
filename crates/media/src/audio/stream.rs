//! Capture and playback streams at the engine format (48 kHz mono i16), whatever the device's channel count or
//! sample format. On PulseAudio/PipeWire a libpulse thread per stream ([`super::pulse`]) moves the audio; on
//! ALSA, cpal calls our closures on its own thread. Either way the device side only moves samples in and out
//! of a bounded ring under a short lock, updates the level meter and, on a stream error, records a clear
//! message that the owner polls with [`Capture::failure`]/[`Playback::failure`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, StreamTrait};
use cpal::{BufferSize, FromSample, Sample, SampleFormat, SizedSample, StreamConfig};

use super::{device_err, is_default_id, AudioHost, DeviceInfo, DeviceKind};
use crate::codec::ENGINE_RATE;
use crate::error::{MediaError, Result};

/// Capture kept for a slow reader: 200 ms.
const CAPTURE_RING: usize = 9_600;
/// Playout kept ahead of the device: 120 ms (latency cap; older audio is dropped).
const PLAYBACK_RING: usize = 5_760;
/// Playout queued before the speaker starts (and restarts after running dry): 40 ms, so the 20 ms pushes of
/// the call task and the device's own request rhythm do not chop the audio.
const PREBUFFER: usize = 1_920;
/// Callback period asked for: 10 ms.
const PERIOD: u32 = 480;

/// What the device side and the owner share: the ring, the meter, the failure and counters.
#[derive(Debug, Default)]
pub(super) struct Shared {
    ring: Mutex<VecDeque<i16>>,
    level: AtomicU32,
    failure: Mutex<Option<String>>,
    /// Playback only: the ring holds enough to play.
    primed: AtomicBool,
    /// Playback only: times the ring ran dry while playing.
    underruns: AtomicU64,
    /// Samples played (playback) or captured (capture).
    samples: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The ring stays usable whatever a panicking holder did: samples are plain data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    fn set_level(&self, samples: impl Iterator<Item = i16>) {
        let (mut sum, mut n) = (0.0f64, 0usize);
        for s in samples {
            sum += f64::from(s).powi(2);
            n += 1;
        }
        if n > 0 {
            // A meter, not a snapshot: rises at once, falls by 15 % per callback (≈ −70 dB/s at 10 ms).
            let rms = ((sum / n as f64).sqrt() / 32_768.0) as f32;
            let previous = f32::from_bits(self.level.load(Ordering::Relaxed));
            self.level
                .store(rms.max(previous * 0.85).to_bits(), Ordering::Relaxed);
        }
    }

    /// Appends captured samples (mono), updates the meter, drops the oldest beyond the ring's size.
    pub(super) fn push_input(&self, mono: impl Iterator<Item = i16>) {
        let mut ring = lock(&self.ring);
        let start = ring.len();
        ring.extend(mono);
        self.set_level(ring.range(start..).copied());
        if ring.len() > CAPTURE_RING {
            let excess = ring.len() - CAPTURE_RING;
            ring.drain(..excess);
        }
    }

    /// Fills `out` (mono) from the ring once it holds the prebuffer, else with silence; counts underruns.
    pub(super) fn pull_output(&self, out: &mut [i16]) {
        let mut ring = lock(&self.ring);
        let frames = out.len();
        if !self.primed.load(Ordering::Relaxed) && ring.len() >= PREBUFFER {
            self.primed.store(true, Ordering::Relaxed);
        }
        let primed = self.primed.load(Ordering::Relaxed);
        let take = if primed { frames.min(ring.len()) } else { 0 };
        if primed && take < frames {
            self.primed.store(false, Ordering::Relaxed);
            self.underruns.fetch_add(1, Ordering::Relaxed);
        }
        out.fill(0);
        for (o, s) in out.iter_mut().zip(ring.drain(..take)) {
            *o = s;
        }
        drop(ring);
        self.samples.fetch_add(frames as u64, Ordering::Relaxed);
        self.set_level(out.get(..take).unwrap_or_default().iter().copied());
    }

    pub(super) fn fail(&self, what: &str, label: &str, e: &dyn std::fmt::Display) {
        let message = format!("{what} \"{label}\" stopped working: {e}");
        tracing::warn!(%message, "audio stream error");
        *lock(&self.failure) = Some(message);
    }
}

fn configs(device: &cpal::Device, kind: DeviceKind) -> Vec<(StreamConfig, SampleFormat)> {
    let default_channels = match kind {
        DeviceKind::Input => device.default_input_config(),
        DeviceKind::Output => device.default_output_config(),
    }
    .map(|c| c.channels())
    .unwrap_or(2);
    let mut out = Vec::new();
    for channels in [1, default_channels] {
        for format in [SampleFormat::I16, SampleFormat::F32] {
            for buffer_size in [BufferSize::Fixed(PERIOD), BufferSize::Default] {
                out.push((
                    StreamConfig {
                        channels,
                        sample_rate: ENGINE_RATE,
                        buffer_size,
                    },
                    format,
                ));
            }
        }
    }
    out.dedup();
    out
}

/// A running microphone stream.
pub struct Capture {
    _stream: Backend,
    shared: Arc<Shared>,
    info: DeviceInfo,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

fn build_input<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    shared: &Arc<Shared>,
    label: &str,
) -> Result<cpal::Stream>
where
    T: SizedSample,
    i16: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let data = shared.clone();
    let errors = shared.clone();
    let label = label.to_owned();
    device
        .build_input_stream::<T, _, _>(
            *config,
            move |input: &[T], _| {
                data.push_input(input.chunks(channels).map(|frame| {
                    let sum: i32 = frame.iter().map(|&s| i32::from(i16::from_sample(s))).sum();
                    // Invariant: the mean of i16 values is an i16.
                    (sum / frame.len().max(1) as i32) as i16
                }));
            },
            move |e| errors.fail("Microphone", &label, &e),
            None,
        )
        .map_err(|e| device_err("cannot open the microphone", e))
}

fn build_output<T>(
    device: &cpal::Device,
    config: &StreamConfig,
    shared: &Arc<Shared>,
    label: &str,
) -> Result<cpal::Stream>
where
    T: SizedSample + FromSample<i16>,
{
    let channels = usize::from(config.channels.max(1));
    let data = shared.clone();
    let errors = shared.clone();
    let label = label.to_owned();
    device
        .build_output_stream::<T, _, _>(
            *config,
            move |output: &mut [T], _| {
                let mut mono = vec![0i16; output.len() / channels];
                data.pull_output(&mut mono);
                for (frame, &s) in output.chunks_mut(channels).zip(&mono) {
                    frame.fill(T::from_sample(s));
                }
            },
            move |e| errors.fail("Speaker", &label, &e),
            None,
        )
        .map_err(|e| device_err("cannot open the speaker", e))
}

/// The device side of a stream: a libpulse thread or a cpal stream. Held only to be dropped, which stops
/// the audio.
#[allow(dead_code)]
enum Backend {
    Pulse(super::pulse::PulseStream),
    Cpal(cpal::Stream),
}

fn open(
    host: &AudioHost,
    kind: DeviceKind,
    id: Option<&str>,
) -> Result<(Backend, Arc<Shared>, DeviceInfo)> {
    let (device, info) = host.device(kind, id)?;
    let shared = Arc::new(Shared::default());
    if host.name() == "pulseaudio" {
        let name = if is_default_id(id) {
            None
        } else {
            super::pulse::device_name(&info.id)
        };
        let stream = super::pulse::open(kind, name, shared.clone(), &info.label)?;
        tracing::debug!(device = %info.label, "audio stream open (libpulse)");
        return Ok((Backend::Pulse(stream), shared, info));
    }
    let mut last = MediaError::Device(format!("\"{}\" supports no 48 kHz format", info.label));
    for (config, format) in configs(&device, kind) {
        let built = match (kind, format) {
            (DeviceKind::Input, SampleFormat::I16) => {
                build_input::<i16>(&device, &config, &shared, &info.label)
            }
            (DeviceKind::Input, _) => build_input::<f32>(&device, &config, &shared, &info.label),
            (DeviceKind::Output, SampleFormat::I16) => {
                build_output::<i16>(&device, &config, &shared, &info.label)
            }
            (DeviceKind::Output, _) => build_output::<f32>(&device, &config, &shared, &info.label),
        };
        match built {
            Ok(stream) => {
                stream
                    .play()
                    .map_err(|e| device_err("cannot start the stream", e))?;
                tracing::debug!(device = %info.label, ?config, ?format, "audio stream open");
                return Ok((Backend::Cpal(stream), shared, info));
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

impl Capture {
    /// Opens the microphone `id` (or the default).
    pub fn open(host: &AudioHost, id: Option<&str>) -> Result<Self> {
        let (stream, shared, info) = open(host, DeviceKind::Input, id)?;
        Ok(Self {
            _stream: stream,
            shared,
            info,
        })
    }

    /// Moves every captured sample so far into `out`.
    pub fn read(&self, out: &mut Vec<i16>) {
        out.extend(lock(&self.shared.ring).drain(..));
    }

    /// Input level of the last callback, 0‥1 (RMS; a full-scale sine is 0.707).
    pub fn level(&self) -> f64 {
        f64::from(f32::from_bits(self.shared.level.load(Ordering::Relaxed)))
    }

    /// The stream's error message, if it failed.
    pub fn failure(&self) -> Option<String> {
        lock(&self.shared.failure).clone()
    }

    /// The device.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }
}

/// A running speaker stream.
pub struct Playback {
    _stream: Backend,
    shared: Arc<Shared>,
    info: DeviceInfo,
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Playback {
    /// Opens the speaker `id` (or the default).
    pub fn open(host: &AudioHost, id: Option<&str>) -> Result<Self> {
        let (stream, shared, info) = open(host, DeviceKind::Output, id)?;
        Ok(Self {
            _stream: stream,
            shared,
            info,
        })
    }

    /// Queues samples for playout; beyond 120 ms queued, the oldest are dropped.
    pub fn write(&self, samples: &[i16]) {
        let mut ring = lock(&self.shared.ring);
        ring.extend(samples);
        if ring.len() > PLAYBACK_RING {
            let excess = ring.len() - PLAYBACK_RING;
            ring.drain(..excess);
        }
    }

    /// Samples queued and not yet played.
    pub fn queued(&self) -> usize {
        lock(&self.shared.ring).len()
    }

    /// Samples the device has taken so far (silence included).
    pub fn samples(&self) -> u64 {
        self.shared.samples.load(Ordering::Relaxed)
    }

    /// Times the speaker ran dry while playing (each is a short gap).
    pub fn underruns(&self) -> u64 {
        self.shared.underruns.load(Ordering::Relaxed)
    }

    /// Output level of the last callback, 0‥1.
    pub fn level(&self) -> f64 {
        f64::from(f32::from_bits(self.shared.level.load(Ordering::Relaxed)))
    }

    /// The stream's error message, if it failed.
    pub fn failure(&self) -> Option<String> {
        lock(&self.shared.failure).clone()
    }

    /// The device.
    pub fn info(&self) -> &DeviceInfo {
        &self.info
    }
}
