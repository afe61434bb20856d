//! The incoming-call ring on the sound devices, for pages whose webview cannot route audio (Debian's WebKitGTK
//! behind the native-audio shim has no `setSinkId`): the ringtone plays natively on the device chosen in
//! Settings, at its volume (issue 9).
//!
//! The shell follows the core's ring state itself ([`on_event`], fed by [`crate::events::on_core_event`]): it
//! rings while [`CallActivity`] knows a ring, so the sound stops with the core's `RingStopped` whatever the
//! reason (answer, decline, caller hang-up, timeout, answered elsewhere, sign-out), without a round trip
//! through the page. The page only says where and how loud ([`ringtone_configure`]); a page that never does
//! (its webview rings itself with `<audio>`) gets no native ring, so exactly one ring sounds either way.
//! Nothing here decides which ring sounds: that is the core's.

use std::sync::Mutex;

use tauri::{AppHandle, Manager, Runtime, State};
use tsunagi_core::Event;
use tsunagi_media::audio::ringer::{incoming_ring, Repeat, Ringer};

use crate::activity::CallActivity;

/// Where the page wants the ring and how loud.
#[derive(Debug, Clone, PartialEq)]
struct Prefs {
    /// Output device id (`None`/`""`/`"default"`: the system default).
    device: Option<String>,
    /// 0‥1.
    volume: f32,
}

/// What to do with the ring after a change.
#[derive(Debug, PartialEq)]
enum Step {
    /// Start it (again) on the page's device.
    Start,
    /// Leave it as it is (set the volume).
    Keep,
    /// Silence it.
    Stop,
}

/// The managed ringtone.
#[derive(Default)]
pub(crate) struct Ringtone {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// `None`: the page rings itself.
    prefs: Option<Prefs>,
    /// The core says something rings.
    ringing: bool,
    /// The ring sounding now, and the device it was started for.
    ring: Option<(Option<String>, Ringer)>,
    /// Settings' "test" sound.
    preview: Option<Ringer>,
}

/// The step for the ring given the page's choice, the core's state and the device now ringing.
fn step(prefs: Option<&Prefs>, ringing: bool, sounding: Option<&Option<String>>) -> Step {
    match (prefs, ringing, sounding) {
        (Some(p), true, Some(device)) if *device == p.device => Step::Keep,
        (Some(_), true, _) => Step::Start,
        _ => Step::Stop,
    }
}

impl Ringtone {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Plain data and ringers that stop on drop: a panicking holder leaves nothing half-done.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The page's device and volume; rings natively from now on.
    fn configure(&self, prefs: Prefs) {
        let mut inner = self.lock();
        if let Some(preview) = &inner.preview {
            preview.set_volume(prefs.volume);
        }
        inner.prefs = Some(prefs);
        inner.sync();
    }

    /// Rings or falls silent as the core says.
    fn follow(&self, ringing: bool) {
        let mut inner = self.lock();
        if inner.ringing != ringing {
            inner.ringing = ringing;
            inner.sync();
        }
    }

    /// Plays the ring once on the page's device (Settings' test), or stops that.
    fn preview(&self, on: bool) {
        let mut inner = self.lock();
        inner.preview = None;
        let Some(prefs) = inner.prefs.clone().filter(|_| on && inner.ring.is_none()) else {
            return;
        };
        match Ringer::ring(prefs.device, incoming_ring(), prefs.volume, Repeat::Once) {
            Ok(ringer) => inner.preview = Some(ringer),
            Err(error) => tracing::warn!(%error, "could not play the ringtone preview"),
        }
    }
}

impl Inner {
    fn sync(&mut self) {
        match step(
            self.prefs.as_ref(),
            self.ringing,
            self.ring.as_ref().map(|(d, _)| d),
        ) {
            Step::Keep => {
                if let (Some(prefs), Some((_, ringer))) = (&self.prefs, &self.ring) {
                    ringer.set_volume(prefs.volume);
                }
            }
            Step::Stop => {
                if self.ring.take().is_some() {
                    tracing::info!("ringtone stopped");
                }
            }
            Step::Start => {
                // The old ring stops before the new one opens its device.
                self.ring = None;
                self.preview = None;
                let Some(prefs) = self.prefs.clone() else {
                    return;
                };
                match Ringer::ring(
                    prefs.device.clone(),
                    incoming_ring(),
                    prefs.volume,
                    Repeat::Loop,
                ) {
                    Ok(ringer) => {
                        tracing::info!("ringtone started");
                        self.ring = Some((prefs.device, ringer));
                    }
                    Err(error) => tracing::error!(%error, "could not start the ringtone"),
                }
            }
        }
    }
}

/// Follows the core's ring state (after [`CallActivity`] has seen `event`).
pub(crate) fn on_event<R: Runtime>(app: &AppHandle<R>, event: &Event) {
    if matches!(
        event,
        Event::Ringing { .. } | Event::RingStopped { .. } | Event::Presence { .. }
    ) {
        let ringing = app.state::<CallActivity>().ringing();
        app.state::<Ringtone>().follow(ringing);
    }
}

/// The page rings natively from now on, on `device` (`None`/`"default"`: the system's) at `volume` (0‥1).
#[tauri::command]
pub(crate) fn ringtone_configure(
    ringtone: State<'_, Ringtone>,
    device: Option<String>,
    volume: f32,
) {
    ringtone.configure(Prefs { device, volume });
}

/// Plays the ring once on the configured device (`on: false` stops it); nothing while a call rings.
#[tauri::command]
pub(crate) fn ringtone_preview(ringtone: State<'_, Ringtone>, on: bool) {
    ringtone.preview(on);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs(device: Option<&str>) -> Prefs {
        Prefs {
            device: device.map(str::to_owned),
            volume: 0.5,
        }
    }

    // The state around this table (configure, follow, preview with real ringers) is proven end to end by
    // tests/desktop/audio.sh: here it would open sound devices.
    #[test]
    fn rings_only_when_the_page_asked_and_the_core_rings() {
        let p = prefs(Some("pulseaudio:ring"));
        assert_eq!(step(None, true, None), Step::Stop, "the page rings itself");
        assert_eq!(step(Some(&p), false, None), Step::Stop);
        assert_eq!(step(Some(&p), true, None), Step::Start);
        let same = Some("pulseaudio:ring".to_owned());
        assert_eq!(step(Some(&p), true, Some(&same)), Step::Keep);
        assert_eq!(
            step(Some(&p), true, Some(&None)),
            Step::Start,
            "a new device restarts the ring"
        );
        assert_eq!(step(Some(&p), false, Some(&same)), Step::Stop);
    }
}
