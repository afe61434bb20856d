//! The system under test, in-process: the local Twilio stand-in and the companion server on `127.0.0.1:0`,
//! configured for one workspace with `agents` workers (the server's demo routing: inbound calls to the `All`
//! queue) and matching agent accounts plus one supervisor in a fresh SQLite database.
//!
//! The stand-in posts the workspace's events (`worker.activity.update`, …) to the server, signed, as Twilio
//! does; no assignment callback is configured, so reservations wait for the agent's core to accept them through
//! the EventBridge REST proxy (the scenarios carry no voice).

use std::time::Duration;

use serde_json::Value;
use tsunagi_server::auth::{self, NewAgent, Role};
use tsunagi_server::{AppState, Config as ServerConfig, Db};
use tsunagi_twilio_sim::{Config as SimConfig, Sim};

use crate::agent::Voice;
use crate::BenchError;

/// The account the stand-in and the server share.
pub const ACCOUNT: &str = "AC0000000000000000000000000000be01";
/// Its Auth Token (signs webhooks).
pub const AUTH_TOKEN: &str = "bench-auth-token-not-a-secret";
/// The API key the server mints tokens and calls REST with.
pub const API_KEY: &str = "SK0000000000000000000000000000be01";
/// Its secret.
pub const API_SECRET: &str = "bench-api-key-secret-not-a-secret";
/// The workspace.
pub const WORKSPACE: &str = "WS0000000000000000000000000000be01";
/// The inbound workflow.
pub const WORKFLOW: &str = "WW0000000000000000000000000000be01";
/// The queue every agent is in.
pub const QUEUE: &str = "WQ0000000000000000000000000000be01";
/// The stand-in number customers call (its Voice webhook is the server's inbound path).
pub const NUMBER: &str = "+81501234567";
/// Activity SIDs.
pub const OFFLINE: &str = "WA0000000000000000000000000000be01";
/// `Available`.
pub const AVAILABLE: &str = "WA0000000000000000000000000000be02";
/// `Break`.
pub const BREAK: &str = "WA0000000000000000000000000000be03";
/// `Away`.
pub const AWAY: &str = "WA0000000000000000000000000000be04";
/// Password of every bench account.
pub const PASSWORD: &str = "bench-password";
/// Client version the agents announce.
pub const CLIENT_VERSION: &str = "1.0.0";
/// The supervisor's login.
pub const SUPERVISOR: &str = "bench-supervisor";

/// Knobs of the stack.
#[derive(Debug, Clone, Copy)]
pub struct StackConfig {
    /// Agents (workers + accounts).
    pub agents: usize,
    /// The server's minimum interval between two roster pushes.
    pub roster_interval_ms: u64,
    /// Who plays the Voice SDK. With a [`Voice::Device`], the stand-in also gets the number [`NUMBER`] (Voice
    /// webhook: the server's `/twilio/voice/inbound`) and the workflow the server's assignment callback, so a
    /// customer call runs the whole product path: `<Enqueue>` → workflow → reservation → `conference`
    /// instruction → the agent's Device.
    pub voice: Voice,
}

/// The worker SID of agent `i`.
pub fn worker_sid(i: usize) -> String {
    format!("WK{:032x}", i + 1)
}

/// The agent id / login of agent `i`.
pub fn agent_id(i: usize) -> String {
    format!("agent_{i:04}")
}

/// A running stand-in and server.
pub struct Stack {
    /// The stand-in.
    pub sim: Sim,
    /// The server's state (database, hub, metrics).
    pub state: AppState,
    /// The server's base URL.
    pub server_url: String,
    /// HTTP client for the bench's own calls.
    pub http: reqwest::Client,
    /// Number of agents.
    pub agents: usize,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("sim", &self.sim.base_url())
            .field("server_url", &self.server_url)
            .field("agents", &self.agents)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(s) = &self.server {
            s.abort();
        }
    }
}

