//! Sync over Twilsock for the agent's own objects (specs/sync-protocol.md; DESIGN §4.2-4.3): the agent's
//! presence Document, written on change only, and their inbox Document, where the server puts call context
//! (ConferenceSid, CRM), read into [`Input::CallContext`].
//!
//! One socket attempt runs as one task ([`run`]): `init` with the Access Token (and the continuation token of the
//! last session), a `reply` to every server frame, `ping`s and WebSocket pongs as heartbeat, `client_update
//! token_about_to_expire` → [`TokenEvent::AboutToExpire`], `close` codes → [`CloseReason`]s, and an `update` when
//! the driver has a fresh token. On the session's resync it opens (or creates) both Documents and (re-)establishes
//! the inbox subscription with the last event id it holds, so the server replays what was missed. Inbox events are
//! deduplicated by event id, which also orders the Document's current data (read at open) against its pushes.
//!
//! What outlives one attempt (continuation token, event ids, the presence value written and the one waiting)
//! lives in [`SyncMemory`]. Wire framing is `tsunagi_twilio::twilsock`'s. Object names: `presence.{identity}` and
//! `agent.{identity}.inbox` (identity from the token).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{self, Message};
use tsunagi_twilio::{twilsock, Pii};

use super::SocketNews;
use crate::api::SocketKind;
use crate::context::CallContext;
use crate::input::{CloseReason, ConnId, Input, TokenEvent};

/// Where the Sync socket connects.
#[derive(Clone, Debug)]
pub struct SyncConfig {
    /// Twilsock endpoint, e.g. `wss://tsock.us1.twilio.com/v3/wsconnect` (or the stand-in's `ws://…/v3/wsconnect`).
    pub url: String,
}

/// The agent's presence Document.
pub fn presence_document(identity: &str) -> String {
    format!("presence.{identity}")
}

/// The agent's inbox Document (call context from the server).
pub fn inbox_document(identity: &str) -> String {
    format!("agent.{identity}.inbox")
}

/// Per-request timeout (the JS SDK's 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// WebSocket pings, as an extra liveness check (sync-protocol §1.5).
const WS_PING_EVERY: Duration = Duration::from_secs(20);
/// Unreserved URL characters stay as they are in object names.
const NAME: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// What outlives one socket attempt.
#[derive(Debug, Default)]
pub(crate) struct SyncMemory {
    continuation: Option<String>,
    /// The inbox Document's SID, once opened.
    inbox_sid: Option<String>,
    /// The presence Document's URL, once opened.
    presence_url: Option<String>,
    /// The last event id applied, per object SID.
    last_event: HashMap<String, u64>,
    presence_written: Option<Value>,
    presence_pending: Option<Value>,
}

impl SyncMemory {
    /// The presence value to show (latest wins); written when the link is up.
    pub(crate) fn set_presence(&mut self, value: Value) {
        self.presence_pending = Some(value);
    }
}

/// Commands for the live attempt.
#[derive(Debug)]
pub(crate) enum SyncCmd {
    /// A fresh Access Token: send `update`.
    Token(Pii<String>),
    /// (Re)open the objects and (re)establish the subscription with replay.
    Resubscribe,
    /// The presence value changed (already in [`SyncMemory`]): write it.
    Presence,
}

type News = mpsc::UnboundedSender<(SocketKind, ConnId, SocketNews)>;

/// The request side of one attempt: frames out, replies matched by id.
#[derive(Clone)]
struct Link {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Arc<Mutex<HashMap<String, oneshot::Sender<twilsock::Frame>>>>,
    ids: Arc<AtomicU64>,
    salt: u64,
}

#[derive(Debug, thiserror::Error)]
enum LinkError {
    /// No reply in time, or the attempt ended.
    #[error("no reply")]
    NoReply,
    /// The frame could not be encoded (too large).
    #[error("frame too large")]
    Encode,
    /// A non-2xx Twilsock status (the request never reached Sync).
    #[error("twilsock status {0}")]
    Transport(u64),
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: usable after a panic elsewhere.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn header(method: &str, id: &str) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("method".into(), method.into());
    h.insert("id".into(), id.into());
    h
}

