//! `tsunagi-media`: native WebRTC call audio for webviews without WebRTC (Debian's WebKitGTK), so the pinned
//! Voice SDK can place and take calls in the Tauri webview on Linux (DESIGN §5, issue 9).
//!
//! Sans-IO at the core, like `str0m` which it wraps: [`Endpoint`] is a plain struct fed datagrams and time,
//! drained with [`Endpoint::poll_output`] until it returns [`Output::Timeout`]; it never reads a clock, owns no
//! socket and spawns nothing. Around it, thin shells:
//! - `driver` (feature `driver`): one tokio task per call owning a UDP socket and the endpoint;
//! - `audio` (feature `audio`): sound devices through cpal (PulseAudio/PipeWire, else ALSA), fallback on
//!   unplug, a separate ringtone output.
//!
//! Modules: [`codec`] (PCMU, Opus, resampling, loss concealment), [`jitter`] (reordering, adaptive delay, RFC
//! 3550 receive statistics), [`quality`] (stats snapshot, E-model MOS, warnings), [`endpoint`].
//!
//! Panics: none on network, SDP or IPC input; errors are returned. Every `unwrap`/`expect` names its invariant.

#[cfg(feature = "aec")]
pub mod aec;
#[cfg(feature = "audio")]
pub mod audio;
pub mod codec;
pub mod device;
#[cfg(feature = "driver")]
pub mod driver;
pub mod endpoint;
pub mod error;
pub mod jitter;
pub mod quality;
pub mod tone;

pub use codec::{CodecKind, ENGINE_RATE, FRAME_SAMPLES};
pub use endpoint::{Endpoint, EndpointConfig, EndpointEvent, IceState, Output};
pub use error::{MediaError, Result};
pub use quality::{CallStats, QualityWarning};
