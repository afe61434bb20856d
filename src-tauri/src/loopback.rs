//! The loopback WebSocket transport: the same UI, in a browser, drives this app's agent session exactly as the
//! window does over Tauri IPC (DESIGN §5) — for browser end-to-end tests with real WebRTC (Debian's WebKitGTK has
//! none) and for `npm run dev`. Off unless `TSUNAGI_LOOPBACK_FILE` names where to write the URL.
//!
//! - Bound to `127.0.0.1` on a random port; every connection must carry the random token in its URL
//!   (`ws://127.0.0.1:<port>/?token=<uuid>`), anything else is refused before the upgrade.
//! - Client → app: `{"id": n, "command": "<name>", "args": {…}}`, the names and arguments of the Tauri commands
//!   (`commands.rs`); the reply is `{"id": n, "ok": <result>}` or `{"id": n, "error": {kind, message}}`.
//! - App → client: `{"channel": "event"|"device"|"voiceToken"|"update"|"signedIn"|"keychain"|"sessionEnded", "payload": …}`, the same JSON the window
//!   receives on the `tsunagi:*` events (this module listens to them; the emitters are unchanged).

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::{json, Value};
use tauri::{AppHandle, Listener, Manager};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;

use crate::{agent, commands, error::AppError, lang::LangState};

/// The window's event channels, by the name the UI's transport uses.
const CHANNELS: [(&str, &str); 7] = [
    ("event", crate::events::EVENT_NAME),
    ("device", crate::device::DEVICE_EVENT_NAME),
    ("voiceToken", agent::VOICE_TOKEN_EVENT_NAME),
    ("update", crate::updater::UPDATE_EVENT_NAME),
    ("signedIn", crate::keychain::SIGNED_IN_EVENT_NAME),
    ("keychain", crate::keychain::KEYCHAIN_EVENT_NAME),
    ("sessionEnded", agent::SESSION_ENDED_EVENT_NAME),
];

/// Starts the transport if `TSUNAGI_LOOPBACK_FILE` is set, writing `{"url": …}` there once it listens.
pub fn at_start(app: &AppHandle) {
    let Some(file) = std::env::var_os("TSUNAGI_LOOPBACK_FILE") else {
        return;
    };
    let (pushes, _) = broadcast::channel::<String>(256);
    for (channel, name) in CHANNELS {
        let pushes = pushes.clone();
        app.listen_any(name, move |event| {
            let payload: Value = serde_json::from_str(event.payload()).unwrap_or(Value::Null);
            let _ = pushes.send(json!({ "channel": channel, "payload": payload }).to_string());
        });
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(error) => return tracing::error!(%error, "loopback transport: cannot bind"),
        };
        let token = uuid::Uuid::new_v4().to_string();
        let url = match listener.local_addr() {
            Ok(addr) => format!("ws://{addr}/?token={token}"),
            Err(error) => return tracing::error!(%error, "loopback transport: no address"),
        };
        if let Err(error) = std::fs::write(&file, json!({ "url": url }).to_string()) {
            return tracing::error!(%error, "loopback transport: cannot write its URL");
        }
        tracing::info!(
            "loopback transport listening on 127.0.0.1 (URL written to TSUNAGI_LOOPBACK_FILE)"
        );
        while let Ok((stream, _)) = listener.accept().await {
            let (app, token, pushes) = (app.clone(), token.clone(), pushes.subscribe());
            tauri::async_runtime::spawn(serve(app, stream, token, pushes));
        }
    });
}

/// Whether the upgrade request carries `token` as its `token` query parameter.
fn authorized(uri: &str, token: &str) -> bool {
    uri.split_once('?').is_some_and(|(_, query)| {
        query
            .split('&')
            .any(|pair| pair.strip_prefix("token=") == Some(token))
    })
}

