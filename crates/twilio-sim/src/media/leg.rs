//! One call's media: a `str0m` peer on its own UDP socket, run by a tokio task.
//!
//! Codecs: PCMU always, Opus when the crate is built with the `opus` feature and [`MediaConfig::opus`] is on
//! (decoded and encoded by `tsunagi_media::codec`, resampled 48 kHz ↔ 8 kHz, so the detector and the mixer work on
//! 8 kHz either way). A leg sends the first of PCMU / Opus the remote negotiated and decodes whichever arrives.
//!
//! Lifecycle: an incoming call starts with [`PendingOffer::new`] (socket bound, SDP offer written) and becomes a
//! running [`MediaLeg`] with [`PendingOffer::accept`] once the SDK's answer arrives; an outgoing call starts with
//! [`MediaLeg::answer`]. The task sends one 20 ms PCMU frame per tick once ICE and DTLS are up (the tone, or
//! µ-law silence) and feeds every received frame to a [`ToneDetector`]. Dropping the [`MediaLeg`] (or
//! [`MediaLeg::close`]) ends the task and frees the socket.
//!
//! Nothing here panics on network input: `str0m` errors on a datagram are logged and the datagram is dropped;
//! an `Rtc` that fails in `poll_output` ends the leg.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec, CodecExtra, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc, RtcConfig, RtcError};
use tokio::sync::mpsc;
use tsunagi_media::codec::resample::{Decimator, Interpolator};
use tsunagi_media::codec::{self as codecs, CodecKind};

use super::port::AudioPort;
use super::tone::{AudioReport, ToneDetector, ToneGenerator};
use super::MediaConfig;
use tsunagi_media::codec::g711;

/// Samples per 20 ms PCMU frame.
const FRAME_SAMPLES: usize = 160;
/// Frame period.
const FRAME: Duration = Duration::from_millis(20);
/// Largest datagram read.
const MAX_DATAGRAM: usize = 2_000;

/// Why a leg could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The UDP socket could not be bound.
    #[error("cannot bind media socket on {ip}: {source}")]
    Bind {
        /// The configured address.
        ip: std::net::IpAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The SDP from the SDK could not be parsed.
    #[error("invalid SDP: {0}")]
    Sdp(String),
    /// `str0m` refused the negotiation.
    #[error("negotiation failed: {0}")]
    Negotiation(#[from] RtcError),
    /// The candidate address is not usable for ICE (unspecified, broadcast, …).
    #[error("unusable candidate address {0}")]
    Candidate(SocketAddr),
    /// Neither PCMU nor Opus is enabled (or Opus is configured but not compiled in).
    #[error("no audio codec enabled (PCMU off, Opus off or not compiled in)")]
    NoCodec,
}

enum Cmd {
    SetTone(Option<f64>),
}

/// State visible outside the task.
#[derive(Debug, Default)]
struct Observed {
    detector: ToneDetector,
    connected: bool,
    ice: Option<String>,
    /// Digits received as RFC 4733 telephone events.
    dtmf: String,
    /// (event, RTP time) of the last ended event: the end packet is sent three times.
    last_end: Option<(u8, u64)>,
    /// The audio codec of the last media packet received (`PCMU`, `opus`).
    codec: Option<&'static str>,
}

/// Digits kept per leg.
const MAX_DTMF: usize = 256;

/// The keypad character of an RFC 4733 event code (§3.2).
fn dtmf_char(event: u8) -> Option<char> {
    match event {
        0..=9 => char::from_digit(u32::from(event), 10),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + (event - 12))),
        _ => None,
    }
}

/// Payload type offered for `telephone-event/8000` (a dynamic PT, as libwebrtc and Twilio use).
const TELEPHONE_EVENT_PT: u8 = 101;

/// Whether legs negotiate Opus: configured, and compiled in (feature `opus`).
fn opus_on(config: &MediaConfig) -> bool {
    config.opus && CodecKind::Opus.is_available()
}

