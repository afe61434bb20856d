//! The shared application state handed to every handler: configuration, database, authenticator, Twilio REST
//! client, event hub and metrics. Cheap to clone.

use std::sync::Arc;

use crate::auth::{Authenticator, LocalAccounts};
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
        })
    }
}
