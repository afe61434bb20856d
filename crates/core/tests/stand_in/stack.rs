//! The stand-in plus the real companion server (`tsunagi-server`) in-process on 127.0.0.1, with one agent
//! (`alice`, worker `WK…01`) and a cuttable TCP proxy in front of the server, so a test can drop every live
//! connection to it (the agent's `/v1/events` socket) the way a network blip does. Modelled on
//! `crates/bench/src/stack.rs`.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tsunagi_server::auth::{self, NewAgent, Role};
use tsunagi_server::{AppState, Config as ServerConfig, Db};
use tsunagi_twilio_sim::{Config as SimConfig, Sim};

pub const ACCOUNT: &str = "AC0000000000000000000000000000c001";
pub const AUTH_TOKEN: &str = "core-test-auth-token";
pub const API_KEY: &str = "SK0000000000000000000000000000c001";
pub const API_SECRET: &str = "core-test-api-key-secret";
pub const WORKSPACE: &str = "WS0000000000000000000000000000c001";
pub const WORKFLOW: &str = "WW0000000000000000000000000000c001";
pub const WORKER: &str = "WK0000000000000000000000000000c001";
pub const AGENT: &str = "alice";
pub const PASSWORD: &str = "alice-password";
pub const VERSION: &str = "1.2.0";

