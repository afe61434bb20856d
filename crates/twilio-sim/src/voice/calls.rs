//! Sessions, registration and calls: what the Voice edge decides.
//!
//! A *session* is one signaling WebSocket. It becomes authenticated by a `listen` whose Access Token verifies
//! (`crate::auth::Accounts::verify_token`: signature, issuer key, account, expiry, force-expired `jti`), and
//! registered by `register{media:{audio:true}}`. Token failures answer `error` with the Voice codes the SDK maps
//! (spec §2.9): **31205** for an expired token (→ SDK 20104), **31204** for any other invalid token (→ 20101);
//! `register` before a successful `listen` gets **31204** too. The socket stays open, as the SDK expects.
//!
//! Calls (`CA…` SIDs minted from the config seed, so runs are reproducible):
//!
//! ```text
//! incoming:  place_call ─invite→ Ringing ─answer→ InProgress ─hangup (either side)→ Completed
//!                                 │ reject → Rejected      │ sim hangup while ringing → cancel → Canceled
//! outgoing:  invite(TJS…) → Ringing(ringing{CA}) ─ring_ms→ answer → InProgress → Completed
//!                                  ├─ busy number → hangup{error 31486} → Busy
//!                                  └─ no-answer number ─no_answer_ms→ hangup{error 31480} → NoAnswer
//! ```
//!
//! Each call carries a reconnect token; a new socket's `invite{callsid, reconnect}` with the current token
//! rebinds the call to that socket and is confirmed by `answer{callsid, reconnect: <new token>}` (media never
//! stopped). A socket that closes leaves its calls up, so the SDK can reconnect them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tsunagi_twilio::pstream::{
    self, Ack, CallMessage, CallOnly, CallRef, ClientInvite, ClientMessage, Connected,
    ConnectedToken, Empty, ErrorInfo, InviteParameters, Ringing, ServerAnswer, ServerHangup,
    ServerInvite, ServerMessage,
};
use tsunagi_twilio::sid::CallSid;
use tsunagi_twilio::token::Claims;

use super::VoiceConfig;
use crate::error::ApiError;
use crate::media::{AudioReport, LegOptions, MediaLeg, PendingOffer};
use crate::shared::{lock, Shared};

/// Frames queued per session before the socket is considered stuck.
pub const SESSION_QUEUE: usize = 256;
/// DTMF digits kept per call.
pub const MAX_DTMF: usize = 256;
/// Call messages kept per call.
pub const MAX_MESSAGES: usize = 64;
/// Ended calls kept for inspection.
pub const MAX_ENDED_CALLS: usize = 1_000;
/// Live calls (each holds a UDP socket); more are refused.
pub const MAX_LIVE_CALLS: usize = 256;

/// Voice error codes the stand-in sends.
mod code {
    /// Generic error.
    pub const GENERIC: u32 = 31000;
    /// Signaling connection error (used for failed reconnects).
    pub const CONNECTION: u32 = 31005;
    /// Invalid JWT.
    pub const TOKEN_INVALID: u32 = 31204;
    /// Expired JWT.
    pub const TOKEN_EXPIRED: u32 = 31205;
    /// Callee temporarily unavailable (no answer).
    pub const UNAVAILABLE: u32 = 31480;
    /// Callee busy.
    pub const BUSY: u32 = 31486;
}

/// What a session's socket task must do.
#[derive(Debug, Clone)]
pub enum Out {
    /// Send this text frame.
    Frame(String),
    /// Drop the connection without a close frame (the SDK sees 1006 and reconnects).
    Drop,
}

/// Who placed the call, seen from the SDK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The stand-in calls the SDK (`Device` `incoming`).
    Incoming,
    /// The SDK calls out (`device.connect`).
    Outgoing,
}

/// A call's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// Invited / ringing.
    Ringing,
    /// Answered; media flows.
    InProgress,
    /// Hung up after the answer.
    Completed,
    /// Given up before the answer (caller hung up, or the SDK hung up its outgoing call).
    Canceled,
    /// The SDK rejected it.
    Rejected,
    /// Outgoing call to a busy number.
    Busy,
    /// Outgoing call nobody answered.
    NoAnswer,
    /// Media negotiation failed.
    Failed,
}

impl CallState {
    fn is_live(self) -> bool {
        matches!(self, Self::Ringing | Self::InProgress)
    }
}

/// Which side ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The SDK (hangup / reject).
    Client,
    /// The stand-in (control API or number behaviour).
    Sim,
}

