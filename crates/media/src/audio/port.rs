//! [`DeviceAudio`]: a call's audio on real devices, kept alive through unplugging.
//!
//! Opening and watching devices happens on a supervisor thread, never on the call task: the task's
//! [`AudioPort`](crate::driver::AudioPort) calls only move samples through the current streams' rings, so a
//! slow or hanging device (a PulseAudio connect, a device list) cannot stall RTP. [`DeviceAudio::open`] itself
//! opens the first streams synchronously (it may block: call it from a blocking thread).
//!
//! Every 20 ms the supervisor checks the streams' failure flags; every second it also checks that the devices
//! are still listed. A lost device is replaced at once by the chosen one if present, else by the system default,
//! with a [`DeviceEvent::Lost`] naming both; with no device left it emits [`DeviceEvent::Unavailable`] once
//! and retries every second. When the chosen device comes back, audio moves back to it
//! ([`DeviceEvent::Restored`]). Opening never fails: a call without a microphone still rings and plays, and the
//! UI says why.
//!
//! [`DeviceAudio::set_devices`] (the agent picked another device during the call) hands the new choice to the
//! supervisor, which moves the stream on its next tick (within 20 ms).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use super::stream::{Capture, Playback};
use super::{is_default_id, AudioHost, DeviceKind};
use crate::codec::FRAME_SAMPLES;
use crate::device::DeviceEvent;

/// Ticks between device-list checks (1 s).
const CHECK_TICKS: u32 = 50;

/// Supervision period.
const TICK: Duration = Duration::from_millis(20);

/// The streams in use, swapped by the supervisor.
#[derive(Debug, Default)]
struct Live {
    capture: Option<Capture>,
    playback: Option<Playback>,
}

fn lock(m: &Mutex<Live>) -> std::sync::MutexGuard<'_, Live> {
    // A panicking holder leaves at worst a stream that the supervisor replaces.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A call's microphone and speaker.
#[derive(Debug)]
pub struct DeviceAudio {
    live: Arc<Mutex<Live>>,
    events: mpsc::Receiver<DeviceEvent>,
    choices: mpsc::Sender<(DeviceKind, String)>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The supervisor thread's state: opens, watches and replaces the streams in [`Live`].
#[derive(Debug)]
struct Supervisor {
    host: AudioHost,
    input_pref: Option<String>,
    output_pref: Option<String>,
    live: Arc<Mutex<Live>>,
    unavailable: [bool; 2],
    events: mpsc::Sender<DeviceEvent>,
    choices: mpsc::Receiver<(DeviceKind, String)>,
    ticks: u32,
}

fn slot(kind: DeviceKind) -> usize {
    match kind {
        DeviceKind::Input => 0,
        DeviceKind::Output => 1,
    }
}

impl DeviceAudio {
    /// Opens the chosen microphone and speaker (`None`, `""` or `"default"`: the system default), then starts
    /// the supervisor thread. Blocks while the first streams open (call it from a blocking thread); a device
    /// that cannot be opened gives a fallback or an `Unavailable` event, never an error.
    pub fn open(host: AudioHost, input: Option<String>, output: Option<String>) -> Self {
        let live = Arc::new(Mutex::new(Live::default()));
        let (tx, events) = mpsc::channel();
        let (choices, choices_rx) = mpsc::channel();
        let mut supervisor = Supervisor {
            host,
            input_pref: input.filter(|i| !is_default_id(Some(i))),
            output_pref: output.filter(|o| !is_default_id(Some(o))),
            live: live.clone(),
            unavailable: [false; 2],
            events: tx,
            choices: choices_rx,
            ticks: 0,
        };
        for kind in [DeviceKind::Input, DeviceKind::Output] {
            supervisor.reopen(kind, None);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tsunagi-devices".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    supervisor.supervise();
                }
            })
            .map_err(|e| tracing::warn!(error = %e, "no device supervisor thread"))
            .ok();
        Self {
            live,
            events,
            choices,
            stop,
            thread,
        }
    }

    /// Moves the call to another microphone and/or speaker (`None`: keep; `""`/`"default"`: the system
    /// default). Returns at once; the supervisor thread reopens the stream within a tick.
    pub fn set_devices(&self, input: Option<String>, output: Option<String>) {
        for (kind, id) in [(DeviceKind::Input, input), (DeviceKind::Output, output)] {
            if let Some(id) = id {
                // The supervisor lives as long as this DeviceAudio.
                let _ = self.choices.send((kind, id));
            }
        }
    }

    /// The microphone in use.
    pub fn input_label(&self) -> Option<String> {
        lock(&self.live)
            .capture
            .as_ref()
            .map(|c| c.info().label.clone())
    }

    /// The speaker in use.
    pub fn output_label(&self) -> Option<String> {
        lock(&self.live)
            .playback
            .as_ref()
            .map(|p| p.info().label.clone())
    }

    /// Microphone level, 0‥1 (the input meter).
    pub fn input_level(&self) -> f64 {
        lock(&self.live)
            .capture
            .as_ref()
            .map_or(0.0, Capture::level)
    }
}

