//! Helpers for the Voice edge tests: a stand-in with one account, Access Tokens minted with
//! `tsunagi_twilio::token`, and an SDK-like PStream client over tokio-tungstenite. Everything on 127.0.0.1.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tsunagi_twilio::pstream::{
    ClientMessage, Frame, Listen, Register, RegisterMedia, ServerMessage, HEARTBEAT,
};
use tsunagi_twilio::sid::{AccountSid, ApiKeySid, ApplicationSid};
use tsunagi_twilio::token::{AccessToken, VoiceGrant};
use tsunagi_twilio_sim::voice::{self, Voice, VoiceConfig};
use tsunagi_twilio_sim::{Config, Sim};

pub const ACCOUNT: &str = "AC00000000000000000000000000000001";
pub const KEY: &str = "SK00000000000000000000000000000001";
pub const SECRET: &str = "voice-key-secret";

pub struct Edge {
    pub voice: Voice,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Edge {
    pub async fn start() -> Self {
        let config = Config::from_toml(&format!(
            r#"
seed = 9
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "voice-auth-token"
api_keys = [{{ sid = "{KEY}", secret = "{SECRET}" }}]
"#
        ))
        .unwrap();
        let shared = Sim::build(config).unwrap();
        let voice = Voice::new(
            shared,
            VoiceConfig {
                heartbeat_ms: 300,
                ring_ms: 100,
                no_answer_ms: 300,
                orphan_call_ms: 2_000,
                outgoing_tone_hz: Some(440.0),
                ..VoiceConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let v = voice.clone();
        let task = tokio::spawn(async move {
            let _ = voice::serve(listener, v).await;
        });
        Self {
            voice,
            addr,
            http: reqwest::Client::new(),
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn connect(&self) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/signal", self.addr))
            .await
            .unwrap();
        Client { ws, heartbeats: 0 }
    }

    /// A connected, registered client for `identity`.
    pub async fn registered(&self, identity: &str) -> Client {
        let mut c = self.connect().await;
        c.send(&listen(&token(identity, voice_grant(), now(), 3600)))
            .await;
        assert!(matches!(c.recv().await, ServerMessage::Connected(_)));
        c.send(&ClientMessage::Register(Register {
            media: RegisterMedia { audio: true },
        }))
        .await;
        assert!(matches!(c.recv().await, ServerMessage::Ready(_)));
        c
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn voice_grant() -> Option<VoiceGrant> {
    Some(VoiceGrant::incoming().with_outgoing(ApplicationSid::from_u128(1), vec![]))
}

pub fn token(identity: &str, voice: Option<VoiceGrant>, iat: u64, ttl: u64) -> String {
    token_signed(identity, voice, iat, ttl, SECRET)
}

pub fn token_signed(
    identity: &str,
    voice: Option<VoiceGrant>,
    iat: u64,
    ttl: u64,
    secret: &str,
) -> String {
    let mut t = AccessToken::new(
        ACCOUNT.parse::<AccountSid>().unwrap(),
        KEY.parse::<ApiKeySid>().unwrap(),
        identity,
    );
    t.ttl_secs = ttl;
    t.voice = voice;
    t.to_jwt(secret, iat).unwrap()
}

pub fn listen(token: &str) -> ClientMessage {
    ClientMessage::Listen(Listen {
        token: token.into(),
        browserinfo: Default::default(),
        reconnect_timeout: 0,
    })
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub heartbeats: u32,
}

impl Client {
    pub async fn send(&mut self, m: &ClientMessage) {
        self.ws
            .send(Message::Text(m.encode().into()))
            .await
            .unwrap();
    }

    /// Sends any frame; `false` if the socket is gone.
    pub async fn send_raw(&mut self, m: Message) -> bool {
        self.ws.send(m).await.is_ok()
    }

    /// The next non-heartbeat frame (heartbeats are echoed, as the SDK does).
    pub async fn recv(&mut self) -> ServerMessage {
        self.try_recv(Duration::from_secs(5))
            .await
            .expect("a server frame within 5 s")
    }

    pub async fn try_recv(&mut self, within: Duration) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??
                .ok()?;
            let Message::Text(text) = msg else { continue };
            match ServerMessage::decode(text.as_bytes()).expect("server frames decode") {
                Frame::Heartbeat => {
                    self.heartbeats += 1;
                    self.ws.send(Message::Text(HEARTBEAT.into())).await.ok()?;
                }
                Frame::Message(m) => return Some(m),
            }
        }
    }
}

pub async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn near(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|h| (h - want).abs() < 5.0)
}
