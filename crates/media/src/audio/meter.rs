//! The diagnostics' microphone test on a real device (where the webview has no WebAudio capture): opens the
//! chosen microphone as a [`Capture`] for a while and reports its meter ([`Capture::level`], the same RMS meter
//! the call's input level uses) every tick, then closes it. A missing device and a device that cannot be opened
//! (or stops working during the test) are told apart, so the screen can word each.

use std::time::{Duration, Instant};

use super::stream::Capture;
use super::{AudioHost, DeviceKind};

/// How often the level is reported.
pub const TICK: Duration = Duration::from_millis(100);

/// Why the microphone test failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MicTestError {
    /// No microphone, or not the chosen one, is connected.
    #[error("{0}")]
    NotFound(String),
    /// The microphone is there but cannot be opened, or stopped working during the test.
    #[error("{0}")]
    Unusable(String),
}

/// Listens to the microphone `id` (`None`/`"default"`: the system's) for `duration`, calling `on_level` with
/// its level (RMS, 0‥1) every [`TICK`], and returns the peak. Stops early, with the peak so far, when
/// `on_level` returns `false` (nobody listens any more). Blocks the calling thread.
pub fn mic_test(
    host: &AudioHost,
    id: Option<&str>,
    duration: Duration,
    mut on_level: impl FnMut(f64) -> bool,
) -> Result<f64, MicTestError> {
    host.device(DeviceKind::Input, id)
        .map_err(|e| MicTestError::NotFound(e.to_string()))?;
    let capture = Capture::open(host, id).map_err(|e| MicTestError::Unusable(e.to_string()))?;
    tracing::debug!(device = %capture.info().label, "microphone test");
    let mut peak = 0.0f64;
    let until = Instant::now() + duration;
    while Instant::now() < until {
        std::thread::sleep(TICK);
        if let Some(failure) = capture.failure() {
            return Err(MicTestError::Unusable(failure));
        }
        let level = capture.level();
        peak = peak.max(level);
        if !on_level(level) {
            break;
        }
    }
    Ok(peak)
}
