//! Twilsock v3 for the `twilio-sync` SDK at `GET /v3/wsconnect`: binary frames (codec in
//! `tsunagi_twilio::twilsock`), `init`/`update` with Access Token checks, `message` frames tunnelling CDS
//! requests, server `ping`s, `client_update` ~4 minutes before the token expires and `close` 410/51207 at expiry.
//! Every server-originated frame expects a client `reply`, which is accepted and ignored. Connect and disconnect
//! trigger the service's reachability webhooks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tsunagi_twilio::twilsock;

use crate::error::ApiError;
use crate::shared::{lock, Shared, SocketCmd, SocketHandle, SOCKET_QUEUE};
use crate::sync::cds::{self, CdsRequest};
use crate::sync::SyncEffect;

/// Seconds before `exp` at which `client_update token_about_to_expire` is sent.
pub const ABOUT_TO_EXPIRE_SECS: u64 = 240;

struct Session {
    conn: u64,
    service: String,
    identity: String,
    endpoint: String,
    token: String,
    exp: u64,
    warned: bool,
}

fn header(method: &str, id: &str) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("method".into(), method.into());
    h.insert("id".into(), id.into());
    h
}

fn frame(h: Map<String, Value>, body: &Value) -> Vec<u8> {
    let payload = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap_or_default()
    };
    twilsock::encode(h, &payload).unwrap_or_default()
}

fn reply(id: &str, code: u16, status: &str, extra: Option<(&str, u32)>) -> Map<String, Value> {
    let mut h = header("reply", id);
    let mut st = json!({"code": code, "status": status});
    if let Some((description, error_code)) = extra {
        st["description"] = description.into();
        st["errorCode"] = error_code.into();
    }
    h.insert("status".into(), st);
    h
}

/// Verifies a Sync token: signature and times, a `data_sync` grant naming an existing service of the token's
/// account. Returns `(service, identity, endpoint, exp)`.
fn authorize(s: &Shared, token: &str) -> Result<(String, String, String, u64), ApiError> {
    let claims = lock(&s.accounts).verify_token(token, s.now().secs())?;
    let grant = claims
        .grants
        .data_sync
        .as_ref()
        .and_then(|g| g.service_sid.map(|sid| (sid, g.endpoint_id.clone())));
    let Some((service, endpoint)) = grant else {
        return Err(ApiError::new(
            401,
            20106,
            "Invalid Access Token grants: data_sync.service_sid is required",
        ));
    };
    let service = service.to_string();
    let sync = lock(&s.sync);
    let svc = sync.service(&service).map_err(|_| {
        ApiError::new(
            401,
            20106,
            format!("Invalid Access Token grants: Sync service {service} does not exist"),
        )
    })?;
    if svc.account != claims.sub {
        return Err(ApiError::new(401, 20103, format!("Invalid Access Token issuer/subject: service {service} belongs to account {}, but the token's sub is {}", svc.account, claims.sub)));
    }
    let identity = claims.grants.identity.clone();
    let endpoint = endpoint.unwrap_or_else(|| format!("{identity}:{}", claims.jti));
    Ok((service, identity, endpoint, claims.exp))
}

/// `GET /v3/wsconnect`.
pub async fn ws(
    State(s): State<Arc<Shared>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return ApiError::new(400, 20001, "This endpoint expects a WebSocket upgrade")
            .into_response();
    };
    upgrade
        .max_message_size(twilsock::MAX_FRAME_LEN)
        .max_frame_size(twilsock::MAX_FRAME_LEN)
        .on_upgrade(move |socket| run(s, socket))
}

