//! The companion server's agent push (`GET /v1/events`, backend spec §4.6) and its resync reading
//! (`GET /v1/agents/me/active-call`).
//!
//! The socket authenticates with the agent's session (bearer) and `X-Client-Version`; a `426
//! CLIENT_UPGRADE_REQUIRED` answer to the upgrade becomes [`Input::UpgradeRequired`] and a close that never
//! retries. The server sends nothing on connect, so an accepted upgrade is "ready"; its 25 s pings feed the
//! heartbeat. `call.context` pushes become [`Input::CallContext`], `roster` pushes (supervisors) [`Input::Roster`],
//! `transfer.connected` / `.completed` / `.failed` [`Input::Transfer`], `outbound.dialing` / `.connected`
//! [`Input::Outbound`];
//! the resync reading carries the routed call and the agent's outbound attempt (`outbound`: what those pushes
//! missed while the socket was down); `{"type":"resync"}` (the server dropped
//! events for a slow socket) asks for the same reading as a reconnect. Other event types are for other parts
//! of the app and are skipped here.

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

use super::auth::ServerSession;
use super::SocketNews;
use crate::api::SocketKind;
use crate::api::{AttemptId, OutgoingStage, TransferFailure, TransferStage};
use crate::context::CallContext;
use crate::input::{CloseReason, ConnId, Input, OutboundNews, OutboundState, TransferNews};
use tsunagi_twilio::TaskSid;

/// Largest push accepted (the server's own limit is 16 KiB).
const MAX_TEXT: usize = 64 * 1024;

/// Where the server's push lives and who the agent is.
#[derive(Clone, Debug)]
pub struct EventsConfig {
    /// The agent's session at the server (base URL, bearer renewed on 401, `X-Client-Version`).
    pub session: ServerSession,
}

impl EventsConfig {
    fn ws_url(&self) -> String {
        ws_url(self.session.base_url())
    }
}

/// `https://h` → `wss://h/v1/events` (`http` → `ws`).
fn ws_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    let ws = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{ws}/v1/events")
}

/// `min_supported` from a 426 body.
fn min_supported(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(body)
        .ok()?
        .get("min_supported")?
        .as_str()
        .map(str::to_owned)
}

/// What one push means for the session.
#[derive(Debug, PartialEq)]
pub(crate) enum Push {
    Input(Box<Input>),
    Resync,
    Skip,
}

/// Reads one text push.
pub(crate) fn read_push(text: &str) -> Push {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Push::Skip;
    };
    match v.get("type").and_then(Value::as_str) {
        Some("call.context") => CallContext::from_json(&v).map_or(Push::Skip, |c| {
            Push::Input(Box::new(Input::CallContext(Box::new(c))))
        }),
        Some("roster") => v
            .get("agents")
            .cloned()
            .and_then(|a| serde_json::from_value(a).ok())
            .map_or(Push::Skip, |agents| {
                Push::Input(Box::new(Input::Roster(agents)))
            }),
        Some(kind @ ("transfer.connected" | "transfer.completed" | "transfer.failed")) => {
            transfer_news(kind, &v)
                .map_or(Push::Skip, |n| Push::Input(Box::new(Input::Transfer(n))))
        }
        Some(kind @ ("outbound.dialing" | "outbound.connected")) => {
            let stage = if kind == "outbound.connected" {
                OutgoingStage::Answered
            } else {
                OutgoingStage::Ringing
            };
            v.get("attempt")
                .and_then(Value::as_str)
                .and_then(AttemptId::parse)
                .map_or(Push::Skip, |attempt| {
                    Push::Input(Box::new(Input::Outbound(OutboundNews { attempt, stage })))
                })
        }
        Some("resync") => Push::Resync,
        _ => Push::Skip,
    }
}

/// A `transfer.*` push: its task and, for a failure, why.
fn transfer_news(kind: &str, v: &Value) -> Option<TransferNews> {
    let task = TaskSid::parse(v.get("task_sid")?.as_str()?).ok()?;
    let (stage, reason) = match kind {
        "transfer.connected" => (TransferStage::Connected, None),
        "transfer.completed" => (TransferStage::Completed, None),
        _ => {
            let reason = v.get("reason").and_then(Value::as_str).unwrap_or("");
            (
                TransferStage::Failed,
                Some(TransferFailure::from_server(reason)),
            )
        }
    };
    Some(TransferNews {
        task,
        stage,
        reason,
    })
}