impl Drop for DeviceAudio {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Supervisor {
    fn send(&self, event: DeviceEvent) {
        // The receiver lives as long as the DeviceAudio that stops this thread.
        let _ = self.events.send(event);
    }

    fn pref(&self, kind: DeviceKind) -> Option<&str> {
        match kind {
            DeviceKind::Input => self.input_pref.as_deref(),
            DeviceKind::Output => self.output_pref.as_deref(),
        }
    }

    fn current(&self, kind: DeviceKind) -> Option<(String, String)> {
        let live = lock(&self.live);
        let info = match kind {
            DeviceKind::Input => live.capture.as_ref().map(Capture::info),
            DeviceKind::Output => live.playback.as_ref().map(Playback::info),
        };
        info.map(|i| (i.id.clone(), i.label.clone()))
    }

    fn failure(&self, kind: DeviceKind) -> Option<String> {
        let live = lock(&self.live);
        match kind {
            DeviceKind::Input => live.capture.as_ref().and_then(Capture::failure),
            DeviceKind::Output => live.playback.as_ref().and_then(Playback::failure),
        }
    }

    /// Closes the stream of `kind` (outside the lock: closing joins the stream's thread).
    fn close(&self, kind: DeviceKind) {
        let mut live = lock(&self.live);
        let old_capture = match kind {
            DeviceKind::Input => live.capture.take(),
            DeviceKind::Output => None,
        };
        let old_playback = match kind {
            DeviceKind::Output => live.playback.take(),
            DeviceKind::Input => None,
        };
        drop(live);
        drop(old_capture);
        drop(old_playback);
    }

    /// Opens the chosen device, else the default; `lost` is `(label, message)` of a device that just went away.
    fn reopen(&mut self, kind: DeviceKind, lost: Option<(String, String)>) {
        let pref = self.pref(kind).map(str::to_owned);
        let mut opened = None;
        let mut error = None;
        let pref_present = pref
            .as_deref()
            .is_some_and(|p| self.host.is_present(kind, p));
        for id in [pref.as_deref().filter(|_| pref_present), None] {
            // Opened outside the lock; the old stream of this kind was closed before.
            let result = match kind {
                DeviceKind::Input => Capture::open(&self.host, id).map(|c| {
                    let label = c.info().label.clone();
                    lock(&self.live).capture = Some(c);
                    label
                }),
                DeviceKind::Output => Playback::open(&self.host, id).map(|p| {
                    let label = p.info().label.clone();
                    lock(&self.live).playback = Some(p);
                    label
                }),
            };
            match result {
                Ok(label) => {
                    opened = Some(label);
                    break;
                }
                Err(e) => error = Some(e.to_string()),
            }
            if id.is_none() {
                break;
            }
        }
        let was_unavailable =
            std::mem::replace(&mut self.unavailable[slot(kind)], opened.is_none());
        match (lost, opened) {
            (Some((label, message)), fallback) => self.send(DeviceEvent::Lost {
                kind,
                label,
                message,
                fallback,
            }),
            (None, Some(label)) if was_unavailable => {
                self.send(DeviceEvent::Restored { kind, label })
            }
            (None, None) if !was_unavailable => {
                let what = match kind {
                    DeviceKind::Input => "No microphone can be opened",
                    DeviceKind::Output => "No speaker can be opened",
                };
                let message = match error {
                    Some(e) => format!("{what}: {e}"),
                    None => what.to_owned(),
                };
                self.send(DeviceEvent::Unavailable { kind, message });
            }
            _ => {}
        }
    }

