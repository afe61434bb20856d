//! A headless Voice `Device` for a load agent: the Twilio Voice SDK's signaling (PStream over the stand-in's
//! `/signal` WebSocket) driven the way the webview drives it, so a routed call reaches the agent exactly as in
//! the desktop app: the server's `conference` instruction → the stand-in's Voice edge → `invite` with the
//! `TaskSid`/`ReservationSid` custom parameters → `DeviceEvent::Incoming` into the core.
//!
//! - Registration: `listen` with the Access Token the core fetched from the server (the same token the app
//!   hands the webview), then `register{media:{audio:true}}`; a new token is sent as a new `listen`
//!   (`device.updateToken`).
//! - `Action::AcceptCall` → an SDP answer from a real media leg (`str0m`, as a browser would answer) →
//!   `answer`, then `DeviceEvent::Accepted`. With [`Media::Signaling`] the leg is dropped right after writing
//!   the answer (no ICE, no RTP: the call stays up at the edge, which is ICE-lite and sends nothing to a peer
//!   that never checked in); with [`Media::Rtp`] the leg stays up for the call (ICE, DTLS-SRTP, silence), and
//!   what it received is added to the run's [`crate::recorder::MediaLog`] when the call ends.
//! - `RejectCall` → `reject`; `DisconnectCall` → `hangup`; the edge's `cancel` / `hangup` become
//!   `DeviceEvent::Canceled` / `Disconnected`. Heartbeats are echoed, as the SDK does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tsunagi_core::{CallParams, CallSid, DeviceEvent, Input};
use tsunagi_twilio::pstream::{
    decode_params, CallOnly, ClientAnswer, ClientHangup, ClientMessage, Frame, Listen, Register,
    RegisterMedia, ServerMessage, HEARTBEAT,
};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg};

use crate::recorder::Recorder;

/// What happens to the audio of an answered call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// Signaling only: the SDP answer is real, the leg is dropped (cheap; hundreds of calls on two cores).
    Signaling,
    /// A real WebRTC leg per call for its whole life (ICE, DTLS-SRTP, 50 packets/s of silence).
    Rtp,
}

/// Commands from the agent's shell to its Device.
#[derive(Debug)]
pub enum Command {
    /// A new Access Token (first one registers).
    Token(String),
    /// `call.accept()`.
    Accept(CallSid),
    /// `call.reject()`.
    Reject(CallSid),
    /// `call.disconnect()`.
    Disconnect(CallSid),
}

/// The shell's handle on a running Device.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    tx: mpsc::UnboundedSender<Command>,
    registered: watch::Receiver<bool>,
}

impl DeviceHandle {
    /// Sends a command (ignored once the Device stopped).
    pub fn send(&self, c: Command) {
        let _ = self.tx.send(c);
    }

    /// Whether the Device is registered (it received `ready`).
    pub fn is_registered(&self) -> bool {
        *self.registered.borrow()
    }
}

/// What the Device knows about one call.
enum Leg {
    /// Ringing: the edge's SDP offer.
    Ringing(String),
    /// Answered (the media leg and when it was answered, when kept).
    Up(Option<(MediaLeg, Instant)>),
}

/// A Device not started yet: its handle exists (the token source needs it before the core's input channel
/// does), [`Pending::start`] runs it.
#[derive(Debug)]
pub struct Pending {
    rx: mpsc::UnboundedReceiver<Command>,
    registered: watch::Sender<bool>,
}

/// A handle and the Device behind it, to be started once the core's inputs exist.
pub fn new() -> (DeviceHandle, Pending) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (reg_tx, registered) = watch::channel(false);
    (
        DeviceHandle { tx, registered },
        Pending {
            rx,
            registered: reg_tx,
        },
    )
}

