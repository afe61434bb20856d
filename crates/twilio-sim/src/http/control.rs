//! `/_sim/…`: scenario control for tests. Not part of Twilio's API; nothing in the product may call it.
//!
//! | route | body | effect |
//! |---|---|---|
//! | `GET /_sim/health` | | `{"ok": true}` |
//! | `GET /_sim/clock` | | `{"now_ms", "frozen"}` |
//! | `POST /_sim/clock/advance` | `{"ms": 30000}` | moves simulated time; due timers run at once |
//! | `GET /_sim/sockets` | | open sockets `[{id, kind, label}]` |
//! | `POST /_sim/sockets/drop` | `{"kind"?, "label"?, "code"?, "reason"?}` | server-side close of matching sockets |
//! | `POST /_sim/tokens/expire` | `{"token"}` or `{"jti"}` | that token (or every token with that `jti`) now fails with 20104; its sockets close |
//! | `GET/POST /_sim/faults` | `{"rest_delay_ms", "rest_fail_next", "webhook_fail_next"}` | inject delays / 5xx |
//! | `GET /_sim/events?since=N&kind=K` | | the scenario log (pushes, webhooks, sockets) |
//! | `POST /_sim/eventbridge/push` | `{"worker", "event_type", "payload"}` | raw push to a worker's sockets |

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tsunagi_twilio::eventbridge::Frame;
use tsunagi_twilio::sid::WorkerSid;

use crate::error::ApiError;
use crate::params::Params;
use crate::shared::{lock, Faults, Shared, SocketCmd};
use crate::taskrouter::Effect;

fn body<T: for<'de> Deserialize<'de>>(b: &Bytes) -> Result<T, ApiError> {
    let b: &[u8] = if b.is_empty() { b"{}" } else { b };
    serde_json::from_slice(b).map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))
}

fn respond(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// Liveness.
pub async fn health() -> Json<Value> {
    // The media legs' codecs: Opus only in a build with the `opus` feature.
    let codecs: Vec<&str> = tsunagi_media::codec::CodecKind::available()
        .into_iter()
        .map(tsunagi_media::codec::CodecKind::mime)
        .collect();
    Json(json!({"ok": true, "codecs": codecs}))
}

/// Current simulated time.
pub async fn clock(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"now_ms": s.now().0, "frozen": s.clock.is_frozen()}))
}

#[derive(Deserialize)]
struct Advance {
    ms: u64,
}

/// Moves simulated time forward and runs what is due.
pub async fn advance(State(s): State<Arc<Shared>>, b: Bytes) -> Response {
    respond((|| {
        let a: Advance = body(&b)?;
        if a.ms > 366 * 86_400_000 {
            return Err(ApiError::invalid("ms must be at most one year"));
        }
        s.advance(a.ms);
        Ok(json!({"now_ms": s.now().0}))
    })())
}

/// Open sockets.
pub async fn sockets(State(s): State<Arc<Shared>>) -> Json<Value> {
    let mut list: Vec<Value> = lock(&s.all_sockets)
        .iter()
        .map(|(id, (k, l, _))| json!({"id": id, "kind": k, "label": l}))
        .collect();
    list.sort_by_key(|v| v["id"].as_u64());
    Json(json!({"sockets": list}))
}

#[derive(Deserialize)]
struct Drop {
    kind: Option<String>,
    label: Option<String>,
    code: Option<u16>,
    reason: Option<String>,
}

/// Server-side close of matching sockets (all when no filter).
pub async fn drop_sockets(State(s): State<Arc<Shared>>, b: Bytes) -> Response {
    respond((|| {
        let d: Drop = body(&b)?;
        let code = d.code.unwrap_or(1011);
        if !(1000..5000).contains(&code) || matches!(code, 1004..=1006 | 1015) {
            return Err(ApiError::invalid(
                "code must be a sendable WebSocket close code",
            ));
        }
        let reason = d.reason.unwrap_or_else(|| "stand-in drop".into());
        let matching: Vec<_> = lock(&s.all_sockets)
            .values()
            .filter(|(k, l, _)| {
                d.kind.as_ref().is_none_or(|x| x == k) && d.label.as_ref().is_none_or(|x| x == l)
            })
            .map(|(_, _, h)| h.clone())
            .collect();
        for h in &matching {
            let _ = h.tx.try_send(SocketCmd::Close(code, reason.clone()));
        }
        s.log("sim.drop", json!({"count": matching.len(), "code": code}));
        Ok(json!({"dropped": matching.len()}))
    })())
}

#[derive(Deserialize)]
struct Expire {
    token: Option<String>,
    jti: Option<String>,
}

/// Force-expires a token.
pub async fn expire_token(State(s): State<Arc<Shared>>, b: Bytes) -> Response {
    respond((|| {
        let e: Expire = body(&b)?;
        let jti = match (e.jti, e.token) {
            (Some(j), _) => {
                lock(&s.accounts).expire_jti(&j);
                j
            }
            (None, Some(t)) => {
                let jti = tsunagi_twilio::token::decode_unverified(&t)
                    .map_err(|e| ApiError::invalid(format!("token: {e}")))?
                    .1
                    .jti;
                lock(&s.accounts).expire_token(&t);
                jti
            }
            _ => return Err(ApiError::invalid("token or jti is required")),
        };
        s.log("sim.token_expired", json!({"jti": jti}));
        Ok(json!({"expired": jti}))
    })())
}

/// Current faults.
pub async fn get_faults(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(serde_json::to_value(lock(&s.faults).clone()).unwrap_or(Value::Null))
}

/// Replaces the faults.
pub async fn set_faults(State(s): State<Arc<Shared>>, b: Bytes) -> Response {
    respond((|| {
        let f: Faults = body(&b)?;
        if f.rest_delay_ms > 60_000 {
            return Err(ApiError::invalid("rest_delay_ms must be at most 60000"));
        }
        *lock(&s.faults) = f.clone();
        Ok(serde_json::to_value(f).unwrap_or(Value::Null))
    })())
}

/// The scenario log, optionally after a sequence number and filtered by kind prefix.
pub async fn events(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    let p = Params::from_form(q.as_deref().unwrap_or("").as_bytes());
    respond((|| {
        let since = p.u64("since")?.unwrap_or(0);
        let kind = p.str("kind");
        let log: Vec<Value> = lock(&s.log)
            .iter()
            .filter(|e| {
                e.seq > since && kind.as_ref().is_none_or(|k| e.kind.starts_with(k.as_str()))
            })
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect();
        let tr_events: Vec<Value> = lock(&s.tr)
            .all_events()
            .map(|e| serde_json::to_value(e).unwrap_or(Value::Null))
            .collect();
        Ok(json!({"log": log, "taskrouter_events": tr_events}))
    })())
}

#[derive(Deserialize)]
struct Push {
    worker: String,
    event_type: String,
    #[serde(default)]
    payload: Value,
}

/// Raw push to a worker's EventBridge sockets.
pub async fn push_raw(State(s): State<Arc<Shared>>, b: Bytes) -> Response {
    respond((|| {
        let p: Push = body(&b)?;
        let worker: WorkerSid = p
            .worker
            .parse()
            .map_err(|_| ApiError::invalid("worker must be a WK SID"))?;
        s.dispatch(vec![Effect::Push {
            worker,
            frame: Frame {
                event_type: p.event_type,
                payload: p.payload,
            },
        }]);
        Ok(json!({"ok": true}))
    })())
}
