//! Sessions and registration: one session per signaling WebSocket.
//!
//! A session becomes authenticated by a `listen` whose Access Token verifies
//! (`crate::auth::Accounts::verify_token`: signature, issuer key, account, expiry, force-expired `jti`), and
//! registered by `register{media:{audio:true}}`. Token failures answer `error` with the Voice codes the SDK maps
//! (spec §2.9): **31205** for an expired token (→ SDK 20104), **31204** for any other invalid token (→ 20101);
//! `register` before a successful `listen` gets **31204** too. The socket stays open, as the SDK expects. A
//! `listen` on an open socket (`device.updateToken`) replaces the claims; a refused one revokes them.

use serde_json::json;
use tokio::sync::mpsc;
use tsunagi_twilio::pstream::{
    self, ClientMessage, Connected, ConnectedToken, Empty, ServerMessage,
};
use tsunagi_twilio::token::Claims;

use super::calls::code;
use super::model::CallState;
use super::Voice;
use crate::shared::lock;

/// Frames queued per session before the socket is considered stuck.
pub const SESSION_QUEUE: usize = 256;

/// What a session's socket task must do.
#[derive(Debug, Clone)]
pub enum Out {
    /// Send this text frame.
    Frame(String),
    /// Drop the connection without a close frame (the SDK sees 1006 and reconnects).
    Drop,
}

pub(super) struct Session {
    pub(super) tx: mpsc::Sender<Out>,
    pub(super) claims: Option<Claims>,
    pub(super) registered: bool,
}

impl Voice {
    /// Registers a new socket; returns its id and the receiver its task writes from.
    pub fn open_session(&self) -> (u64, mpsc::Receiver<Out>) {
        let id = self.inner.shared.next_id();
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        lock(&self.inner.state).sessions.insert(
            id,
            Session {
                tx,
                claims: None,
                registered: false,
            },
        );
        self.log("voice.socket.open", json!({ "session": id }));
        (id, rx)
    }

    /// Forgets a closed socket. Its calls stay up for a signaling reconnect.
    pub fn close_session(&self, id: u64) {
        lock(&self.inner.state).sessions.remove(&id);
        self.log("voice.socket.close", json!({ "session": id }));
        let me = self.clone();
        let grace = std::time::Duration::from_millis(self.inner.config.orphan_call_ms);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            me.end_orphans(id);
        });
    }

    /// Handles one decoded client frame.
    pub fn on_message(&self, session: u64, msg: ClientMessage) {
        match msg {
            ClientMessage::Listen(l) => self.listen(session, &l.token),
            ClientMessage::Register(r) => self.register(session, r.media.audio),
            ClientMessage::Invite(inv) => self.invite(session, inv),
            ClientMessage::Answer(a) => self.answer(session, &a.callsid, &a.sdp),
            ClientMessage::Reject(r) => {
                self.client_end(session, &r.callsid, CallState::Rejected, "reject")
            }
            ClientMessage::Hangup(h) => {
                self.client_end(session, &h.callsid, CallState::Completed, "hangup")
            }
            ClientMessage::Dtmf(d) => self.dtmf(&d.callsid, &d.dtmf),
            ClientMessage::Message(m) => self.message(session, m),
            ClientMessage::Reinvite(r) => {
                // ICE restarts are not modelled: the leg keeps its address, so the SDK's checks still succeed.
                self.log(
                    "voice.reinvite.ignored",
                    json!({ "call": r.callsid.to_string() }),
                );
            }
            other => self.log("voice.frame.ignored", json!({ "type": other.type_name() })),
        }
    }

    /// Reports an undecodable frame to the scenario log (never echoed back: the SDK would throw on it).
    pub fn on_bad_frame(&self, session: u64, error: &pstream::PStreamError) {
        self.log(
            "voice.frame.invalid",
            json!({ "session": session, "error": error.to_string() }),
        );
    }

    fn listen(&self, session: u64, jwt: &str) {
        let now = self.inner.shared.now().secs();
        let verified = lock(&self.inner.shared.accounts).verify_token(jwt, now);
        let mut st = lock(&self.inner.state);
        let reply = match verified {
            Ok(claims) if claims.grants.voice.is_none() => ServerMessage::error(
                code::TOKEN_INVALID,
                "JWT token is invalid: it has no voice grant",
            ),
            Ok(claims) => {
                let identity = claims.grants.identity.clone();
                let ttl = claims.exp.saturating_sub(now);
                if let Some(s) = st.sessions.get_mut(&session) {
                    s.claims = Some(claims);
                }
                self.log(
                    "voice.listen",
                    json!({ "session": session, "identity": identity, "ttl": ttl }),
                );
                ServerMessage::Connected(Connected {
                    region: Some(self.inner.config.region.clone()),
                    edge: Some(self.inner.config.edge.clone()),
                    gateway: None,
                    token: Some(ConnectedToken { identity, ttl }),
                })
            }
            Err(e) => {
                let c = if e.code == 20104 {
                    code::TOKEN_EXPIRED
                } else {
                    code::TOKEN_INVALID
                };
                self.log(
                    "voice.listen.refused",
                    json!({ "session": session, "code": c, "token_code": e.code }),
                );
                // A refused token also revokes what an earlier `listen` on this socket granted.
                if let Some(s) = st.sessions.get_mut(&session) {
                    s.claims = None;
                    s.registered = false;
                }
                ServerMessage::error(c, e.message)
            }
        };
        st.send(Some(session), &reply);
    }

    fn register(&self, session: u64, audio: bool) {
        let mut st = lock(&self.inner.state);
        let Some(s) = st.sessions.get_mut(&session) else {
            return;
        };
        let reply = match &s.claims {
            None => ServerMessage::error(
                code::TOKEN_INVALID,
                "JWT token is invalid: register before listen",
            ),
            Some(c) if audio && !c.grants.voice.as_ref().is_some_and(|v| v.allows_incoming()) => {
                ServerMessage::error(
                    code::TOKEN_INVALID,
                    "JWT token is invalid: incoming calls are not allowed",
                )
            }
            Some(c) => {
                s.registered = audio;
                self.log(
                    "voice.register",
                    json!({ "session": session, "identity": c.grants.identity, "audio": audio }),
                );
                if audio {
                    ServerMessage::Ready(Empty {})
                } else {
                    ServerMessage::Offline(Empty {})
                }
            }
        };
        st.send(Some(session), &reply);
    }

    /// Identities with a registered socket.
    pub fn registered(&self) -> Vec<String> {
        let st = lock(&self.inner.state);
        let mut ids: Vec<String> = st
            .sessions
            .values()
            .filter(|s| s.registered)
            .filter_map(|s| s.claims.as_ref().map(|c| c.grants.identity.clone()))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Drops every signaling socket without a close frame; returns how many.
    pub fn drop_sockets(&self) -> usize {
        let st = lock(&self.inner.state);
        for s in st.sessions.values() {
            let _ = s.tx.try_send(Out::Drop);
        }
        st.sessions.len()
    }
}