/// How a dialled number behaves for outgoing calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum NumberBehaviour {
    /// Rings, then answers and plays the outgoing tone.
    #[default]
    Answer,
    /// Rings, then fails with 31486.
    Busy,
    /// Rings until `no_answer_ms`, then fails with 31480.
    NoAnswer,
}

/// An incoming call to place (`POST /_sim/voice/calls`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceCall {
    /// Identity of the registered client (`alice` or `client:alice`).
    pub to: String,
    /// Caller (`+15551230000`).
    #[serde(default = "default_from")]
    pub from: String,
    /// Custom parameters (TwiML `<Parameter>`s), in order.
    #[serde(default)]
    pub params: Vec<(String, String)>,
    /// Tone the caller plays, Hz.
    #[serde(default)]
    pub tone_hz: Option<f64>,
}

fn default_from() -> String {
    "+15550100000".into()
}

/// A call as the control API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    /// SID.
    pub sid: CallSid,
    /// Direction.
    pub direction: Direction,
    /// State.
    pub state: CallState,
    /// Who ended it.
    pub ended_by: Option<Party>,
    /// Client identity.
    pub identity: String,
    /// Caller.
    pub from: String,
    /// Callee.
    pub to: String,
    /// Custom (incoming) or connect (outgoing) parameters.
    pub params: Vec<(String, String)>,
    /// DTMF digits received, over signaling (`dtmf` frames) and in-band (RFC 4733); the SDK uses one per call.
    pub dtmf: String,
    /// Call messages received from the SDK.
    pub messages: Vec<Value>,
    /// Whether ICE + DTLS completed on the leg.
    pub media_connected: bool,
    /// What the leg received.
    pub audio: Option<AudioReport>,
    /// Tone the leg plays.
    pub tone_hz: Option<f64>,
    /// Times the call was rebound to a new socket.
    pub reconnects: u32,
}

enum Media {
    None,
    Pending(Box<PendingOffer>),
    Live(MediaLeg),
    Ended {
        report: AudioReport,
        connected: bool,
        dtmf: String,
    },
}

impl Media {
    fn end(&mut self) {
        if let Media::Live(leg) = self {
            let (report, connected, dtmf) = (leg.report(), leg.is_connected(), leg.dtmf());
            leg.close();
            *self = Media::Ended {
                report,
                connected,
                dtmf,
            };
        } else if matches!(self, Media::Pending(_)) {
            *self = Media::None;
        }
    }
}

struct Call {
    sid: CallSid,
    direction: Direction,
    state: CallState,
    ended_by: Option<Party>,
    session: Option<u64>,
    identity: String,
    temp_id: Option<String>,
    from: String,
    to: String,
    params: Vec<(String, String)>,
    dtmf: String,
    messages: Vec<Value>,
    media: Media,
    answer_sdp: Option<String>,
    tone_hz: Option<f64>,
    reconnect: String,
    reconnects: u32,
}

impl Call {
    fn view(&self) -> CallView {
        let (audio, media_connected, inband) = match &self.media {
            Media::Live(leg) => (Some(leg.report()), leg.is_connected(), leg.dtmf()),
            Media::Ended {
                report,
                connected,
                dtmf,
            } => (Some(*report), *connected, dtmf.clone()),
            Media::None | Media::Pending(_) => (None, false, String::new()),
        };
        CallView {
            sid: self.sid,
            direction: self.direction,
            state: self.state,
            ended_by: self.ended_by,
            identity: self.identity.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            params: self.params.clone(),
            dtmf: format!("{}{inband}", self.dtmf),
            messages: self.messages.clone(),
            media_connected,
            audio,
            tone_hz: self.tone_hz,
            reconnects: self.reconnects,
        }
    }

    fn matches(&self, r: &CallRef) -> bool {
        match r {
            CallRef::Sid(s) => *s == self.sid,
            CallRef::Temporary(t) => self.temp_id.as_deref() == Some(t.as_str()),
        }
    }

    fn end(&mut self, state: CallState, by: Party) {
        self.state = state;
        self.ended_by = Some(by);
        self.media.end();
    }
}

struct Session {
    tx: mpsc::Sender<Out>,
    claims: Option<Claims>,
    registered: bool,
}

#[derive(Default)]
struct State {
    sessions: HashMap<u64, Session>,
    calls: BTreeMap<CallSid, Call>,
    numbers: HashMap<String, NumberBehaviour>,
    minted: u64,
}

