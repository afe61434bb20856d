//! Calls: what the Voice edge decides, and the [`Voice`] handle holding sessions and calls.
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
//! An outgoing call whose token's grant names a TwiML application known to the call engine
//! ([`Voice::route_applications`]) runs that application instead of the number behaviour: the engine fetches its
//! Voice URL and executes the TwiML, answering the SDK ([`Voice::answer_outgoing`]) when the TwiML answers.
//!
//! Each call carries a reconnect token; a new socket's `invite{callsid, reconnect}` with the current token
//! rebinds the call to that socket and is confirmed by `answer{callsid, reconnect: <new token>}` (media never
//! stopped). A socket that closes leaves its calls up, so the SDK can reconnect them.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tsunagi_twilio::pstream::{
    self, Ack, CallMessage, CallOnly, CallRef, ClientInvite, ErrorInfo, InviteParameters, Ringing,
    ServerAnswer, ServerHangup, ServerInvite, ServerMessage,
};
use tsunagi_twilio::sid::{AccountSid, ApplicationSid, CallSid};

use super::model::{CallState, CallView, Direction, NumberBehaviour, Party, PlaceCall};
use super::session::{Out, Session};
use super::VoiceConfig;
use crate::error::ApiError;
use crate::media::{AudioReport, LegOptions, MediaLeg, PendingOffer};
use crate::shared::{lock, Shared};

/// DTMF digits kept per call.
pub const MAX_DTMF: usize = 256;
/// Call messages kept per call.
pub const MAX_MESSAGES: usize = 64;
/// Ended calls kept for inspection.
pub const MAX_ENDED_CALLS: usize = 1_000;
/// Live calls (each holds a UDP socket); more are refused.
pub const MAX_LIVE_CALLS: usize = 256;

