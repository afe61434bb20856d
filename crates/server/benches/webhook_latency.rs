//! Webhook → TwiML latency under load, from a second process on loopback (issue #7 "Proof").
//!
//! Spawns the real `tsunagi-server` binary once per backend — SQLite (a file, WAL) and, when `DATABASE_URL`
//! names a PostgreSQL server (e.g. under `scripts/with-postgres`), a fresh PostgreSQL database — then this process
//! fires signed `POST /twilio/voice/inbound` webhooks (half from CRM customers, half unknown callers; every one a
//! CRM lookup, a call-event insert and an `<Enqueue>` document), then signed `task.created` workspace events (each
//! one an exactly-once claim — with its advisory lock on PostgreSQL — a task row and a call event), with a fixed
//! number of connections, and prints one JSON line per webhook and backend with p50/p90/p99/max and throughput,
//! then a side-by-side table.
//!
//! `cargo bench -p tsunagi-server --bench webhook_latency` (env: `BENCH_REQUESTS`, default 4000;
//! `BENCH_CONCURRENCY`, default 32).

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";
const CUSTOMERS: usize = 1000;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn phone(i: usize) -> String {
    format!("+8131{:07}", i)
}

/// Migrates and seeds `url` (customers without owner: no TaskRouter pre-check, the webhook stays local).
async fn seed(url: &str) {
    let db = tsunagi_server::Db::connect(url, 2)
        .await
        .expect("open the bench database");
    for i in 0..CUSTOMERS {
        sqlx::query("INSERT INTO customers (id, phone, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(format!("C-{i:06}"))
            .bind(phone(i))
            .bind(format!("顧客 {i}"))
            .execute(&db.pool)
            .await
            .expect("seed a customer");
    }
    db.pool.close().await;
}

/// A fresh database on the PostgreSQL server named by `admin_url`.
async fn fresh_postgres(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(admin_url)
        .await
        .expect("connect to DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .expect("create the bench database");
    admin.close().await;
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .expect("a URL with a database name");
    format!("{base}/{name}")
}

async fn start(dir: &std::path::Path, db_url: &str) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = format!(
        r#"
[server]
listen = "127.0.0.1:{port}"
public_base_url = "{base}"
[database]
url = "{db_url}"
max_connections = 16
[recordings]
worker = false
[twilio]
account_sid = "AC00000000000000000000000000000000"
api_key_sid = "SK11111111111111111111111111111111"
workspace_sid = "WS33333333333333333333333333333333"
workflow_sid = "WW66666666666666666666666666666666"
caller_id = "+81501234567"
api_base = "http://127.0.0.1:9"
taskrouter_base = "http://127.0.0.1:9"
sync_base = "http://127.0.0.1:9"
"#
    );
    let path = dir.join(format!("server-{port}.toml"));
    std::fs::write(&path, config).expect("write the bench config");
    let child = Command::new(env!("CARGO_BIN_EXE_tsunagi-server"))
        .arg("--config")
        .arg(&path)
        .env_remove("DATABASE_URL")
        .env("TSUNAGI_TWILIO_API_KEY_SECRET", "bench-key-secret")
        .env("TSUNAGI_TWILIO_AUTH_TOKEN", AUTH_TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tsunagi-server");
    let server = Server { child, base };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = http.get(format!("{}/healthz", server.base)).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        assert!(Instant::now() < deadline, "tsunagi-server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Run {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

/// Which webhook is fired.
#[derive(Debug, Clone, Copy)]
enum Hook {
    /// `POST /twilio/voice/inbound`: CRM lookup, call-event insert, `<Enqueue>` TwiML.
    Inbound,
    /// `POST /twilio/taskrouter/events` `task.created`: the exactly-once claim, the task row, the call event, 204.
    TaskCreated,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Self::Inbound => "voice/inbound → TwiML",
            Self::TaskCreated => "task event (claim)",
        }
    }
    fn path(self) -> &'static str {
        match self {
            Self::Inbound => "/twilio/voice/inbound",
            Self::TaskCreated => "/twilio/taskrouter/events",
        }
    }
    /// The form of request `n`.
    fn params(self, n: usize) -> Vec<(&'static str, String)> {
        let call = format!("CA{:032x}", n as u128 + 1);
        match self {
            Self::Inbound => {
                let from = if n.is_multiple_of(2) {
                    phone(n / 2 % CUSTOMERS)
                } else {
                    format!("+8190{:08}", n)
                };
                vec![
                    ("AccountSid", "AC00000000000000000000000000000000".into()),
                    ("CallSid", call),
                    ("From", from),
                    ("To", "+81501234567".into()),
                    ("CallStatus", "ringing".into()),
                    ("Direction", "inbound".into()),
                ]
            }
            Self::TaskCreated => vec![
                ("EventType", "task.created".into()),
                ("Sid", format!("EV{:032x}", n as u128 + 1)),
                ("TaskSid", format!("WT{:032x}", n as u128 + 1)),
                ("TaskAttributes", format!(r#"{{"call_sid":"{call}"}}"#)),
            ],
        }
    }
    fn ok(self, status: reqwest::StatusCode, body: &str) -> bool {
        match self {
            Self::Inbound => status.is_success() && body.contains("<Enqueue"),
            Self::TaskCreated => status == reqwest::StatusCode::NO_CONTENT,
        }
    }
}

async fn fire(base: &str, hook: Hook, requests: usize, concurrency: usize, offset: usize) -> Run {
    let url = format!("{base}{}", hook.path());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (url, next) = (url.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= requests {
                    return (lat, errors);
                }
                let params = hook.params(offset + i);
                let sig = tsunagi_twilio::signature::compute(AUTH_TOKEN, &url, &params);
                let t = Instant::now();
                let ok = match http
                    .post(&url)
                    .header("x-twilio-signature", sig)
                    .form(&params)
                    .send()
                    .await
                {
                    Ok(r) => {
                        let status = r.status();
                        r.text().await.is_ok_and(|b| hook.ok(status, &b))
                    }
                    Err(_) => false,
                };
                lat.push(t.elapsed());
                errors += usize::from(!ok);
            }
        }));
    }
    let (mut latencies, mut errors) = (Vec::with_capacity(requests), 0);
    for w in workers {
        let (l, e) = w.await.expect("worker");
        latencies.extend(l);
        errors += e;
    }
    Run {
        latencies,
        errors,
        elapsed: started.elapsed(),
    }
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