impl State {
    fn send(&self, session: Option<u64>, msg: &ServerMessage) {
        let Some(s) = session.and_then(|id| self.sessions.get(&id)) else {
            return;
        };
        if s.tx.try_send(Out::Frame(msg.encode())).is_err() {
            let _ = s.tx.try_send(Out::Drop);
        }
    }

    fn call_mut(&mut self, r: &CallRef) -> Option<&mut Call> {
        match r {
            CallRef::Sid(s) => self.calls.get_mut(s),
            // Temporary ids are the SDK's; prefer the live (latest) call should one ever be reused.
            CallRef::Temporary(_) => {
                let sid = self
                    .calls
                    .values()
                    .filter(|c| c.matches(r))
                    .max_by_key(|c| (c.state.is_live(), c.sid))?
                    .sid;
                self.calls.get_mut(&sid)
            }
        }
    }

    fn live_calls(&self) -> usize {
        self.calls.values().filter(|c| c.state.is_live()).count()
    }

    fn prune(&mut self) {
        let ended: Vec<CallSid> = self
            .calls
            .values()
            .filter(|c| !c.state.is_live())
            .map(|c| c.sid)
            .collect();
        for sid in ended
            .iter()
            .take(ended.len().saturating_sub(MAX_ENDED_CALLS))
        {
            self.calls.remove(sid);
        }
    }
}

/// The Voice edge: sessions and calls. Cheap to clone.
#[derive(Clone)]
pub struct Voice {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    config: VoiceConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn identity_of(to: &str) -> &str {
    to.strip_prefix("client:").unwrap_or(to)
}

fn valid_dtmf(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 32
        && d.bytes()
            .all(|b| b.is_ascii_digit() || b"*#wW".contains(&b))
}

impl Voice {
    /// A Voice edge using the stand-in's accounts, clock and scenario log.
    pub fn new(shared: Arc<Shared>, config: VoiceConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                shared,
                config,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &VoiceConfig {
        &self.inner.config
    }

    fn log(&self, kind: &str, data: Value) {
        self.inner.shared.log(kind, data);
    }

    fn mint_sid(&self, st: &mut State) -> CallSid {
        st.minted += 1;
        CallSid::from_u128(
            (u128::from(self.inner.shared.config.seed) << 64)
                | (0x5600_0000 + u128::from(st.minted)),
        )
    }

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

    /// Rings a registered client: sends `invite` with an SDP offer from a new media leg.
    pub fn place_call(&self, req: PlaceCall) -> Result<CallView, ApiError> {
        let identity = identity_of(&req.to).to_owned();
        if req.params.len() > 64 || req.from.len() > 256 || identity.len() > 256 {
            return Err(ApiError::invalid("too many or too long call parameters"));
        }
        let mut st = lock(&self.inner.state);
        let target = st
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.registered
                    && s.claims
                        .as_ref()
                        .is_some_and(|c| c.grants.identity == identity)
            })
            .map(|(id, s)| (*id, s.claims.as_ref().map(|c| c.sub)))
            .max_by_key(|(id, _)| *id);
        let Some((session, Some(account))) = target else {
            return Err(ApiError::not_found(format!("registered client {identity}")));
        };
        if st.live_calls() >= MAX_LIVE_CALLS {
            return Err(ApiError::new(
                429,
                20429,
                "Too many live calls on the stand-in",
            ));
        }
        let options = LegOptions {
            ice_lite: true,
            tone_hz: req.tone_hz,
        };
        let (pending, sdp) = PendingOffer::new(&self.inner.config.media, options)
            .map_err(|e| ApiError::new(500, code::GENERIC, e.to_string()))?;
        let sid = self.mint_sid(&mut st);
        let reconnect = format!("RT{sid}-0");
        let invite = ServerInvite {
            callsid: sid,
            sdp,
            parameters: InviteParameters {
                account_sid: account,
                call_sid: sid,
                from: req.from.clone(),
                to: format!("client:{identity}"),
                params: pstream::encode_params(
                    req.params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                ),
                api_version: Some("2010-04-01".into()),
            },
            reconnect: Some(reconnect.clone()),
        };
        let call = Call {
            sid,
            direction: Direction::Incoming,
            state: CallState::Ringing,
            ended_by: None,
            session: Some(session),
            identity: identity.clone(),
            temp_id: None,
            from: req.from,
            to: format!("client:{identity}"),
            params: req.params,
            dtmf: String::new(),
            messages: Vec::new(),
            media: Media::Pending(Box::new(pending)),
            answer_sdp: None,
            tone_hz: req.tone_hz,
            reconnect,
            reconnects: 0,
        };
        let view = call.view();
        st.calls.insert(sid, call);
        st.send(Some(session), &ServerMessage::Invite(invite));
        st.prune();
        drop(st);
        self.log(
            "voice.call.invite",
            json!({ "call": sid, "identity": identity, "session": session }),
        );
        Ok(view)
    }

