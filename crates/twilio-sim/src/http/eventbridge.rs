//! EventBridge for the `twilio-taskrouter` Worker SDK: the `GET /v1/wschannels` WebSocket (server push only)
//! and the `POST /v1/wschannels` REST proxy (`{url, method, params, token}` + `apiVersion` header).
//!
//! Socket contract (specs/taskrouter-protocol.md §3, §11): verify the token from the query; on success send exactly
//! one `init` (`token_lifetime` = ms until `exp`), then pushes and a `"\n"` keepalive every `heartbeat_ms`. A bad
//! token is accepted, told why in an `error` frame (`{"code": 20104, …}`, which the SDK surfaces as worker
//! `error`), and closed with `"<code> <message>"` as the reason. `closeExistingSessions=true` closes the worker's
//! other sockets (4409). A token that expires (or is force-expired) while open gets the same error + close.
//! When the last socket of a worker goes, the engine starts the disconnect grace period unless
//! `setWorkerOfflineIfDisconnected=false`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tsunagi_twilio::eventbridge::{
    self as eb, Frame, InitPayload, Page, ProxyRequest, ProxyResponse,
};
use tsunagi_twilio::sid::{AccountSid, WorkerSid, WorkspaceSid};

use crate::error::ApiError;
use crate::params::Params;
use crate::shared::{lock, Shared, SocketCmd, SocketHandle, SOCKET_QUEUE};

/// Largest message accepted from a worker socket (the SDK sends none).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Who a verified token says the socket or request is.
#[derive(Debug, Clone)]
struct Identity {
    account: AccountSid,
    workspace: WorkspaceSid,
    worker: WorkerSid,
    role: String,
    jti: String,
    exp: u64,
}

fn authorize(s: &Shared, token: &str) -> Result<Identity, ApiError> {
    let now = s.now();
    let claims = lock(&s.accounts).verify_token(token, now.secs())?;
    let grant = claims.grants.task_router.as_ref();
    let (Some(workspace), Some(worker)) = (
        grant.and_then(|g| g.workspace_sid),
        grant.and_then(|g| g.worker_sid),
    ) else {
        return Err(ApiError::new(
            403,
            20106,
            "Invalid Access Token grants: task_router.workspace_sid and worker_sid are required",
        ));
    };
    let tr = lock(&s.tr);
    let ws = tr.workspace(workspace.as_str()).map_err(|_| {
        ApiError::new(
            403,
            20106,
            format!("Invalid Access Token grants: workspace {workspace} does not exist"),
        )
    })?;
    if ws.account != claims.sub {
        return Err(ApiError::new(
            403,
            20103,
            format!("Invalid Access Token issuer/subject: workspace {workspace} belongs to account {}, but the token's sub is {}", ws.account, claims.sub),
        ));
    }
    tr.worker(&workspace, worker.as_str()).map_err(|_| {
        ApiError::new(
            403,
            20106,
            format!("Invalid Access Token grants: worker {worker} does not exist in {workspace}"),
        )
    })?;
    Ok(Identity {
        account: claims.sub,
        workspace,
        worker,
        role: grant
            .and_then(|g| g.role.clone())
            .unwrap_or_else(|| "worker".into()),
        jti: claims.jti.clone(),
        exp: claims.exp,
    })
}

fn close_reason(e: &ApiError) -> String {
    let mut r = format!("{} {}", e.code, e.message);
    while r.len() > 123 {
        r.pop();
    }
    r
}

/// `GET /v1/wschannels?token=…&closeExistingSessions=…&clientVersion=…[&setWorkerOfflineIfDisconnected=…]`.
pub async fn ws(
    State(s): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return ApiError::new(400, 20001, "This endpoint expects a WebSocket upgrade")
            .into_response();
    };
    let q = Params::from_form(q.as_deref().unwrap_or("").as_bytes());
    upgrade
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| session(s, q, socket))
}