fn sim_toml(public: &str, agents: usize, voice: Voice) -> String {
    let workflow = r#"{"task_routing":{"filters":[{"filter_friendly_name":"inbound","expression":"type == 'inbound_call'","targets":[{"queue":"All"}]}],"default_filter":{"queue":"All"}}}"#;
    let mut workers = String::new();
    for i in 0..agents {
        let (sid, id) = (worker_sid(i), agent_id(i));
        workers.push_str(&format!(
            "  {{ sid = \"{sid}\", name = \"{id}\", attributes = {{ contact_uri = \"client:{id}\" }} }},\n"
        ));
    }
    let (number, assignment) = match voice {
        Voice::Simulated => (String::new(), String::new()),
        Voice::Device(_) => (
            format!(
                "[[numbers]]\nnumber = \"{NUMBER}\"\naccount = \"{ACCOUNT}\"\nvoice_url = \"{public}/twilio/voice/inbound\"\nvoice_fallback_url = \"{public}/twilio/voice/inbound\"\n"
            ),
            format!("assignment_callback_url = \"{public}/twilio/taskrouter/assignment\"\n"),
        ),
    };
    format!(
        r#"
seed = 11
heartbeat_ms = 10000
webhook_retry_delays_ms = [200, 1000]
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "{AUTH_TOKEN}"
api_keys = [{{ sid = "{API_KEY}", secret = "{API_SECRET}" }}]
{number}[[workspaces]]
account = "{ACCOUNT}"
sid = "{WORKSPACE}"
friendly_name = "Tsunagi bench"
event_callback_url = "{public}/twilio/taskrouter/events"
activities = [
  {{ sid = "{OFFLINE}", name = "Offline", available = false }},
  {{ sid = "{AVAILABLE}", name = "Available", available = true }},
  {{ sid = "{BREAK}", name = "Break", available = false }},
  {{ sid = "{AWAY}", name = "Away", available = false }},
]
default_activity = "Offline"
timeout_activity = "Offline"
disconnect_activity = "Offline"
queues = [{{ sid = "{QUEUE}", name = "All" }}]
workers = [
{workers}]
[[workspaces.workflows]]
sid = "{WORKFLOW}"
name = "inbound"
task_reservation_timeout = 120
{assignment}configuration = '''{workflow}'''
"#
    )
}

/// The server's TOML: `[server]` (with `listen` when given), `[database] data_dir` (recordings and the like
/// stay in the run's temporary directory) and `[twilio]` pointing at the stand-in.
pub fn server_toml(
    public: &str,
    twilio: &str,
    roster_interval_ms: u64,
    listen: Option<std::net::SocketAddr>,
    data_dir: &std::path::Path,
) -> String {
    let data_dir = data_dir.display();
    let listen = listen
        .map(|a| format!("listen = \"{a}\"\n"))
        .unwrap_or_default();
    format!(
        r#"
[server]
{listen}public_base_url = "{public}"
roster_interval_ms = {roster_interval_ms}
[database]
data_dir = "{data_dir}"
[twilio]
account_sid = "{ACCOUNT}"
api_key_sid = "{API_KEY}"
workspace_sid = "{WORKSPACE}"
workflow_sid = "{WORKFLOW}"
api_base = "{twilio}"
taskrouter_base = "{twilio}"
sync_base = "{twilio}"
"#
    )
}