async fn serve(
    app: AppHandle,
    stream: TcpStream,
    token: String,
    mut pushes: broadcast::Receiver<String>,
) {
    // The shape is tungstenite's handshake `Callback`; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let check = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        if authorized(&request.uri().to_string(), &token) {
            Ok(response)
        } else {
            let mut refused = ErrorResponse::new(Some("missing or wrong token".into()));
            *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
            Err(refused)
        }
    };
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
        return;
    };
    let (mut sink, mut incoming) = socket.split();
    let (replies, mut outgoing) = tokio::sync::mpsc::unbounded_channel::<String>();
    loop {
        tokio::select! {
            push = pushes.recv() => match push {
                Ok(text) => if sink.send(Message::Text(text.into())).await.is_err() { break },
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some(reply) = outgoing.recv() => if sink.send(Message::Text(reply.into())).await.is_err() { break },
            frame = incoming.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    // Each request runs on its own, so a slow one (sign-in, diagnostics) blocks nothing.
                    let (app, replies) = (app.clone(), replies.clone());
                    tauri::async_runtime::spawn(async move {
                        let _ = replies.send(answer(&app, &text).await);
                    });
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[derive(Deserialize)]
struct Call {
    id: u64,
    command: String,
    #[serde(default)]
    args: Value,
}

/// One request → its reply line.
async fn answer(app: &AppHandle, text: &str) -> String {
    let Ok(call) = serde_json::from_str::<Call>(text) else {
        return json!({ "id": null, "error": "malformed request" }).to_string();
    };
    match run(app, &call.command, call.args).await {
        Ok(ok) => json!({ "id": call.id, "ok": ok }),
        Err(error) => json!({ "id": call.id, "error": error }),
    }
    .to_string()
}

fn args<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Value> {
    serde_json::from_value(value).map_err(|e| Value::String(e.to_string()))
}

fn done<T: serde::Serialize>(result: Result<T, AppError>) -> Result<Value, Value> {
    match result {
        Ok(v) => Ok(serde_json::to_value(v).unwrap_or(Value::Null)),
        Err(e) => Err(serde_json::to_value(e).unwrap_or(Value::Null)),
    }
}

/// Runs the Tauri command `name` with `value` as its arguments (the same functions the window invokes).
async fn run(app: &AppHandle, name: &str, value: Value) -> Result<Value, Value> {
    #[derive(Deserialize)]
    struct Login {
        login: String,
        password: String,
    }
    #[derive(Deserialize)]
    struct CoreCommand {
        command: tsunagi_core::Command,
    }
    #[derive(Deserialize)]
    struct Report {
        report: crate::device::DeviceReport,
    }
    #[derive(Deserialize)]
    struct SetLanguage {
        lang: crate::lang::Lang,
    }
    #[derive(Deserialize)]
    struct Supervise {
        task: tsunagi_core::TaskSid,
        mode: crate::server::SuperviseMode,
    }
    #[derive(Deserialize)]
    struct Step {
        task: tsunagi_core::TaskSid,
        step: crate::server::TransferStep,
    }
    #[derive(Deserialize)]
    struct Range {
        from: i64,
        to: i64,
    }
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        before: Option<i64>,
    }
    #[derive(Deserialize)]
    struct Wrapup {
        task: tsunagi_core::TaskSid,
        notes: String,
    }
    let host = || app.state::<agent::AgentHost>();
    match name {
        "app_info" => done(Ok(commands::app_info())),
        "get_state" => done(Ok(commands::get_state(host()))),
        "login" => {
            let a: Login = args(value)?;
            done(commands::login(app.clone(), a.login, a.password).await)
        }
        "core_command" => {
            let a: CoreCommand = args(value)?;
            done(commands::core_command(host(), a.command).await)
        }
        "device_event" => {
            let a: Report = args(value)?;
            done(commands::device_event(host(), a.report).await)
        }
        "voice_token" => done(Ok(commands::voice_token(host()))),
        "set_language" => {
            let a: SetLanguage = args(value)?;
            done(commands::set_language(
                app.clone(),
                app.state::<LangState>(),
                a.lang,
            ))
        }
        "roster" => done(commands::roster(host()).await),
        "supervise" => {
            let a: Supervise = args(value)?;
            done(commands::supervise(host(), a.task, a.mode).await)
        }
        "transfer_step" => {
            let a: Step = args(value)?;
            done(commands::transfer_step(host(), a.task, a.step).await)
        }
        "call_history" => {
            let a: Range = args(value)?;
            done(commands::call_history(host(), a.from, a.to).await)
        }
        "agents_directory" => done(commands::agents_directory(host()).await),
        "my_history" => {
            let a: Page = args(value)?;
            done(commands::my_history(host(), a.before).await)
        }
        "complete_wrapup" => {
            let a: Wrapup = args(value)?;
            done(commands::complete_wrapup(host(), a.task, a.notes).await)
        }
        "diagnose" => done(commands::diagnose(host()).await),
        "update_status" => done(Ok(crate::updater::status(app))),
        "check_update" => {
            crate::updater::check_now(app);
            Ok(Value::Null)
        }
        "install_update" => match crate::updater::install(app).await {
            Ok(()) => Ok(Value::Null),
            Err(error) => Err(serde_json::to_value(error).unwrap_or(Value::Null)),
        },
        "update_now" => {
            crate::updater::update_now(app);
            Ok(Value::Null)
        }
        "take_pending_dial" => done(Ok(crate::deeplink::take_pending_dial(
            app.state::<crate::deeplink::PendingDial>(),
        ))),
        other => Err(Value::String(format!(
            "unknown command {other:?} (the loopback transport carries the agent's and the updater's commands only)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_token_opens_the_socket() {
        assert!(authorized("/?token=abc", "abc"));
        assert!(authorized("/?x=1&token=abc", "abc"));
        assert!(!authorized("/?token=abcd", "abc"));
        assert!(!authorized("/?token=", "abc"));
        assert!(!authorized("/", "abc"));
        assert!(!authorized("/?tok=abc", "abc"));
    }
}
