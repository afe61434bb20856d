//! [`Ringer`]: the incoming-call ring on its own output device (e.g. the laptop speakers while the call audio
//! goes to the headset). A small thread feeds a pattern to a [`Playback`], looped until the ringer is dropped
//! or played once ([`Repeat`]), at a volume that can change while it rings.
//!
//! Two ways to start: [`Ringer::start`] opens the device on the caller's thread and fails if it cannot;
//! [`Ringer::ring`] never blocks and never fails: its thread opens the chosen device, else the system default
//! (a ring must not go unheard because a headset was unplugged), and logs when neither opens. Dropping a ringer
//! stops it at once: the thread sees the stop within 10 ms and closes the stream; the drop waits for that only
//! once the device is open, so a hanging sound server never blocks the dropper.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::stream::Playback;
use super::AudioHost;
use crate::codec::{ENGINE_RATE, FRAME_SAMPLES};
use crate::error::{MediaError, Result};
use crate::tone::ToneGenerator;

/// A ring cadence: `on` of a 400 Hz tone modulated at 16 Hz (the Japanese calling signal), then `off` silence.
pub fn ring_pattern(on: Duration, off: Duration) -> Vec<i16> {
    let rate = f64::from(ENGINE_RATE);
    let on_n = (on.as_secs_f64() * rate) as usize;
    let off_n = (off.as_secs_f64() * rate) as usize;
    let mut tone = vec![0i16; on_n];
    ToneGenerator::new(400.0, 12_000.0).fill(&mut tone);
    for (i, s) in tone.iter_mut().enumerate() {
        let m = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * 16.0 * i as f64 / rate).sin();
        *s = (f64::from(*s) * m) as i16;
    }
    tone.resize(on_n + off_n, 0);
    tone
}

/// The incoming-call ring: 1 s of the calling signal, 2 s of silence (as the webview's `ring.wav`).
pub fn incoming_ring() -> Vec<i16> {
    ring_pattern(Duration::from_secs(1), Duration::from_secs(2))
}

/// How often the sound plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Until the ringer is dropped (a ring).
    Loop,
    /// Once, then the ringer falls silent by itself (a preview in Settings).
    Once,
}

/// A ring playing on one device.
#[derive(Debug)]
pub struct Ringer {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    /// Set once the device is open: from then on the thread ends within a period of a stop.
    open: AtomicBool,
    /// The volume, 0‥1, as `f32` bits.
    volume: AtomicU32,
    label: OnceLock<String>,
}

impl Shared {
    fn new(volume: f32) -> Arc<Self> {
        Arc::new(Self {
            stop: AtomicBool::new(false),
            open: AtomicBool::new(false),
            volume: AtomicU32::new(clamp_volume(volume).to_bits()),
            label: OnceLock::new(),
        })
    }
}

fn clamp_volume(volume: f32) -> f32 {
    if volume.is_finite() {
        volume.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

fn empty() -> MediaError {
    MediaError::Device("empty ringtone".into())
}

impl Ringer {
    /// Starts looping `sound` (48 kHz mono) on output `device` (`None`: the default), opened on this thread.
    pub fn start(host: &AudioHost, device: Option<&str>, sound: Vec<i16>) -> Result<Self> {
        if sound.is_empty() {
            return Err(empty());
        }
        let playback = Playback::open(host, device)?;
        let shared = Shared::new(1.0);
        let _ = shared.label.set(playback.info().label.clone());
        shared.open.store(true, Ordering::Relaxed);
        let flag = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tsunagi-ringer".into())
            .spawn(move || play(&playback, &sound, Repeat::Loop, &flag))
            .map_err(MediaError::Io)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Plays `sound` (48 kHz mono) at `volume` (0‥1) on output `device` (`None`/`""`/`"default"`: the system
    /// default), falling back to the default when that device cannot be opened. Returns at once: the device is
    /// opened on the ringer's thread.
    pub fn ring(
        device: Option<String>,
        sound: Vec<i16>,
        volume: f32,
        repeat: Repeat,
    ) -> Result<Self> {
        if sound.is_empty() {
            return Err(empty());
        }
        let shared = Shared::new(volume);
        let state = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tsunagi-ringer".into())
            .spawn(move || {
                let host = AudioHost::new();
                let playback = match Playback::open(&host, device.as_deref()) {
                    Ok(p) => p,
                    Err(error) if !super::is_default_id(device.as_deref()) => {
                        tracing::warn!(%error, "ringtone device unavailable: ringing on the default output");
                        match Playback::open(&host, None) {
                            Ok(p) => p,
                            Err(error) => {
                                return tracing::error!(%error, "no output for the ringtone");
                            }
                        }
                    }
                    Err(error) => return tracing::error!(%error, "no output for the ringtone"),
                };
                let _ = state.label.set(playback.info().label.clone());
                state.open.store(true, Ordering::Relaxed);
                tracing::debug!(device = %playback.info().label, ?repeat, "ringing");
                play(&playback, &sound, repeat, &state);
            })
            .map_err(MediaError::Io)?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// The device it rings on (empty until the device is open).
    pub fn label(&self) -> &str {
        self.shared.label.get().map_or("", String::as_str)
    }

    /// Changes the volume (0‥1) from the next 20 ms on.
    pub fn set_volume(&self, volume: f32) {
        self.shared
            .volume
            .store(clamp_volume(volume).to_bits(), Ordering::Relaxed);
    }

    /// Whether it still plays (a [`Repeat::Once`] ringer ends by itself; a ringer whose device never opened
    /// has ended).
    pub fn is_playing(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

/// Feeds `sound` to `playback` 20 ms at a time, keeping about 60 ms queued, until stopped (or played once).
fn play(playback: &Playback, sound: &[i16], repeat: Repeat, shared: &Shared) {
    let mut pos = 0;
    while !shared.stop.load(Ordering::Relaxed) {
        while playback.queued() < 3 * FRAME_SAMPLES {
            if repeat == Repeat::Once && pos >= sound.len() {
                // Let the queue drain, then end.
                if playback.queued() == 0 {
                    return;
                }
                break;
            }
            let volume = f32::from_bits(shared.volume.load(Ordering::Relaxed));
            let frame: Vec<i16> = (0..FRAME_SAMPLES)
                .map(|i| {
                    let s = match repeat {
                        Repeat::Loop => sound.get((pos + i) % sound.len()),
                        Repeat::Once => sound.get(pos + i),
                    };
                    // Invariant: |s · volume| ≤ |s| since volume ∈ [0, 1].
                    (f32::from(s.copied().unwrap_or(0)) * volume) as i16
                })
                .collect();
            pos += FRAME_SAMPLES;
            if repeat == Repeat::Loop {
                pos %= sound.len();
            }
            playback.write(&frame);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // Open: it ends within a period. Still opening: it ends by itself after the open.
            if self.shared.open.load(Ordering::Relaxed) {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_incoming_ring_is_one_second_on_two_off() {
        let ring = incoming_ring();
        let rate = ENGINE_RATE as usize;
        assert_eq!(ring.len(), 3 * rate);
        let on = &ring[..rate];
        assert!(crate::tone::tone_share(on, 400.0) > 0.5);
        assert!(ring[rate..].iter().all(|&s| s == 0));
    }

    #[test]
    fn an_empty_sound_is_refused_and_volumes_are_clamped() {
        assert!(Ringer::ring(None, Vec::new(), 1.0, Repeat::Loop).is_err());
        assert_eq!(clamp_volume(2.0), 1.0);
        assert_eq!(clamp_volume(-1.0), 0.0);
        assert_eq!(clamp_volume(f32::NAN), 1.0);
    }
}