async fn session(s: Arc<Shared>, q: Params, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let token = q.str("token").unwrap_or_default();
    let close_existing = q.str("closeExistingSessions").as_deref() == Some("true");
    let offline_if_disconnected =
        q.str("setWorkerOfflineIfDisconnected").as_deref() != Some("false");
    let id = match authorize(&s, &token) {
        Ok(id) => id,
        Err(e) => {
            s.log(
                "eventbridge.refused",
                json!({"code": e.code, "message": e.message}),
            );
            let frame = Frame {
                event_type: "error".into(),
                payload: e.body_json(),
            };
            let _ = sink.send(Message::Text(frame.to_text().into())).await;
            let _ = sink
                .send(Message::Close(Some(CloseFrame {
                    code: 4000 + e.status % 1000,
                    reason: close_reason(&e).into(),
                })))
                .await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::channel(SOCKET_QUEUE);
    let handle = SocketHandle {
        id: s.next_id(),
        tx,
    };
    if close_existing {
        let others = lock(&s.eb_sockets).remove(&id.worker).unwrap_or_default();
        for o in others {
            let _ =
                o.tx.try_send(SocketCmd::Close(4409, "closeExistingSessions".into()));
        }
    }
    lock(&s.eb_sockets)
        .entry(id.worker)
        .or_default()
        .push(handle.clone());
    s.register_socket("eventbridge", id.worker.as_str(), handle.clone());
    s.with_tr(|tr, _| tr.socket_opened(&id.worker));
    s.log("eventbridge.open", json!({"socket": handle.id, "worker": id.worker.to_string(), "closeExistingSessions": close_existing, "clientVersion": q.str("clientVersion")}));
    let now = s.now();
    let init = InitPayload {
        account_sid: id.account.to_string(),
        workspace_sid: id.workspace.to_string(),
        channel_id: id.worker.to_string(),
        token_lifetime: (id.exp as i64)
            .saturating_mul(1000)
            .saturating_sub(now.0 as i64),
    };
    let mut alive = sink
        .send(Message::Text(Frame::new("init", &init).to_text().into()))
        .await
        .is_ok();
    let heartbeat = Duration::from_millis(s.config.heartbeat_ms.max(100));
    let mut last_beat = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut close_code = None;
    while alive {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(SocketCmd::Text(t)) => alive = sink.send(Message::Text(t.into())).await.is_ok(),
                Some(SocketCmd::Binary(b)) => alive = sink.send(Message::Binary(b.into())).await.is_ok(),
                Some(SocketCmd::Close(code, reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.clone().into() }))).await;
                    close_code = Some((code, reason));
                    alive = false;
                }
                None => alive = false,
            },
            _ = tick.tick() => {
                let expired = s.now().secs() >= id.exp || lock(&s.accounts).is_expired(&token, &id.jti);
                if expired {
                    let e = ApiError::new(401, 20104, "Access Token expired or expiration date invalid");
                    let frame = Frame { event_type: "error".into(), payload: e.body_json() };
                    let _ = sink.send(Message::Text(frame.to_text().into())).await;
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 4401, reason: close_reason(&e).into() }))).await;
                    close_code = Some((4401, "token expired".into()));
                    alive = false;
                } else if last_beat.elapsed() >= heartbeat {
                    last_beat = Instant::now();
                    alive = sink.send(Message::Text(eb::KEEPALIVE.into())).await.is_ok();
                }
            },
            msg = stream.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => alive = false,
                Some(Ok(_)) => {}
            },
        }
    }
    if let Some(v) = lock(&s.eb_sockets).get_mut(&id.worker) {
        v.retain(|h| h.id != handle.id);
    }
    s.unregister_socket(handle.id);
    s.with_tr(|tr, now| tr.socket_closed(&id.worker, offline_if_disconnected, now));
    s.log("eventbridge.close", json!({"socket": handle.id, "worker": id.worker.to_string(), "server_close": close_code.map(|(c, r)| json!({"code": c, "reason": r}))}));
}

fn cors(mut r: Response) -> Response {
    r.headers_mut()
        .insert("access-control-allow-origin", HeaderValue::from_static("*"));
    r
}

