//! Shared harness for the driver's integration tests against the local Twilio stand-in (real sockets on
//! 127.0.0.1): a config with one worker and a Sync service, tokens minted the way the companion server does
//! (task_router + data_sync grants), alice's driver started and signed in, REST helpers, the webview's part of a
//! routed call (the Voice SDK `Device` events the test plays), and waits that never sleep longer than they must.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tsunagi_core::driver::{Driver, DriverConfig, DriverIo, SyncConfig, TokenReply, TokenSource};
use tsunagi_core::{
    Action, CallParams, CallPhase, CallSid, Command, ConnectionState, DeviceEvent, Event, Input,
    SessionConfig, Target, TaskSid,
};
use tsunagi_twilio::token::{AccessToken, SyncGrant, TaskRouterGrant};
use tsunagi_twilio::Pii;
use tsunagi_twilio_sim::{Config, Sim};

pub const MASTER: &str = "AC00000000000000000000000000000001";
pub const SUB: &str = "AC00000000000000000000000000000002";
pub const SUB_KEY: &str = "SK00000000000000000000000000000002";
pub const SUB_SECRET: &str = "sub-key-secret";
pub const WS: &str = "WS00000000000000000000000000000001";
pub const ALICE: &str = "WK00000000000000000000000000000001";
pub const IS: &str = "IS00000000000000000000000000000001";