/// Runs one socket attempt until it closes; every report is tagged with `conn`.
pub(crate) async fn socket(
    cfg: EventsConfig,
    conn: ConnId,
    tx: mpsc::UnboundedSender<(SocketKind, ConnId, SocketNews)>,
) {
    let send = |news| tx.send((SocketKind::Events, conn, news)).is_ok();
    let reason = attempt(&cfg, &send).await;
    send(SocketNews::Closed(reason));
}

async fn attempt(cfg: &EventsConfig, send: &impl Fn(SocketNews) -> bool) -> CloseReason {
    let Ok(mut request) = cfg.ws_url().into_client_request() else {
        tracing::warn!("server events URL is invalid");
        return CloseReason::Lost;
    };
    let token = cfg.session.fresh().await;
    let headers = request.headers_mut();
    let (Ok(auth), Ok(version)) = (
        HeaderValue::from_str(&format!("Bearer {}", token.expose())),
        HeaderValue::from_str(cfg.session.client_version()),
    ) else {
        return CloseReason::Unauthorized;
    };
    headers.insert("authorization", auth);
    headers.insert("x-client-version", version);
    let mut stream = match tokio_tungstenite::connect_async(request).await {
        Ok((s, _)) => s,
        Err(tungstenite::Error::Http(resp)) => {
            return match resp.status().as_u16() {
                426 => {
                    let min = resp.body().as_deref().and_then(min_supported);
                    send(SocketNews::Input(Box::new(Input::UpgradeRequired {
                        min_supported: min,
                    })));
                    CloseReason::UpdateRequired
                }
                401 | 403 => {
                    // The session token was refused: renew it (single-flight) so the retry carries the new one.
                    cfg.session.renew_after_401(&token).await;
                    CloseReason::Unauthorized
                }
                _ => CloseReason::Lost,
            };
        }
        Err(e) => {
            tracing::debug!(error = %e, "server events connect failed");
            return CloseReason::Lost;
        }
    };
    if !send(SocketNews::Opened) || !send(SocketNews::Ready) {
        return CloseReason::Lost;
    }
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(Message::Text(text)) => {
                if !send(SocketNews::Frame) {
                    return CloseReason::Lost;
                }
                if text.len() > MAX_TEXT {
                    tracing::warn!(len = text.len(), "server push too long; dropped");
                    continue;
                }
                let ok = match read_push(&text) {
                    Push::Input(input) => send(SocketNews::Input(input)),
                    Push::Resync => send(SocketNews::Resync),
                    Push::Skip => true,
                };
                if !ok {
                    return CloseReason::Lost;
                }
            }
            Ok(Message::Close(_)) => return CloseReason::Lost,
            Ok(_) => {
                // Pings (answered by tungstenite) and pongs keep the heartbeat.
                if !send(SocketNews::Frame) {
                    return CloseReason::Lost;
                }
            }
            Err(e) => {
                tracing::debug!(error = %e, "server events socket error");
                return CloseReason::Lost;
            }
        }
    }
    CloseReason::Lost
}

/// The outcome of `GET /v1/agents/me/active-call`.
#[derive(Debug, PartialEq)]
pub(crate) enum ActiveCall {
    /// What the server knows: the agent's routed call and outbound attempt (200; either may be absent).
    Snapshot {
        call: Option<Box<CallContext>>,
        outbound: Option<(AttemptId, OutboundState)>,
    },
    /// Neither (204).
    None,
    /// 426.
    UpgradeRequired(Option<String>),
    /// Anything else.
    Failed,
}

