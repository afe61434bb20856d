//! Helpers for the call tests: a stand-in with one account, one workspace (worker `agent_1` with
//! `contact_uri = client:agent_1`), one number whose Voice webhook points at an in-test axum server, and that
//! server: it answers TwiML (or JSON) per path, records every request and checks its `X-Twilio-Signature`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use serde_json::Value;
use tsunagi_twilio_sim::{Config, Sim};

use crate::voice_support::{ACCOUNT, KEY, SECRET};

pub const AUTH_TOKEN: &str = "calls-auth-token";
pub const WS: &str = "WS00000000000000000000000000000001";
pub const WF: &str = "WW00000000000000000000000000000001";
pub const AGENT: &str = "WK00000000000000000000000000000001";
pub const AGENT2: &str = "WK00000000000000000000000000000002";
pub const OFFLINE: &str = "WA00000000000000000000000000000001";
pub const AVAILABLE: &str = "WA00000000000000000000000000000002";
pub const NUMBER: &str = "+815012340000";
pub const BROKEN: &str = "+815012340001";
pub const DEAD: &str = "+815012340002";

/// One request the hook server saw.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub params: Vec<(String, String)>,
    pub signature_ok: bool,
}

impl Hit {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct HookState {
    base: String,
    replies: HashMap<String, (String, String)>,
    hits: Vec<Hit>,
}

/// The in-test webhook server.
#[derive(Clone)]
pub struct Hooks {
    inner: Arc<Mutex<HookState>>,
    pub base: String,
}

impl Hooks {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(HookState {
            base: base.clone(),
            ..Default::default()
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { inner, base }
    }

    /// Answers `path` with TwiML.
    pub fn twiml(&self, path: &str, xml: &str) {
        self.inner
            .lock()
            .unwrap()
            .replies
            .insert(path.into(), ("text/xml".into(), xml.into()));
    }

    /// Answers `path` with JSON.
    pub fn json(&self, path: &str, v: Value) {
        self.inner
            .lock()
            .unwrap()
            .replies
            .insert(path.into(), ("application/json".into(), v.to_string()));
    }

    pub fn hits(&self, path: &str) -> Vec<Hit> {
        self.inner
            .lock()
            .unwrap()
            .hits
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Hit> {
        self.inner.lock().unwrap().hits.clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn handle(
    State(s): State<Arc<Mutex<HookState>>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut g = s.lock().unwrap();
    let full = format!("{}{}", g.base, uri);
    let (params, signature_ok) = if method == Method::GET {
        let q = uri.query().unwrap_or("");
        let p: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        let none: [(&str, &str); 0] = [];
        (
            p,
            tsunagi_twilio::signature::compute(AUTH_TOKEN, &full, &none) == sig,
        )
    } else {
        let p: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let ok = tsunagi_twilio::signature::compute(AUTH_TOKEN, &full, &p) == sig;
        (p, ok)
    };
    let path = uri.path().to_owned();
    g.hits.push(Hit {
        method: method.to_string(),
        path: path.clone(),
        params,
        signature_ok,
    });
    match g.replies.get(&path) {
        Some((ct, body)) => {
            // `{{Name}}` in a reply is replaced by the request's `Name` parameter (assignment callbacks).
            let mut body = body.clone();
            for (k, v) in &g.hits.last().map(|h| h.params.clone()).unwrap_or_default() {
                body = body.replace(&format!("{{{{{k}}}}}"), v);
            }
            ([("content-type", ct.clone())], body).into_response()
        }
        None if path.starts_with("/missing") => StatusCode::NOT_FOUND.into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

pub fn config(hooks: &Hooks, assignment: Option<&str>) -> String {
    let assign = assignment
        .map(|p| format!("assignment_callback_url = \"{}\"\n", hooks.url(p)))
        .unwrap_or_default();
    format!(
        r#"
seed = 5
webhook_retry_delays_ms = [50]
[voice]
heartbeat_ms = 300
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "{AUTH_TOKEN}"
api_keys = [{{ sid = "{KEY}", secret = "{SECRET}" }}]
[[numbers]]
number = "{NUMBER}"
account = "{ACCOUNT}"
voice_url = "{voice}"
status_callback = "{status}"
[[numbers]]
number = "{BROKEN}"
account = "{ACCOUNT}"
voice_url = "{broken}"
voice_fallback_url = "{fallback}"
[[numbers]]
number = "{DEAD}"
account = "{ACCOUNT}"
voice_url = "{dead}"
[[workspaces]]
account = "{ACCOUNT}"
sid = "{WS}"
friendly_name = "Support"
activities = [{{ sid = "{OFFLINE}", name = "Offline", available = false }}, {{ sid = "{AVAILABLE}", name = "Available", available = true }}]
default_activity = "Available"
queues = [{{ name = "All" }}]
workers = [
  {{ sid = "{AGENT}", name = "agent_1", attributes = {{ contact_uri = "client:agent_1" }} }},
  {{ sid = "{AGENT2}", name = "agent_2", activity = "Offline", attributes = {{ contact_uri = "client:agent_2" }} }},
]
[[workspaces.workflows]]
sid = "{WF}"
name = "inbound"
task_reservation_timeout = 60
{assign}configuration = '{{"task_routing":{{"filters":[],"default_filter":{{"queue":"All"}}}}}}'
"#,
        voice = hooks.url("/voice"),
        status = hooks.url("/status"),
        broken = hooks.url("/broken"),
        fallback = hooks.url("/fallback"),
        dead = hooks.url("/missing"),
    )
}

pub async fn start_sim(hooks: &Hooks, assignment: Option<&str>) -> Sim {
    let cfg = Config::from_toml(&config(hooks, assignment)).expect("config");
    Sim::start_on(cfg, "127.0.0.1:0").await.expect("start")
}

pub async fn post_json(sim: &Sim, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn get_json(sim: &Sim, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Basic-auth REST call (`reqwest::Method`, form body).
pub async fn rest(
    sim: &Sim,
    method: reqwest::Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(KEY, Some(SECRET))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

pub async fn call(sim: &Sim, sid: &str) -> Value {
    get_json(sim, &format!("/_sim/calls/{sid}")).await
}

pub async fn eventually<T>(what: &str, secs: u64, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

/// A Voice SDK-like client registered at the stand-in's `/signal` as `identity`.
pub async fn registered(sim: &Sim, identity: &str) -> crate::voice_support::Client {
    use crate::voice_support as vs;
    use tsunagi_twilio::pstream::{ClientMessage, Register, RegisterMedia, ServerMessage};
    let (ws, _) = tokio_tungstenite::connect_async(format!("{}/signal", sim.ws_url()))
        .await
        .unwrap();
    let mut c = vs::Client { ws, heartbeats: 0 };
    c.send(&vs::listen(&vs::token(
        identity,
        vs::voice_grant(),
        vs::now(),
        3600,
    )))
    .await;
    assert!(matches!(c.recv().await, ServerMessage::Connected(_)));
    c.send(&ClientMessage::Register(Register {
        media: RegisterMedia { audio: true },
    }))
    .await;
    assert!(matches!(c.recv().await, ServerMessage::Ready(_)));
    c
}