async fn run(s: Arc<Shared>, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::channel(SOCKET_QUEUE);
    let handle = SocketHandle {
        id: s.next_id(),
        tx,
    };
    let mut session: Option<Session> = None;
    let ping_every = Duration::from_millis(s.config.twilsock_ping_ms.max(100));
    let mut last_ping = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut alive = true;
    while alive {
        let out: Vec<Vec<u8>> = tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(SocketCmd::Binary(b)) => vec![b],
                Some(SocketCmd::Text(_)) => vec![],
                Some(SocketCmd::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(axum::extract::ws::CloseFrame { code, reason: reason.into() }))).await;
                    alive = false;
                    vec![]
                }
                None => { alive = false; vec![] }
            },
            _ = tick.tick() => {
                let mut out = Vec::new();
                if let Some(sess) = session.as_mut() {
                    let now = s.now().secs();
                    if now >= sess.exp || lock(&s.accounts).is_expired(&sess.token, "") {
                        let mut h = header("close", &format!("TM{:032x}", s.next_id()));
                        h.insert("status".into(), json!({"code": 410, "status": "TOKEN_EXPIRED", "description": "Token expired", "errorCode": 51207}));
                        out.push(frame(h, &Value::Null));
                        alive = false;
                    } else if !sess.warned && sess.exp.saturating_sub(now) <= ABOUT_TO_EXPIRE_SECS {
                        sess.warned = true;
                        let mut h = header("client_update", &format!("TM{:032x}", s.next_id()));
                        h.insert("client_update_type".into(), "token_about_to_expire".into());
                        h.insert("client_update_message".into(), format!("Your token is about to expire. Time left: less than {} ms", ABOUT_TO_EXPIRE_SECS * 1000).into());
                        out.push(frame(h, &Value::Null));
                    } else if last_ping.elapsed() >= ping_every {
                        last_ping = Instant::now();
                        out.push(frame(header("ping", &format!("TM{:032x}", s.next_id())), &Value::Null));
                    }
                }
                out
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Binary(b))) => {
                    let (frames, keep) = handle_frame(&s, &handle, &mut session, &b);
                    alive = keep;
                    frames
                }
                Some(Ok(Message::Text(_))) => vec![],
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => { alive = false; vec![] }
                Some(Ok(_)) => vec![],
            },
        };
        for f in out {
            if sink.send(Message::Binary(f.into())).await.is_err() {
                alive = false;
                break;
            }
        }
    }
    let _ = sink.close().await;
    s.unregister_socket(handle.id);
    if let Some(sess) = session {
        lock(&s.twilsock_conns).remove(&sess.conn);
        let effects = {
            let mut sync = lock(&s.sync);
            sync.conn_closed(sess.conn);
            sync.reachability(
                &sess.service,
                &sess.identity,
                &sess.endpoint,
                false,
                s.now(),
            );
            sync.drain_effects()
        };
        dispatch_sync(&s, effects);
        s.log(
            "twilsock.close",
            json!({"conn": sess.conn, "identity": sess.identity}),
        );
    }
}