fn new_rtc(ice_lite: bool, media: &MediaConfig) -> Rtc {
    static CRYPTO: Once = Once::new();
    CRYPTO.call_once(|| str0m::crypto::from_feature_flags().install_process_default());
    let mut config = RtcConfig::new()
        .set_ice_lite(ice_lite)
        .clear_codecs()
        .enable_opus(opus_on(media), false)
        .enable_pcmu(media.pcmu, false);
    if media.telephone_event {
        let format = FormatParams {
            telephone_event_max: Some(15),
            ..FormatParams::default()
        };
        config.codec_config().add_config(
            TELEPHONE_EVENT_PT.into(),
            None,
            Codec::Tele,
            Frequency::EIGHT_KHZ,
            None,
            format,
        );
    }
    config.build(Instant::now())
}

fn bind(config: &MediaConfig, rtc: &mut Rtc) -> Result<(UdpSocket, SocketAddr), MediaError> {
    let socket = UdpSocket::bind((config.ip, 0)).map_err(|source| MediaError::Bind {
        ip: config.ip,
        source,
    })?;
    let local = socket.local_addr().map_err(|source| MediaError::Bind {
        ip: config.ip,
        source,
    })?;
    let candidate = Candidate::host(local, "udp").map_err(|_| MediaError::Candidate(local))?;
    rtc.add_local_candidate(candidate);
    socket
        .set_nonblocking(true)
        .map_err(|source| MediaError::Bind {
            ip: config.ip,
            source,
        })?;
    Ok((socket, local))
}

/// The SDK's SDP rewriting splits on `"\r\nm="`: always hand it CRLF (spec §3.1).
fn crlf(sdp: String) -> String {
    if sdp.contains("\r\n") {
        sdp
    } else {
        sdp.replace('\n', "\r\n")
    }
}

/// Leg options beyond [`MediaConfig`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegOptions {
    /// ICE-lite (Twilio's role). A full agent is only for tests that connect two legs to each other.
    pub ice_lite: bool,
    /// Tone to play, Hz; `None` plays silence.
    pub tone_hz: Option<f64>,
}

impl Default for LegOptions {
    fn default() -> Self {
        Self {
            ice_lite: true,
            tone_hz: None,
        }
    }
}

/// An incoming call's media before the SDK answered: socket bound, offer written.
pub struct PendingOffer {
    rtc: Rtc,
    pending: SdpPendingOffer,
    socket: UdpSocket,
    local: SocketAddr,
    mid: Mid,
    config: MediaConfig,
    options: LegOptions,
}

impl std::fmt::Debug for PendingOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingOffer")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl PendingOffer {
    /// Binds a socket and writes a sendrecv PCMU offer (CRLF) with one host candidate.
    pub fn new(config: &MediaConfig, options: LegOptions) -> Result<(Self, String), MediaError> {
        if !config.pcmu && !opus_on(config) {
            return Err(MediaError::NoCodec);
        }
        let mut rtc = new_rtc(options.ice_lite, config);
        let (socket, local) = bind(config, &mut rtc)?;
        let mut api = rtc.sdp_api();
        let mid = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        // Invariant: one media line was just added, so there is a change to apply.
        let (offer, pending) = api.apply().expect("add_media yields a change");
        let sdp = crlf(offer.to_sdp_string());
        Ok((
            Self {
                rtc,
                pending,
                socket,
                local,
                mid,
                config: config.clone(),
                options,
            },
            sdp,
        ))
    }

    /// The UDP address in the offer.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Applies the SDK's answer and starts the leg.
    pub fn accept(mut self, answer_sdp: &str) -> Result<MediaLeg, MediaError> {
        let answer =
            SdpAnswer::from_sdp_string(answer_sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        self.rtc.sdp_api().accept_answer(self.pending, answer)?;
        MediaLeg::spawn(
            self.rtc,
            self.socket,
            self.local,
            Some(self.mid),
            &self.config,
            self.options,
        )
    }
}