impl Pending {
    /// Runs the Device: it connects to `signal_url` once it has a token and reports to `inputs`; kept media
    /// legs are summed into `recorder`.
    pub fn start(
        self,
        signal_url: String,
        media: Media,
        inputs: mpsc::Sender<Input>,
        recorder: Arc<Recorder>,
    ) -> tokio::task::JoinHandle<()> {
        let out = Out { inputs, recorder };
        tokio::spawn(run(signal_url, media, self.rx, out, self.registered))
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Where a Device reports: the core's inputs and the run's recorder.
struct Out {
    inputs: mpsc::Sender<Input>,
    recorder: Arc<Recorder>,
}

async fn run(
    url: String,
    media: Media,
    mut rx: mpsc::UnboundedReceiver<Command>,
    out: Out,
    registered: watch::Sender<bool>,
) {
    // Wait for the first token; commands before it cannot concern a call.
    let token = loop {
        match rx.recv().await {
            Some(Command::Token(t)) => break t,
            Some(_) => continue,
            None => return,
        }
    };
    let ws = match tokio_tungstenite::connect_async(url.as_str()).await {
        Ok((ws, _)) => ws,
        Err(e) => {
            tracing::warn!(error = %e, "device: cannot open the signaling socket");
            return;
        }
    };
    let mut dev = Dev {
        ws,
        media,
        out,
        legs: HashMap::new(),
        config: Arc::new(MediaConfig::default()),
    };
    if dev.send(&listen(token)).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            c = rx.recv() => match c {
                Some(c) => dev.command(c).await,
                None => return,
            },
            m = dev.ws.next() => match m {
                Some(Ok(Message::Text(text))) => {
                    if !dev.frame(text.as_bytes(), &registered).await {
                        return;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    tracing::warn!("device: signaling socket closed");
                    let _ = registered.send(false);
                    return;
                }
            },
        }
    }
}

fn listen(token: String) -> ClientMessage {
    ClientMessage::Listen(Listen {
        token,
        browserinfo: Default::default(),
        reconnect_timeout: 0,
    })
}

struct Dev {
    ws: Ws,
    media: Media,
    out: Out,
    legs: HashMap<CallSid, Leg>,
    config: Arc<MediaConfig>,
}

impl Dev {
    async fn send(&mut self, m: &ClientMessage) -> Result<(), ()> {
        self.ws
            .send(Message::Text(m.encode().into()))
            .await
            .map_err(|_| ())
    }

    async fn report(&self, e: DeviceEvent) {
        let _ = self.out.inputs.send(Input::Device(e)).await;
    }

    /// Stops a kept media leg and records what it received.
    fn end_leg(&self, leg: Option<(MediaLeg, Instant)>) {
        if let Some((leg, since)) = leg {
            let (connected, packets) = (leg.is_connected(), leg.report().packets);
            leg.close();
            self.out
                .recorder
                .lock()
                .media
                .add(connected, packets, since.elapsed());
        }
    }

    /// Handles one frame from the edge; `false` when the Device must stop.
    async fn frame(&mut self, bytes: &[u8], registered: &watch::Sender<bool>) -> bool {
        let msg = match ServerMessage::decode(bytes) {
            Ok(Frame::Heartbeat) => {
                return self.ws.send(Message::Text(HEARTBEAT.into())).await.is_ok()
            }
            Ok(Frame::Message(m)) => m,
            Err(e) => {
                tracing::warn!(error = %e, "device: undecodable frame");
                return true;
            }
        };
        match msg {
            ServerMessage::Connected(_) => {
                let reg = ClientMessage::Register(Register {
                    media: RegisterMedia { audio: true },
                });
                return self.send(&reg).await.is_ok();
            }
            ServerMessage::Ready(_) => {
                let _ = registered.send(true);
            }
            ServerMessage::Invite(inv) => {
                let params = call_params(&inv.parameters.params);
                self.legs.insert(inv.callsid, Leg::Ringing(inv.sdp));
                self.report(DeviceEvent::Incoming {
                    call: inv.callsid,
                    params,
                })
                .await;
            }
            ServerMessage::Cancel(c) => {
                if let Some(call) = c.callsid.sid() {
                    if self.legs.remove(&call).is_some() {
                        self.report(DeviceEvent::Canceled { call }).await;
                    }
                }
            }
            ServerMessage::Hangup(h) => {
                let Some(call) = h.callsid.sid() else {
                    return true;
                };
                match self.legs.remove(&call) {
                    Some(Leg::Ringing(_)) => self.report(DeviceEvent::Canceled { call }).await,
                    Some(Leg::Up(leg)) => {
                        self.end_leg(leg);
                        self.report(DeviceEvent::Disconnected { call }).await;
                    }
                    None => {}
                }
            }
            ServerMessage::Error(e) => {
                tracing::warn!(code = e.error.code, "device: edge error");
            }
            ServerMessage::Close(_) => return false,
            _ => {}
        }
        true
    }