/// Handles one client frame; returns frames to send and whether the socket stays open.
fn handle_frame(
    s: &Arc<Shared>,
    handle: &SocketHandle,
    session: &mut Option<Session>,
    bytes: &[u8],
) -> (Vec<Vec<u8>>, bool) {
    let Ok(f) = twilsock::decode(bytes) else {
        let mut h = header("close", &format!("TM{:032x}", s.next_id()));
        h.insert("status".into(), json!({"code": 406, "status": "NOT_ACCEPTABLE", "description": "Cannot parse the frame"}));
        return (vec![frame(h, &Value::Null)], false);
    };
    let id = f.id().to_owned();
    match f.method() {
        "init" => {
            let token = f.header.get("token").and_then(Value::as_str).unwrap_or("");
            match authorize(s, token) {
                Ok((service, identity, endpoint, exp)) => {
                    let conn = handle.id;
                    lock(&s.twilsock_conns).insert(conn, handle.clone());
                    s.register_socket("twilsock", &identity, handle.clone());
                    let mut h = reply(&id, 200, "OK", None);
                    h.insert(
                        "capabilities".into(),
                        json!(["client_update", "offline_storage", "telemetry.v1"]),
                    );
                    h.insert("continuation_token".into(), format!("CT{conn:032x}").into());
                    h.insert("continuation_token_status".into(), json!({"reissued": true, "reissue_reason": "MISSING", "reissue_message": "Continuation token is not provided"}));
                    h.insert(
                        "offline_storage".into(),
                        json!({"data_sync": {"storage_id": format!("SS{conn:032x}")}}),
                    );
                    let regs: Vec<Value> = f.header.get("registrations").and_then(Value::as_array).map(|r| r.iter().map(|x| json!({"notification_ctx_id": format!("ctx-{conn}"), "type": x.get("type"), "product": x.get("product"), "message_types": x.get("message_types")})).collect()).unwrap_or_default();
                    h.insert("init_registrations".into(), Value::Array(regs));
                    let account = lock(&s.sync)
                        .service(&service)
                        .map(|x| x.account.to_string())
                        .unwrap_or_default();
                    h.insert("account_descriptor".into(), json!({"account_sid": account, "instance_sids": {"data_sync": service}, "identity": identity}));
                    let effects = {
                        let mut sync = lock(&s.sync);
                        sync.reachability(&service, &identity, &endpoint, true, s.now());
                        sync.drain_effects()
                    };
                    dispatch_sync(s, effects);
                    s.log("twilsock.open", json!({"conn": conn, "identity": identity}));
                    *session = Some(Session {
                        conn,
                        service,
                        identity,
                        endpoint,
                        token: token.to_owned(),
                        exp,
                        warned: false,
                    });
                    (vec![frame(h, &Value::Null)], true)
                }
                Err(e) => {
                    s.log(
                        "twilsock.refused",
                        json!({"code": e.code, "message": e.message}),
                    );
                    (
                        vec![frame(
                            reply(&id, 401, "UNAUTHORIZED", Some((&e.message, e.code))),
                            &Value::Null,
                        )],
                        false,
                    )
                }
            }
        }
        "update" => {
            let token = f.header.get("token").and_then(Value::as_str).unwrap_or("");
            let Some(sess) = session.as_mut() else {
                return (
                    vec![frame(
                        reply(&id, 400, "BAD_REQUEST", Some(("update before init", 51101))),
                        &Value::Null,
                    )],
                    false,
                );
            };
            match authorize(s, token) {
                Ok((service, identity, _, exp))
                    if service == sess.service && identity == sess.identity =>
                {
                    sess.token = token.to_owned();
                    sess.exp = exp;
                    sess.warned = false;
                    (vec![frame(reply(&id, 200, "OK", None), &Value::Null)], true)
                }
                Ok(_) => {
                    let mut h = header("close", &format!("TM{:032x}", s.next_id()));
                    h.insert("status".into(), json!({"code": 308, "status": "UPDATE_IS_FORBIDDEN", "description": "Token from update is unauthorised or different from initial", "errorCode": 51232}));
                    (
                        vec![
                            frame(
                                reply(
                                    &id,
                                    403,
                                    "FORBIDDEN",
                                    Some(("different identity or service", 51232)),
                                ),
                                &Value::Null,
                            ),
                            frame(h, &Value::Null),
                        ],
                        false,
                    )
                }
                Err(e) => (
                    vec![frame(
                        reply(&id, 401, "UNAUTHORIZED", Some((&e.message, e.code))),
                        &Value::Null,
                    )],
                    true,
                ),
            }
        }
        "message" => {
            let Some(sess) = session.as_ref() else {
                return (
                    vec![frame(
                        reply(
                            &id,
                            400,
                            "BAD_REQUEST",
                            Some(("message before init", 51101)),
                        ),
                        &Value::Null,
                    )],
                    false,
                );
            };
            let req = f.header.get("http_request").cloned().unwrap_or(Value::Null);
            let method = req
                .get("method")
                .and_then(Value::as_str)
                .unwrap_or("GET")
                .to_ascii_uppercase();
            let full_path = req.get("path").and_then(Value::as_str).unwrap_or("/");
            let path = full_path.split('?').next().unwrap_or("/");
            let params = req.get("params").cloned().unwrap_or(Value::Null);
            let if_match = req
                .get("headers")
                .and_then(|h| h.get("If-Match").or_else(|| h.get("if-match")))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_owned),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
            let body = f.payload_json();
            let now = s.now();
            let (result, effects) = {
                let mut sync = lock(&s.sync);
                let r = cds::route(
                    &mut sync,
                    &CdsRequest {
                        conn: sess.conn,
                        service: &sess.service,
                        identity: &sess.identity,
                        method: &method,
                        path,
                        params: &params,
                        if_match: if_match.as_deref(),
                        body: &body,
                    },
                    now,
                );
                (r, sync.drain_effects())
            };
            let (code, body) = match result {
                Ok((code, body)) => (code, body),
                Err(e) => (e.status, e.body_json()),
            };
            let mut h = reply(&id, 200, "OK", None);
            h.insert("payload_type".into(), "application/json".into());
            h.insert(
                "http_status".into(),
                json!({"code": code, "status": reason(code)}),
            );
            h.insert(
                "http_headers".into(),
                json!({"content-type": "application/json"}),
            );
            // The reply goes out before the notifications it caused (subscription_established after its 202).
            let reply_frame = frame(h, &body);
            let me = s.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                dispatch_sync(&me, effects);
            });
            (vec![reply_frame], true)
        }
        "close" => (vec![], false),
        "reply" | "telemetry.v1" => (vec![], true),
        "ping" => (vec![frame(reply(&id, 200, "OK", None), &Value::Null)], true),
        _ => (
            vec![frame(
                reply(&id, 400, "BAD_REQUEST", Some(("unknown method", 51101))),
                &Value::Null,
            )],
            true,
        ),
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        _ => "Error",
    }
}

/// Sends Sync effects: notifications to twilsock connections, webhooks over HTTP.
pub fn dispatch_sync(s: &Arc<Shared>, effects: Vec<SyncEffect>) {
    for e in effects {
        match e {
            SyncEffect::Notify {
                conn,
                message_type,
                body,
            } => {
                let Some(h) = lock(&s.twilsock_conns).get(&conn).cloned() else {
                    continue;
                };
                let mut hdr = header("notification", &format!("TM{:032x}", s.next_id()));
                hdr.insert("message_type".into(), message_type.into());
                hdr.insert("notification_ctx_id".into(), "".into());
                hdr.insert("payload_type".into(), "application/json".into());
                s.log(
                    "twilsock.notify",
                    json!({"conn": conn, "event_type": body.get("event_type")}),
                );
                if h.tx.try_send(SocketCmd::Binary(frame(hdr, &body))).is_err() {
                    let _ =
                        h.tx.try_send(SocketCmd::Close(1011, "send queue full".into()));
                }
            }
            SyncEffect::Webhook {
                account,
                url,
                params,
            } => {
                s.dispatch(vec![crate::taskrouter::Effect::Webhook(
                    crate::taskrouter::Webhook {
                        account,
                        url,
                        params,
                        kind: crate::taskrouter::WebhookKind::Event,
                    },
                )]);
            }
        }
    }
}