    /// Applies the agent's new choices: a different device than the one playing is opened at once (falling
    /// back to the default, with a `Lost` event naming why, when it cannot be).
    fn apply_choices(&mut self) {
        while let Ok((kind, id)) = self.choices.try_recv() {
            let pref = (!is_default_id(Some(&id))).then_some(id);
            let current = self.current(kind).map(|(id, _)| id);
            // The same choice again (the page re-sends it) keeps the stream, unless it is not the one playing.
            let unchanged =
                self.pref(kind) == pref.as_deref() && (pref.is_none() || pref == current);
            match kind {
                DeviceKind::Input => self.input_pref = pref.clone(),
                DeviceKind::Output => self.output_pref = pref.clone(),
            }
            if unchanged && current.is_some() {
                continue;
            }
            tracing::info!(?kind, "device changed during the call");
            self.close(kind);
            let what = match kind {
                DeviceKind::Input => "the chosen microphone",
                DeviceKind::Output => "the chosen speaker",
            };
            let missing = pref
                .as_deref()
                .filter(|p| !self.host.is_present(kind, p))
                .map(|_| (what.to_owned(), format!("{what} is not connected")));
            self.reopen(kind, missing);
        }
    }

    /// One tick of supervision.
    fn supervise(&mut self) {
        self.apply_choices();
        self.ticks = self.ticks.wrapping_add(1);
        let check = self.ticks.is_multiple_of(CHECK_TICKS);
        for kind in [DeviceKind::Input, DeviceKind::Output] {
            let failure = self.failure(kind);
            let current = self.current(kind);
            let lost = match (&current, failure) {
                (Some((_, label)), Some(message)) => Some((label.clone(), message)),
                (Some((id, label)), None) if check && !self.host.is_present(kind, id) => {
                    Some((label.clone(), format!("\"{label}\" was disconnected")))
                }
                _ => None,
            };
            if lost.is_some() {
                self.close(kind);
                self.reopen(kind, lost);
                continue;
            }
            if !check {
                continue;
            }
            match (&current, self.pref(kind).map(str::to_owned)) {
                (None, _) => self.reopen(kind, None),
                (Some((id, _)), Some(pref)) if *id != pref && self.host.is_present(kind, &pref) => {
                    self.unavailable[slot(kind)] = true; // so that reopening reports `Restored`
                    self.close(kind);
                    self.reopen(kind, None);
                }
                _ => {}
            }
        }
    }
}

#[cfg(feature = "driver")]
impl crate::driver::AudioPort for DeviceAudio {
    fn capture(&mut self, out: &mut Vec<i16>) {
        if let Some(c) = &lock(&self.live).capture {
            c.read(out);
        }
    }

    fn play(&mut self, frame: &[i16; FRAME_SAMPLES]) {
        if let Some(p) = &lock(&self.live).playback {
            p.write(frame);
        }
    }

    fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.try_recv().ok()
    }

    fn set_devices(&mut self, input: Option<String>, output: Option<String>) {
        DeviceAudio::set_devices(self, input, output);
    }
}