/// A TCP proxy whose live connections can be cut.
pub struct Proxy {
    pub url: String,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    accept: AbortHandle,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy bind");
        let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let list = conns.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                list.lock().unwrap().push(task.abort_handle());
            }
        })
        .abort_handle();
        Self { url, conns, accept }
    }

    /// Drops every live connection (new ones still go through).
    pub fn cut(&self) -> usize {
        let conns = std::mem::take(&mut *self.conns.lock().unwrap());
        let n = conns.iter().filter(|c| !c.is_finished()).count();
        for c in conns {
            c.abort();
        }
        n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

pub struct Stack {
    pub sim: Sim,
    pub state: AppState,
    /// The server, directly.
    pub server_url: String,
    /// The server through the cuttable proxy (what the agent's driver uses).
    pub proxy: Proxy,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn sim_toml(public: &str) -> String {
    format!(
        r#"
seed = 13
heartbeat_ms = 500
webhook_retry_delays_ms = [200]
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "{AUTH_TOKEN}"
api_keys = [{{ sid = "{API_KEY}", secret = "{API_SECRET}" }}]
[[workspaces]]
account = "{ACCOUNT}"
sid = "{WORKSPACE}"
friendly_name = "core tests"
event_callback_url = "{public}/twilio/taskrouter/events"
activities = [{{ name = "Offline", available = false }}, {{ name = "Available", available = true }}, {{ name = "Break", available = false }}]
queues = [{{ name = "All" }}]
workers = [{{ sid = "{WORKER}", name = "{AGENT}", attributes = {{ contact_uri = "client:{AGENT}" }} }}]
[[workspaces.workflows]]
sid = "{WORKFLOW}"
name = "inbound"
configuration = '{{"task_routing":{{"filters":[{{"expression":"1==1","targets":[{{"queue":"All"}}]}}]}}}}'
"#
    )
}

fn server_toml(public: &str, twilio: &str, token_ttl_secs: u64, session_ttl_secs: u64) -> String {
    format!(
        r#"
[server]
public_base_url = "{public}"
session_ttl_secs = {session_ttl_secs}
[twilio]
account_sid = "{ACCOUNT}"
api_key_sid = "{API_KEY}"
workspace_sid = "{WORKSPACE}"
workflow_sid = "{WORKFLOW}"
api_base = "{twilio}"
taskrouter_base = "{twilio}"
sync_base = "{twilio}"
token_ttl_secs = {token_ttl_secs}
"#
    )
}

impl Stack {
    /// Starts everything; the server issues tokens living `token_ttl_secs`.
    pub async fn start(token_ttl_secs: u64) -> Self {
        Self::start_with_sessions(token_ttl_secs, 12 * 3600).await
    }

    /// Starts everything; Access Tokens live `token_ttl_secs`, agent sessions `session_ttl_secs`.
    pub async fn start_with_sessions(token_ttl_secs: u64, session_ttl_secs: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server_url = format!("http://{addr}");
        let sim = Sim::start_on(
            SimConfig::from_toml(&sim_toml(&server_url)).expect("sim config"),
            "127.0.0.1:0",
        )
        .await
        .expect("sim");
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = Db::connect(&db_url, 4).await.expect("db");
        let env = [
            ("TSUNAGI_TWILIO_API_KEY_SECRET", API_SECRET),
            ("TSUNAGI_TWILIO_AUTH_TOKEN", AUTH_TOKEN),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = ServerConfig::from_parts(
            &server_toml(
                &server_url,
                &sim.base_url(),
                token_ttl_secs,
                session_ttl_secs,
            ),
            env,
        )
        .expect("server config");
        let state = AppState::new(config, db).expect("server state");
        tsunagi_server::background::spawn(&state);
        let router = tsunagi_server::app(state.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        auth::create_agent(
            &state.db,
            NewAgent {
                id: AGENT,
                login: AGENT,
                display_name: AGENT,
                password: Some(PASSWORD),
                worker_sid: Some(WORKER),
                department_id: None,
                role: Role::Agent,
            },
        )
        .await
        .expect("agent");
        let proxy = Proxy::start(addr).await;
        Self {
            sim,
            state,
            server_url,
            proxy,
            server,
            _dir: dir,
        }
    }

    /// `POST /v1/login`: alice's session token.
    pub async fn login(&self) -> String {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/v1/login", self.server_url))
            .json(&json!({"login": AGENT, "password": PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login JSON");
        v["session_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no session token: {v}"))
            .to_owned()
    }

    /// Creates a task on the workflow (as the server's `<Enqueue>` would); its SID.
    #[allow(dead_code)] // not every test binary uses it
    pub async fn create_task(&self, attributes: &serde_json::Value) -> String {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!(
                "{}/v1/Workspaces/{WORKSPACE}/Tasks",
                self.sim.base_url()
            ))
            .basic_auth(API_KEY, Some(API_SECRET))
            .form(&[
                ("WorkflowSid", WORKFLOW),
                ("Attributes", &attributes.to_string()),
            ])
            .send()
            .await
            .expect("task")
            .json()
            .await
            .expect("task JSON");
        v["sid"]
            .as_str()
            .unwrap_or_else(|| panic!("task not created: {v}"))
            .to_owned()
    }

    /// Alice's driver with the server's push (TaskRouter + events sockets), signed in; wait for both sockets.
    #[allow(dead_code)] // not every test binary uses it
    pub async fn agent_driver(&self) -> tsunagi_core::driver::DriverIo {
        use tsunagi_core::{SessionConfig, SocketKind, SupervisorConfig};
        let cfg = SessionConfig {
            sockets: [SocketKind::TaskRouter, SocketKind::Events]
                .into_iter()
                .map(|k| (k, SupervisorConfig::for_socket(k)))
                .collect(),
            ..SessionConfig::default()
        };
        self.agent_driver_with(cfg).await
    }

    /// [`Stack::agent_driver`] with the session configured by the test (its sockets, backoff, seed).
    #[allow(dead_code)] // not every test binary uses it
    pub async fn agent_driver_with(
        &self,
        cfg: tsunagi_core::SessionConfig,
    ) -> tsunagi_core::driver::DriverIo {
        use tsunagi_core::driver::{
            Driver, DriverConfig, EventsConfig, ServerSession, ServerTokens,
        };
        use tsunagi_core::{Command, Input};
        let stack = self;
        let session = stack.login().await;
        let (driver, io) = Driver::new(
            DriverConfig {
                eventbridge_ws: format!("{}/v1/wschannels", stack.sim.ws_url()),
                eventbridge_rest: format!("{}/v1/wschannels", stack.sim.base_url()),
                session: cfg,
            },
            ServerTokens::new(&stack.proxy.url, session.clone(), VERSION),
        );
        let driver = driver.with_server_events(EventsConfig {
            session: ServerSession::from_session_token(
                &stack.proxy.url,
                VERSION,
                tsunagi_twilio::Pii(session),
            ),
        });
        tokio::spawn(driver.run());
        io.inputs
            .send(Input::Command(Command::Login))
            .await
            .unwrap();
        io
    }
}
