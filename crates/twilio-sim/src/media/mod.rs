//! The stand-in's media edge: one WebRTC audio leg per call, speaking PCMU over DTLS-SRTP.
//!
//! - [`leg`]: a [`leg::MediaLeg`] wraps one `str0m` `Rtc` (sans-IO) and one UDP socket in a tokio task. By default
//!   the leg is **ICE-lite**, as Twilio's media servers are: it advertises one host candidate and answers the
//!   browser's STUN checks (the browser is the controlling agent). The SDK never trickles candidates, so the
//!   leg learns the browser's address from those checks (specs/voice-sdk-protocol.md §3.2).
//! - [`port`]: the two sample queues through which the conference mixer hears and feeds a leg.
//! - µ-law comes from `tsunagi_media::codec::g711` (one codec for the product and the stand-in). [`tone`]: the sine source a leg plays and the detector over what it receives.
//!
//! The candidate address is [`MediaConfig::ip`]. Chromium does not gather loopback candidates itself, but
//! it reaches a `127.0.0.1` candidate from its own interface address (spec §3.3), so the default is loopback;
//! set another local address (e.g. a veth inside a test namespace) when the browser runs elsewhere. Nothing is
//! ever sent to an address that did not first send a valid STUN request to the leg.

pub mod leg;
pub mod port;
pub mod tone;

use std::net::{IpAddr, Ipv4Addr};

pub use leg::{LegOptions, MediaError, MediaLeg, PendingOffer};
pub use port::AudioPort;
pub use tone::{AudioReport, ToneDetector, ToneGenerator};

/// Where legs bind and what they advertise.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// Local address the UDP sockets bind to and advertise as their host candidate.
    #[serde(default = "loopback")]
    pub ip: IpAddr,
    /// Amplitude of generated tones (0‥32767).
    #[serde(default = "default_amplitude")]
    pub tone_amplitude: f64,
    /// Negotiate PCMU (on by default).
    #[serde(default = "yes")]
    pub pcmu: bool,
    /// Negotiate Opus when the stand-in is built with the `opus` feature (on by default; without the feature
    /// legs speak PCMU only).
    #[serde(default = "yes")]
    pub opus: bool,
    /// Offer `telephone-event/8000`, so the SDK sends DTMF in-band (RFC 4733) as with Twilio, instead of
    /// `dtmf` signaling frames.
    #[serde(default = "yes")]
    pub telephone_event: bool,
}

fn yes() -> bool {
    true
}

fn loopback() -> IpAddr {
    IpAddr::V4(Ipv4Addr::LOCALHOST)
}

fn default_amplitude() -> f64 {
    8_000.0
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ip: loopback(),
            tone_amplitude: default_amplitude(),
            pcmu: true,
            opus: true,
            telephone_event: true,
        }
    }
}
