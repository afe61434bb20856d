//! The Voice edge stand-in: PStream signaling for the unmodified `@twilio/voice-sdk` and one media leg per call.
//!
//! | path | what |
//! |---|---|
//! | `GET /signal` | the SDK's signaling WebSocket (`chunderw: 'HOST:PORT'` → `wss://HOST:PORT/signal`) |
//! | `/_sim/voice/…` | scenario control: place/hang up calls, set how dialled numbers behave, drop sockets ([`control`]) |
//!
//! - [`signal`]: one task per WebSocket (thin: decode with `tsunagi_twilio::pstream`, hand over, write, heartbeat).
//! - [`session`]: `listen`/`register` with Twilio's token error codes; [`calls`]: the call state machine, media
//!   legs and reconnect tokens. Both are methods of [`Voice`], which holds the sessions and calls.
//! - [`model`]: the serde types the control API and other stand-in modules use.
//! - Media: [`crate::media`] legs, ICE-lite PCMU + telephone-event; each leg plays a tone and detects what it hears.
//! - [`tls`]: the stand-in's one port also speaks TLS (self-signed), because the SDK only dials `wss://`.
//!
//! Mount with [`router`] (generic over the outer router's state) or run alone with [`serve`] (plain only).

pub mod calls;
pub mod control;
pub mod model;
pub mod session;
pub mod signal;
pub mod tls;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub use calls::{AppCall, AppRouter, Voice};
pub use model::{CallState, CallView, Direction, NumberBehaviour, Party, PlaceCall};

use crate::media::MediaConfig;

/// Voice stand-in settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceConfig {
    /// Media legs: candidate address and tone level.
    #[serde(default)]
    pub media: MediaConfig,
    /// Interval of `"\n"` heartbeats; the SDK reconnects after 15 s without a frame.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_ms: u64,
    /// Outgoing calls: time between `ringing` and `answer` (or the busy / no-answer hangup).
    #[serde(default = "default_ring")]
    pub ring_ms: u64,
    /// Outgoing calls to a no-answer number ring this long before failing.
    #[serde(default = "default_no_answer")]
    pub no_answer_ms: u64,
    /// A call whose signaling socket closed ends this long after, unless a new socket reconnects it
    /// (`invite{reconnect}`); the SDK reconnects within about a second.
    #[serde(default = "default_orphan")]
    pub orphan_call_ms: u64,
    /// Region sent in `connected` (AWS-style name).
    #[serde(default = "default_region")]
    pub region: String,
    /// Edge sent in `connected`.
    #[serde(default = "default_edge")]
    pub edge: String,
    /// Tone the stand-in plays on outgoing calls it answers, Hz.
    #[serde(default)]
    pub outgoing_tone_hz: Option<f64>,
}

fn default_heartbeat() -> u64 {
    5_000
}
fn default_ring() -> u64 {
    500
}
fn default_no_answer() -> u64 {
    3_000
}
fn default_orphan() -> u64 {
    30_000
}
fn default_region() -> String {
    "US_EAST_VIRGINIA".into()
}
fn default_edge() -> String {
    "ashburn".into()
}

impl Default for VoiceConfig {
    fn default() -> Self {
        Self {
            media: MediaConfig::default(),
            heartbeat_ms: default_heartbeat(),
            ring_ms: default_ring(),
            no_answer_ms: default_no_answer(),
            orphan_call_ms: default_orphan(),
            region: default_region(),
            edge: default_edge(),
            outgoing_tone_hz: None,
        }
    }
}

/// The voice routes, ready to merge into any router (`.merge(voice::router(voice))`).
pub fn router<S: Clone + Send + Sync + 'static>(voice: Voice) -> Router<S> {
    Router::new()
        .route("/signal", get(signal::upgrade))
        .route("/_sim/voice/clients", get(control::clients))
        .route("/_sim/voice/calls", get(control::list).post(control::place))
        .route("/_sim/voice/calls/{sid}", get(control::get))
        .route("/_sim/voice/calls/{sid}/hangup", post(control::hangup))
        .route("/_sim/voice/calls/{sid}/tone", post(control::tone))
        .route("/_sim/voice/numbers", post(control::set_number))
        .route("/_sim/voice/sockets/drop", post(control::drop_sockets))
        .with_state(voice)
}

/// Serves only the voice routes on `listener` until the task is dropped (tests, or a voice-only stand-in).
pub async fn serve(listener: tokio::net::TcpListener, voice: Voice) -> std::io::Result<()> {
    axum::serve(listener, router::<()>(voice)).await
}

/// The [`Voice`] of a stand-in, configured by its `[voice]` config section.
pub fn for_shared(shared: &Arc<crate::Shared>) -> Voice {
    Voice::new(shared.clone(), shared.config.voice.clone())
}
