//! Call streams on PulseAudio (and PipeWire through pipewire-pulse) via libpulse's simple API: one thread per
//! stream doing blocking 10 ms writes (speaker) or reads (microphone) against the bounded rings of
//! [`super::stream`], so the device clock paces the thread and a stuck server never blocks the call task.
//!
//! Why not cpal's PulseAudio host (which still lists the devices): its pure-Rust client zeroes a 1 MiB read
//! buffer twice per socket wakeup, which in an unoptimised build is slower than the audio, and it asks for
//! `tlength = 2 × minreq` with `ADJUST_LATENCY`, which leaves the sink 0 µs of latency; on null sinks playback
//! was pulled at 0.4–0.7× real time (gaps audible in the monitor), where libpulse plays the same tone gap-free.
//!
//! Buffering: the server holds [`TARGET_MS`] for the speaker (with `ADJUST_LATENCY` about a quarter of it is
//! the sink's own buffer) and delivers the microphone in [`PERIOD_MS`] fragments.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use libpulse_binding::def::BufferAttr;
use libpulse_binding::sample::{Format, Spec};
use libpulse_binding::stream::Direction;
use libpulse_simple_binding::Simple;

use super::stream::Shared;
use super::DeviceKind;
use crate::codec::ENGINE_RATE;
use crate::error::{MediaError, Result};

/// One read/write: 10 ms.
pub(super) const PERIOD_MS: u32 = 10;
/// Speaker audio held by the server: 40 ms.
pub(super) const TARGET_MS: u32 = 40;
const PERIOD: usize = (ENGINE_RATE / 1_000 * PERIOD_MS) as usize;

fn bytes(ms: u32) -> u32 {
    ENGINE_RATE / 1_000 * ms * 2
}

/// A running libpulse stream; dropping it stops its thread and closes the stream. A speaker's thread is
/// joined (its writes return within a period); a microphone's is not: a read can wait for the source's whole
/// latency (seconds on an idle monitor), so it ends on its own after its current read, and dropping never
/// blocks the call task.
pub(super) struct PulseStream {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    kind: DeviceKind,
}

impl Drop for PulseStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if self.kind == DeviceKind::Output {
                let _ = t.join();
            }
        }
    }
}

/// The PulseAudio name inside a cpal device id (`pulseaudio:<name>`); `None` for the server's default.
pub(super) fn device_name(id: &str) -> Option<&str> {
    id.strip_prefix("pulseaudio:").filter(|n| !n.is_empty())
}

/// Opens `device` (a sink or source name; `None`: the default) and starts its thread.
pub(super) fn open(
    kind: DeviceKind,
    device: Option<&str>,
    shared: Arc<Shared>,
    label: &str,
) -> Result<PulseStream> {
    if device.is_some_and(|d| d.contains('\0')) {
        return Err(MediaError::Device(format!(
            "\"{label}\" has an invalid name"
        )));
    }
    let spec = Spec {
        format: Format::S16le,
        rate: ENGINE_RATE,
        channels: 1,
    };
    let (direction, attr, stream_name) = match kind {
        DeviceKind::Output => (
            Direction::Playback,
            BufferAttr {
                maxlength: u32::MAX,
                tlength: bytes(TARGET_MS),
                prebuf: u32::MAX,
                minreq: bytes(PERIOD_MS),
                fragsize: u32::MAX,
            },
            "Call audio",
        ),
        DeviceKind::Input => (
            Direction::Record,
            BufferAttr {
                maxlength: u32::MAX,
                tlength: u32::MAX,
                prebuf: u32::MAX,
                minreq: u32::MAX,
                fragsize: bytes(PERIOD_MS),
            },
            "Call microphone",
        ),
    };
    let simple = Simple::new(
        None,
        "Tsunagi",
        direction,
        device,
        stream_name,
        &spec,
        None,
        Some(&attr),
    )
    .map_err(|e| {
        let what = match kind {
            DeviceKind::Input => "cannot open the microphone",
            DeviceKind::Output => "cannot open the speaker",
        };
        MediaError::Device(format!("{what} \"{label}\": {e}"))
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let label = label.to_owned();
    let thread = std::thread::Builder::new()
        .name(format!("tsunagi-pulse-{kind:?}").to_lowercase())
        .spawn(move || match kind {
            DeviceKind::Output => play(&simple, &shared, &flag, &label),
            DeviceKind::Input => record(&simple, &shared, &flag, &label),
        })
        .map_err(MediaError::Io)?;
    Ok(PulseStream {
        stop,
        thread: Some(thread),
        kind,
    })
}

fn play(simple: &Simple, shared: &Shared, stop: &AtomicBool, label: &str) {
    let mut frame = [0i16; PERIOD];
    let mut out = [0u8; 2 * PERIOD];
    while !stop.load(Ordering::Relaxed) {
        shared.pull_output(&mut frame);
        for (b, s) in out.chunks_exact_mut(2).zip(frame) {
            b.copy_from_slice(&s.to_le_bytes());
        }
        // Blocks until the server has room: the sink's clock paces this loop.
        if let Err(e) = simple.write(&out) {
            shared.fail("Speaker", label, &e);
            return;
        }
    }
}

fn record(simple: &Simple, shared: &Shared, stop: &AtomicBool, label: &str) {
    let mut data = [0u8; 2 * PERIOD];
    while !stop.load(Ordering::Relaxed) {
        if let Err(e) = simple.read(&mut data) {
            shared.fail("Microphone", label, &e);
            return;
        }
        shared.push_input(
            data.chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]])),
        );
    }
}