async fn bench(
    backend: &str,
    db_url: &str,
    dir: &std::path::Path,
    requests: usize,
    concurrency: usize,
) -> Vec<serde_json::Value> {
    seed(db_url).await;
    let server = start(dir, db_url).await;
    let mut out = Vec::new();
    for hook in [Hook::Inbound, Hook::TaskCreated] {
        fire(
            &server.base,
            hook,
            200.min(requests),
            concurrency,
            10_000_000,
        )
        .await; // warm-up
        let mut run = fire(&server.base, hook, requests, concurrency, 0).await;
        run.latencies.sort();
        let l = &run.latencies;
        out.push(serde_json::json!({
            "bench": "webhook_latency",
            "webhook": hook.name(),
            "backend": backend,
            "requests": requests,
            "concurrency": concurrency,
            "errors": run.errors,
            "p50_ms": (pct(l, 0.50) * 100.0).round() / 100.0,
            "p90_ms": (pct(l, 0.90) * 100.0).round() / 100.0,
            "p99_ms": (pct(l, 0.99) * 100.0).round() / 100.0,
            "max_ms": (pct(l, 1.0) * 100.0).round() / 100.0,
            "throughput_rps": (requests as f64 / run.elapsed.as_secs_f64()).round(),
        }));
    }
    drop(server);
    out
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need: run a tiny smoke then.
    let smoke = !std::env::args().any(|a| a == "--bench");
    let env_usize = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let requests = if smoke {
        50
    } else {
        env_usize("BENCH_REQUESTS", 4000)
    };
    let concurrency = if smoke {
        4
    } else {
        env_usize("BENCH_CONCURRENCY", 32)
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let mut results = bench("sqlite", &sqlite, dir.path(), requests, concurrency).await;
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let pg = fresh_postgres(&url).await;
            results.extend(bench("postgres", &pg, dir.path(), requests, concurrency).await);
        }
        _ => eprintln!("DATABASE_URL names no PostgreSQL server: SQLite only (run under scripts/with-postgres for both)"),
    }
    for r in &results {
        println!("{r}");
    }
    println!("\n{requests} signed webhooks of each kind, {concurrency} connections, loopback, second process");
    println!(
        "{:<22} {:<10} {:>8} {:>8} {:>8} {:>8} {:>10} {:>7}",
        "webhook", "backend", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s", "errors"
    );
    for r in &results {
        let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
        println!(
            "{:<22} {:<10} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>10.0} {:>7}",
            r["webhook"].as_str().unwrap_or(""),
            r["backend"].as_str().unwrap_or(""),
            f("p50_ms"),
            f("p90_ms"),
            f("p99_ms"),
            f("max_ms"),
            f("throughput_rps"),
            r["errors"]
        );
    }
    assert!(
        results.iter().all(|r| r["errors"] == 0),
        "some webhooks failed"
    );
}
