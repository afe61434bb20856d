//! `GET /v1/events`: the agent's push WebSocket (call context, call end; the roster for supervisors). Server → client only; the client's
//! frames are read to notice pings and close. The server pings every 25 s and closes with 1001 when the
//! instance shuts down, so clients reconnect (to another instance) and resync. A client that falls behind gets `{"type":"resync"}` and should
//! fetch its state again.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::{Agent, Role};
use crate::events::{AgentEvent, SUPERVISORS};
use crate::policy::SupportedAgent;
use crate::state::AppState;

/// Server pings keep idle proxies and load balancers from dropping the socket.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(25);

/// Upgrades to the push socket.
pub async fn events(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    ws: WebSocketUpgrade,
) -> Response {
    ws.max_message_size(16 * 1024)
        .on_upgrade(move |socket| run(state, agent, socket))
}

async fn run(state: AppState, agent: Arc<Agent>, socket: WebSocket) {
    let mut rx = state.hub.subscribe();
    state.metrics.ws_open.fetch_add(1, Ordering::Relaxed);
    let (mut sink, mut stream) = socket.split();
    let supervisor = agent.role >= Role::Supervisor;
    if supervisor {
        // A supervisor starts with the current roster; changes follow at the bounded rate.
        if let Ok(agents) = crate::roster::snapshot(&state.db).await {
            let first = serde_json::to_string(&AgentEvent::Roster { agents }).unwrap_or_default();
            if sink.send(Message::Text(first.into())).await.is_err() {
                state.metrics.ws_open.fetch_sub(1, Ordering::Relaxed);
                return;
            }
        }
    }
    let mut stopping = state.stopping();
    let mut keepalive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEPALIVE, KEEPALIVE);
    loop {
        if *stopping.borrow_and_update() {
            let bye = CloseFrame {
                code: close_code::AWAY,
                reason: "server shutting down".into(),
            };
            let _ = sink.send(Message::Close(Some(bye))).await;
            break;
        }
        tokio::select! {
            _ = stopping.changed() => continue,
            _ = keepalive.tick() => {
                if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            delivery = rx.recv() => {
                let text = match delivery {
                    Ok(d) if d.agent_id == agent.id || (supervisor && d.agent_id == SUPERVISORS) => d.payload.clone(),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(_)) => r#"{"type":"resync"}"#.to_owned(),
                    Err(RecvError::Closed) => break,
                };
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    state.metrics.ws_open.fetch_sub(1, Ordering::Relaxed);
    tracing::debug!(agent = %agent.id, "events socket closed");
}
