//! The local Twilio stand-in in-process on 127.0.0.1:0, configured with the same account, key, workspace and
//! workflow (spec §4.4: owner 10 s → department → anyone) as the server under test, plus a server that really
//! listens so the stand-in's signed webhooks reach it.

use std::time::Duration;

use serde_json::Value;
use tsunagi_twilio_sim::{Config as SimConfig, Sim};

use super::*;

pub const DEPT_WORKER: &str = "WK55555555555555555555555555555555";
pub const OTHER_WORKER: &str = "WK66666666666666666666666666666666";
pub const OFFLINE: &str = "WA00000000000000000000000000000001";
pub const AVAILABLE: &str = "WA00000000000000000000000000000002";
pub const WORKFLOW: &str = "WW66666666666666666666666666666666";
pub const QUEUE: &str = "WQ99999999999999999999999999999999";
/// The company number whose Voice URL is the server's inbound webhook.
pub const COMPANY_NUMBER: &str = "+81501234567";

pub struct Stack {
    pub sim: Sim,
    pub app: TestApp,
    pub public: String,
    http: reqwest::Client,
}

fn sim_config(public: &str, with_assignment_callback: bool) -> String {
    sim_config_with(public, with_assignment_callback, true)
}

fn sim_config_with(public: &str, with_assignment_callback: bool, routing: bool) -> String {
    let callback = if with_assignment_callback {
        format!("assignment_callback_url = \"{public}/twilio/taskrouter/assignment\"\n")
    } else {
        String::new()
    };
    let placeholder = r#"{"task_routing":{"filters":[],"default_filter":{"queue":"All"}}}"#;
    let workflow = r#"{"task_routing":{"filters":[
 {"filter_friendly_name":"inbound-owner","expression":"type == 'inbound_call' AND route_owner == true",
  "targets":[{"queue":"All","known_worker_sid":"task.owner_worker_sid","priority":20,"timeout":10},
   {"queue":"All","expression":"worker.department_id == task.department_id","priority":10,"timeout":30},
   {"queue":"All","priority":10}]},
 {"filter_friendly_name":"inbound-no-owner","expression":"type == 'inbound_call'",
  "targets":[{"queue":"All","expression":"worker.department_id == task.department_id","priority":10,"timeout":30},
   {"queue":"All","priority":10}]}],
 "default_filter":{"queue":"All"}}}"#
        .replace('\n', "");
    let workflow = if routing {
        workflow
    } else {
        placeholder.to_owned()
    };
    let events = if routing {
        format!("event_callback_url = \"{public}/twilio/taskrouter/events\"")
    } else {
        String::new()
    };
    format!(
        r#"
seed = 7
heartbeat_ms = 1000
webhook_retry_delays_ms = [50, 50]
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "{AUTH_TOKEN}"
api_keys = [{{ sid = "SK11111111111111111111111111111111", secret = "{KEY_SECRET}" }}]
[voice]
heartbeat_ms = 1000
[[applications]]
sid = "AP22222222222222222222222222222222"
voice_url = "{public}/twilio/voice/outbound"
[[numbers]]
number = "{COMPANY_NUMBER}"
account = "{ACCOUNT}"
voice_url = "{public}/twilio/voice/inbound"
[[workspaces]]
account = "{ACCOUNT}"
sid = "{WORKSPACE}"
friendly_name = "Tsunagi test"
{events}
activities = [
  {{ sid = "{OFFLINE}", name = "Offline", available = false }},
  {{ sid = "{AVAILABLE}", name = "Available", available = true }},
  {{ sid = "WA77777777777777777777777777777777", name = "WrapUp", available = false }},
]
default_activity = "Offline"
timeout_activity = "Offline"
queues = [{{ sid = "{QUEUE}", name = "All" }}]
workers = [
  {{ sid = "{OWNER_WORKER}", name = "agent_1024", attributes = {{ contact_uri = "client:agent_1024", department_id = "d12" }} }},
  {{ sid = "{DEPT_WORKER}", name = "agent_2048", attributes = {{ contact_uri = "client:agent_2048", department_id = "d12" }} }},
  {{ sid = "{OTHER_WORKER}", name = "agent_3072", attributes = {{ contact_uri = "client:agent_3072", department_id = "d99" }} }},
]
[[workspaces.workflows]]
sid = "{WORKFLOW}"
name = "inbound"
task_reservation_timeout = 25
{callback}configuration = '''{workflow}'''
"#
    )
}