/// Voice error codes the stand-in sends.
pub(super) mod code {
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

enum Media {
    None,
    Pending(Box<PendingOffer>),
    Live(MediaLeg),
    Ended {
        report: AudioReport,
        connected: bool,
        dtmf: String,
        codec: Option<&'static str>,
    },
}

impl Media {
    fn end(&mut self) {
        if let Media::Live(leg) = self {
            let (report, connected, dtmf) = (leg.report(), leg.is_connected(), leg.dtmf());
            let codec = leg.codec();
            leg.close();
            *self = Media::Ended {
                report,
                connected,
                dtmf,
                codec,
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
        let (audio, media_connected, inband, codec) = match &self.media {
            Media::Live(leg) => (
                Some(leg.report()),
                leg.is_connected(),
                leg.dtmf(),
                leg.codec(),
            ),
            Media::Ended {
                report,
                connected,
                dtmf,
                codec,
            } => (Some(*report), *connected, dtmf.clone(), *codec),
            Media::None | Media::Pending(_) => (None, false, String::new(), None),
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
            codec,
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

#[derive(Default)]
pub(super) struct State {
    pub(super) sessions: HashMap<u64, Session>,
    calls: BTreeMap<CallSid, Call>,
    numbers: HashMap<String, NumberBehaviour>,
    minted: u64,
}

impl State {
    pub(super) fn send(&self, session: Option<u64>, msg: &ServerMessage) {
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
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) shared: Arc<Shared>,
    pub(super) config: VoiceConfig,
    pub(super) state: Mutex<State>,
    apps: std::sync::OnceLock<AppRouter>,
}

/// An outgoing client call offered to the TwiML application of its token's grant.
#[derive(Debug, Clone)]
pub struct AppCall {
    /// The call (the SDK already has this SID from `ringing`).
    pub sid: CallSid,
    /// The token's account.
    pub account: AccountSid,
    /// The caller's identity (`From=client:<identity>`).
    pub identity: String,
    /// The grant's application.
    pub application: ApplicationSid,
    /// The grant's parameters, then the SDK's `connect` parameters (`To`, custom ones), in order.
    pub params: Vec<(String, String)>,
}

/// Takes an outgoing call for its application; `false` if the application is unknown (the number behaviour
/// then applies).
pub type AppRouter = Box<dyn Fn(&AppCall) -> bool + Send + Sync>;

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
                apps: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Lets `router` take outgoing calls of tokens whose grant names an application (first caller wins).
    pub fn route_applications(&self, router: AppRouter) {
        if self.inner.apps.set(router).is_err() {
            tracing::warn!("an application router is already installed on this voice edge");
        }
    }

    /// Answers a ringing outgoing call (its application's TwiML answered): `answer` with the SDP.
    pub fn answer_outgoing(&self, sid: &CallSid) {
        let mut st = lock(&self.inner.state);
        let Some(call) = st.calls.get_mut(sid) else {
            return;
        };
        if call.direction != Direction::Outgoing || call.state != CallState::Ringing {
            return;
        }
        call.state = CallState::InProgress;
        let msg = ServerMessage::Answer(ServerAnswer {
            callsid: *sid,
            sdp: call.answer_sdp.take(),
            reconnect: Some(call.reconnect.clone()),
        });
        let session = call.session;
        st.send(session, &msg);
        drop(st);
        self.log("voice.call.app_answered", json!({ "call": sid }));
    }

    /// The configuration.
    pub fn config(&self) -> &VoiceConfig {
        &self.inner.config
    }

    pub(super) fn log(&self, kind: &str, data: Value) {
        self.inner.shared.log(kind, data);
    }

    fn mint_sid(&self, st: &mut State) -> CallSid {
        st.minted += 1;
        CallSid::from_u128(
            (u128::from(self.inner.shared.config.seed) << 64)
                | (0x5600_0000 + u128::from(st.minted)),
        )
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

    pub(super) fn answer(&self, session: u64, r: &CallRef, sdp: &str) {
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

    pub(super) fn client_end(&self, session: u64, r: &CallRef, requested: CallState, what: &str) {
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

    pub(super) fn dtmf(&self, r: &CallRef, digits: &str) {
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

    pub(super) fn message(&self, session: u64, m: CallMessage) {
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

    pub(super) fn invite(&self, session: u64, inv: ClientInvite) {
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
        let app = claims
            .grants
            .voice
            .as_ref()
            .and_then(|v| v.outgoing.as_ref())
            .map(|o| (o.application_sid, o.params.clone()));
        let routed = app.is_some() && self.inner.apps.get().is_some();
        // An application call plays nothing of its own: the TwiML (a conference) decides what the caller hears.
        let tone_hz = if routed {
            None
        } else {
            self.inner.config.outgoing_tone_hz
        };
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
        if let (Some((application, mut grant_params)), Some(router)) = (app, self.inner.apps.get())
        {
            let connect = lock(&self.inner.state)
                .calls
                .get(&sid)
                .map(|c| c.params.clone())
                .unwrap_or_default();
            grant_params.extend(connect);
            let offer = AppCall {
                sid,
                account: claims.sub,
                identity: claims.grants.identity.clone(),
                application,
                params: grant_params,
            };
            if router(&offer) {
                self.log(
                    "voice.call.outgoing",
                    json!({ "call": sid, "application": application }),
                );
                return;
            }
            // Unknown application: the simulated callee answers with its tone.
            let _ = self.set_tone(&sid, self.inner.config.outgoing_tone_hz);
        }
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
            me.inner.shared.sleep(delay).await;
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

    /// Ends the live calls still bound to a socket that closed and was not replaced (no reconnect).
    pub(super) fn end_orphans(&self, session: u64) {
        let mut st = lock(&self.inner.state);
        let mut ended = Vec::new();
        for call in st.calls.values_mut() {
            if call.state.is_live() && call.session == Some(session) {
                let state = if call.state == CallState::Ringing {
                    CallState::Canceled
                } else {
                    CallState::Completed
                };
                call.end(state, Party::Sim);
                ended.push(call.sid);
            }
        }
        drop(st);
        for sid in ended {
            self.log(
                "voice.call.orphaned",
                json!({ "call": sid, "session": session }),
            );
        }
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

    /// The audio queues of a live call's connected media leg (for the conference mixer).
    pub fn port(&self, sid: &CallSid) -> Option<crate::media::AudioPort> {
        let st = lock(&self.inner.state);
        match st.calls.get(sid).map(|c| (&c.media, c.state.is_live())) {
            Some((Media::Live(leg), true)) => Some(leg.port().clone()),
            _ => None,
        }
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
}
