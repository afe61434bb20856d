//! [`DeviceAudio`]: a call's audio on real devices, kept alive through unplugging.
//!
//! Every tick (20 ms) it checks the streams' failure flags; every second it also checks that the devices are
//! still listed. A lost device is replaced at once by the chosen one if present, else by the system default,
//! with a [`DeviceEvent::Lost`] naming both; with no device left it emits [`DeviceEvent::Unavailable`] once
//! and retries every second. When the chosen device comes back, audio moves back to it
//! ([`DeviceEvent::Restored`]). Opening never fails: a call without a microphone still rings and plays, and the
//! UI says why.

use std::collections::VecDeque;

use super::stream::{Capture, Playback};
use super::{is_default_id, AudioHost, DeviceKind};
use crate::codec::FRAME_SAMPLES;
use crate::device::DeviceEvent;

/// Ticks between device-list checks (1 s).
const CHECK_TICKS: u32 = 50;

/// A call's microphone and speaker.
#[derive(Debug)]
pub struct DeviceAudio {
    host: AudioHost,
    input_pref: Option<String>,
    output_pref: Option<String>,
    capture: Option<Capture>,
    playback: Option<Playback>,
    unavailable: [bool; 2],
    events: VecDeque<DeviceEvent>,
    ticks: u32,
}

fn slot(kind: DeviceKind) -> usize {
    match kind {
        DeviceKind::Input => 0,
        DeviceKind::Output => 1,
    }
}

impl DeviceAudio {
    /// Opens the chosen microphone and speaker (`None`, `""` or `"default"`: the system default).
    pub fn open(host: AudioHost, input: Option<String>, output: Option<String>) -> Self {
        let mut me = Self {
            host,
            input_pref: input.filter(|i| !is_default_id(Some(i))),
            output_pref: output.filter(|o| !is_default_id(Some(o))),
            capture: None,
            playback: None,
            unavailable: [false; 2],
            events: VecDeque::new(),
            ticks: 0,
        };
        for kind in [DeviceKind::Input, DeviceKind::Output] {
            me.reopen(kind, None);
        }
        me
    }

    /// The microphone in use.
    pub fn input_label(&self) -> Option<&str> {
        self.capture.as_ref().map(|c| c.info().label.as_str())
    }

    /// The speaker in use.
    pub fn output_label(&self) -> Option<&str> {
        self.playback.as_ref().map(|p| p.info().label.as_str())
    }

    /// Microphone level, 0‥1 (the input meter).
    pub fn input_level(&self) -> f64 {
        self.capture.as_ref().map_or(0.0, Capture::level)
    }

    fn pref(&self, kind: DeviceKind) -> Option<&str> {
        match kind {
            DeviceKind::Input => self.input_pref.as_deref(),
            DeviceKind::Output => self.output_pref.as_deref(),
        }
    }

    fn current(&self, kind: DeviceKind) -> Option<(String, String)> {
        let info = match kind {
            DeviceKind::Input => self.capture.as_ref().map(Capture::info),
            DeviceKind::Output => self.playback.as_ref().map(Playback::info),
        };
        info.map(|i| (i.id.clone(), i.label.clone()))
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
            let result = match kind {
                DeviceKind::Input => Capture::open(&self.host, id).map(|c| {
                    let label = c.info().label.clone();
                    self.capture = Some(c);
                    label
                }),
                DeviceKind::Output => Playback::open(&self.host, id).map(|p| {
                    let label = p.info().label.clone();
                    self.playback = Some(p);
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
            (Some((label, message)), fallback) => self.events.push_back(DeviceEvent::Lost {
                kind,
                label,
                message,
                fallback,
            }),
            (None, Some(label)) if was_unavailable => {
                self.events.push_back(DeviceEvent::Restored { kind, label })
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
                self.events
                    .push_back(DeviceEvent::Unavailable { kind, message });
            }
            _ => {}
        }
    }

    /// One tick of supervision.
    fn supervise(&mut self) {
        self.ticks = self.ticks.wrapping_add(1);
        let check = self.ticks.is_multiple_of(CHECK_TICKS);
        for kind in [DeviceKind::Input, DeviceKind::Output] {
            let failure = match kind {
                DeviceKind::Input => self.capture.as_ref().and_then(Capture::failure),
                DeviceKind::Output => self.playback.as_ref().and_then(Playback::failure),
            };
            let current = self.current(kind);
            let lost = match (&current, failure) {
                (Some((_, label)), Some(message)) => Some((label.clone(), message)),
                (Some((id, label)), None) if check && !self.host.is_present(kind, id) => {
                    Some((label.clone(), format!("\"{label}\" was disconnected")))
                }
                _ => None,
            };
            if lost.is_some() {
                match kind {
                    DeviceKind::Input => self.capture = None,
                    DeviceKind::Output => self.playback = None,
                }
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
        self.supervise();
        if let Some(c) = &self.capture {
            c.read(out);
        }
    }

    fn play(&mut self, frame: &[i16; FRAME_SAMPLES]) {
        if let Some(p) = &self.playback {
            p.write(frame);
        }
    }

    fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }
}
