//! Sound devices (feature `audio`): cpal's PulseAudio host (also PipeWire through pipewire-pulse), else ALSA.
//!
//! - [`AudioHost`]: device enumeration ([`DeviceInfo`], the shape of `MediaDeviceInfo`) and lookup by id;
//! - [`stream`]: [`Capture`] and [`Playback`], 48 kHz mono streams with bounded rings, a level meter and a
//!   failure flag set from cpal's error callback;
//! - [`port`]: [`DeviceAudio`], the driver's [`AudioPort`](crate::driver::AudioPort) on real devices, which
//!   watches its devices and falls back to the default one (with a [`DeviceEvent`]) when one disappears;
//! - [`meter`]: the diagnostics' microphone test (level of a device for a few seconds);
//! - [`ringer`]: a ringtone on its own output device, apart from the call's speaker.
//!
//! Device ids are cpal's persistent `host:name` strings (e.g. `pulseaudio:alsa_output.usb-…`); the empty id and
//! `"default"` mean the system default, as in `getUserMedia`.

pub mod meter;
pub mod port;
mod pulse;
pub mod ringer;
pub mod stream;

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait};
use serde::Serialize;

pub use crate::device::{DeviceEvent, DeviceKind};
use crate::error::{MediaError, Result};
pub use port::DeviceAudio;
pub use ringer::Ringer;
pub use stream::{Capture, Playback};

/// One device, as `enumerateDevices` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// Persistent id (`host:name`).
    pub id: String,
    /// Human-readable name.
    pub label: String,
    /// Input or output.
    pub kind: DeviceKind,
    /// Whether it is the system default for its kind.
    pub is_default: bool,
}

/// The audio host and its devices.
///
/// On PulseAudio every `AudioHost` shares one server connection per process (cpal's client keeps a reactor
/// thread and socket per connection for the life of the process, so a connection per call leaked both); it is
/// replaced when listing devices on it fails (the server restarted).
pub struct AudioHost {
    host: Arc<cpal::Host>,
}

/// The process's PulseAudio connection for device lists.
static SHARED: Mutex<Option<Arc<cpal::Host>>> = Mutex::new(None);

fn shared() -> std::sync::MutexGuard<'static, Option<Arc<cpal::Host>>> {
    // The slot holds a plain handle; a panicking holder cannot leave it half-written.
    SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl std::fmt::Debug for AudioHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioHost")
            .field("host", &self.host.id())
            .finish()
    }
}

fn device_err(context: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Device(format!("{context}: {e}"))
}

/// Whether `id` asks for the system default.
pub(crate) fn is_default_id(id: Option<&str>) -> bool {
    matches!(id, None | Some("" | "default"))
}

impl AudioHost {
    /// PulseAudio/PipeWire when a server is reachable, else ALSA.
    pub fn new() -> Self {
        let mut slot = shared();
        if let Some(host) = slot.as_ref() {
            return Self { host: host.clone() };
        }
        let host = Arc::new(cpal::default_host());
        if host.id() == cpal::HostId::PulseAudio {
            *slot = Some(host.clone());
        }
        Self { host }
    }

    /// The backend's name (`pulseaudio`, `alsa`).
    pub fn name(&self) -> String {
        self.host.id().to_string()
    }

    fn id_of(d: &cpal::Device) -> Option<String> {
        d.id().ok().map(|id| id.to_string())
    }

    fn label_of(d: &cpal::Device) -> String {
        d.description()
            .map(|desc| desc.name().to_owned())
            .unwrap_or_else(|_| "Unknown device".to_owned())
    }

    /// Every input and output device.
    pub fn devices(&self) -> Result<Vec<DeviceInfo>> {
        let default_in = self
            .host
            .default_input_device()
            .as_ref()
            .and_then(Self::id_of);
        let default_out = self
            .host
            .default_output_device()
            .as_ref()
            .and_then(Self::id_of);
        let mut out = Vec::new();
        for (kind, list, default) in [
            (DeviceKind::Input, self.host.input_devices(), &default_in),
            (DeviceKind::Output, self.host.output_devices(), &default_out),
        ] {
            let list = list.map_err(|e| {
                // A dead connection (server restarted): the next AudioHost connects afresh.
                let mut slot = shared();
                if slot.as_ref().is_some_and(|h| Arc::ptr_eq(h, &self.host)) {
                    *slot = None;
                }
                device_err("cannot list devices", e)
            })?;
            for d in list {
                let Some(id) = Self::id_of(&d) else {
                    continue;
                };
                out.push(DeviceInfo {
                    is_default: default.as_deref() == Some(id.as_str()),
                    label: Self::label_of(&d),
                    kind,
                    id,
                });
            }
        }
        Ok(out)
    }

    /// The device with `id` (or the default for `None`/`""`/`"default"`), with its info.
    pub fn device(&self, kind: DeviceKind, id: Option<&str>) -> Result<(cpal::Device, DeviceInfo)> {
        let device = if is_default_id(id) {
            match kind {
                DeviceKind::Input => self.host.default_input_device(),
                DeviceKind::Output => self.host.default_output_device(),
            }
        } else {
            let id = id.unwrap_or_default();
            cpal::DeviceId::from_str(id)
                .ok()
                .and_then(|parsed| self.host.device_by_id(&parsed))
        };
        let what = match kind {
            DeviceKind::Input => "microphone",
            DeviceKind::Output => "speaker",
        };
        let device = device.ok_or_else(|| match id {
            Some(id) if !is_default_id(Some(id)) => {
                MediaError::Device(format!("{what} {id} is not connected"))
            }
            _ => MediaError::Device(format!("no {what} is connected")),
        })?;
        let info = DeviceInfo {
            id: Self::id_of(&device).unwrap_or_default(),
            label: Self::label_of(&device),
            kind,
            is_default: is_default_id(id),
        };
        Ok((device, info))
    }

    /// Whether a device with this id is present now.
    pub fn is_present(&self, kind: DeviceKind, id: &str) -> bool {
        self.devices()
            .map(|list| list.iter().any(|d| d.kind == kind && d.id == id))
            .unwrap_or(false)
    }
}

impl Default for AudioHost {
    fn default() -> Self {
        Self::new()
    }
}