/// Starts the server on a real port and the stand-in pointing its webhooks at it.
pub async fn stack(with_assignment_callback: bool) -> Stack {
    stack_from(|public| sim_config(public, with_assignment_callback)).await
}

/// A stand-in whose workspace knows nothing of the server yet (no callbacks, an empty workflow).
pub async fn bare_stack() -> Stack {
    stack_from(|public| sim_config_with(public, false, false)).await
}

/// Like [`stack`] with the agent leg ringing only `ring_secs` (real time) before no-answer.
pub async fn stack_with_ring(ring_secs: u64) -> Stack {
    stack_configured(
        |public| sim_config(public, true),
        |c| c.twilio.agent_ring_timeout_secs = ring_secs,
    )
    .await
}

/// Like [`stack`] with the server's configuration changed by `tweak`.
pub async fn stack_tweaked(tweak: impl FnOnce(&mut tsunagi_server::Config)) -> Stack {
    stack_configured(|public| sim_config(public, true), tweak).await
}

async fn stack_from(sim_text: impl FnOnce(&str) -> String) -> Stack {
    stack_configured(sim_text, |_| {}).await
}

async fn stack_configured(
    sim_text: impl FnOnce(&str) -> String,
    tweak: impl FnOnce(&mut tsunagi_server::Config),
) -> Stack {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public = format!("http://{}", listener.local_addr().expect("addr"));
    let sim_cfg = SimConfig::from_toml(&sim_text(&public)).expect("sim config");
    let sim = Sim::start(sim_cfg).await.expect("sim");
    let mut config = config_with(&sim.base_url(), &public);
    tweak(&mut config);
    let app = test_app_from(config).await;
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    Stack {
        sim,
        app,
        public,
        http: reqwest::Client::new(),
    }
}

impl Stack {
    /// A TaskRouter REST call to the stand-in with the API key.
    pub async fn tr(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = format!("{}/v1/Workspaces/{WORKSPACE}/{path}", self.sim.base_url());
        self.rest(method, url, form).await
    }

    /// A REST call to the stand-in with the API key (status, JSON body or null).
    async fn rest(
        &self,
        method: reqwest::Method,
        url: String,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, url)
            .basic_auth("SK11111111111111111111111111111111", Some(KEY_SECRET));
        if !form.is_empty() {
            req = req.form(form);
        }
        let resp = req.send().await.expect("sim reachable");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A GET of the stand-in's control API (`/_sim/…`).
    pub async fn sim_get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.sim.base_url()))
            .send()
            .await
            .expect("sim reachable");
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.expect("json")
    }

    /// A JSON POST to the stand-in's control API.
    pub async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .expect("sim reachable");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A Voice REST call (`/2010-04-01/Accounts/{AC}/…`) with the API key.
    pub async fn voice(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/{path}",
            self.sim.base_url()
        );
        self.rest(method, url, form).await
    }

    /// Moves the stand-in's clock forward (target timeouts fire without waiting).
    pub async fn advance(&self, ms: u64) {
        let resp = self
            .http
            .post(format!("{}/_sim/clock/advance", self.sim.base_url()))
            .json(&serde_json::json!({ "ms": ms }))
            .send()
            .await
            .expect("sim reachable");
        assert!(resp.status().is_success());
    }

    pub async fn set_activity(&self, worker: &str, activity: &str) {
        let (status, body) = self
            .tr(
                reqwest::Method::POST,
                &format!("Workers/{worker}"),
                &[("ActivitySid", activity)],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// What Twilio does with our `<Enqueue>` TwiML: creates the task with its attributes on the workflow.
    pub async fn create_task(&self, attributes: &Value) -> String {
        let attrs = attributes.to_string();
        let (status, body) = self
            .tr(
                reqwest::Method::POST,
                "Tasks",
                &[
                    ("WorkflowSid", WORKFLOW),
                    ("Attributes", &attrs),
                    ("Timeout", "600"),
                ],
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["sid"].as_str().expect("task sid").to_owned()
    }

    pub async fn reservations(&self, task: &str) -> Vec<Value> {
        let (status, body) = self
            .tr(
                reqwest::Method::GET,
                &format!("Tasks/{task}/Reservations"),
                &[],
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["reservations"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `check` until it returns `Some` (safety net of 10 s; the stand-in answers in milliseconds).
    pub async fn eventually<T, F, Fut>(&self, what: &str, mut check: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = check().await {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
