//! [`Ringer`]: the incoming-call ring on its own output device (e.g. the laptop speakers while the call audio
//! goes to the headset). A small thread feeds a looped pattern to a [`Playback`] until the ringer is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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

/// A ring playing on one device.
#[derive(Debug)]
pub struct Ringer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    label: String,
}

impl Ringer {
    /// Starts looping `sound` (48 kHz mono) on output `device` (`None`: the default).
    pub fn start(host: &AudioHost, device: Option<&str>, sound: Vec<i16>) -> Result<Self> {
        if sound.is_empty() {
            return Err(MediaError::Device("empty ringtone".into()));
        }
        let playback = Playback::open(host, device)?;
        let label = playback.info().label.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tsunagi-ringer".into())
            .spawn(move || {
                let mut pos = 0;
                while !flag.load(Ordering::Relaxed) {
                    // Keep about 60 ms queued.
                    while playback.queued() < 3 * FRAME_SAMPLES {
                        let frame: Vec<i16> = (0..FRAME_SAMPLES)
                            .map(|i| sound.get((pos + i) % sound.len()).copied().unwrap_or(0))
                            .collect();
                        pos = (pos + FRAME_SAMPLES) % sound.len();
                        playback.write(&frame);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
            .map_err(MediaError::Io)?;
        Ok(Self {
            stop,
            thread: Some(thread),
            label,
        })
    }

    /// The device it rings on.
    pub fn label(&self) -> &str {
        &self.label
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
