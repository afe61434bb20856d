//! The thin tokio shell (feature `driver`): one task per call owns a UDP socket and an [`Endpoint`], and runs
//! str0m's loop — drain output, wait for a datagram, a command, the endpoint's timeout or the 20 ms audio tick.
//!
//! Audio reaches the task through an [`AudioPort`]: every 20 ms the task asks it for one captured frame and
//! hands it one playout frame. [`ToneAudio`] is the port for tests and the "test my speaker" tone; the
//! `audio` module's device port wraps sound cards. Commands (negotiation, mute, stats, close) are messages to
//! the task with replies, so a [`Call`] is cheap to share behind the shell's IPC. Dropping the [`Call`] ends
//! the task and frees the socket.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::codec::FRAME_SAMPLES;
use crate::device::DeviceEvent;
use crate::endpoint::{Endpoint, EndpointConfig, EndpointEvent, Output};
use crate::error::{MediaError, Result};
use crate::quality::CallStats;
use crate::tone::ToneGenerator;

/// Largest datagram read.
const MAX_DATAGRAM: usize = 2_000;
/// Audio tick.
const FRAME: Duration = Duration::from_millis(20);
/// Events buffered for a slow reader before the oldest are dropped.
const EVENT_BUFFER: usize = 256;

/// Where a call's audio comes from and goes to, one 20 ms frame (48 kHz mono) at a time.
///
/// Capture is pulled as whatever the device produced since the last tick (the endpoint sends every complete
/// 20 ms frame, so the device clock paces sending); playout is pushed one frame per tick.
pub trait AudioPort: Send + 'static {
    /// Appends the samples captured since the last call (48 kHz mono) to `out`.
    fn capture(&mut self, out: &mut Vec<i16>);
    /// Plays one frame.
    fn play(&mut self, frame: &[i16; FRAME_SAMPLES]);
    /// A device event to forward to the call's events (checked every tick).
    fn poll_event(&mut self) -> Option<DeviceEvent> {
        None
    }

    /// Moves the call to other devices: `None` keeps the current one, `""`/`"default"` means the system
    /// default. Must not block (ports with devices hand the change to their own thread); ports without devices
    /// ignore it.
    fn set_devices(&mut self, input: Option<String>, output: Option<String>) {
        let _ = (input, output);
    }
}

/// A port that sends a tone (or silence) and records what it plays, for tests and benches.
#[derive(Debug, Clone)]
pub struct ToneAudio {
    tone: Option<ToneGenerator>,
    heard: Arc<Mutex<Vec<i16>>>,
    keep: usize,
}

impl ToneAudio {
    /// Sends `hz` (or silence) at amplitude 8000 and keeps the last `keep` played samples.
    pub fn new(hz: Option<f64>, keep: usize) -> Self {
        Self {
            tone: hz.map(|hz| ToneGenerator::new(hz, 8_000.0)),
            heard: Arc::default(),
            keep,
        }
    }

