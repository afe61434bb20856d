//! Several `tsunagi-server` processes on one PostgreSQL database behind a [`Balancer`]: the deployment the
//! failover scenario kills and restarts. Each instance is the real binary with its own TOML (`listen` on a fixed
//! loopback port, so a restart comes back where the balancer expects it) and the same database, stand-in and
//! public URL; instances talk to each other only through PostgreSQL (LISTEN/NOTIFY for the event hub).
//!
//! A kill is `SIGKILL` (no graceful shutdown: open requests and event sockets are cut); a restart spawns the
//! binary again and waits for `/healthz`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::balancer::Balancer;
use crate::stack::{server_env, server_toml};
use crate::BenchError;

/// One server instance.
#[derive(Debug)]
pub struct Instance {
    /// Where it listens.
    pub addr: SocketAddr,
    config: PathBuf,
    child: Option<Child>,
}

/// The instances and their balancer.
#[derive(Debug)]
pub struct Cluster {
    /// The balancer (the public URL).
    pub balancer: Balancer,
    /// The instances.
    pub instances: Vec<Instance>,
    bin: PathBuf,
    db_url: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in &mut self.instances {
            if let Some(c) = &mut i.child {
                let _ = c.start_kill();
            }
        }
    }
}

/// A free loopback port (bound and released; the instance binds it moments later).
fn free_addr() -> Result<SocketAddr, BenchError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// The `tsunagi-server` binary next to the running bench binary (both are built into the same target dir).
pub fn default_server_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Test binaries live in target/<profile>/deps.
    [dir.join("tsunagi-server"), dir.join("../tsunagi-server")]
        .into_iter()
        .find(|p| p.is_file())
}

/// A fresh database on the PostgreSQL server of `admin_url` (e.g. `scripts/with-postgres`' `DATABASE_URL`);
/// returns its URL.
pub async fn fresh_postgres(admin_url: &str) -> Result<String, BenchError> {
    sqlx::any::install_default_drivers();
    let name = format!(
        "bench_{}_{}",
        std::process::id(),
        crate::recorder::wall_ms()
    );
    let admin = sqlx::AnyPool::connect(admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await?;
    admin.close().await;
    let base = admin_url
        .split('?')
        .next()
        .and_then(|u| u.rsplit_once('/'))
        .map(|(b, _)| b)
        .ok_or_else(|| BenchError::Setup("DATABASE_URL has no database name".into()))?;
    Ok(format!("{base}/{name}"))
}

impl Cluster {
    /// Binds the balancer for `instances` backends (not started yet: call [`Cluster::start_all`] once the
    /// stand-in and the database exist).
    pub async fn bind(instances: usize, bin: &Path, db_url: &str) -> Result<Self, BenchError> {
        let addrs = (0..instances)
            .map(|_| free_addr())
            .collect::<Result<Vec<_>, _>>()?;
        let dir = tempfile::tempdir()?;
        let balancer = Balancer::spawn(
            tokio::net::TcpListener::bind("127.0.0.1:0").await?,
            addrs.clone(),
        )?;
        let instances = addrs
            .into_iter()
            .enumerate()
            .map(|(i, addr)| Instance {
                addr,
                config: dir.path().join(format!("server-{i}.toml")),
                child: None,
            })
            .collect();
        Ok(Self {
            balancer,
            instances,
            bin: bin.to_owned(),
            db_url: db_url.to_owned(),
            http: reqwest::Client::new(),
            _dir: dir,
        })
    }

    /// The public URL (the balancer).
    pub fn url(&self) -> String {
        self.balancer.url()
    }

    /// Writes every instance's configuration (stand-in at `twilio`) and starts them all.
    pub async fn start_all(
        &mut self,
        twilio: &str,
        roster_interval_ms: u64,
    ) -> Result<(), BenchError> {
        let public = self.url();
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            let data = self._dir.path().join(format!("server-{i}-data"));
            let text = server_toml(&public, twilio, roster_interval_ms, Some(inst.addr), &data);
            std::fs::write(&inst.config, text)?;
        }
        for i in 0..self.instances.len() {
            self.start(i).await?;
        }
        Ok(())
    }

    /// Starts instance `i` and waits until its `/healthz` answers 200; returns how long that took.
    pub async fn start(&mut self, i: usize) -> Result<Duration, BenchError> {
        let t0 = Instant::now();
        let inst = &mut self.instances[i];
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--config")
            .arg(&inst.config)
            .arg("serve")
            .envs(server_env())
            .env("DATABASE_URL", &self.db_url)
            .env(
                "RUST_LOG",
                std::env::var("TSUNAGI_BENCH_SERVER_LOG").unwrap_or_else(|_| "off".into()),
            )
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let child = cmd
            .spawn()
            .map_err(|e| BenchError::Setup(format!("{}: {e}", self.bin.display())))?;
        inst.child = Some(child);
        let url = format!("http://{}/healthz", inst.addr);
        loop {
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(t0.elapsed());
                }
            }
            if let Some(Ok(Some(status))) = self.instances[i].child.as_mut().map(Child::try_wait) {
                return Err(BenchError::Setup(format!(
                    "server instance {i} exited at start: {status}"
                )));
            }
            if t0.elapsed() > Duration::from_secs(30) {
                return Err(BenchError::Timeout(format!(
                    "server instance {i} not healthy"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `SIGKILL`s instance `i` and reaps it.
    pub async fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.instances[i].child.take() {
            let _ = c.start_kill();
            let _ = c.wait().await;
        }
    }

    /// The instance's `/metrics` counter `name` (`None` if it is down or does not say).
    pub async fn metric(&self, i: usize, name: &str) -> Option<u64> {
        let text = self
            .http
            .get(format!("http://{}/metrics", self.instances[i].addr))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
    }
}