fn status_code(f: &twilsock::Frame) -> u64 {
    f.header
        .get("status")
        .and_then(|s| s.get("code"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn error_code(f: &twilsock::Frame) -> u64 {
    f.header
        .get("status")
        .and_then(|s| s.get("errorCode"))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

fn backoff_floor(f: &twilsock::Frame, default: u64) -> u64 {
    f.payload_json()
        .get("backoff_policy")
        .and_then(|b| b.get("reconnect_min_ms"))
        .and_then(Value::as_u64)
        .unwrap_or(default)
}

/// `(host, path)` of an absolute URL (the descriptors' `url`), or `("cds.us1.twilio.com", path)` for a path.
fn split_url(url: &str) -> (String, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if url.starts_with('/') {
        return ("cds.us1.twilio.com".into(), url.into());
    }
    match rest.find('/') {
        Some(i) => (rest[..i].into(), rest[i..].into()),
        None => (rest.into(), "/".into()),
    }
}

impl Link {
    fn next_id(&self) -> String {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        format!("RQ{:016x}{:016x}", self.salt, n)
    }

    /// Sends a frame and waits for its `reply`.
    async fn call(
        &self,
        mut h: Map<String, Value>,
        payload: &[u8],
    ) -> Result<twilsock::Frame, LinkError> {
        let id = self.next_id();
        h.insert("id".into(), id.clone().into());
        let bytes = twilsock::encode(h, payload).map_err(|_| LinkError::Encode)?;
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        if self.out.send(bytes).is_err() {
            lock(&self.pending).remove(&id);
            return Err(LinkError::NoReply);
        }
        let reply = tokio::time::timeout(REQUEST_TIMEOUT, rx).await;
        lock(&self.pending).remove(&id);
        match reply {
            Ok(Ok(f)) => Ok(f),
            _ => Err(LinkError::NoReply),
        }
    }

    /// A CDS request tunnelled in a `message` frame: `(http status, body)`.
    async fn request(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u64, Value), LinkError> {
        let (host, path) = split_url(url);
        let mut h = header("message", "");
        h.insert("active_grant".into(), "data_sync".into());
        h.insert("payload_type".into(), "application/json".into());
        h.insert(
            "http_request".into(),
            json!({"host": host, "path": path, "method": method, "params": {},
                   "headers": {"Content-Type": "application/json"}}),
        );
        let payload = body.map(Value::to_string).unwrap_or_default();
        let f = self.call(h, payload.as_bytes()).await?;
        let transport = status_code(&f);
        if !(200..300).contains(&transport) {
            return Err(LinkError::Transport(transport));
        }
        let http = f
            .header
            .get("http_status")
            .and_then(|s| s.get("code"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        Ok((http, f.payload_json()))
    }
}

/// What one attempt's background operations share.
#[derive(Clone)]
struct Ctx {
    link: Link,
    memory: Arc<Mutex<SyncMemory>>,
    news: News,
    conn: ConnId,
    identity: String,
}

impl Ctx {
    fn input(&self, input: Input) {
        let _ = self.news.send((
            SocketKind::Sync,
            self.conn,
            SocketNews::Input(Box::new(input)),
        ));
    }

    /// An inbox event (or the Document's data as read): applied once, in event-id order.
    fn apply_inbox(&self, sid: &str, id: u64, data: &Value) {
        {
            let mut m = lock(&self.memory);
            if m.inbox_sid.as_deref() != Some(sid) {
                return;
            }
            let last = m.last_event.entry(sid.to_owned()).or_insert(0);
            if id <= *last {
                return; // a replay or a reading we already have
            }
            *last = id;
        }
        match CallContext::from_json(data) {
            Some(ctx) => self.input(Input::CallContext(Box::new(ctx))),
            None => tracing::debug!("inbox data is not a call context"),
        }
    }

    /// `GET /v3/Documents/{name}`, creating it on 404 (and re-reading on a 409 race).
    async fn open_document(&self, name: &str) -> Result<Value, String> {
        let path = format!("/v3/Documents/{}", utf8_percent_encode(name, NAME));
        for _ in 0..2 {
            match self.link.request("GET", &path, None).await {
                Ok((200, d)) => return Ok(d),
                Ok((404, _)) => {}
                Ok((code, _)) => return Err(format!("open: HTTP {code}")),
                Err(e) => return Err(format!("open: {e}")),
            }
            let body = json!({"unique_name": name, "data": {}});
            match self
                .link
                .request("POST", "/v3/Documents", Some(&body))
                .await
            {
                Ok((201 | 200, d)) => return Ok(d),
                Ok((409, _)) => continue, // created meanwhile: read it
                Ok((code, _)) => return Err(format!("create: HTTP {code}")),
                Err(e) => return Err(format!("create: {e}")),
            }
        }
        Err("open: the Document keeps vanishing".into())
    }

    /// Opens both Documents, applies the inbox's current data and establishes its subscription with replay.
    async fn bootstrap(self) -> Op {
        let presence = match self.open_document(&presence_document(&self.identity)).await {
            Ok(d) => d,
            Err(e) => return Op::Bootstrap(Err(e)),
        };
        let inbox = match self.open_document(&inbox_document(&self.identity)).await {
            Ok(d) => d,
            Err(e) => return Op::Bootstrap(Err(e)),
        };
        let (Some(inbox_sid), Some(presence_url)) = (
            inbox.get("sid").and_then(Value::as_str),
            presence.get("url").and_then(Value::as_str),
        ) else {
            return Op::Bootstrap(Err("descriptor without sid/url".into()));
        };
        let since = {
            let mut m = lock(&self.memory);
            if m.inbox_sid.as_deref() != Some(inbox_sid) {
                m.last_event.clear(); // a new Document: its ids start over
            }
            m.inbox_sid = Some(inbox_sid.to_owned());
            m.presence_url = Some(presence_url.to_owned());
            m.last_event.get(inbox_sid).copied()
        };
        // First open: the Document's data as it is now. After that, the subscription replays what was missed
        // since the last event applied (every change, in order, not only the newest).
        if since.is_none() {
            if let (Some(id), Some(data)) = (
                inbox.get("last_event_id").and_then(Value::as_u64),
                inbox.get("data"),
            ) {
                self.apply_inbox(inbox_sid, id, data);
            }
        }
        let correlation = self.link.ids.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "event_protocol_version": 4, "action": "establish", "correlation_id": correlation,
            "retried_requests": 0, "ttl_in_s": -1,
            "requests": [{"object_sid": inbox_sid, "object_type": "document", "last_event_id": since}],
        });
        match self
            .link
            .request("POST", "/v4/Subscriptions", Some(&body))
            .await
        {
            Ok((200..=299, _)) => Op::Bootstrap(Ok(())),
            Ok((code, _)) => Op::Bootstrap(Err(format!("subscribe: HTTP {code}"))),
            Err(e) => Op::Bootstrap(Err(format!("subscribe: {e}"))),
        }
    }

    /// Writes the waiting presence value until none differs from the one written (latest wins; 429 backs off).
    async fn write_presence(self) -> Op {
        let mut delay = Duration::from_secs(1);
        loop {
            let (url, value) = {
                let mut m = lock(&self.memory);
                match (m.presence_url.clone(), m.presence_pending.clone()) {
                    (Some(url), Some(v)) if m.presence_written.as_ref() != Some(&v) => (url, v),
                    (Some(_), Some(_)) => {
                        m.presence_pending = None;
                        return Op::Writer;
                    }
                    _ => return Op::Writer,
                }
            };
            match self
                .link
                .request("POST", &url, Some(&json!({ "data": value })))
                .await
            {
                Ok((200..=299, _)) => {
                    let mut m = lock(&self.memory);
                    if m.presence_pending.as_ref() == Some(&value) {
                        m.presence_pending = None;
                    }
                    m.presence_written = Some(value);
                    delay = Duration::from_secs(1);
                }
                Ok((429, _)) => {
                    // Sync's 20 writes/s per object: back off with jitter, then write the newest value.
                    let jitter = u64::from(std::process::id()) % 1000;
                    tokio::time::sleep(delay + Duration::from_millis(jitter)).await;
                    delay = (delay * 2).min(Duration::from_secs(16));
                }
                Ok((404, _)) => {
                    lock(&self.memory).presence_url = None; // removed: the next resync re-creates it
                    return Op::Writer;
                }
                other => {
                    tracing::warn!(?other, "presence write failed; kept for the next resync");
                    return Op::Writer;
                }
            }
        }
    }

    /// `update` with a fresh token.
    async fn update_token(self, token: Pii<String>) -> Op {
        let mut h = header("update", "");
        h.insert("token".into(), token.expose().clone().into());
        match self.link.call(h, b"").await {
            Ok(f) if (200..300).contains(&status_code(&f)) => {}
            other => tracing::warn!(
                result = ?other.map(|f| status_code(&f)),
                "Sync token update refused"
            ),
        }
        Op::Update
    }
}

/// A finished background operation.
#[derive(Debug)]
enum Op {
    Bootstrap(Result<(), String>),
    Writer,
    Update,
}

/// The identity in the token's grants (object names derive from it).
fn identity_of(token: &Pii<String>) -> Option<String> {
    tsunagi_twilio::token::decode_unverified(token.expose())
        .ok()
        .map(|(_, claims)| claims.grants.identity)
        .filter(|i| !i.is_empty())
}

fn init_frame(token: &Pii<String>, continuation: Option<String>) -> Map<String, Value> {
    let mut h = header("init", "");
    h.insert("token".into(), token.expose().clone().into());
    h.insert("continuation_token".into(), continuation.into());
    h.insert(
        "metadata".into(),
        json!({"type": "sync", "sdk": "rust", "sdkv": env!("CARGO_PKG_VERSION"), "app": "tsunagi"}),
    );
    h.insert(
        "registrations".into(),
        json!([{"product": "data_sync", "type": "ers", "notification_protocol_version": 0,
                "message_types": ["twilio.sync.event", "com.twilio.rtd.cds.document",
                                  "com.twilio.rtd.cds.list", "com.twilio.rtd.cds.map"]}]),
    );
    h.insert("tweaks".into(), Value::Null);
    h.insert(
        "capabilities".into(),
        json!(["client_update", "account_descriptor"]),
    );
    h
}

/// One Sync socket attempt.
pub(crate) struct Attempt {
    pub(crate) url: String,
    pub(crate) token: Pii<String>,
    pub(crate) conn: ConnId,
    pub(crate) memory: Arc<Mutex<SyncMemory>>,
    pub(crate) news: News,
    pub(crate) cmds: mpsc::UnboundedReceiver<SyncCmd>,
    pub(crate) salt: u64,
}

/// Runs one attempt until it closes; every report is tagged with `conn`.
pub(crate) async fn run(mut a: Attempt) {
    let reason = session(&mut a).await;
    let _ = a
        .news
        .send((SocketKind::Sync, a.conn, SocketNews::Closed(reason)));
}

async fn session(a: &mut Attempt) -> CloseReason {
    let (tx, conn) = (a.news.clone(), a.conn);
    let news = move |n: SocketNews| tx.send((SocketKind::Sync, conn, n)).is_ok();
    let mut stream = match tokio_tungstenite::connect_async(a.url.as_str()).await {
        Ok((s, _)) => s,
        Err(tungstenite::Error::Http(resp)) if matches!(resp.status().as_u16(), 401 | 403) => {
            return CloseReason::Unauthorized
        }
        Err(e) => {
            tracing::debug!(error = %e, "twilsock connect failed");
            return CloseReason::Lost;
        }
    };
    if !news(SocketNews::Opened) {
        return CloseReason::Lost;
    }
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let link = Link {
        out: out_tx,
        pending: Arc::default(),
        ids: Arc::new(AtomicU64::new(1)),
        salt: a.salt,
    };
    let continuation = lock(&a.memory).continuation.clone();
    let init_id = link.next_id();
    let mut init = init_frame(&a.token, continuation);
    init.insert("id".into(), init_id.clone().into());
    let Ok(bytes) = twilsock::encode(init, b"") else {
        return CloseReason::Lost;
    };
    if stream.send(Message::Binary(bytes.into())).await.is_err() {
        return CloseReason::Lost;
    }
    let mut ctx: Option<Ctx> = None;
    let mut ops: JoinSet<Op> = JoinSet::new();
    let mut writer = false;
    let mut ping = tokio::time::interval(WS_PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let bytes = match msg {
                    Some(Ok(Message::Binary(b))) => b,
                    Some(Ok(Message::Pong(_))) => { news(SocketNews::Frame); continue }
                    Some(Ok(Message::Close(_))) | None => return CloseReason::Lost,
                    Some(Ok(_)) => continue, // text frames are not part of Twilsock; pings are answered
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "twilsock socket error");
                        return CloseReason::Lost;
                    }
                };
                let f = match twilsock::decode(&bytes) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!(error = %e, "malformed twilsock frame");
                        continue;
                    }
                };
                if f.method() == "reply" {
                    if f.id() == init_id {
                        match status_code(&f) {
                            200..=299 => {
                                let identity = identity_of(&a.token).or_else(|| {
                                    f.header.get("account_descriptor")
                                        .and_then(|d| d.get("identity"))
                                        .and_then(Value::as_str)
                                        .map(str::to_owned)
                                });
                                let Some(identity) = identity else {
                                    tracing::warn!("twilsock: no identity in the token");
                                    return CloseReason::Unauthorized;
                                };
                                if let Some(ct) = f.header.get("continuation_token").and_then(Value::as_str) {
                                    lock(&a.memory).continuation = Some(ct.to_owned());
                                }
                                ctx = Some(Ctx { link: link.clone(), memory: a.memory.clone(), news: a.news.clone(), conn: a.conn, identity });
                                news(SocketNews::Ready);
                            }
                            401 | 403 if error_code(&f) == 20104 => return CloseReason::TokenExpired,
                            401 | 403 => return CloseReason::Unauthorized,
                            429 => return CloseReason::Redirect { min_backoff_ms: backoff_floor(&f, 1000) },
                            code => {
                                tracing::warn!(code, "twilsock init refused");
                                return CloseReason::Lost;
                            }
                        }
                    } else if let Some(tx) = lock(&link.pending).remove(f.id()) {
                        let _ = tx.send(f);
                    }
                    continue;
                }
                // Every server frame gets its acknowledgement (sync-protocol §1.3).
                let mut ack = header("reply", f.id());
                ack.insert("payload_type".into(), "application/json".into());
                ack.insert("status".into(), json!({"code": 200, "status": "OK"}));
                if let Ok(b) = twilsock::encode(ack, b"") {
                    if stream.send(Message::Binary(b.into())).await.is_err() {
                        return CloseReason::Lost;
                    }
                }
                news(SocketNews::Frame);
                match f.method() {
                    "notification" => {
                        if let Some(c) = &ctx {
                            if let Some(again) = on_notification(c, &f.payload_json()) {
                                if again { ops.spawn(c.clone().bootstrap()); }
                            }
                        }
                    }
                    "client_update"
                        if f.header.get("client_update_type").and_then(Value::as_str)
                            == Some("token_about_to_expire") =>
                    {
                        news(SocketNews::Input(Box::new(Input::Token(TokenEvent::AboutToExpire))));
                    }
                    "close" => {
                        let code = status_code(&f);
                        tracing::info!(code, error = error_code(&f), "twilsock closed by the server");
                        return match code {
                            308 if error_code(&f) == 51232 => CloseReason::Unauthorized,
                            308 => CloseReason::Redirect { min_backoff_ms: backoff_floor(&f, 0) },
                            401 => CloseReason::Unauthorized,
                            410 => CloseReason::TokenExpired,
                            _ => CloseReason::Lost,
                        };
                    }
                    _ => {} // ping, and anything newer
                }
            }
            Some(bytes) = out_rx.recv() => {
                if stream.send(Message::Binary(bytes.into())).await.is_err() {
                    return CloseReason::Lost;
                }
            }
            cmd = a.cmds.recv() => {
                let Some(cmd) = cmd else { return CloseReason::Lost };
                match (cmd, &ctx) {
                    (SyncCmd::Token(t), Some(c)) => {
                        a.token = t.clone();
                        ops.spawn(c.clone().update_token(t));
                    }
                    (SyncCmd::Token(t), None) => a.token = t,
                    (SyncCmd::Resubscribe, Some(c)) => { ops.spawn(c.clone().bootstrap()); }
                    (SyncCmd::Presence, Some(c)) if !writer => {
                        writer = true;
                        ops.spawn(c.clone().write_presence());
                    }
                    _ => {}
                }
            }
            Some(done) = ops.join_next(), if !ops.is_empty() => {
                match done {
                    Ok(Op::Bootstrap(Ok(()))) => {
                        if !writer {
                            if let Some(c) = &ctx {
                                writer = true;
                                ops.spawn(c.clone().write_presence());
                            }
                        }
                    }
                    Ok(Op::Bootstrap(Err(e))) => tracing::warn!(error = %e, "Sync resync failed; retried on the next reconnect"),
                    Ok(Op::Writer) => {
                        writer = false;
                        let more = {
                            let m = lock(&a.memory);
                            m.presence_url.is_some() && m.presence_pending.is_some() && m.presence_pending != m.presence_written
                        };
                        if more {
                            if let Some(c) = &ctx {
                                writer = true;
                                ops.spawn(c.clone().write_presence());
                            }
                        }
                    }
                    Ok(Op::Update) => {}
                    Err(e) => tracing::warn!(error = %e, "Sync operation panicked"),
                }
            }
            _ = ping.tick() => {
                if stream.send(Message::Ping(Vec::new().into())).await.is_err() {
                    return CloseReason::Lost;
                }
            }
        }
    }
}

