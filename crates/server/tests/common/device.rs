//! A Voice SDK-like Device for end-to-end tests: registers at the stand-in's PStream edge (`/signal`) with an
//! Access Token issued by the server under test, receives `invite`s and answers them with a real media leg.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::pstream::{
    decode_params, CallRef, ClientAnswer, ClientInvite, ClientMessage, Frame, InviteTwilio, Listen,
    Register, RegisterMedia, ServerInvite, ServerMessage, HEARTBEAT,
};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg, PendingOffer};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct Device {
    ws: Ws,
    legs: Vec<MediaLeg>,
}

impl Device {
    /// Connects to `{ws_base}/signal` and registers for incoming calls with `token`.
    pub async fn register(ws_base: &str, token: &str) -> Self {
        let (ws, _) = tokio_tungstenite::connect_async(format!("{ws_base}/signal"))
            .await
            .expect("signal socket");
        let mut d = Self {
            ws,
            legs: Vec::new(),
        };
        d.send(&ClientMessage::Listen(Listen {
            token: token.into(),
            browserinfo: Default::default(),
            reconnect_timeout: 0,
        }))
        .await;
        assert!(
            matches!(d.recv().await, ServerMessage::Connected(_)),
            "listen accepted"
        );
        d.send(&ClientMessage::Register(Register {
            media: RegisterMedia { audio: true },
        }))
        .await;
        assert!(
            matches!(d.recv().await, ServerMessage::Ready(_)),
            "registered"
        );
        d
    }

    async fn send(&mut self, m: &ClientMessage) {
        self.ws
            .send(Message::Text(m.encode().into()))
            .await
            .expect("send");
    }

    /// The next non-heartbeat message (heartbeats are echoed like the SDK does); 10 s safety net.
    pub async fn recv(&mut self) -> ServerMessage {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a signaling frame in time")
                .expect("socket open")
                .expect("frame");
            let Message::Text(text) = msg else { continue };
            match ServerMessage::decode(text.as_bytes()).expect("server frames decode") {
                Frame::Heartbeat => self
                    .ws
                    .send(Message::Text(HEARTBEAT.into()))
                    .await
                    .expect("echo"),
                Frame::Message(m) => return m,
            }
        }
    }

    /// Waits for the next incoming call.
    pub async fn invite(&mut self) -> ServerInvite {
        loop {
            if let ServerMessage::Invite(inv) = self.recv().await {
                return inv;
            }
        }
    }

    /// Answers `inv` with a media leg (kept alive as long as the device).
    pub async fn answer(&mut self, inv: &ServerInvite) {
        let options = LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        };
        let (leg, sdp) =
            MediaLeg::answer(&MediaConfig::default(), &inv.sdp, options).expect("media answer");
        self.legs.push(leg);
        self.send(&ClientMessage::Answer(ClientAnswer {
            callsid: inv.callsid.into(),
            sdp,
        }))
        .await;
    }
}

impl Device {
    /// `device.connect({params})`: an outgoing call through the token's TwiML application. Returns the CallSid
    /// once the application's TwiML answered it.
    pub async fn connect(&mut self, params: &str) -> String {
        let options = LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        };
        let (offer, sdp) =
            PendingOffer::new(&MediaConfig::default(), options).expect("media offer");
        let id = format!("TJS{}", uuid::Uuid::new_v4());
        self.send(&ClientMessage::Invite(ClientInvite {
            callsid: CallRef::parse(&id).expect("TJS id"),
            sdp,
            twilio: InviteTwilio {
                params: Some(params.into()),
            },
            reconnect: None,
        }))
        .await;
        let mut sid = None;
        loop {
            match self.recv().await {
                ServerMessage::Ringing(r) => sid = Some(r.callsid.to_string()),
                ServerMessage::Answer(a) => {
                    let leg = offer
                        .accept(a.sdp.as_deref().expect("answer sdp"))
                        .expect("media leg");
                    self.legs.push(leg);
                    return sid.unwrap_or_else(|| a.callsid.to_string());
                }
                other => panic!("unexpected {other:?} while connecting"),
            }
        }
    }

    /// Waits until the server side hangs the call up.
    pub async fn hung_up(&mut self) {
        loop {
            if matches!(
                self.recv().await,
                ServerMessage::Hangup(_) | ServerMessage::Cancel(_)
            ) {
                return;
            }
        }
    }
}

/// The custom parameter `name` of an invite.
pub fn param(inv: &ServerInvite, name: &str) -> String {
    decode_params(&inv.parameters.params)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_default()
}