/// A running media leg.
#[derive(Debug)]
pub struct MediaLeg {
    cmds: mpsc::UnboundedSender<Cmd>,
    observed: Arc<Mutex<Observed>>,
    port: AudioPort,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MediaLeg {
    /// Answers an SDK offer (outgoing call) and starts the leg. Returns the CRLF SDP answer.
    pub fn answer(
        config: &MediaConfig,
        offer_sdp: &str,
        options: LegOptions,
    ) -> Result<(Self, String), MediaError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| MediaError::Sdp(e.to_string()))?;
        if !config.pcmu && !opus_on(config) {
            return Err(MediaError::NoCodec);
        }
        let mut rtc = new_rtc(options.ice_lite, config);
        let (socket, local) = bind(config, &mut rtc)?;
        let answer = rtc.sdp_api().accept_offer(offer)?;
        let leg = Self::spawn(rtc, socket, local, None, config, options)?;
        Ok((leg, crlf(answer.to_sdp_string())))
    }

    fn spawn(
        rtc: Rtc,
        socket: UdpSocket,
        local: SocketAddr,
        mid: Option<Mid>,
        config: &MediaConfig,
        options: LegOptions,
    ) -> Result<Self, MediaError> {
        let socket =
            tokio::net::UdpSocket::from_std(socket).map_err(|source| MediaError::Bind {
                ip: local.ip(),
                source,
            })?;
        let observed = Arc::new(Mutex::new(Observed::default()));
        let (cmds, rx) = mpsc::unbounded_channel();
        let tone = options
            .tone_hz
            .map(|hz| ToneGenerator::new(hz, config.tone_amplitude));
        let port = AudioPort::new();
        let runner = Runner {
            port: port.clone(),
            rtc,
            socket,
            local,
            mid,
            tone,
            amplitude: config.tone_amplitude,
            observed: observed.clone(),
            next_frame: None,
            frames: 0,
            send: None,
            opus_rx: None,
        };
        let task = tokio::spawn(runner.run(rx));
        Ok(Self {
            cmds,
            observed,
            port,
            local,
            task,
        })
    }

    /// The leg's UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The leg's audio queues (the conference mixer reads what it hears and feeds what it plays).
    pub fn port(&self) -> &AudioPort {
        &self.port
    }

    /// What the leg has received so far.
    pub fn report(&self) -> AudioReport {
        crate::shared::lock(&self.observed).detector.report()
    }

    /// DTMF digits received in-band (RFC 4733 telephone events), in order.
    pub fn dtmf(&self) -> String {
        crate::shared::lock(&self.observed).dtmf.clone()
    }

    /// The audio codec the leg receives (`PCMU`, `opus`), once media arrived.
    pub fn codec(&self) -> Option<&'static str> {
        crate::shared::lock(&self.observed).codec
    }

    /// Whether ICE and DTLS completed.
    pub fn is_connected(&self) -> bool {
        crate::shared::lock(&self.observed).connected
    }

    /// The last ICE connection state, for diagnostics.
    pub fn ice_state(&self) -> Option<String> {
        crate::shared::lock(&self.observed).ice.clone()
    }

    /// Changes the tone played (`None` = silence).
    pub fn set_tone(&self, hz: Option<f64>) {
        let _ = self.cmds.send(Cmd::SetTone(hz));
    }

    /// Stops the leg now.
    pub fn close(&self) {
        self.task.abort();
    }
}

