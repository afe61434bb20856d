//! Test harness: a real database per test (a SQLite file in a temp dir, or a fresh PostgreSQL database when
//! `DATABASE_URL` names a server, e.g. under `scripts/with-postgres`), the real router, and request helpers.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;
use tsunagi_server::auth::{self, NewAgent, Role};
use tsunagi_server::{app, AppState, Config, Db};

pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const KEY_SECRET: &str = "test-api-key-secret-do-not-use";
pub const PUBLIC: &str = "https://softphone-api.example.co.jp";
pub const ACCOUNT: &str = "AC00000000000000000000000000000000";
pub const WORKSPACE: &str = "WS33333333333333333333333333333333";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    _dir: tempfile::TempDir,
}

pub mod device;
pub mod live;
pub mod sim;

/// The configuration used by tests; `twilio_base` points every Twilio base URL at a stand-in.
pub fn config(twilio_base: &str) -> Config {
    config_with(twilio_base, PUBLIC)
}

/// Like [`config`] with another public base URL (a server really listening, for the stand-in's webhooks).
pub fn config_with(twilio_base: &str, public: &str) -> Config {
    let toml = format!(
        r#"
[server]
public_base_url = "{public}"
max_body_bytes = 16384
roster_interval_ms = 100
[twilio]
account_sid = "{ACCOUNT}"
api_key_sid = "SK11111111111111111111111111111111"
workspace_sid = "{WORKSPACE}"
workflow_sid = "WW66666666666666666666666666666666"
twiml_app_sid = "AP22222222222222222222222222222222"
sync_service_sid = "IS55555555555555555555555555555555"
wrapup_activity_sid = "WA77777777777777777777777777777777"
caller_id = "+81501234567"
api_base = "{twilio_base}"
taskrouter_base = "{twilio_base}"
sync_base = "{twilio_base}"
"#
    );
    let env = vec![
        (
            "TSUNAGI_TWILIO_API_KEY_SECRET".to_string(),
            KEY_SECRET.to_string(),
        ),
        (
            "TSUNAGI_TWILIO_AUTH_TOKEN".to_string(),
            AUTH_TOKEN.to_string(),
        ),
    ];
    Config::from_parts(&toml, env).expect("test config")
}

/// A fresh database: PostgreSQL when `DATABASE_URL` says so, else a SQLite file in `dir`.
pub async fn fresh_db(dir: &std::path::Path) -> Db {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            sqlx::any::install_default_drivers();
            let name = format!("t_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::AnyPool::connect(&url)
                .await
                .expect("connect to DATABASE_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("create database");
            admin.close().await;
            let base = url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .expect("url with a database name");
            Db::connect(&format!("{base}/{name}"), 4)
                .await
                .expect("open test database")
        }
        _ => {
            let url = format!("sqlite://{}?mode=rwc", dir.join("test.db").display());
            Db::connect(&url, 4).await.expect("open sqlite")
        }
    }
}

pub async fn test_app_with(twilio_base: &str) -> TestApp {
    test_app_from(config(twilio_base)).await
}

pub async fn test_app_from(config: Config) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_db(dir.path()).await;
    app_on(config, db, dir)
}

/// A server (state, background tasks, router) on the database `db`; recordings go under `dir` unless configured.
pub fn app_on(mut config: Config, db: Db, dir: tempfile::TempDir) -> TestApp {
    if config.recordings.dir.is_none() {
        config.recordings.dir = Some(dir.path().join("recordings"));
    }
    let state = AppState::new(config, db).expect("state");
    tsunagi_server::background::spawn(&state);
    let router = app(state.clone());
    TestApp {
        state,
        router,
        _dir: dir,
    }
}

/// An app whose Twilio base URL points at a closed port (tests that must not reach Twilio).
pub async fn test_app() -> TestApp {
    test_app_with("http://127.0.0.1:9").await
}