/// Reads a 200 snapshot: the routed call's fields (when it has a `task_sid`) and `outbound`. A part that is
/// malformed is left out; a body with neither is a failure.
fn read_snapshot(body: &[u8]) -> ActiveCall {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return ActiveCall::Failed;
    };
    let call = CallContext::from_json(&v).map(Box::new);
    let outbound = v.get("outbound").and_then(|o| {
        let attempt = AttemptId::parse(o.get("attempt")?.as_str()?)?;
        Some((
            attempt,
            OutboundState::from_server(o.get("status")?.as_str()?)?,
        ))
    });
    if call.is_none() && outbound.is_none() {
        return ActiveCall::Failed;
    }
    ActiveCall::Snapshot { call, outbound }
}

/// Reads the agent's active call.
pub(crate) async fn active_call(cfg: &EventsConfig) -> ActiveCall {
    let sent = cfg
        .session
        .send(|http, base| http.get(format!("{base}/v1/agents/me/active-call")))
        .await;
    let Ok(resp) = sent else {
        return ActiveCall::Failed;
    };
    let status = resp.status().as_u16();
    let body = match resp.bytes().await {
        Ok(b) if b.len() <= MAX_TEXT => b,
        _ => return ActiveCall::Failed,
    };
    match status {
        204 => ActiveCall::None,
        200 => read_snapshot(&body),
        426 => ActiveCall::UpgradeRequired(min_supported(&body)),
        _ => ActiveCall::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushes_map_to_inputs() {
        let ctx =
            r#"{"type":"call.context","task_sid":"WT00000000000000000000000000000001","seq":3}"#;
        assert!(matches!(read_push(ctx), Push::Input(i) if matches!(*i, Input::CallContext(_))));
        assert_eq!(read_push(r#"{"type":"resync"}"#), Push::Resync);
        let roster = r#"{"type":"roster","agents":[{"agent_id":"a1","display_name":"田中","department_id":null,"activity":"Available","since_ms":5}]}"#;
        assert!(
            matches!(read_push(roster), Push::Input(i) if matches!(&*i, Input::Roster(a) if a.len() == 1 && a[0].display_name == "田中"))
        );
        // The roster's optional `on_call` (absent from older servers, `null` when not on a call).
        let on_call = r#"{"type":"roster","agents":[
            {"agent_id":"a1","display_name":"田中","activity":"Available","since_ms":5,"on_call":{"direction":"inbound","task_sid":"WT00000000000000000000000000000001"}},
            {"agent_id":"a2","display_name":"佐藤","activity":"Available","since_ms":5,"on_call":{"direction":"outbound","task_sid":null}},
            {"agent_id":"a3","display_name":"鈴木","activity":"Break","since_ms":5,"on_call":null},
            {"agent_id":"a4","display_name":"高橋","activity":"Break","since_ms":5}]}"#;
        let Push::Input(i) = read_push(on_call) else {
            panic!("roster with on_call skipped")
        };
        let Input::Roster(agents) = *i else {
            panic!("not a roster")
        };
        let calls: Vec<_> = agents
            .iter()
            .map(|a| a.on_call.as_ref().map(|c| (c.direction, c.task_sid)))
            .collect();
        assert_eq!(
            calls,
            [
                Some((
                    crate::api::CallDirection::Inbound,
                    TaskSid::parse("WT00000000000000000000000000000001").ok()
                )),
                Some((crate::api::CallDirection::Outbound, None)),
                None,
                None
            ]
        );
        let json = serde_json::to_value(&agents[0]).unwrap();
        assert_eq!(json["onCall"]["direction"], "inbound");
        assert_eq!(
            json["onCall"]["taskSid"],
            "WT00000000000000000000000000000001"
        );
        assert!(serde_json::to_value(&agents[2])
            .unwrap()
            .get("onCall")
            .is_none());
        let failed = r#"{"type":"transfer.failed","task_sid":"WT00000000000000000000000000000001","transfer_id":"t","reason":"no-answer","seq":4}"#;
        assert!(
            matches!(read_push(failed), Push::Input(i) if matches!(*i, Input::Transfer(TransferNews { stage: TransferStage::Failed, reason: Some(TransferFailure::NoAnswer), .. })))
        );
        let connected = r#"{"type":"transfer.connected","task_sid":"WT00000000000000000000000000000001","transfer_id":"t"}"#;
        assert!(
            matches!(read_push(connected), Push::Input(i) if matches!(*i, Input::Transfer(TransferNews { stage: TransferStage::Connected, reason: None, .. })))
        );
        let answered = r#"{"type":"outbound.connected","attempt":"6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab","conference_sid":"CF00000000000000000000000000000001"}"#;
        assert!(
            matches!(read_push(answered), Push::Input(i) if matches!(*i, Input::Outbound(OutboundNews { stage: OutgoingStage::Answered, .. })))
        );
        let ringing =
            r#"{"type":"outbound.dialing","attempt":"6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"}"#;
        assert!(
            matches!(read_push(ringing), Push::Input(i) if matches!(*i, Input::Outbound(OutboundNews { stage: OutgoingStage::Ringing, .. })))
        );
        for skip in [
            r#"{"type":"outbound.connected","attempt":"not-a-uuid"}"#,
            r#"{"type":"transfer.failed","task_sid":"nope","reason":"busy"}"#,
            r#"{"type":"transfer.completed"}"#,
            r#"{"type":"roster","agents":[{"agent_id":1}]}"#,
            r#"{"type":"call.ended","task_sid":"WT00000000000000000000000000000001"}"#,
            r#"{"type":"call.context","task_sid":"bogus"}"#,
            "not json",
        ] {
            assert_eq!(read_push(skip), Push::Skip, "{skip}");
        }
    }

    #[test]
    fn snapshots_carry_the_call_and_the_outbound_attempt() {
        let attempt = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab";
        let id = AttemptId::parse(attempt).unwrap();
        let only_outbound = format!(
            r#"{{"outbound":{{"attempt":"{attempt}","status":"connected","conference_sid":"CF1"}}}}"#
        );
        assert_eq!(
            read_snapshot(only_outbound.as_bytes()),
            ActiveCall::Snapshot {
                call: None,
                outbound: Some((id, OutboundState::Live(OutgoingStage::Answered)))
            }
        );
        for (status, state) in [
            ("init", OutboundState::Live(OutgoingStage::Ringing)),
            ("dialing", OutboundState::Live(OutgoingStage::Ringing)),
            ("failed", OutboundState::Over),
            ("ended", OutboundState::Over),
        ] {
            let body = format!(
                r#"{{"task_sid":"WT00000000000000000000000000000001","status":"connected","outbound":{{"attempt":"{attempt}","status":"{status}"}}}}"#
            );
            let ActiveCall::Snapshot { call, outbound } = read_snapshot(body.as_bytes()) else {
                panic!("{body}")
            };
            assert!(call.is_some(), "{body}");
            assert_eq!(outbound, Some((id, state)), "{body}");
        }
        // An older server (no `outbound`), `null`, or a malformed attempt: the routed call alone.
        for body in [
            r#"{"task_sid":"WT00000000000000000000000000000001"}"#,
            r#"{"task_sid":"WT00000000000000000000000000000001","outbound":null}"#,
            r#"{"task_sid":"WT00000000000000000000000000000001","outbound":{"attempt":"x","status":"connected"}}"#,
            r#"{"task_sid":"WT00000000000000000000000000000001","outbound":{"attempt":"6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab","status":"weird"}}"#,
        ] {
            assert!(
                matches!(
                    read_snapshot(body.as_bytes()),
                    ActiveCall::Snapshot {
                        call: Some(_),
                        outbound: None
                    }
                ),
                "{body}"
            );
        }
        for body in ["", "[]", r#"{"outbound":null}"#, r#"{"task_sid":"bogus"}"#] {
            assert_eq!(read_snapshot(body.as_bytes()), ActiveCall::Failed, "{body}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            ws_url("https://s.example.jp/"),
            "wss://s.example.jp/v1/events"
        );
        assert_eq!(ws_url("http://127.0.0.1:9"), "ws://127.0.0.1:9/v1/events");
        assert_eq!(
            min_supported(br#"{"code":"CLIENT_UPGRADE_REQUIRED","min_supported":"1.6.0"}"#),
            Some("1.6.0".into())
        );
    }
}