    fn answer(&self, session: u64, r: &CallRef, sdp: &str) {
        let mut st = lock(&self.inner.state);
        let Some(call) = st.call_mut(r) else { return };
        if call.direction != Direction::Incoming || call.state != CallState::Ringing {
            return;
        }
        let Media::Pending(pending) = std::mem::replace(&mut call.media, Media::None) else {
            return;
        };
        let sid = call.sid;
        match pending.accept(sdp) {
            Ok(leg) => {
                call.media = Media::Live(leg);
                call.state = CallState::InProgress;
                call.session = Some(session);
                drop(st);
                self.log("voice.call.answered", json!({ "call": sid }));
            }
            Err(e) => {
                call.end(CallState::Failed, Party::Sim);
                let msg = ServerMessage::Hangup(ServerHangup {
                    callsid: sid.into(),
                    error: Some(ErrorInfo {
                        code: code::GENERIC,
                        message: e.to_string(),
                        retry_after: None,
                    }),
                });
                st.send(Some(session), &msg);
                drop(st);
                self.log(
                    "voice.call.failed",
                    json!({ "call": sid, "error": e.to_string() }),
                );
            }
        }
    }

    fn client_end(&self, session: u64, r: &CallRef, requested: CallState, what: &str) {
        let mut st = lock(&self.inner.state);
        let Some(call) = st.call_mut(r) else { return };
        if !call.state.is_live() || call.session != Some(session) {
            return;
        }
        let state = match (requested, call.state, call.direction) {
            (CallState::Completed, CallState::Ringing, Direction::Outgoing) => CallState::Canceled,
            (CallState::Completed, CallState::Ringing, Direction::Incoming) => CallState::Rejected,
            (s, _, _) => s,
        };
        call.end(state, Party::Client);
        let sid = call.sid;
        drop(st);
        self.log(
            &format!("voice.call.{what}"),
            json!({ "call": sid, "state": state }),
        );
    }

    fn dtmf(&self, r: &CallRef, digits: &str) {
        if !valid_dtmf(digits) {
            self.log("voice.dtmf.invalid", json!({ "call": r.to_string() }));
            return;
        }
        let mut st = lock(&self.inner.state);
        let Some(call) = st.call_mut(r) else { return };
        if call.state == CallState::InProgress && call.dtmf.len() + digits.len() <= MAX_DTMF {
            call.dtmf.push_str(digits);
            let sid = call.sid;
            drop(st);
            self.log("voice.call.dtmf", json!({ "call": sid, "digits": digits }));
        }
    }

    fn message(&self, session: u64, m: CallMessage) {
        let mut st = lock(&self.inner.state);
        let Some(call) = st.call_mut(&m.callsid) else {
            return;
        };
        if call.messages.len() < MAX_MESSAGES {
            call.messages.push(json!({ "content": m.content, "contenttype": m.contenttype, "messagetype": m.messagetype }));
        }
        let ack = ServerMessage::Ack(Ack {
            acktype: "message".into(),
            callsid: m.callsid,
            voiceeventsid: m.voiceeventsid,
        });
        st.send(Some(session), &ack);
    }

    fn invite(&self, session: u64, inv: ClientInvite) {
        match inv.reconnect {
            Some(token) => self.reconnect(session, &inv.callsid, &token),
            None => self.outgoing(session, inv),
        }
    }

