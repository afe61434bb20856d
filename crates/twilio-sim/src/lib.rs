//! # tsunagi-twilio-sim: a local Twilio for Tsunagi's tests and demo
//!
//! One HTTP port serves everything; the product selects the stand-in only through base-URL configuration:
//!
//! | product setting | value |
//! |---|---|
//! | TaskRouter REST base (`https://taskrouter.twilio.com`) | `http://HOST:PORT` (paths `/v1/Workspaces/…`) |
//! | EventBridge REST proxy (`ebServer`) | `http://HOST:PORT/v1/wschannels` |
//! | EventBridge WebSocket (`wsServer`) | `ws://HOST:PORT/v1/wschannels` |
//! | Sync REST base (`https://sync.twilio.com`) | `http://HOST:PORT` (paths `/v1/Services/…`) |
//! | Sync SDK `twilsock.uri` | `ws://HOST:PORT/v3/wsconnect` |
//! | Sync SDK `cdsUri` | `http://HOST:PORT` (only a label: CDS requests travel inside the twilsock socket) |
//! | Voice SDK `chunderw` (internal option) | `HOST:PORT` → `wss://HOST:PORT/signal` ([`voice`]; the port speaks TLS too) |
//! | scenario control (tests only) | `http://HOST:PORT/_sim/…` |
//!
//! Accounts, API keys and auth tokens come from [`config::Config`]. Access Tokens are verified with
//! `tsunagi_twilio::token`; outgoing webhooks are signed with `X-Twilio-Signature` and retried.
//!
//! Design: the TaskRouter engine ([`taskrouter::TaskRouter`]) is a plain struct driven by requests and an
//! injectable clock ([`clock::SimClock`]); it queues effects that the axum shell ([`http`], [`shared`]) sends.
//! SIDs are deterministic ([`ids::SidMint`]). Every input is bounded and no input can panic the stand-in: malformed
//! requests get Twilio's error JSON ([`error::ApiError`]) and change nothing.
//!
//! In tests: `let sim = Sim::start(config).await?;` binds `127.0.0.1:0`; `sim.base_url()` is the base URL.

pub mod auth;
pub mod calls;
pub mod clock;
pub mod conference;
pub mod config;
pub mod error;
pub mod http;
pub mod ids;
pub mod media;
pub mod params;
pub mod recordings;
pub mod shared;
pub mod sync;
pub mod taskrouter;
pub mod voice;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{Config, ConfigError};
pub use error::ApiError;
pub use shared::Shared;

use clock::{SimClock, UnixMillis};
use taskrouter::TaskRouter;

/// Why the stand-in could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// A running stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct Sim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sim {
    /// Builds the state from config (workspaces, workers, …) without serving.
    pub fn build(config: Config) -> Result<Arc<Shared>, ConfigError> {
        config.validate()?;
        let clock = match config.frozen_clock_ms {
            Some(ms) => SimClock::frozen(UnixMillis(ms)),
            None => SimClock::system(),
        };
        let now = clock.now();
        let mut tr = TaskRouter::new(config.seed, config.disconnect_grace_ms);
        for w in &config.workspaces {
            tr.add_workspace(w, now)?;
        }
        let mut sync = sync::SyncStore::new(config.seed);
        for svc in &config.sync_services {
            sync.add_service(svc)?;
        }
        Ok(Shared::new(config, clock, tr, sync))
    }

    /// Starts serving on `addr` (e.g. `127.0.0.1:0`).
    pub async fn start_on(config: Config, addr: &str) -> Result<Self, StartError> {
        let shared = Self::build(config)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: addr.into(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| StartError::Bind {
            addr: addr.into(),
            source,
        })?;
        let _ = shared.base_url.set(format!("http://{local}"));
        let app = http::app(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = voice::tls::serve(listener, app).await {
                tracing::error!(error = %e, "stand-in server stopped");
            }
        });
        let timers = tokio::spawn(shared.clone().timer_loop());
        tracing::info!(%local, "twilio stand-in listening");
        Ok(Self {
            addr: local,
            shared,
            tasks: vec![server, timers],
        })
    }

    /// Starts serving on `config.listen`.
    pub async fn start(config: Config) -> Result<Self, StartError> {
        let listen = config.listen.clone();
        Self::start_on(config, &listen).await
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The shared state (for in-process inspection in tests).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