    /// The played samples kept so far (shared with the running call).
    pub fn heard(&self) -> Vec<i16> {
        lock(&self.heard).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking holder cannot leave a Vec<i16> inconsistent: keep going with the data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl AudioPort for ToneAudio {
    fn capture(&mut self, out: &mut Vec<i16>) {
        let mut frame = [0i16; FRAME_SAMPLES];
        if let Some(t) = &mut self.tone {
            t.fill(&mut frame);
        }
        out.extend_from_slice(&frame);
    }

    fn play(&mut self, frame: &[i16; FRAME_SAMPLES]) {
        let mut heard = lock(&self.heard);
        heard.extend_from_slice(frame);
        if heard.len() > self.keep {
            let excess = heard.len() - self.keep;
            heard.drain(..excess);
        }
    }
}

enum Command {
    CreateOffer(oneshot::Sender<Result<String>>),
    AcceptAnswer(String, oneshot::Sender<Result<()>>),
    AcceptOffer(String, oneshot::Sender<Result<String>>),
    Mute(bool),
    Devices(Option<String>, Option<String>),
    Stats(oneshot::Sender<CallStats>),
    Close,
}

/// A running call's media.
#[derive(Debug)]
pub struct Call {
    cmds: mpsc::UnboundedSender<Command>,
    events: mpsc::Receiver<EndpointEvent>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Call {
    /// Binds a UDP socket on `ip` (port chosen by the OS), advertises it as the host candidate and starts the
    /// call task. Must run inside a tokio runtime.
    pub async fn start(
        ip: IpAddr,
        config: EndpointConfig,
        audio: Box<dyn AudioPort>,
    ) -> Result<Self> {
        let socket = UdpSocket::bind((ip, 0)).await?;
        let local = socket.local_addr()?;
        let mut endpoint = Endpoint::new(config, Instant::now());
        endpoint.add_local_candidate(local)?;
        let (cmds, cmd_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::channel(EVENT_BUFFER);
        let runner = Runner {
            endpoint,
            socket,
            local,
            audio,
            events: event_tx,
        };
        let task = tokio::spawn(runner.run(cmd_rx));
        Ok(Self {
            cmds,
            events,
            local,
            task,
        })
    }

    /// The UDP address in our SDP.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(make(tx)).map_err(|_| MediaError::Closed)?;
        rx.await.map_err(|_| MediaError::Closed)
    }

    /// Outgoing call: our offer.
    pub async fn create_offer(&self) -> Result<String> {
        self.ask(Command::CreateOffer).await?
    }

    /// Outgoing call: the remote answer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<()> {
        self.ask(|tx| Command::AcceptAnswer(sdp.to_owned(), tx))
            .await?
    }

    /// Incoming call: answers the remote offer.
    pub async fn accept_offer(&self, sdp: &str) -> Result<String> {
        self.ask(|tx| Command::AcceptOffer(sdp.to_owned(), tx))
            .await?
    }

    /// Mutes or unmutes the microphone.
    pub fn set_muted(&self, muted: bool) {
        let _ = self.cmds.send(Command::Mute(muted));
    }

    /// Moves the running call to another microphone and/or speaker at once (`None` keeps the current one,
    /// `""`/`"default"` means the system default). A device that cannot be opened falls back as an unplugged
    /// one does, with a [`DeviceEvent`].
    pub fn set_devices(&self, input: Option<String>, output: Option<String>) {
        let _ = self.cmds.send(Command::Devices(input, output));
    }

    /// Current statistics.
    pub async fn stats(&self) -> Result<CallStats> {
        self.ask(Command::Stats).await
    }

    /// The next event; `None` once the call task ended.
    pub async fn next_event(&mut self) -> Option<EndpointEvent> {
        self.events.recv().await
    }

    /// Ends the call: the endpoint closes, the task ends, the socket is freed.
    pub fn close(&self) {
        let _ = self.cmds.send(Command::Close);
    }

    /// Whether the call task has ended.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Runner {
    endpoint: Endpoint,
    socket: UdpSocket,
    local: SocketAddr,
    audio: Box<dyn AudioPort>,
    events: mpsc::Sender<EndpointEvent>,
}

impl Runner {
    async fn run(mut self, mut cmds: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut next_audio = tokio::time::Instant::now() + FRAME;
        loop {
            let Some(timeout) = self.drain().await else {
                return;
            };
            let timeout = tokio::time::Instant::from_std(timeout);
            tokio::select! {
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, source)) => {
                        let data = buf.get(..n).unwrap_or(&[]);
                        if let Err(e) = self.endpoint.handle_receive(Instant::now(), source, self.local, data) {
                            tracing::debug!(error = %e, "dropped media datagram");
                        }
                    }
                    Err(e) => tracing::debug!(error = %e, "media socket receive error"),
                },
                cmd = cmds.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => self.endpoint.close(),
                },
                _ = tokio::time::sleep_until(next_audio) => {
                    next_audio += FRAME;
                    let now = tokio::time::Instant::now();
                    // After a stall, skip ahead rather than bursting frames.
                    if next_audio < now {
                        next_audio = now + FRAME;
                    }
                    self.audio_tick();
                }
                _ = tokio::time::sleep_until(timeout) => {
                    if let Err(e) = self.endpoint.handle_timeout(Instant::now()) {
                        tracing::debug!(error = %e, "media timeout handling failed");
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::CreateOffer(tx) => drop(tx.send(self.endpoint.create_offer())),
            Command::AcceptAnswer(sdp, tx) => drop(tx.send(self.endpoint.accept_answer(&sdp))),
            Command::AcceptOffer(sdp, tx) => drop(tx.send(self.endpoint.accept_offer(&sdp))),
            Command::Mute(m) => self.endpoint.set_muted(m),
            Command::Devices(input, output) => self.audio.set_devices(input, output),
            Command::Stats(tx) => drop(tx.send(self.endpoint.stats())),
            Command::Close => self.endpoint.close(),
        }
    }

    fn audio_tick(&mut self) {
        let now = Instant::now();
        let mut captured = Vec::with_capacity(2 * FRAME_SAMPLES);
        self.audio.capture(&mut captured);
        self.endpoint.push_capture(now, &captured);
        let mut frame = [0i16; FRAME_SAMPLES];
        self.endpoint.pull_playout(&mut frame);
        self.audio.play(&frame);
        while let Some(e) = self.audio.poll_event() {
            if self.events.try_send(EndpointEvent::Device(e)).is_err() {
                tracing::debug!("device event dropped: reader too slow");
            }
        }
    }

    /// Sends pending datagrams and forwards events; the endpoint's next timeout, or `None` once it closed.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.endpoint.poll_output() {
                Output::Timeout(t) => {
                    return (!self.endpoint.is_closed()).then_some(t);
                }
                Output::Transmit {
                    destination,
                    contents,
                    ..
                } => {
                    if let Err(e) = self.socket.send_to(&contents, destination).await {
                        tracing::debug!(error = %e, "media send failed");
                    }
                }
                Output::Event(e) => {
                    if self.events.try_send(e).is_err() {
                        tracing::debug!("media event dropped: reader too slow");
                    }
                }
            }
        }
    }
}