    fn reconnect(&self, session: u64, r: &CallRef, token: &str) {
        let mut st = lock(&self.inner.state);
        let known = st
            .call_mut(r)
            .filter(|c| c.state.is_live() && c.reconnect == token);
        let Some(call) = known else {
            let msg = ServerMessage::Hangup(ServerHangup {
                callsid: r.clone(),
                error: Some(ErrorInfo {
                    code: code::CONNECTION,
                    message: "Reconnect failed".into(),
                    retry_after: None,
                }),
            });
            st.send(Some(session), &msg);
            drop(st);
            self.log(
                "voice.call.reconnect_refused",
                json!({ "call": r.to_string() }),
            );
            return;
        };
        call.reconnects += 1;
        call.reconnect = format!("RT{}-{}", call.sid, call.reconnects);
        call.session = Some(session);
        let sid = call.sid;
        let msg = ServerMessage::Answer(ServerAnswer {
            callsid: sid,
            sdp: None,
            reconnect: Some(call.reconnect.clone()),
        });
        st.send(Some(session), &msg);
        drop(st);
        self.log(
            "voice.call.reconnected",
            json!({ "call": sid, "session": session }),
        );
    }

    fn outgoing(&self, session: u64, inv: ClientInvite) {
        let CallRef::Temporary(temp) = inv.callsid.clone() else {
            return;
        };
        let params = inv
            .twilio
            .params
            .as_deref()
            .map(pstream::decode_params)
            .unwrap_or_default();
        let to = params
            .iter()
            .find(|(k, _)| k == "To")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut st = lock(&self.inner.state);
        let claims = st.sessions.get(&session).and_then(|s| s.claims.clone());
        let Some(claims) = claims.filter(|c| {
            c.grants
                .voice
                .as_ref()
                .is_some_and(|v| v.outgoing.is_some())
        }) else {
            let msg = ServerMessage::Hangup(ServerHangup {
                callsid: inv.callsid,
                error: Some(ErrorInfo {
                    code: code::TOKEN_INVALID,
                    message: "JWT token is invalid: outgoing calls are not allowed".into(),
                    retry_after: None,
                }),
            });
            st.send(Some(session), &msg);
            return;
        };
        let duplicate = st
            .calls
            .values()
            .any(|c| c.state.is_live() && c.temp_id.as_deref() == Some(temp.as_str()));
        if duplicate {
            return;
        }
        if st.live_calls() >= MAX_LIVE_CALLS {
            let msg = ServerMessage::Hangup(ServerHangup {
                callsid: inv.callsid,
                error: Some(ErrorInfo {
                    code: code::GENERIC,
                    message: "Too many live calls on the stand-in".into(),
                    retry_after: None,
                }),
            });
            st.send(Some(session), &msg);
            return;
        }
        let behaviour = st.numbers.get(&to).copied().unwrap_or_default();
        let tone_hz = self.inner.config.outgoing_tone_hz;
        let options = LegOptions {
            ice_lite: true,
            tone_hz,
        };
        let (media, answer_sdp) =
            match MediaLeg::answer(&self.inner.config.media, &inv.sdp, options) {
                Ok((leg, sdp)) => (Media::Live(leg), Some(sdp)),
                Err(e) => {
                    let msg = ServerMessage::Hangup(ServerHangup {
                        callsid: inv.callsid,
                        error: Some(ErrorInfo {
                            code: code::GENERIC,
                            message: e.to_string(),
                            retry_after: None,
                        }),
                    });
                    st.send(Some(session), &msg);
                    drop(st);
                    self.log(
                        "voice.call.failed",
                        json!({ "temp": temp, "error": e.to_string() }),
                    );
                    return;
                }
            };
        let sid = self.mint_sid(&mut st);
        let call = Call {
            sid,
            direction: Direction::Outgoing,
            state: CallState::Ringing,
            ended_by: None,
            session: Some(session),
            identity: claims.grants.identity.clone(),
            temp_id: Some(temp),
            from: format!("client:{}", claims.grants.identity),
            to,
            params,
            dtmf: String::new(),
            messages: Vec::new(),
            media,
            answer_sdp,
            tone_hz,
            reconnect: format!("RT{sid}-0"),
            reconnects: 0,
        };
        st.calls.insert(sid, call);
        st.send(
            Some(session),
            &ServerMessage::Ringing(Ringing {
                callsid: sid,
                sdp: None,
            }),
        );
        st.prune();
        drop(st);
        self.log(
            "voice.call.outgoing",
            json!({ "call": sid, "behaviour": behaviour }),
        );
        let delay = match behaviour {
            NumberBehaviour::Answer | NumberBehaviour::Busy => self.inner.config.ring_ms,
            NumberBehaviour::NoAnswer => self.inner.config.no_answer_ms,
        };
        let me = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            me.outgoing_due(sid, behaviour);
        });
    }

    fn outgoing_due(&self, sid: CallSid, behaviour: NumberBehaviour) {
        let mut st = lock(&self.inner.state);
        let Some(call) = st.calls.get_mut(&sid) else {
            return;
        };
        if call.state != CallState::Ringing {
            return;
        }
        let session = call.session;
        let msg = match behaviour {
            NumberBehaviour::Answer => {
                call.state = CallState::InProgress;
                ServerMessage::Answer(ServerAnswer {
                    callsid: sid,
                    sdp: call.answer_sdp.take(),
                    reconnect: Some(call.reconnect.clone()),
                })
            }
            NumberBehaviour::Busy | NumberBehaviour::NoAnswer => {
                let (state, code, message) = if behaviour == NumberBehaviour::Busy {
                    (CallState::Busy, code::BUSY, "Busy Here")
                } else {
                    (
                        CallState::NoAnswer,
                        code::UNAVAILABLE,
                        "Temporarily Unavailable",
                    )
                };
                call.end(state, Party::Sim);
                ServerMessage::Hangup(ServerHangup {
                    callsid: sid.into(),
                    error: Some(ErrorInfo {
                        code,
                        message: message.into(),
                        retry_after: None,
                    }),
                })
            }
        };
        st.send(session, &msg);
        drop(st);
        self.log(
            "voice.call.outgoing_result",
            json!({ "call": sid, "behaviour": behaviour }),
        );
    }

    /// Ends a call from the far side: `cancel` while an incoming call rings, `hangup` otherwise.
    pub fn hangup(&self, sid: &CallSid) -> Result<CallView, ApiError> {
        let mut st = lock(&self.inner.state);
        let call = st
            .calls
            .get_mut(sid)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if !call.state.is_live() {
            return Ok(call.view());
        }
        let (msg, state) = match (call.state, call.direction) {
            (CallState::Ringing, Direction::Incoming) => (
                ServerMessage::Cancel(CallOnly {
                    callsid: (*sid).into(),
                }),
                CallState::Canceled,
            ),
            (CallState::Ringing, Direction::Outgoing) => (
                ServerMessage::Hangup(ServerHangup {
                    callsid: (*sid).into(),
                    error: None,
                }),
                CallState::Canceled,
            ),
            _ => (
                ServerMessage::Hangup(ServerHangup {
                    callsid: (*sid).into(),
                    error: None,
                }),
                CallState::Completed,
            ),
        };
        call.end(state, Party::Sim);
        let session = call.session;
        let view = call.view();
        st.send(session, &msg);
        drop(st);
        self.log(
            "voice.call.sim_hangup",
            json!({ "call": sid, "state": state }),
        );
        Ok(view)
    }

    /// Changes the tone a call's leg plays.
    pub fn set_tone(&self, sid: &CallSid, hz: Option<f64>) -> Result<CallView, ApiError> {
        let mut st = lock(&self.inner.state);
        let call = st
            .calls
            .get_mut(sid)
            .ok_or_else(|| ApiError::not_found(sid))?;
        if let Media::Live(leg) = &call.media {
            leg.set_tone(hz);
        }
        call.tone_hz = hz;
        Ok(call.view())
    }

    /// One call.
    pub fn call(&self, sid: &CallSid) -> Option<CallView> {
        lock(&self.inner.state).calls.get(sid).map(Call::view)
    }

    /// Every call, oldest first.
    pub fn calls(&self) -> Vec<CallView> {
        lock(&self.inner.state)
            .calls
            .values()
            .map(Call::view)
            .collect()
    }

    /// Sets how outgoing calls to `number` behave.
    pub fn set_number(&self, number: String, behaviour: NumberBehaviour) {
        lock(&self.inner.state).numbers.insert(number, behaviour);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_accepts_only_keypad_digits() {
        assert!(valid_dtmf("0123456789*#w"));
        assert!(!valid_dtmf(""));
        assert!(!valid_dtmf("12a"));
        assert!(!valid_dtmf(&"1".repeat(33)));
    }

    #[test]
    fn identity_strips_client_prefix() {
        assert_eq!(identity_of("client:alice"), "alice");
        assert_eq!(identity_of("alice"), "alice");
    }

    #[test]
    fn number_behaviour_reads_kebab_case() {
        let b: NumberBehaviour = serde_json::from_str("\"no-answer\"").unwrap();
        assert_eq!(b, NumberBehaviour::NoAnswer);
    }
}
