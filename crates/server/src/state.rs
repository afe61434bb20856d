//! The shared application state handed to every handler: configuration, database, authenticator, Twilio REST
//! client, event hub and metrics. Cheap to clone.

use std::sync::Arc;

use crate::auth::{Authenticator, LocalAccounts, LoginThrottle};
use crate::config::Config;
use crate::db::Db;
use crate::events::EventHub;
use crate::metrics::Metrics;
use crate::roster::Roster;
use crate::twilio_rest::{RestError, TwilioRest};

/// Everything a handler may need.
#[derive(Clone)]
pub struct AppState {
    /// Configuration (secrets included; never log it whole).
    pub config: Arc<Config>,
    /// Database.
    pub db: Db,
    /// Login method.
    pub auth: Arc<dyn Authenticator>,
    /// Twilio (or stand-in) REST client.
    pub rest: TwilioRest,
    /// Agent push fan-out.
    pub hub: EventHub,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Roster change tracking.
    pub roster: Arc<Roster>,
    /// Failed-login throttle.
    pub login_throttle: Arc<LoginThrottle>,
    /// Recording archive (object store, worker wake-up).
    pub archive: Arc<crate::recordings::Archive>,
    /// Set once when the instance starts shutting down (sockets close with 1001 so clients move on).
    stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// Builds the state with local accounts and an in-process event hub. Call
    /// [`EventHub::listen_postgres`](crate::events::EventHub::listen_postgres) afterwards to fan events out between
    /// instances on PostgreSQL.
    pub fn new(config: Config, db: Db) -> Result<Self, RestError> {
        let rest = TwilioRest::new(&config)?;
        Ok(Self {
            auth: Arc::new(LocalAccounts::new(db.clone())),
            hub: EventHub::new(db.clone()),
            config: Arc::new(config),
            db,
            rest,
            metrics: Arc::new(Metrics::default()),
            roster: Arc::new(Roster::default()),
            login_throttle: Arc::new(LoginThrottle::default()),
            archive: Arc::default(),
            stopping: Arc::new(tokio::sync::watch::channel(false).0),
        })
    }
}

impl AppState {
    /// Starts the shutdown: open `/v1/events` sockets are closed with code 1001 (going away).
    pub fn begin_shutdown(&self) {
        self.stopping.send_replace(true);
    }

    /// A receiver that changes to `true` when the shutdown starts.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}