impl Drop for MediaLeg {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Runner {
    port: AudioPort,
    rtc: Rtc,
    socket: tokio::net::UdpSocket,
    local: SocketAddr,
    mid: Option<Mid>,
    tone: Option<ToneGenerator>,
    amplitude: f64,
    observed: Arc<Mutex<Observed>>,
    /// When the next frame is due; `None` until connected.
    next_frame: Option<Instant>,
    /// Frames sent (the RTP time is this times the codec's frame ticks).
    frames: u64,
    /// The codec chosen for sending (fixed at the first frame), with Opus's encoder and upsampler.
    send: Option<Sender>,
    /// Opus decoder and downsampler, created with the first Opus packet.
    opus_rx: Option<(codecs::Decoder, Decimator)>,
}

enum Sender {
    Pcmu,
    Opus(Box<(codecs::Encoder, Interpolator)>),
}

impl Runner {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Cmd>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        loop {
            let Some(timeout) = self.drain().await else {
                return;
            };
            let deadline = self.next_frame.map_or(timeout, |f| f.min(timeout));
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, source)) => self.receive(&buf[..n.min(buf.len())], source),
                    Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                },
                cmd = cmds.recv() => match cmd {
                    Some(Cmd::SetTone(hz)) => self.tone = hz.map(|hz| ToneGenerator::new(hz, self.amplitude)),
                    None => return,
                },
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => self.tick(),
            }
        }
    }

    /// Sends pending datagrams and handles events; returns the next `str0m` timeout, or `None` if the leg died.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Some(t),
                Ok(Output::Transmit(t)) => {
                    if let Err(e) = self.socket.send_to(&t.contents, t.destination).await {
                        tracing::debug!(error = %e, "media send failed");
                    }
                }
                Ok(Output::Event(e)) => self.event(e),
                Err(e) => {
                    tracing::warn!(error = %e, "media leg stopped");
                    return None;
                }
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                crate::shared::lock(&self.observed).connected = true;
                self.next_frame = Some(Instant::now());
                tracing::debug!(local = %self.local, "media connected");
            }
            Event::IceConnectionStateChange(s) => {
                crate::shared::lock(&self.observed).ice = Some(format!("{s:?}"));
                if s == IceConnectionState::Disconnected {
                    self.next_frame = None;
                }
            }
            Event::MediaAdded(m) => {
                self.mid.get_or_insert(m.mid);
            }
            Event::MediaData(d) => {
                let mut seen = crate::shared::lock(&self.observed);
                match (&d.codec_extra, d.params.spec().codec) {
                    (CodecExtra::Tele(ev), _) if ev.end => {
                        let key = (ev.event, d.time.numer());
                        if seen.last_end != Some(key) {
                            seen.last_end = Some(key);
                            if let Some(c) =
                                dtmf_char(ev.event).filter(|_| seen.dtmf.len() < MAX_DTMF)
                            {
                                seen.dtmf.push(c);
                            }
                        }
                    }
                    (_, Codec::PCMU) => {
                        seen.codec = Some("PCMU");
                        let pcm: Vec<i16> = d.data.iter().map(|&b| g711::decode(b)).collect();
                        seen.detector.push_packet(pcm.iter().copied());
                        self.port.push_uplink(&pcm);
                    }
                    (_, Codec::Opus) => {
                        seen.codec = Some("opus");
                        if let Some(pcm) = decode_opus(&mut self.opus_rx, &d.data) {
                            seen.detector.push_packet(pcm.iter().copied());
                            self.port.push_uplink(&pcm);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn receive(&mut self, contents: &[u8], source: SocketAddr) {
        let Ok(contents) = contents.try_into() else {
            return;
        };
        let input = Input::Receive(
            Instant::now(),
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local,
                contents,
            },
        );
        if self.rtc.accepts(&input) {
            if let Err(e) = self.rtc.handle_input(input) {
                tracing::debug!(error = %e, "dropped media datagram");
            }
        }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if let Some(due) = self.next_frame.filter(|d| *d <= now) {
            self.send_frame(now);
            // Catch up at most one frame, so a stalled task does not burst.
            let next = due + FRAME;
            self.next_frame = Some(if next < now { now + FRAME } else { next });
        }
        if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
            tracing::debug!(error = %e, "media timeout handling failed");
        }
    }

    fn send_frame(&mut self, now: Instant) {
        let mut pcm = [0i16; FRAME_SAMPLES];
        if self.port.is_mixed() {
            pcm = self.port.take_downlink();
        } else if let Some(t) = &mut self.tone {
            t.fill(&mut pcm);
        }
        let Some(writer) = self.mid.and_then(|m| self.rtc.writer(m)) else {
            return;
        };
        // The first of PCMU / Opus in the negotiated order; fixed once chosen.
        let negotiated: Vec<(Codec, str0m::format::PayloadParams)> = writer
            .payload_params()
            .map(|p| (p.spec().codec, *p))
            .collect();
        if self.send.is_none() {
            self.send = negotiated.iter().find_map(|(c, _)| match c {
                Codec::PCMU => Some(Sender::Pcmu),
                Codec::Opus => codecs::Encoder::new(CodecKind::Opus)
                    .ok()
                    .map(|e| Sender::Opus(Box::new((e, Interpolator::default())))),
                _ => None,
            });
        }
        let (codec, payload, clock) = match &mut self.send {
            None => return,
            Some(Sender::Pcmu) => (
                Codec::PCMU,
                pcm.iter().map(|&s| g711::encode(s)).collect::<Vec<u8>>(),
                Frequency::EIGHT_KHZ,
            ),
            Some(Sender::Opus(b)) => {
                let (enc, up) = &mut **b;
                let mut wide = Vec::with_capacity(codecs::FRAME_SAMPLES);
                up.process(&pcm, &mut wide);
                let mut frame = [0i16; codecs::FRAME_SAMPLES];
                for (f, s) in frame.iter_mut().zip(wide) {
                    *f = s;
                }
                match enc.encode(&frame) {
                    Ok(p) => (Codec::Opus, p, Frequency::FORTY_EIGHT_KHZ),
                    Err(e) => {
                        tracing::debug!(error = %e, "opus encode failed");
                        return;
                    }
                }
            }
        };
        let kind = if codec == Codec::Opus {
            CodecKind::Opus
        } else {
            CodecKind::Pcmu
        };
        let rtp_time = MediaTime::new(self.frames * kind.frame_ticks(), clock);
        self.frames += 1;
        let Some(pt) = negotiated
            .iter()
            .find(|(c, _)| *c == codec)
            .map(|(_, p)| p.pt())
        else {
            return;
        };
        if let Err(e) = writer.write(pt, now, rtp_time, payload) {
            tracing::debug!(error = %e, "media write failed");
        }
    }
}

/// One Opus packet as 8 kHz samples (`None` if it does not decode: dropped, as a bad datagram is).
fn decode_opus(
    state: &mut Option<(codecs::Decoder, Decimator)>,
    payload: &[u8],
) -> Option<Vec<i16>> {
    if state.is_none() {
        *state = codecs::Decoder::new(CodecKind::Opus)
            .ok()
            .map(|d| (d, Decimator::default()));
    }
    let (dec, down) = state.as_mut()?;
    let mut wide = Vec::new();
    if let Err(e) = dec.decode(payload, &mut wide) {
        tracing::debug!(error = %e, "opus packet dropped");
        return None;
    }
    let mut narrow = Vec::with_capacity(wide.len() / 6 + 1);
    down.process(&wide, &mut narrow);
    Some(narrow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4733_event_codes_map_to_keypad_characters() {
        let keys: String = (0..=15).filter_map(dtmf_char).collect();
        assert_eq!(keys, "0123456789*#ABCD");
        assert_eq!(dtmf_char(16), None, "flash is not a digit");
    }

    #[test]
    fn offers_pcmu_and_telephone_event_in_crlf() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let (_, sdp) = PendingOffer::new(&MediaConfig::default(), LegOptions::default()).unwrap();
        assert!(sdp.contains("a=rtpmap:0 PCMU/8000\r\n"), "{sdp}");
        assert!(sdp.contains("telephone-event/8000"), "{sdp}");
        let no_te = MediaConfig {
            telephone_event: false,
            ..MediaConfig::default()
        };
        let (_, sdp) = PendingOffer::new(&no_te, LegOptions::default()).unwrap();
        assert!(!sdp.contains("telephone-event"), "{sdp}");
        assert!(
            !sdp.contains("\n\n") && sdp.split('\n').all(|l| l.is_empty() || l.ends_with('\r'))
        );
    }
}
