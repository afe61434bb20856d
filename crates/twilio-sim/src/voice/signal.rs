//! The signaling WebSocket (`GET /signal`): one task per SDK connection.
//!
//! Thin by design: it decodes each text message with [`ClientMessage::decode`], hands it to [`Voice`], writes
//! what [`Voice`] queues for the session, and sends a `"\n"` heartbeat every `heartbeat_ms` (the SDK closes
//! and reconnects after 15 s without a frame). Heartbeat echoes are consumed here. Undecodable frames are
//! logged and skipped, never answered, and never end the session.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use tsunagi_twilio::pstream::{ClientMessage, Frame, HEARTBEAT, MAX_FRAME_BYTES};

use super::session::Out;
use super::Voice;

/// `GET /signal`.
pub async fn upgrade(State(voice): State<Voice>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| run(voice, socket))
}

async fn run(voice: Voice, socket: WebSocket) {
    let (id, mut out) = voice.open_session();
    let (mut tx, mut rx) = socket.split();
    let period = std::time::Duration::from_millis(voice.config().heartbeat_ms.max(100));
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            incoming = rx.next() => match incoming {
                Some(Ok(Message::Text(text))) => match ClientMessage::decode(text.as_bytes()) {
                    Ok(Frame::Heartbeat) => {}
                    Ok(Frame::Message(m)) => voice.on_message(id, m),
                    Err(e) => voice.on_bad_frame(id, &e),
                },
                Some(Ok(Message::Binary(b))) => {
                    if let Err(e) = ClientMessage::decode(&b) {
                        voice.on_bad_frame(id, &e);
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
            cmd = out.recv() => match cmd {
                Some(Out::Frame(text)) => {
                    if tx.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Out::Drop) | None => break,
            },
            _ = heartbeat.tick() => {
                if tx.send(Message::Text(HEARTBEAT.into())).await.is_err() {
                    break;
                }
            }
        }
    }
    voice.close_session(id);
}
