//! Database access: one `sqlx::AnyPool` over SQLite (embedded default) or PostgreSQL (several instances).
//!
//! Why `Any` with one migration directory: every query in this crate is written once, with `$1` placeholders
//! (which both SQLite and PostgreSQL accept), against a schema that uses only portable types (`TEXT`, `BIGINT`).
//! So there is one query code path and one migration history, and the same test suite proves both backends.
//! PostgreSQL-only features (LISTEN/NOTIFY) live in [`crate::events`] behind a separate `PgListener`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

mod owner;
mod receipts;
mod status_table;
pub use owner::OwnerError;
pub use receipts::{Claim, Delivery};
pub(crate) use status_table::StatusTable;

/// Migrations embedded at build time (`crates/server/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which backend the pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file or memory database.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The pool plus its backend.
#[derive(Debug, Clone)]
pub struct Db {
    /// The pool.
    pub pool: AnyPool,
    /// The backend.
    pub backend: Backend,
    /// The URL it was opened with (needed by the PostgreSQL listener).
    url: String,
    /// Webhook claims of this instance ([`receipts`]).
    claims: Arc<receipts::Claims>,
}

impl Db {
    /// Opens the database at `url`, creating a SQLite file if needed, and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                "database.url must be sqlite: or postgres:".into(),
            ));
        };
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        if backend == Backend::Sqlite && !memory {
            if let Some(dir) = sqlite_parent_dir(url) {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
        }
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(5));
        // Every connection to `sqlite::memory:` is its own database: keep exactly one, forever.
        options = if memory {
            options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options.max_connections(max_connections.max(1))
        };
        if backend == Backend::Sqlite && !memory {
            // WAL lets readers and the webhook writers overlap, NORMAL syncs at checkpoints rather than on every
            // commit, and a busy timeout makes a writer wait for the lock instead of failing: without them the bench
            // saw thousands of 500s at ~160 webhooks/s on a busy disk (crates/bench/README.md, finding 2).
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA busy_timeout = 5000",
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        MIGRATOR.run(&pool).await?;
        let place = (backend == Backend::Sqlite).then(|| owner::Place::of(url, memory));
        Ok(Self {
            pool,
            backend,
            url: url.to_owned(),
            claims: Arc::new(receipts::Claims::new(place)),
        })
    }

    /// The URL the pool was opened with. Contains credentials: never log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// The file path of a `sqlite:` URL.
fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(std::path::Path::new(path.split('?').next()?))
}

fn sqlite_parent_dir(url: &str) -> Option<&std::path::Path> {
    sqlite_path(url)?
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
}

/// Milliseconds since the Unix epoch (the shell's clock; domain code takes it as input).
pub fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch (the shell's clock; domain code takes it as input).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Db {
    /// Appends a call-leg event for analytics; duplicates (same key) are ignored.
    pub async fn log_call_event(&self, e: &CallEvent<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO call_events (dedup_key, task_sid, call_sid, conference_sid, kind, status, at, agent_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(e.dedup_key)
        .bind(e.task_sid)
        .bind(e.call_sid)
        .bind(e.conference_sid)
        .bind(e.kind)
        .bind(e.status)
        .bind(now_unix())
        .bind(e.agent_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// One row of the append-only call-leg log.
#[derive(Debug, Clone)]
pub struct CallEvent<'a> {
    /// Deduplication key (CF + SequenceNumber, or CallSid + CallStatus).
    pub dedup_key: &'a str,
    /// `WT…`.
    pub task_sid: Option<&'a str>,
    /// `CA…`.
    pub call_sid: Option<&'a str>,
    /// `CF…`.
    pub conference_sid: Option<&'a str>,
    /// `agent-leg`, `conference`, `task`, `enqueue`.
    pub kind: &'a str,
    /// Status or event name.
    pub status: &'a str,
    /// The agent concerned (agent-leg events).
    pub agent_id: Option<&'a str>,
}
