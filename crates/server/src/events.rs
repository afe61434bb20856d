//! Agent push: the event vocabulary sent on `/v1/events` and the hub that fans events out to sockets.
//!
//! On SQLite (one instance) the hub is an in-process broadcast. On PostgreSQL, once
//! [`EventHub::listen_postgres`] runs, every publish goes through `pg_notify('tsunagi_events', …)` and every
//! instance's listener feeds its own sockets, so an agent connected to instance B sees a webhook handled by A.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::db::{Backend, Db};

const CHANNEL: &str = "tsunagi_events";
/// Recipient id addressing every connected supervisor (and admin) instead of one agent.
pub const SUPERVISORS: &str = "*supervisors";
/// PostgreSQL's NOTIFY payload limit is 8000 bytes; keep a margin.
const MAX_NOTIFY: usize = 7800;

/// Customer context shown to the agent (display data never travels in URLs or task routing attributes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerInfo {
    /// CRM id.
    pub id: String,
    /// Display name (UTF-8, e.g. Japanese).
    pub name: String,
    /// The customer's owner agent (`customers.owner_agent_id`), `null` if none.
    #[serde(default)]
    pub owner: Option<OwnerInfo>,
    /// The customer's department (`customers.department_id`), `null` if none.
    #[serde(default)]
    pub department: Option<DepartmentInfo>,
}

/// The agent who owns a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerInfo {
    /// Agent id.
    pub agent_id: String,
    /// Display name.
    pub display_name: String,
}

/// A department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentInfo {
    /// Department id.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// One message to an agent. Wire names are stable once released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum AgentEvent {
    /// The conference of a task is known (spec §4.6).
    #[serde(rename = "call.context")]
    CallContext {
        /// `WT…`.
        task_sid: String,
        /// `WR…`.
        reservation_sid: Option<String>,
        /// `CF…`.
        conference_sid: String,
        /// The customer's leg.
        customer_call_sid: Option<String>,
        /// The agent's leg (matches the Voice SDK `CallSid`).
        agent_call_sid: Option<String>,
        /// CRM context, if the caller is known.
        customer: Option<CustomerInfo>,
    },
    /// The presence roster (to supervisors, at a bounded rate).
    #[serde(rename = "roster")]
    Roster {
        /// Every agent with a worker.
        agents: Vec<crate::roster::RosterEntry>,
    },
    /// The conference of a task ended; the task is wrapping.
    #[serde(rename = "call.ended")]
    CallEnded {
        /// `WT…`.
        task_sid: String,
        /// Twilio's `ReasonConferenceEnded`, if given.
        reason: Option<String>,
    },
    /// A warm transfer's target joined: the agent can talk to them (spec §5.4).
    #[serde(rename = "transfer.connected")]
    TransferConnected {
        /// `WT…`.
        task_sid: String,
        /// The transfer.
        transfer_id: String,
    },
    /// The agent left the call; the target has the customer.
    #[serde(rename = "transfer.completed")]
    TransferCompleted {
        /// `WT…`.
        task_sid: String,
        /// The transfer.
        transfer_id: String,
    },
    /// The target did not take the call (busy, no-answer, failed, canceled, target-left); the customer is resumed.
    #[serde(rename = "transfer.failed")]
    TransferFailed {
        /// `WT…`.
        task_sid: String,
        /// The transfer.
        transfer_id: String,
        /// Why.
        reason: String,
    },
    /// An outbound call's agent leg is in its conference; the customer's phone rings (spec §5.7).
    #[serde(rename = "outbound.dialing")]
    OutboundDialing {
        /// The client's `TsunagiAttempt`.
        attempt: String,
        /// `CF…`.
        conference_sid: String,
    },
    /// The customer answered.
    #[serde(rename = "outbound.connected")]
    OutboundConnected {
        /// The client's `TsunagiAttempt`.
        attempt: String,
        /// `CF…`.
        conference_sid: String,
    },
    /// The customer's leg failed (`busy`, `no-answer`, `failed`, `canceled`) or setup went `stale`; the conference
    /// was ended.
    #[serde(rename = "outbound.failed")]
    OutboundFailed {
        /// The client's `TsunagiAttempt`.
        attempt: String,
        /// Why.
        reason: String,
    },
    /// The outbound call's conference ended after it was set up.
    #[serde(rename = "outbound.ended")]
    OutboundEnded {
        /// The client's `TsunagiAttempt`.
        attempt: String,
        /// Twilio's `ReasonConferenceEnded`.
        reason: String,
    },
}

/// A serialized event addressed to one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Recipient agent id.
    #[serde(rename = "a")]
    pub agent_id: String,
    /// JSON text sent on the socket (the event plus `seq`).
    #[serde(rename = "p")]
    pub payload: String,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Arc<Delivery>>,
    seq: AtomicU64,
    db: Db,
    via_postgres: AtomicBool,
}

/// The fan-out hub.
#[derive(Debug, Clone)]
pub struct EventHub(Arc<Inner>);

impl EventHub {
    /// An in-process hub.
    pub fn new(db: Db) -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self(Arc::new(Inner {
            tx,
            seq: AtomicU64::new(1),
            db,
            via_postgres: AtomicBool::new(false),
        }))
    }

    /// Subscribes to every delivery; sockets keep those addressed to their agent.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Delivery>> {
        self.0.tx.subscribe()
    }

    /// Sends `event` to `agent_id` on every instance.
    pub async fn publish(&self, agent_id: &str, event: &AgentEvent) -> Result<(), sqlx::Error> {
        let mut value =
            serde_json::to_value(event).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        if let Some(obj) = value.as_object_mut() {
            obj.insert(
                "seq".into(),
                self.0.seq.fetch_add(1, Ordering::Relaxed).into(),
            );
        }
        let delivery = Delivery {
            agent_id: agent_id.to_owned(),
            payload: value.to_string(),
        };
        if self.0.via_postgres.load(Ordering::Acquire) {
            let wire = serde_json::to_string(&delivery)
                .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
            if wire.len() <= MAX_NOTIFY {
                // `pg_notify` returns `void`, which the Any driver cannot decode: wrap it in a plain integer row.
                sqlx::query("SELECT 1 AS ok FROM (SELECT pg_notify($1, $2)) AS n")
                    .bind(CHANNEL)
                    .bind(wire)
                    .execute(&self.0.db.pool)
                    .await?;
                return Ok(());
            }
            tracing::warn!(
                len = wire.len(),
                "event too large for NOTIFY; delivered on this instance only"
            );
        }
        let _ = self.0.tx.send(Arc::new(delivery));
        Ok(())
    }

    /// On PostgreSQL, starts the LISTEN task and switches publishing to NOTIFY. No-op on SQLite.
    pub async fn listen_postgres(&self) -> Result<(), sqlx::Error> {
        if self.0.db.backend != Backend::Postgres {
            return Ok(());
        }
        let mut listener = sqlx::postgres::PgListener::connect(self.0.db.url()).await?;
        listener.listen(CHANNEL).await?;
        let tx = self.0.tx.clone();
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => match serde_json::from_str::<Delivery>(n.payload()) {
                        Ok(d) => {
                            let _ = tx.send(Arc::new(d));
                        }
                        Err(e) => tracing::warn!(error = %e, "malformed event notification"),
                    },
                    // PgListener reconnects on the next recv; back off briefly so a dead server is not spun on.
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener error");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        self.0.via_postgres.store(true, Ordering::Release);
        Ok(())
    }
}
