//! The stand-in's configuration: accounts, API keys, workspaces and Sync services, read from TOML.
//!
//! Example (`tsunagi-twilio-sim --config sim.toml`):
//!
//! ```toml
//! seed = 1                      # SID counter seed (deterministic SIDs)
//! listen = "127.0.0.1:0"        # binary only
//! # frozen_clock_ms = 1795000000000   # freeze simulated time (tests); absent = system clock
//! heartbeat_ms = 10000          # EventBridge keepalive cadence
//! disconnect_grace_ms = 5000    # socket gone this long -> worker moves to the disconnect activity
//!
//! [[accounts]]
//! sid = "AC00000000000000000000000000000001"
//! auth_token = "test-auth-token"
//! api_keys = [{ sid = "SK00000000000000000000000000000001", secret = "test-key-secret" }]
//!
//! [[workspaces]]
//! account = "AC00000000000000000000000000000001"
//! sid = "WS00000000000000000000000000000001"
//! friendly_name = "Support"
//! activities = [{ name = "Offline", available = false }, { name = "Available", available = true }]
//! default_activity = "Offline"
//! timeout_activity = "Offline"
//! disconnect_activity = "Offline"
//! queues = [{ name = "All", target_workers = "1 == 1" }]
//! workers = [{ name = "alice", attributes = { email = "alice@example.com" } }]
//! ```

use std::path::Path;

use serde::Deserialize;

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file: {0}")]
    Io(#[from] std::io::Error),
    /// The TOML is malformed or has unknown keys.
    #[error("invalid config: {0}")]
    Toml(#[from] toml::de::Error),
    /// The TOML parsed but does not describe a consistent setup.
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// Whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Seed of the SID counter.
    #[serde(default = "one")]
    pub seed: u64,
    /// Listen address (binary only; tests bind `127.0.0.1:0` themselves).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Freeze simulated time at this Unix-ms instant; absent means the system clock.
    #[serde(default)]
    pub frozen_clock_ms: Option<u64>,
    /// EventBridge keepalive (`"\n"` text frame) interval.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_ms: u64,
    /// Twilsock `ping` interval.
    #[serde(default = "default_twilsock_ping")]
    pub twilsock_ping_ms: u64,
    /// How long a worker may stay without any EventBridge socket before it moves to the disconnect activity.
    #[serde(default = "default_grace")]
    pub disconnect_grace_ms: u64,
    /// Delays before each webhook retry after a failed attempt (Twilio retries a few times, then gives up).
    #[serde(default = "default_retries")]
    pub webhook_retry_delays_ms: Vec<u64>,
    /// Accounts and their credentials.
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    /// TaskRouter workspaces.
    #[serde(default)]
    pub workspaces: Vec<WorkspaceConfig>,
    /// Sync services.
    #[serde(default)]
    pub sync_services: Vec<SyncServiceConfig>,
    /// Voice edge (signaling + media legs); see [`crate::voice::VoiceConfig`].
    #[serde(default)]
    pub voice: crate::voice::VoiceConfig,
    /// Phone numbers with their Voice webhooks (`[[numbers]]`); see [`crate::calls::NumberConfig`].
    #[serde(default)]
    pub numbers: Vec<crate::calls::NumberConfig>,
    /// Scripted PSTN callers started with the stand-in (`[[callers]]`); see [`crate::calls::ScriptedCall`].
    #[serde(default)]
    pub callers: Vec<crate::calls::ScriptedCall>,
    /// TwiML applications for outgoing Voice SDK calls (`[[applications]]`); see
    /// [`crate::calls::apps::ApplicationConfig`].
    #[serde(default)]
    pub applications: Vec<crate::calls::apps::ApplicationConfig>,
}

fn one() -> u64 {
    1
}
fn default_listen() -> String {
    "127.0.0.1:0".into()
}
fn default_heartbeat() -> u64 {
    10_000
}
fn default_twilsock_ping() -> u64 {
    15_000
}
fn default_grace() -> u64 {
    5_000
}
fn default_retries() -> Vec<u64> {
    vec![1_000, 2_000]
}
fn yes() -> bool {
    true
}

/// An account (master or subaccount).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// `AC…` SID.
    pub sid: String,
    /// Auth Token: REST Basic auth and the key that signs outgoing webhooks.
    pub auth_token: String,
    /// Parent account SID if this is a subaccount.
    #[serde(default)]
    pub parent: Option<String>,
    /// API keys owned by this account.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
}