impl TestApp {
    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body, headers)
    }

    pub async fn json(&self, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let (status, body, _) = self.send(req).await;
        let value = if body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or_else(|_| {
                serde_json::Value::String(String::from_utf8_lossy(&body).into_owned())
            })
        };
        (status, value)
    }

    pub async fn add_agent(
        &self,
        id: &str,
        login: &str,
        password: &str,
        worker: Option<&str>,
        role: Role,
    ) {
        auth::create_agent(
            &self.state.db,
            NewAgent {
                id,
                login,
                display_name: "田中 太郎",
                password: Some(password),
                worker_sid: worker,
                department_id: None,
                role,
            },
        )
        .await
        .expect("create agent");
    }

    /// The owner's department colleague: `agent_2048`, login `sato` / `pw2`, worker [`sim::DEPT_WORKER`].
    pub async fn add_colleague(&self) {
        let worker = Some(sim::DEPT_WORKER);
        self.add_agent("agent_2048", "sato", "pw2", worker, Role::Agent)
            .await;
    }

    /// The supervisor: `agent_9001`, login `yamamoto` / `pw9`.
    pub async fn add_supervisor(&self) {
        self.add_agent("agent_9001", "yamamoto", "pw9", None, Role::Supervisor)
            .await;
    }

    /// Serves the router on a real port of 127.0.0.1; returns its base URL (`http://…`).
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let router = self.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let (status, body) = self
            .json(post_json(
                "/v1/login",
                &serde_json::json!({"login": login, "password": password}),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["session_token"]
            .as_str()
            .expect("session_token")
            .to_owned()
    }
}

pub fn post_json(uri: &str, body: &serde_json::Value) -> Request<Body> {
    Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request")
}

pub fn authed(method: &str, uri: &str, session: &str, version: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {session}"));
    if let Some(v) = version {
        b = b.header("x-client-version", v);
    }
    b.body(Body::empty()).expect("request")
}

/// Lower-case hex SHA-256 of `bytes` (what the archive records).
pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `POST uri` as `session` from client 1.0.0, with a JSON body if given.
pub fn authed_post(uri: &str, session: &str, json: Option<&str>) -> Request<Body> {
    let b = Request::post(uri)
        .header("authorization", format!("Bearer {session}"))
        .header("x-client-version", "1.0.0");
    match json {
        Some(json) => b
            .header("content-type", "application/json")
            .body(Body::from(json.to_owned())),
        None => b.body(Body::empty()),
    }
    .expect("request")
}

/// A form POST signed like Twilio does for `PUBLIC` + `path_and_query`.
pub fn signed_form(path_and_query: &str, params: &[(&str, &str)]) -> Request<Body> {
    signed_form_for(PUBLIC, path_and_query, params)
}

/// A form POST signed for `public` + `path_and_query`.
pub fn signed_form_for(
    public: &str,
    path_and_query: &str,
    params: &[(&str, &str)],
) -> Request<Body> {
    let url = format!("{public}{path_and_query}");
    let sig = tsunagi_twilio::signature::compute(AUTH_TOKEN, &url, params);
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    Request::post(path_and_query)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(Body::from(body))
        .expect("request")
}

impl TestApp {
    pub async fn exec(&self, sql: &str) {
        sqlx::query(sql)
            .execute(&self.state.db.pool)
            .await
            .expect(sql);
    }

    /// Departments, the owner agent (`agent_1024`, worker `WK4…`) and a Japanese-named customer.
    pub async fn seed_crm(&self) {
        self.exec("INSERT INTO departments (id, name) VALUES ('d12', '法人営業')")
            .await;
        auth::create_agent(
            &self.state.db,
            NewAgent {
                id: "agent_1024",
                login: "tanaka",
                display_name: "田中 太郎",
                password: Some("pw"),
                worker_sid: Some(OWNER_WORKER),
                department_id: Some("d12"),
                role: Role::Agent,
            },
        )
        .await
        .expect("agent");
        self.exec(
            "INSERT INTO customers (id, phone, name, owner_agent_id, department_id) \
             VALUES ('C-000123', '+81312345678', '山田 花子', 'agent_1024', 'd12')",
        )
        .await;
    }

    pub async fn count(&self, sql: &str) -> i64 {
        use sqlx::Row as _;
        sqlx::query(sql)
            .fetch_one(&self.state.db.pool)
            .await
            .expect(sql)
            .try_get::<i64, _>(0)
            .expect("count")
    }
}

pub const OWNER_WORKER: &str = "WK44444444444444444444444444444444";
pub const CUSTOMER_CALL: &str = "CA99999999999999999999999999999999";
pub const AGENT_CALL: &str = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const TASK: &str = "WT77777777777777777777777777777777";
pub const RES: &str = "WR88888888888888888888888888888888";
pub const CONF: &str = "CFbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
