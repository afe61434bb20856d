//! The call endpoint: one `str0m` [`Rtc`] as a *client* peer, the way the Voice SDK's `RTCPeerConnection` is
//! one, plus the codecs, the jitter buffer and the quality monitor. Sans-IO and clock-free.
//!
//! Contract (str0m's run loop): feed every datagram with [`Endpoint::handle_receive`] and every elapsed timeout
//! with [`Endpoint::handle_timeout`]; after each input (and after negotiation or audio calls) drain
//! [`Endpoint::poll_output`] until it returns [`Output::Timeout`]. Audio goes in with
//! [`Endpoint::push_capture`] (any amount of 48 kHz mono; one RTP packet per 20 ms collected) and comes out
//! with [`Endpoint::pull_playout`] (called at the playout rate; pacing the jitter buffer).
//!
//! Negotiation, both ways the SDK does it: outgoing calls [`Endpoint::create_offer`] then
//! [`Endpoint::accept_answer`]; incoming calls [`Endpoint::accept_offer`], which returns the answer. The
//! endpoint is a full ICE agent (Twilio's media edge is ICE-lite) and puts its host candidates in its SDP;
//! remote candidates come from the remote SDP or as peer-reflexive from STUN checks. SDP out is CRLF (the SDK
//! splits on `"\r\nm="`).
//!
//! No input panics: bad datagrams and SDP are errors for the caller to log; `unwrap`s carry their invariant.

mod audio;
pub mod event;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Once;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Rtc, RtcConfig};

use crate::codec::CodecKind;
use crate::error::{MediaError, Result};
use crate::jitter::{JitterBuffer, JitterConfig};
use crate::quality::{CallStats, QualityMonitor};
pub use event::{EndpointEvent, IceState, Output};

/// How an endpoint is set up.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EndpointConfig {
    /// Codecs in preference order (the SDK's default is PCMU, then Opus); those not compiled in are skipped.
    pub codecs: Vec<CodecKind>,
    /// Statistics and warning sampling interval.
    #[serde(with = "millis")]
    pub stats_interval: Duration,
    /// Jitter buffer limits.
    pub jitter: JitterConfig,
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = <u64 as serde::Deserialize>::deserialize(d)?;
        Ok(Duration::from_millis(ms.clamp(100, 60_000)))
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        Self {
            codecs: vec![CodecKind::Pcmu, CodecKind::Opus],
            stats_interval: Duration::from_secs(1),
            jitter: JitterConfig::default(),
        }
    }
}

/// Where offer/answer stands.
#[derive(Debug)]
enum Negotiation {
    Idle,
    OfferSent(SdpPendingOffer),
    Stable,
}

/// One call's media endpoint.
pub struct Endpoint {
    rtc: Rtc,
    config: EndpointConfig,
    negotiation: Negotiation,
    mid: Option<Mid>,
    events: VecDeque<EndpointEvent>,
    connected: bool,
    closed: bool,
    send: audio::Sender,
    playout: audio::Playout,
    jitter: JitterBuffer,
    monitor: QualityMonitor,
    rtt: Option<Duration>,
    stats: CallStats,
    last_now: Instant,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("negotiation", &self.negotiation)
            .field("connected", &self.connected)
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

fn install_crypto() {
    static CRYPTO: Once = Once::new();
    CRYPTO.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
}

/// The SDK's SDP rewriting splits on `"\r\nm="`: always hand out CRLF.
fn crlf(sdp: String) -> String {
    if sdp.contains("\r\n") {
        sdp
    } else {
        sdp.replace('\n', "\r\n")
    }
}

impl Endpoint {
    /// A new endpoint; `now` starts its clock.
    pub fn new(config: EndpointConfig, now: Instant) -> Self {
        install_crypto();
        let mut rtc_config = RtcConfig::new()
            .clear_codecs()
            .set_reordering_size_audio(0)
            .set_stats_interval(Some(config.stats_interval));
        let mut codecs: Vec<CodecKind> = config
            .codecs
            .iter()
            .copied()
            .filter(|c| c.is_available())
            .collect();
        codecs.dedup();
        if codecs.is_empty() {
            codecs = CodecKind::available();
        }
        for c in &codecs {
            rtc_config = match c {
                CodecKind::Pcmu => rtc_config.enable_pcmu(true, false),
                CodecKind::Opus => rtc_config.enable_opus(true, false),
            };
        }
        let config = EndpointConfig { codecs, ..config };
        Self {
            rtc: rtc_config.build(now),
            jitter: JitterBuffer::new(config.jitter),
            config,
            negotiation: Negotiation::Idle,
            mid: None,
            events: VecDeque::new(),
            connected: false,
            closed: false,
            send: audio::Sender::default(),
            playout: audio::Playout::default(),
            monitor: QualityMonitor::new(),
            rtt: None,
            stats: CallStats::default(),
            last_now: now,
        }
    }

