//! EventBridge I/O for the TaskRouter worker: the WebSocket (server push only; frames go back to the driver
//! loop untouched) and the `POST …/v1/wschannels` REST proxy (`{url, method, params, token}` + `apiVersion`).
//! Wire types are `tsunagi_twilio::eventbridge`'s.

use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message};
use tsunagi_twilio::eventbridge::{self as eb, ProxyRequest};
use tsunagi_twilio::Pii;

use super::SocketNews;
use crate::api::SocketKind;
use crate::input::{CloseReason, ConnId, RestResult};

/// Largest proxy response accepted.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Maps a close reason (`"<twilio code> <message>"` from EventBridge) to what the supervisor must do.
fn close_reason(reason: &str) -> CloseReason {
    let code = reason.split_whitespace().next().unwrap_or_default();
    match code {
        "20104" => CloseReason::TokenExpired,
        "20101" | "20102" | "20103" | "20105" | "20003" => CloseReason::Unauthorized,
        _ => CloseReason::Lost,
    }
}

/// Runs one socket attempt until it closes; every report is tagged with `conn`.
pub(crate) async fn socket(
    url: String,
    token: Pii<String>,
    conn: ConnId,
    tx: mpsc::UnboundedSender<(SocketKind, ConnId, SocketNews)>,
) {
    let reason = attempt(url, token, conn, &tx).await;
    let _ = tx.send((SocketKind::TaskRouter, conn, SocketNews::Closed(reason)));
}

async fn attempt(
    url: String,
    token: Pii<String>,
    conn: ConnId,
    tx: &mpsc::UnboundedSender<(SocketKind, ConnId, SocketNews)>,
) -> CloseReason {
    let send = |news| tx.send((SocketKind::TaskRouter, conn, news)).is_ok();
    let full = format!(
        "{url}?token={}&closeExistingSessions=false&clientVersion=2.1.1",
        token.expose()
    );
    let mut stream = match tokio_tungstenite::connect_async(full).await {
        Ok((stream, _)) => stream,
        Err(tungstenite::Error::Http(resp)) if matches!(resp.status().as_u16(), 401 | 403) => {
            return CloseReason::Unauthorized;
        }
        Err(e) => {
            tracing::debug!(error = %e, "eventbridge connect failed");
            return CloseReason::Lost;
        }
    };
    if !send(SocketNews::Opened) {
        return CloseReason::Lost;
    }
    let mut reason = CloseReason::Lost;
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(Message::Text(text)) => {
                if text.len() > eb::MAX_FRAME_LEN {
                    tracing::warn!(len = text.len(), "eventbridge frame too long; dropped");
                    continue;
                }
                if !send(SocketNews::Text(text.to_string())) {
                    return CloseReason::Lost;
                }
            }
            Ok(Message::Close(frame)) => {
                reason = frame.map_or(CloseReason::Lost, |f| close_reason(&f.reason));
                break;
            }
            Ok(_) => {} // pings are answered by tungstenite; binary frames are not part of the protocol
            Err(e) => {
                tracing::debug!(error = %e, "eventbridge socket error");
                break;
            }
        }
    }
    reason
}

/// The REST proxy client.
#[derive(Clone, Debug)]
pub(crate) struct Proxy {
    http: reqwest::Client,
    url: String,
}

impl Proxy {
    pub(crate) fn new(url: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            url,
        }
    }

    /// One proxied call; the payload on success, the classified failure otherwise.
    pub(crate) async fn call(
        &self,
        token: &Pii<String>,
        method: &str,
        resource: String,
        params: Value,
        api_version: &str,
    ) -> Result<Value, RestResult> {
        let body = ProxyRequest {
            url: resource,
            method: method.to_owned(),
            params,
            token: token.expose().clone(),
        };
        let body = serde_json::to_string(&body).map_err(|_| RestResult::Failed)?;
        let sent = self
            .http
            .post(&self.url)
            .header("apiVersion", api_version)
            // What the JS SDK (axios) sends; the body is JSON regardless.
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await;
        let resp = sent.map_err(|_| RestResult::from_status(None, None))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|_| RestResult::Failed)?;
        if bytes.len() > MAX_BODY {
            return Err(RestResult::Failed);
        }
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(v.get("payload").cloned().unwrap_or(Value::Null));
        }
        let code = v
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u32::try_from(c).ok());
        Err(RestResult::from_status(Some(status), code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_map_to_supervisor_decisions() {
        assert_eq!(
            close_reason("20104 Access Token expired"),
            CloseReason::TokenExpired
        );
        assert_eq!(
            close_reason("20101 Invalid Access Token"),
            CloseReason::Unauthorized
        );
        assert_eq!(close_reason(""), CloseReason::Lost);
        assert_eq!(
            close_reason("4409 closed by a newer session"),
            CloseReason::Lost
        );
    }
}