/// Applies a notification; `Some(true)` when a subscription must be re-established (replay interrupted).
fn on_notification(c: &Ctx, payload: &Value) -> Option<bool> {
    let event_type = payload.get("event_type").and_then(Value::as_str)?;
    let events: Vec<&Value> = match (payload.get("event"), payload.get("events")) {
        (Some(e), _) => vec![e],
        (None, Some(Value::Array(list))) => list.iter().collect(),
        _ => Vec::new(),
    };
    let mut again = false;
    for e in events {
        match event_type {
            "document_updated" => {
                if let (Some(sid), Some(id), Some(data)) = (
                    e.get("document_sid").and_then(Value::as_str),
                    e.get("id").and_then(Value::as_u64),
                    e.get("document_data"),
                ) {
                    c.apply_inbox(sid, id, data);
                }
            }
            "subscription_established" => {
                again |= e.get("replay_status").and_then(Value::as_str) == Some("interrupted");
            }
            "subscription_failed" | "subscription_canceled" => {
                tracing::warn!(event_type, error = ?e.get("error"), "Sync subscription lost");
            }
            _ => {}
        }
    }
    Some(again)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_and_path() {
        assert_eq!(
            split_url("https://cds.us1.twilio.com/v3/Services/IS1/Documents/ET1"),
            (
                "cds.us1.twilio.com".into(),
                "/v3/Services/IS1/Documents/ET1".into()
            )
        );
        assert_eq!(
            split_url("/v3/Documents"),
            ("cds.us1.twilio.com".into(), "/v3/Documents".into())
        );
        assert_eq!(split_url("host:8080"), ("host:8080".into(), "/".into()));
    }

    #[test]
    fn object_names_are_percent_encoded_in_paths() {
        let name = presence_document("alice@example.jp");
        assert_eq!(
            utf8_percent_encode(&name, NAME).to_string(),
            "presence.alice%40example.jp"
        );
    }
}