pub fn config() -> Config {
    let text = format!(
        r#"
seed = 5
heartbeat_ms = 500
twilsock_ping_ms = 500
disconnect_grace_ms = 60000
webhook_retry_delays_ms = [50]
[[accounts]]
sid = "{MASTER}"
auth_token = "master-auth-token"
api_keys = [{{ sid = "SK00000000000000000000000000000001", secret = "master-key-secret" }}]
[[accounts]]
sid = "{SUB}"
parent = "{MASTER}"
auth_token = "sub-auth-token"
api_keys = [{{ sid = "{SUB_KEY}", secret = "{SUB_SECRET}" }}]
[[workspaces]]
account = "{SUB}"
sid = "{WS}"
friendly_name = "Support"
activities = [{{ name = "Offline", available = false }}, {{ name = "Available", available = true }}, {{ name = "Break", available = false }}]
queues = [{{ name = "All" }}]
workers = [{{ sid = "{ALICE}", name = "alice", attributes = {{ email = "alice@example.jp" }} }}]
[[workspaces.workflows]]
name = "inbound"
configuration = '{{"task_routing":{{"filters":[{{"expression":"1==1","targets":[{{"queue":"All"}}]}}]}}}}'
[[sync_services]]
account = "{SUB}"
sid = "{IS}"
friendly_name = "agents"
reachability_webhooks_enabled = false
"#
    );
    Config::from_toml(&text).expect("sim config")
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Mints alice's tokens the way the companion server does (subaccount API key, task_router + data_sync grants),
/// with a chosen lifetime, counting fetches.
#[derive(Clone)]
pub struct MintedTokens {
    pub ttl_secs: u64,
    pub fetches: Arc<AtomicU32>,
}

impl Default for MintedTokens {
    fn default() -> Self {
        Self {
            ttl_secs: 3600,
            fetches: Arc::default(),
        }
    }
}

impl MintedTokens {
    pub fn fetched(&self) -> u32 {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl TokenSource for MintedTokens {
    async fn fetch(&self) -> TokenReply {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let mut t = AccessToken::new(SUB.parse().unwrap(), SUB_KEY.parse().unwrap(), "alice");
        t.ttl_secs = self.ttl_secs;
        t.task_router = Some(TaskRouterGrant::worker(
            WS.parse().unwrap(),
            ALICE.parse().unwrap(),
        ));
        t.data_sync = Some(SyncGrant {
            service_sid: Some(IS.parse().unwrap()),
            endpoint_id: None,
        });
        let now = now_unix();
        match t.to_jwt(SUB_SECRET, now) {
            Ok(jwt) => TokenReply::Issued {
                token: Pii(jwt),
                expires_unix: now + self.ttl_secs,
            },
            Err(_) => TokenReply::Failed,
        }
    }
}

/// A REST call to the stand-in with the subaccount's API key; the JSON answer (`Null` if none).
pub async fn rest(sim: &Sim, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(SUB_KEY, Some(SUB_SECRET))
        .form(form)
        .send()
        .await
        .expect("sim REST")
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// A stand-in control call (`/_sim/…`).
pub async fn control(sim: &Sim, path: &str, body: Value) -> Value {
    reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("sim control")
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// Waits (≤ 10 s) for the first action matching `pred`, skipping others.
pub async fn wait_for(
    actions: &mut mpsc::UnboundedReceiver<Action>,
    what: &str,
    pred: impl Fn(&Action) -> bool,
) -> Action {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, actions.recv()).await {
            Ok(Some(a)) if pred(&a) => return a,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("driver stopped before {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// Polls `check` every 50 ms for up to 10 s.
pub async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Waits until `sockets` distinct sockets have reported `Connected`.
pub async fn wait_connected(actions: &mut mpsc::UnboundedReceiver<Action>, sockets: usize) {
    let mut up = std::collections::HashSet::new();
    while up.len() < sockets {
        if let Action::Emit(Event::Connection { socket, .. }) =
            wait_for(actions, "sockets connected", |a| {
                matches!(
                    a,
                    Action::Emit(Event::Connection {
                        state: ConnectionState::Connected,
                        ..
                    })
                )
            })
            .await
        {
            up.insert(socket);
        }
    }
}

/// The stand-in started with [`config`], and alice's driver on it (EventBridge, plus Sync over Twilsock when
/// `sync`) signed in: every socket connected and the worker Available in TaskRouter.
pub async fn signed_in(
    session: SessionConfig,
    tokens: MintedTokens,
    sync: bool,
) -> (Sim, DriverIo) {
    let sim = Sim::start_on(config(), "127.0.0.1:0").await.expect("sim");
    let (mut driver, mut io) = Driver::new(
        DriverConfig {
            eventbridge_ws: format!("{}/v1/wschannels", sim.ws_url()),
            eventbridge_rest: format!("{}/v1/wschannels", sim.base_url()),
            session,
        },
        tokens,
    );
    if sync {
        driver = driver.with_sync(SyncConfig {
            url: format!("{}/v3/wsconnect", sim.ws_url()),
        });
    }
    tokio::spawn(driver.run());
    io.inputs
        .send(Input::Command(Command::Login))
        .await
        .unwrap();
    wait_connected(&mut io.actions, if sync { 2 } else { 1 }).await;
    let path = format!("/v1/Workspaces/{WS}/Workers/{ALICE}");
    wait_until("worker Available in TaskRouter", async || {
        rest(&sim, reqwest::Method::GET, &path, &[]).await["activity_name"] == "Available"
    })
    .await;
    (sim, io)
}

/// Creates a task with these attributes in the workspace (as the server's inbound webhook does).
pub async fn create_task(sim: &Sim, attributes: &Value) -> TaskSid {
    let task = rest(
        sim,
        reqwest::Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks"),
        &[("Attributes", &attributes.to_string())],
    )
    .await;
    task["sid"]
        .as_str()
        .and_then(|s| TaskSid::parse(s).ok())
        .unwrap_or_else(|| panic!("task not created: {task}"))
}

/// Waits until TaskRouter has the task `completed`.
pub async fn wait_task_completed(sim: &Sim, task: TaskSid) {
    let path = format!("/v1/Workspaces/{WS}/Tasks/{task}");
    wait_until("task completed in TaskRouter", async || {
        rest(sim, reqwest::Method::GET, &path, &[]).await["assignment_status"] == "completed"
    })
    .await;
}

/// Waits for the call to reach `phase`.
pub async fn wait_phase(actions: &mut mpsc::UnboundedReceiver<Action>, phase: CallPhase) {
    wait_for(
        actions,
        &format!("call {phase:?}"),
        |a| matches!(a, Action::Emit(Event::CallState { phase: p, .. }) if *p == phase),
    )
    .await;
}

/// The webview forwards `Device.incoming` for a routed call (the TaskSid custom parameter), the agent presses
/// Answer, and the driver asks the Device to accept the call.
pub async fn answer(io: &mut DriverIo, task: TaskSid, call: CallSid) {
    let params = CallParams {
        task: Some(task),
        reservation: None,
        caller: None,
    };
    io.inputs
        .send(Input::Device(DeviceEvent::Incoming { call, params }))
        .await
        .unwrap();
    io.inputs
        .send(Input::Command(Command::Answer {
            target: Target::Task(task),
        }))
        .await
        .unwrap();
    wait_for(&mut io.actions, "accept call", |a| {
        *a == Action::AcceptCall { call }
    })
    .await;
}

/// The Device reports the call accepted; the call is connected.
pub async fn accepted(io: &mut DriverIo, call: CallSid) {
    io.inputs
        .send(Input::Device(DeviceEvent::Accepted { call }))
        .await
        .unwrap();
    wait_phase(&mut io.actions, CallPhase::Connected).await;
}

/// The caller hangs up, the call wraps up, and the agent finishes wrap-up: the call ends.
pub async fn hang_up_and_wrap_up(io: &mut DriverIo, task: TaskSid, call: CallSid) {
    io.inputs
        .send(Input::Device(DeviceEvent::Disconnected { call }))
        .await
        .unwrap();
    wait_phase(&mut io.actions, CallPhase::WrapUp).await;
    io.inputs
        .send(Input::Command(Command::CompleteWrapup { task }))
        .await
        .unwrap();
    wait_phase(&mut io.actions, CallPhase::Ended).await;
}
