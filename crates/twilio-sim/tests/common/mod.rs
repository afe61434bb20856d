//! Shared helpers for the integration tests: a config with a master account, a subaccount and one workspace,
//! token minting with `tsunagi_twilio::token`, and small HTTP/WebSocket helpers. Everything talks to 127.0.0.1.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::sid::{AccountSid, ApiKeySid};
use tsunagi_twilio::token::{AccessToken, TaskRouterGrant};
use tsunagi_twilio_sim::{Config, Sim};

pub const MASTER: &str = "AC00000000000000000000000000000001";
pub const MASTER_TOKEN: &str = "master-auth-token";
pub const MASTER_KEY: &str = "SK00000000000000000000000000000001";
pub const MASTER_SECRET: &str = "master-key-secret";
pub const SUB: &str = "AC00000000000000000000000000000002";
pub const SUB_KEY: &str = "SK00000000000000000000000000000002";
pub const SUB_SECRET: &str = "sub-key-secret";
pub const WS: &str = "WS00000000000000000000000000000001";
pub const ALICE: &str = "WK00000000000000000000000000000001";
pub const BOB: &str = "WK00000000000000000000000000000002";
pub const IS: &str = "IS00000000000000000000000000000001";

pub fn config_text(callback: Option<&str>) -> String {
    let cb = callback
        .map(|u| format!("assignment_callback_url = \"{u}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
seed = 3
heartbeat_ms = 300
disconnect_grace_ms = 60000
webhook_retry_delays_ms = [50, 50]
[[accounts]]
sid = "{MASTER}"
auth_token = "{MASTER_TOKEN}"
api_keys = [{{ sid = "{MASTER_KEY}", secret = "{MASTER_SECRET}" }}]
[[accounts]]
sid = "{SUB}"
parent = "{MASTER}"
auth_token = "sub-auth-token"
api_keys = [{{ sid = "{SUB_KEY}", secret = "{SUB_SECRET}" }}]
[[workspaces]]
account = "{SUB}"
sid = "{WS}"
friendly_name = "Support"
activities = [{{ name = "Offline", available = false }}, {{ name = "Available", available = true }}]
queues = [{{ name = "All" }}]
workers = [
  {{ sid = "{ALICE}", name = "alice", attributes = {{ email = "alice@example.jp" }} }},
  {{ sid = "{BOB}", name = "bob", attributes = {{ email = "bob@example.jp" }} }},
]
[[workspaces.workflows]]
name = "inbound"
{cb}configuration = '{{"task_routing":{{"filters":[{{"expression":"1==1","targets":[{{"queue":"All","expression":"worker.email == task.owner_email","timeout":5}},{{"queue":"All"}}]}}]}}}}'
[[sync_services]]
account = "{SUB}"
sid = "{IS}"
friendly_name = "presence"
"#
    )
}

pub async fn start(callback: Option<&str>) -> Sim {
    let cfg = Config::from_toml(&config_text(callback)).expect("config");
    Sim::start_on(cfg, "127.0.0.1:0").await.expect("start")
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A worker token signed by the subaccount's key (the correct setup).
pub fn worker_token(worker: &str, ttl: u64) -> String {
    token_with(SUB, SUB_KEY, SUB_SECRET, worker, ttl)
}

pub fn token_with(account: &str, key: &str, secret: &str, worker: &str, ttl: u64) -> String {
    let mut t = AccessToken::new(
        account.parse::<AccountSid>().unwrap(),
        key.parse::<ApiKeySid>().unwrap(),
        "agent",
    );
    t.ttl_secs = ttl;
    t.task_router = Some(TaskRouterGrant::worker(
        WS.parse().unwrap(),
        worker.parse().unwrap(),
    ));
    t.to_jwt(secret, now_secs()).unwrap()
}

/// A hand-signed token with arbitrary claims (for lifetimes `AccessToken` refuses to mint).
pub fn raw_token(claims: Value, secret: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use hmac::{KeyInit, Mac};
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn connect(sim: &Sim, token: &str, close_existing: bool) -> Ws {
    let url = format!(
        "{}/v1/wschannels?token={token}&closeExistingSessions={close_existing}&clientVersion=2.1.1",
        sim.ws_url()
    );
    tokio_tungstenite::connect_async(url)
        .await
        .expect("ws connect")
        .0
}

/// Next non-keepalive JSON frame, or `None` on close / timeout.
pub async fn next_event(ws: &mut Ws) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) if t.trim().is_empty() => continue,
            Message::Text(t) => return serde_json::from_str(&t).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

/// Waits for a frame of the given type, skipping others.
pub async fn wait_for(ws: &mut Ws, event_type: &str) -> Value {
    loop {
        let f = next_event(ws)
            .await
            .unwrap_or_else(|| panic!("socket ended before {event_type}"));
        if f["event_type"] == event_type {
            return f;
        }
    }
}

pub async fn proxy(
    sim: &Sim,
    token: &str,
    method: &str,
    url: &str,
    params: Value,
    api: &str,
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/wschannels", sim.base_url()))
        .header("apiVersion", api)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            serde_json::json!({"url": url, "method": method, "params": params, "token": token})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn rest(
    sim: &Sim,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(SUB_KEY, Some(SUB_SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}