/// The secrets the server reads from its environment.
pub fn server_env() -> [(String, String); 2] {
    [
        ("TSUNAGI_TWILIO_API_KEY_SECRET", API_SECRET),
        ("TSUNAGI_TWILIO_AUTH_TOKEN", AUTH_TOKEN),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
}

fn server_config(
    public: &str,
    twilio: &str,
    roster_interval_ms: u64,
    data_dir: &std::path::Path,
) -> Result<ServerConfig, BenchError> {
    let text = server_toml(public, twilio, roster_interval_ms, None, data_dir);
    Ok(ServerConfig::from_parts(&text, server_env())?)
}

impl Stack {
    /// Starts the stand-in and the server, and creates the agents' accounts.
    pub async fn start(cfg: StackConfig) -> Result<Self, BenchError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let server_url = format!("http://{}", listener.local_addr()?);
        let sim = Sim::start_on(
            SimConfig::from_toml(&sim_toml(&server_url, cfg.agents, cfg.voice))?,
            "127.0.0.1:0",
        )
        .await?;
        let dir = tempfile::tempdir()?;
        let db_url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        let db = Db::connect(&db_url, 8).await?;
        let config = server_config(
            &server_url,
            &sim.base_url(),
            cfg.roster_interval_ms,
            &dir.path().join("data"),
        )?;
        let state = AppState::new(config, db).map_err(|e| BenchError::Setup(e.to_string()))?;
        tsunagi_server::background::spawn(&state);
        let router = tsunagi_server::app(state.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "server stopped");
            }
        });
        let stack = Self {
            sim,
            state,
            server_url,
            http: reqwest::Client::new(),
            agents: cfg.agents,
            server: Some(server),
            _dir: dir,
        };
        stack.create_accounts().await?;
        Ok(stack)
    }

    /// Starts the stand-in with its webhooks (and the agents' traffic) aimed at `public`, a balancer in front of
    /// server processes the caller starts, on the database `db_url`; creates the agents' accounts there. The
    /// returned stack's `state` is a bench-side handle on that database (it serves nothing).
    pub async fn start_external(
        cfg: StackConfig,
        public: &str,
        db_url: &str,
    ) -> Result<Self, BenchError> {
        let sim = Sim::start_on(
            SimConfig::from_toml(&sim_toml(public, cfg.agents, cfg.voice))?,
            "127.0.0.1:0",
        )
        .await?;
        let db = Db::connect(db_url, 4).await?;
        let dir = tempfile::tempdir()?;
        let config = server_config(
            public,
            &sim.base_url(),
            cfg.roster_interval_ms,
            &dir.path().join("data"),
        )?;
        let state = AppState::new(config, db).map_err(|e| BenchError::Setup(e.to_string()))?;
        let stack = Self {
            sim,
            state,
            server_url: public.to_owned(),
            http: reqwest::Client::new(),
            agents: cfg.agents,
            server: None,
            _dir: dir,
        };
        stack.create_accounts().await?;
        Ok(stack)
    }

    /// Agent accounts (worker `i` ↔ `agent_i`) and the supervisor, all with [`PASSWORD`]. The Argon2 hash is
    /// computed once and shared, so creating 1,000 accounts takes no minutes; each login still verifies it.
    async fn create_accounts(&self) -> Result<(), BenchError> {
        let db = &self.state.db;
        let setup = |e: auth::AuthError| BenchError::Setup(e.to_string());
        for i in 0..self.agents {
            let (id, worker) = (agent_id(i), worker_sid(i));
            auth::create_agent(
                db,
                NewAgent {
                    id: &id,
                    login: &id,
                    display_name: &id,
                    password: None,
                    worker_sid: Some(&worker),
                    department_id: None,
                    role: Role::Agent,
                },
            )
            .await
            .map_err(setup)?;
        }
        auth::create_agent(
            db,
            NewAgent {
                id: SUPERVISOR,
                login: SUPERVISOR,
                display_name: SUPERVISOR,
                password: None,
                worker_sid: None,
                department_id: None,
                role: Role::Supervisor,
            },
        )
        .await
        .map_err(setup)?;
        let hash = tokio::task::spawn_blocking(|| auth::hash_password(PASSWORD))
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))?
            .map_err(setup)?;
        sqlx::query("UPDATE agents SET password_hash = $1")
            .bind(hash)
            .execute(&db.pool)
            .await?;
        Ok(())
    }

    /// `POST /v1/login`: the session token of `login`.
    pub async fn login(&self, login: &str) -> Result<String, BenchError> {
        let resp = self
            .http
            .post(format!("{}/v1/login", self.server_url))
            .json(&serde_json::json!({"login": login, "password": PASSWORD}))
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        match body["session_token"].as_str() {
            Some(t) if status == 200 => Ok(t.to_owned()),
            _ => Err(unexpected("login", status, &body)),
        }
    }

    /// A TaskRouter REST call to the stand-in (`/v1/Workspaces/{WS}/{path}`) with the server's API key.
    pub async fn taskrouter(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<(u16, Value), BenchError> {
        let url = format!("{}/v1/Workspaces/{WORKSPACE}/{path}", self.sim.base_url());
        let mut req = self
            .http
            .request(method.clone(), url)
            .basic_auth(API_KEY, Some(API_SECRET));
        if !form.is_empty() {
            req = if method == reqwest::Method::GET {
                req.query(form)
            } else {
                req.form(form)
            };
        }
        Ok(status_json(req.send().await?).await)
    }

    /// Creates a task on the inbound workflow, as Twilio does for the server's `<Enqueue>`; returns its SID.
    pub async fn create_task(&self, attributes: &Value) -> Result<String, BenchError> {
        let attrs = attributes.to_string();
        let (status, body) = self
            .taskrouter(
                reqwest::Method::POST,
                "Tasks",
                &[
                    ("WorkflowSid", WORKFLOW),
                    ("Attributes", &attrs),
                    ("Timeout", "600"),
                ],
            )
            .await?;
        match body["sid"].as_str() {
            Some(sid) if status == 201 => Ok(sid.to_owned()),
            _ => Err(unexpected("create task", status, &body)),
        }
    }

    /// A customer calls [`NUMBER`] from `from` (`POST /_sim/calls`; the caller stays on the line until the call
    /// is ended); returns the customer leg's CallSid.
    pub async fn place_call(&self, from: &str) -> Result<String, BenchError> {
        let resp = self
            .http
            .post(format!("{}/_sim/calls", self.sim.base_url()))
            .json(&serde_json::json!({"from": from, "to": NUMBER}))
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        match body["sid"].as_str() {
            Some(sid) if status == 200 => Ok(sid.to_owned()),
            _ => Err(unexpected("place call", status, &body)),
        }
    }

    /// Every call the stand-in still keeps (live ones and the latest ended ones), by CallSid.
    pub async fn sim_calls(&self) -> Result<std::collections::HashMap<String, Value>, BenchError> {
        let resp = self
            .http
            .get(format!("{}/_sim/calls", self.sim.base_url()))
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        let list = body
            .as_array()
            .ok_or_else(|| unexpected("sim calls", status, &body))?;
        Ok(list
            .iter()
            .filter_map(|c| Some((c["sid"].as_str()?.to_owned(), c.clone())))
            .collect())
    }

    /// The queue's real-time statistics: (tasks pending, workers Available and holding no reservation).
    pub async fn queue_waiting(&self) -> Result<(u64, u64), BenchError> {
        let (status, body) = self
            .taskrouter(
                reqwest::Method::GET,
                &format!("TaskQueues/{QUEUE}/RealTimeStatistics"),
                &[],
            )
            .await?;
        match (
            body["tasks_by_status"]["pending"].as_u64(),
            body["total_eligible_workers"].as_u64(),
        ) {
            (Some(p), Some(e)) if status == 200 => Ok((p, e)),
            _ => Err(unexpected("queue statistics", status, &body)),
        }
    }

    /// The `assignment_status` of each task, as the stand-in has it.
    pub async fn task_statuses(&self, tasks: &[String]) -> Result<Vec<String>, BenchError> {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let (_, body) = self
                .taskrouter(reqwest::Method::GET, &format!("Tasks/{task}"), &[])
                .await?;
            out.push(
                body["assignment_status"]
                    .as_str()
                    .unwrap_or("missing")
                    .to_owned(),
            );
        }
        Ok(out)
    }

    /// Every worker's activity name, by worker SID, as the stand-in has it (all pages).
    pub async fn worker_activities(
        &self,
    ) -> Result<std::collections::HashMap<String, String>, BenchError> {
        let mut out = std::collections::HashMap::new();
        for page in 0.. {
            let page = page.to_string();
            let (status, body) = self
                .taskrouter(
                    reqwest::Method::GET,
                    "Workers",
                    &[("PageSize", "1000"), ("Page", &page)],
                )
                .await?;
            let list = body["workers"]
                .as_array()
                .ok_or_else(|| unexpected("list workers", status, &body))?;
            out.extend(list.iter().filter_map(|w| {
                Some((
                    w["sid"].as_str()?.to_owned(),
                    w["activity_name"].as_str()?.to_owned(),
                ))
            }));
            if list.len() < 1000 {
                break;
            }
        }
        Ok(out)
    }

    /// The stand-in's log of EventBridge pushes of `event_type`: (worker SID, Unix ms). The log is bounded
    /// (the oldest entries go first), so very long runs may see only the latest pushes.
    pub async fn pushes(&self, event_type: &str) -> Result<Vec<(String, u64)>, BenchError> {
        let resp = self
            .http
            .get(format!("{}/_sim/events", self.sim.base_url()))
            .query(&[("kind", "eventbridge.push")])
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        let log = body["log"]
            .as_array()
            .ok_or_else(|| unexpected("sim events", status, &body))?;
        Ok(log
            .iter()
            .filter(|e| e["data"]["event_type"] == event_type)
            .filter_map(|e| {
                Some((
                    e["data"]["worker"].as_str()?.to_owned(),
                    e["at_ms"].as_u64()?,
                ))
            })
            .collect())
    }

    /// Closes every EventBridge socket at once, server side (`/_sim/sockets/drop`); returns how many.
    pub async fn drop_eventbridge_sockets(&self) -> Result<u64, BenchError> {
        let resp = self
            .http
            .post(format!("{}/_sim/sockets/drop", self.sim.base_url()))
            .json(
                &serde_json::json!({"kind": "eventbridge", "code": 1011, "reason": "bench storm"}),
            )
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        body["dropped"]
            .as_u64()
            .ok_or_else(|| unexpected("drop sockets", status, &body))
    }

    /// `GET /v1/roster` as `session` (a supervisor): agent id → activity.
    pub async fn roster(
        &self,
        session: &str,
    ) -> Result<std::collections::HashMap<String, String>, BenchError> {
        let resp = self
            .http
            .get(format!("{}/v1/roster", self.server_url))
            .bearer_auth(session)
            .header("x-client-version", CLIENT_VERSION)
            .send()
            .await?;
        let (status, body) = status_json(resp).await;
        let agents = body["agents"]
            .as_array()
            .ok_or_else(|| unexpected("roster", status, &body))?;
        Ok(roster_entries(agents))
    }

    /// The server's count of 5xx answers so far (its `/metrics`); `None` if unreadable.
    pub async fn server_5xx(&self) -> Option<u64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.server_url))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("tsunagi_http_responses_total{class=\"5xx\"} "))
            .and_then(|v| v.trim().parse().ok())
    }

    /// How long to allow for a phase involving every agent: `base` plus 20 ms per agent.
    pub fn allowance(&self, base: Duration) -> Duration {
        base + Duration::from_millis(20 * self.agents as u64)
    }
}

/// Agent id → activity from a roster's `agents` array.
pub fn roster_entries(agents: &[Value]) -> std::collections::HashMap<String, String> {
    agents
        .iter()
        .filter_map(|a| {
            Some((
                a["agent_id"].as_str()?.to_owned(),
                a["activity"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

async fn status_json(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn unexpected(what: &str, status: u16, body: &Value) -> BenchError {
    let mut body = body.to_string();
    body.truncate(300);
    BenchError::Unexpected {
        what: what.into(),
        status,
        body,
    }
}