/// An API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// `SK…` SID.
    pub sid: String,
    /// Secret: REST Basic password and Access Token signing key.
    pub secret: String,
}

/// A TaskRouter workspace with its initial resources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// Owning account.
    pub account: String,
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    pub friendly_name: String,
    /// Workspace event callback URL.
    #[serde(default)]
    pub event_callback_url: Option<String>,
    /// Activities (names must be unique).
    #[serde(default)]
    pub activities: Vec<ActivityConfig>,
    /// Activity name new workers start in.
    #[serde(default)]
    pub default_activity: Option<String>,
    /// Activity name a worker moves to when a reservation times out.
    #[serde(default)]
    pub timeout_activity: Option<String>,
    /// Activity name a worker moves to when its last EventBridge socket is gone (setWorkerOfflineIfDisconnected).
    #[serde(default)]
    pub disconnect_activity: Option<String>,
    /// Task queues.
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// Workflows.
    #[serde(default)]
    pub workflows: Vec<WorkflowConfig>,
    /// Workers.
    #[serde(default)]
    pub workers: Vec<WorkerConfig>,
}

/// An activity.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityConfig {
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    pub name: String,
    /// Whether workers in this activity can take tasks.
    pub available: bool,
}

/// A task queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    pub name: String,
    /// Worker expression selecting the members.
    #[serde(default = "all_workers")]
    pub target_workers: String,
    /// Activity name a worker moves to when reserved from this queue.
    #[serde(default)]
    pub reservation_activity: Option<String>,
    /// Activity name a worker moves to when assigned from this queue.
    #[serde(default)]
    pub assignment_activity: Option<String>,
}

fn all_workers() -> String {
    "1==1".into()
}

/// A workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowConfig {
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    pub name: String,
    /// Workflow configuration JSON (Twilio's `task_routing` document). Queue references may be SIDs or names.
    pub configuration: String,
    /// Assignment callback URL.
    #[serde(default)]
    pub assignment_callback_url: Option<String>,
    /// Reservation timeout in seconds (Twilio default 120).
    #[serde(default = "default_res_timeout")]
    pub task_reservation_timeout: u64,
}

fn default_res_timeout() -> u64 {
    120
}

/// A worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerConfig {
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    pub name: String,
    /// Attributes (a TOML table; becomes the JSON attributes object).
    #[serde(default = "empty_object")]
    pub attributes: serde_json::Value,
    /// Activity name to start in (workspace default when absent).
    #[serde(default)]
    pub activity: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::json!({})
}

/// A Sync service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncServiceConfig {
    /// Owning account.
    pub account: String,
    /// Fixed SID (minted when absent).
    #[serde(default)]
    pub sid: Option<String>,
    /// Friendly name.
    #[serde(default)]
    pub friendly_name: String,
    /// Webhook URL (reachability and object events).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// Whether reachability webhooks fire on connect/disconnect.
    #[serde(default = "yes")]
    pub reachability_webhooks_enabled: bool,
    /// Whether ACLs are enforced.
    #[serde(default)]
    pub acl_enabled: bool,
}

impl Config {
    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        Self::from_toml(&std::fs::read_to_string(path)?)
    }

    /// Checks cross references that serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use tsunagi_twilio::sid::{AccountSid, ApiKeySid};
        let bad = |m: String| Err(ConfigError::Invalid(m));
        for a in &self.accounts {
            if AccountSid::parse(&a.sid).is_err() {
                return bad(format!("account sid {:?} is not an AC SID", a.sid));
            }
            if let Some(p) = &a.parent {
                if !self.accounts.iter().any(|x| &x.sid == p) {
                    return bad(format!("account {} has unknown parent {p}", a.sid));
                }
            }
            for k in &a.api_keys {
                if ApiKeySid::parse(&k.sid).is_err() {
                    return bad(format!("api key sid {:?} is not an SK SID", k.sid));
                }
            }
        }
        for w in &self.workspaces {
            if !self.accounts.iter().any(|a| a.sid == w.account) {
                return bad(format!("workspace {} has unknown account", w.friendly_name));
            }
        }
        for a in &self.applications {
            if let Err(e) = a.validate() {
                return bad(format!("application {}: {}", a.sid, e.message));
            }
        }
        for s in &self.sync_services {
            if !self.accounts.iter().any(|a| a.sid == s.account) {
                return bad(format!(
                    "sync service {} has unknown account",
                    s.friendly_name
                ));
            }
        }
        Ok(())
    }
}