    async fn command(&mut self, c: Command) {
        match c {
            Command::Token(t) => {
                let _ = self.send(&listen(t)).await;
            }
            Command::Accept(call) => {
                let Some(Leg::Ringing(offer)) = self.legs.remove(&call) else {
                    self.report(DeviceEvent::AcceptFailed { call }).await;
                    return;
                };
                let options = LegOptions {
                    ice_lite: false,
                    tone_hz: None,
                };
                match MediaLeg::answer(&self.config, &offer, options) {
                    Ok((leg, sdp)) => {
                        let msg = ClientMessage::Answer(ClientAnswer {
                            callsid: call.into(),
                            sdp,
                        });
                        if self.send(&msg).await.is_err() {
                            leg.close();
                            self.report(DeviceEvent::AcceptFailed { call }).await;
                            return;
                        }
                        let keep = match self.media {
                            Media::Rtp => Some((leg, Instant::now())),
                            Media::Signaling => {
                                leg.close();
                                None
                            }
                        };
                        self.legs.insert(call, Leg::Up(keep));
                        self.report(DeviceEvent::Accepted { call }).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "device: cannot answer the offer");
                        self.report(DeviceEvent::AcceptFailed { call }).await;
                    }
                }
            }
            Command::Reject(call) => {
                if self.legs.remove(&call).is_some() {
                    let _ = self
                        .send(&ClientMessage::Reject(CallOnly {
                            callsid: call.into(),
                        }))
                        .await;
                }
            }
            Command::Disconnect(call) => {
                if let Some(leg) = self.legs.remove(&call) {
                    if let Leg::Up(leg) = leg {
                        self.end_leg(leg);
                    }
                    let _ = self
                        .send(&ClientMessage::Hangup(ClientHangup {
                            callsid: call.into(),
                            message: None,
                        }))
                        .await;
                    self.report(DeviceEvent::Disconnected { call }).await;
                }
            }
        }
    }
}

/// `call.customParameters` → the core's join keys, through the core's own reader (a malformed one falls back to
/// a direct call, as the app's shell does). The caller's number is not needed by the load agent.
fn call_params(encoded: &str) -> CallParams {
    let custom: HashMap<String, String> = decode_params(encoded).into_iter().collect();
    CallParams::from_custom_parameters(&custom, None).unwrap_or_else(|_| CallParams::direct(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_parameters_give_the_join_keys() {
        let p = call_params(
            "TaskSid=WT0000000000000000000000000000000a&ReservationSid=WR0000000000000000000000000000000b&x=1",
        );
        assert_eq!(
            p.task.map(|t| t.to_string()).as_deref(),
            Some("WT0000000000000000000000000000000a")
        );
        assert_eq!(
            p.reservation.map(|r| r.to_string()).as_deref(),
            Some("WR0000000000000000000000000000000b")
        );
        assert!(call_params("").task.is_none());
        assert!(call_params("TaskSid=nope").task.is_none());
    }
}