    /// Adds a local host candidate (the driver's bound UDP address).
    pub fn add_local_candidate(&mut self, addr: SocketAddr) -> Result<()> {
        let c = Candidate::host(addr, "udp").map_err(|_| MediaError::Candidate(addr))?;
        self.rtc
            .add_local_candidate(c)
            .map(|_| ())
            .ok_or(MediaError::Candidate(addr))
    }

    /// Outgoing call: a sendrecv audio offer (CRLF SDP).
    pub fn create_offer(&mut self) -> Result<String> {
        if !matches!(self.negotiation, Negotiation::Idle) {
            return Err(MediaError::Negotiation("offer after negotiation started"));
        }
        let mut api = self.rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api
            .apply()
            .ok_or(MediaError::Negotiation("nothing to offer"))?;
        self.mid = Some(mid);
        self.negotiation = Negotiation::OfferSent(pending);
        Ok(crlf(offer.to_sdp_string()))
    }

    /// Outgoing call: applies the remote answer to our offer.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<()> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        match std::mem::replace(&mut self.negotiation, Negotiation::Idle) {
            Negotiation::OfferSent(pending) => {
                if let Err(e) = self.rtc.sdp_api().accept_answer(pending, answer) {
                    self.negotiation = Negotiation::Idle;
                    return Err(e.into());
                }
                self.negotiation = Negotiation::Stable;
                self.check_codec()
            }
            other => {
                self.negotiation = other;
                Err(MediaError::Negotiation("answer without a pending offer"))
            }
        }
    }

    /// Incoming call: answers the remote offer (CRLF SDP).
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String> {
        if matches!(self.negotiation, Negotiation::OfferSent(_)) {
            return Err(MediaError::Negotiation(
                "offer while our own offer is pending",
            ));
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        // The media line is announced by a `MediaAdded` event, which chooses the send codec.
        self.negotiation = Negotiation::Stable;
        Ok(crlf(answer.to_sdp_string()))
    }

    /// Chooses the send codec among the negotiated ones, by our preference.
    fn check_codec(&mut self) -> Result<()> {
        let Some(mid) = self.mid else {
            return Ok(());
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return Ok(());
        };
        let negotiated: Vec<(CodecKind, str0m::media::Pt)> = writer
            .payload_params()
            .filter_map(|p| CodecKind::of(p.spec().codec).map(|k| (k, p.pt())))
            .collect();
        let chosen = self
            .config
            .codecs
            .iter()
            .find_map(|c| negotiated.iter().find(|(k, _)| k == c).copied());
        match chosen {
            Some((kind, pt)) => self.send.select(kind, pt),
            None => Err(MediaError::NoCommonCodec),
        }
    }

    /// Whether a datagram belongs to this endpoint (for routing many endpoints on one socket).
    pub fn accepts(
        &self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> bool {
        let Ok(contents) = contents.try_into() else {
            return false;
        };
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        self.rtc.accepts(&input)
    }

    /// Feeds one received datagram.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) -> Result<()> {
        self.last_now = self.last_now.max(now);
        if self.closed {
            return Ok(());
        }
        let contents = contents.try_into().map_err(|_| MediaError::Datagram)?;
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination,
                contents,
            },
        );
        if !self.rtc.accepts(&input) {
            return Ok(());
        }
        self.rtc.handle_input(input)?;
        Ok(())
    }

    /// Tells the endpoint the time advanced to `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        self.last_now = self.last_now.max(now);
        if self.closed {
            return Ok(());
        }
        self.rtc.handle_input(Input::Timeout(now))?;
        Ok(())
    }

    /// Mutes or unmutes the microphone: muted frames are sent as silence, as a browser does.
    pub fn set_muted(&mut self, muted: bool) {
        self.send.muted = muted;
    }

    /// Whether the microphone is muted.
    pub fn is_muted(&self) -> bool {
        self.send.muted
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The latest statistics.
    pub fn stats(&self) -> CallStats {
        let mut s = self.stats.clone();
        self.fill_stats(&mut s);
        s
    }

    /// Closes the call: no more datagrams are sent; [`EndpointEvent::Closed`] follows.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.rtc.disconnect();
            self.events.push_back(EndpointEvent::Closed);
        }
    }

    /// Whether the endpoint is closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The next output. Call until it returns [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output {
        loop {
            if let Some(e) = self.events.pop_front() {
                return Output::Event(e);
            }
            if self.closed {
                return Output::Timeout(self.last_now + IDLE);
            }
            match self.rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => return Output::Timeout(t),
                Ok(str0m::Output::Transmit(t)) => {
                    return Output::Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.into(),
                    }
                }
                Ok(str0m::Output::Event(e)) => self.on_event(e),
                Err(e) => {
                    tracing::warn!(error = %e, "media endpoint failed");
                    self.close();
                }
            }
        }
    }

    fn on_event(&mut self, e: Event) {
        match e {
            Event::IceConnectionStateChange(s) => {
                self.events.push_back(EndpointEvent::IceState(s.into()));
            }
            Event::Connected => {
                self.connected = true;
                if let Err(e) = self.check_codec() {
                    tracing::warn!(error = %e, "no send codec");
                }
                self.events.push_back(EndpointEvent::Connected);
            }
            Event::MediaAdded(m) if m.kind == MediaKind::Audio && self.mid.is_none() => {
                self.mid = Some(m.mid);
                if let Err(e) = self.check_codec() {
                    tracing::warn!(error = %e, "no send codec");
                }
            }
            Event::MediaData(d) => {
                if let Some(kind) = CodecKind::of(d.params.spec().codec) {
                    self.stats.bytes_received += d.data.len() as u64;
                    self.jitter.push(crate::jitter::Packet {
                        seq: **d.seq_range.start(),
                        rtp_time: d.time.numer(),
                        codec: kind,
                        payload: d.data.to_vec(),
                        arrival: d.network_time,
                    });
                }
            }
            Event::MediaEgressStats(s) => {
                if let Some(rtt) = s.rtt {
                    self.rtt = Some(rtt);
                }
            }
            Event::PeerStats(s) => {
                if let Some(rtt) = s.rtt.or_else(|| {
                    s.selected_candidate_pair
                        .and_then(|p| p.current_round_trip_time)
                }) {
                    self.rtt = Some(rtt);
                }
                if self.connected {
                    self.sample();
                }
            }
            _ => {}
        }
    }

    fn fill_stats(&self, s: &mut CallStats) {
        let rx = self.jitter.stats();
        s.codec = self.send.codec.map(|(k, _)| k);
        s.packets_sent = self.send.packets;
        s.bytes_sent = self.send.bytes;
        s.packets_received = rx.received;
        s.packets_lost = rx.lost;
        s.jitter_ms = rx.jitter_ms;
        s.rtt_ms = self.rtt.map(|r| r.as_secs_f64() * 1_000.0);
        s.concealed = rx.concealed;
        s.late = rx.late;
        s.jitter_buffer_ms = rx.target as f64 * 20.0;
        s.input_level = self.send.level;
        s.output_level = self.playout.level;
        s.warnings = self.monitor.raised().to_vec();
    }

    /// One periodic quality sample: statistics event and warning changes.
    fn sample(&mut self) {
        let loss = self.jitter.take_interval_loss();
        let mut s = std::mem::take(&mut self.stats);
        self.fill_stats(&mut s);
        s.loss = loss;
        let codec = s.codec.unwrap_or(CodecKind::Pcmu);
        // Mouth-to-ear: half the RTT (or nothing known), jitter buffer, packetization.
        let one_way = s.rtt_ms.map_or(0.0, |r| r / 2.0) + s.jitter_buffer_ms + 20.0;
        s.mos = (s.packets_received > 0)
            .then(|| crate::quality::mos(one_way, loss.unwrap_or(0.0), codec));
        let changes = self.monitor.push(crate::quality::QualitySample {
            rtt_ms: s.rtt_ms,
            jitter_ms: s.jitter_ms,
            loss,
            mos: s.mos,
        });
        s.warnings = self.monitor.raised().to_vec();
        self.stats = s.clone();
        self.events.push_back(EndpointEvent::Stats(s));
        for (warning, raised) in changes {
            self.events
                .push_back(EndpointEvent::Warning { warning, raised });
        }
    }
}

/// How long a closed endpoint asks not to be woken.
const IDLE: Duration = Duration::from_secs(3_600);