/// `OPTIONS /v1/wschannels` (browser preflight for `apiVersion`/`clientVersion`/`If-Match`).
pub async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Content-Type, apiVersion, clientVersion, If-Match"),
    );
    r
}

/// `POST /v1/wschannels`: the SDK's REST proxy. The body is JSON whatever `Content-Type` says.
pub async fn proxy(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(e) = super::rest::faults(&s).await {
        return cors(e.into_response());
    }
    let result = (|| {
        let req: ProxyRequest = serde_json::from_slice(&body)
            .map_err(|_| ApiError::invalid("Body must be JSON {url, method, params, token}"))?;
        let id = authorize(&s, &req.token)?;
        let api = headers
            .get("apiversion")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("v1")
            .to_owned();
        let if_match = headers
            .get("if-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        route(&s, &id, &req, &api, if_match.as_deref())
    })();
    cors(match result {
        Ok(payload) => Json(ProxyResponse {
            event_type: None,
            payload,
        })
        .into_response(),
        Err(e) => e.into_response(),
    })
}

fn to_value(v: &impl serde::Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn route(
    s: &Arc<Shared>,
    id: &Identity,
    req: &ProxyRequest,
    api: &str,
    if_match: Option<&str>,
) -> Result<Value, ApiError> {
    let segs: Vec<&str> = req
        .url
        .trim_matches('/')
        .split('/')
        .filter(|x| !x.is_empty())
        .collect();
    let p = Params::from_json(req.params.clone());
    let ws = id.workspace;
    match segs.as_slice() {
        ["Workspaces", w, ..] if *w == ws.as_str() => {}
        _ => {
            return Err(ApiError::new(
                403,
                20403,
                format!("The token does not grant access to /{}", req.url),
            ))
        }
    }
    let method = req.method.to_ascii_uppercase();
    let own = |wk: &str| wk == id.worker.as_str() || id.role != "worker";
    let now = s.now();
    match (method.as_str(), &segs[2..]) {
        ("GET", ["Workers", wk]) => {
            let tr = lock(&s.tr);
            Ok(to_value(&tr.worker_eb(tr.worker(&ws, wk)?)))
        }
        ("POST", ["Workers", wk]) if own(wk) => {
            // Supervisor.setWorker* sends the supervisor's own version as If-Match (SDK bug, spec P15): ignore it there.
            let im = if *wk == id.worker.as_str() {
                if_match
            } else {
                None
            };
            let sid = s.with_tr(|tr, now| tr.update_worker(&ws, wk, &p, im, now))?;
            let tr = lock(&s.tr);
            Ok(to_value(&tr.worker_eb(tr.worker(&ws, sid.as_str())?)))
        }
        ("GET", ["Workers"]) => {
            let tr = lock(&s.tr);
            let items: Vec<eb::Worker> = tr.workers_of(&ws).map(|w| tr.worker_eb(w)).collect();
            Ok(to_value(&Page::single(items)))
        }
        ("GET", ["Activities"]) => {
            let tr = lock(&s.tr);
            let items: Vec<eb::Activity> = tr
                .activities_of(&ws)
                .map(|a| a.to_eb(&id.account))
                .collect();
            Ok(to_value(&Page::single(items)))
        }
        ("GET", ["Workers", wk, "WorkerChannels"]) | ("GET", ["Workers", wk, "Channels"]) => {
            let tr = lock(&s.tr);
            let w = tr.worker(&ws, wk)?;
            Ok(to_value(&Page::single(vec![tr.channel_eb(w)])))
        }
        ("GET", ["Workers", wk, "Reservations"]) => {
            let tr = lock(&s.tr);
            let w = tr.worker(&ws, wk)?.sid;
            let active_only = p.str("Active").as_deref() == Some("true") || api == "v2";
            let items: Vec<eb::Reservation> = tr
                .reservations_of(&ws)
                .filter(|r| r.worker == w && (!active_only || r.status.is_active()))
                .filter(|r| tr.tasks.contains_key(&r.task))
                .map(|r| tr.reservation_eb(r, true, now))
                .collect();
            Ok(to_value(&Page::single(items)))
        }
        ("GET", ["Workers", wk, "Reservations", r]) => {
            let tr = lock(&s.tr);
            let res = tr.reservation(&ws, r)?;
            if res.worker.as_str() != *wk {
                return Err(ApiError::not_found(format!("/{}", req.url)));
            }
            Ok(to_value(&tr.reservation_eb(res, true, now)))
        }
        ("POST", ["Workers", wk, "Reservations", r]) if own(wk) => {
            let sid =
                s.with_tr(|tr, now| tr.update_reservation(&ws, r, Some(wk), &p, if_match, now))?;
            let tr = lock(&s.tr);
            Ok(to_value(&tr.reservation_eb(
                tr.reservation(&ws, sid.as_str())?,
                false,
                now,
            )))
        }
        ("POST", ["Tasks", t, "Reservations", r]) => {
            if lock(&s.tr).reservation(&ws, r)?.task.as_str() != *t {
                return Err(ApiError::not_found(format!("/{}", req.url)));
            }
            let sid =
                s.with_tr(|tr, now| tr.update_reservation(&ws, r, None, &p, if_match, now))?;
            let tr = lock(&s.tr);
            Ok(to_value(&tr.reservation_eb(
                tr.reservation(&ws, sid.as_str())?,
                false,
                now,
            )))
        }
        ("GET", ["Tasks", t]) => {
            let tr = lock(&s.tr);
            Ok(to_value(&tr.task_eb(tr.task(&ws, t)?, now)))
        }
        ("POST", ["Tasks", t]) => {
            let holds = {
                let tr = lock(&s.tr);
                let task = tr.task(&ws, t)?.sid;
                id.role != "worker"
                    || tr
                        .reservations_of(&ws)
                        .any(|r| r.task == task && r.worker == id.worker)
            };
            if !holds {
                return Err(ApiError::new(
                    403,
                    20403,
                    format!("Worker {} holds no reservation for Task {t}", id.worker),
                ));
            }
            let sid = s.with_tr(|tr, now| tr.update_task(&ws, t, &p, if_match, now))?;
            let tr = lock(&s.tr);
            Ok(to_value(&tr.task_eb(tr.task(&ws, sid.as_str())?, now)))
        }
        ("POST", ["Tasks"]) => {
            let sid = s.with_tr(|tr, now| tr.create_task(&ws, &p, now))?;
            let tr = lock(&s.tr);
            Ok(to_value(&tr.task_eb(tr.task(&ws, sid.as_str())?, now)))
        }
        ("GET", ["TaskQueues"]) | ("GET", ["TaskQueues", _]) => {
            let tr = lock(&s.tr);
            let eb_queue = |q: &crate::taskrouter::model::Queue| {
                json!({
                    "friendly_name": q.name, "reservation_activity_name": q.reservation_activity.and_then(|a| tr.activities.get(&a)).map(|a| a.name.clone()),
                    "assignment_activity_name": q.assignment_activity.and_then(|a| tr.activities.get(&a)).map(|a| a.name.clone()),
                    "target_workers": q.target_workers, "max_reserved_workers": 1, "task_order": "FIFO",
                    "reservation_activity_sid": q.reservation_activity.map(|a| a.to_string()), "assignment_activity_sid": q.assignment_activity.map(|a| a.to_string()),
                    "workspace_sid": ws.to_string(), "account_sid": id.account.to_string(), "sid": q.sid.to_string(),
                    "date_created": q.created.secs(), "date_updated": q.updated.secs(), "lifo_queue": false,
                })
            };
            match segs.get(3) {
                Some(q) => Ok(eb_queue(tr.queue(&ws, q)?)),
                None => Ok(to_value(&Page::single(
                    tr.queues_of(&ws).map(eb_queue).collect::<Vec<_>>(),
                ))),
            }
        }
        ("POST", ["Workers", ..]) => Err(ApiError::new(
            403,
            20403,
            "A worker token may only change its own worker",
        )),
        _ => Err(ApiError::not_found(format!("/{api}/{}", req.url))),
    }
}
