//! Server configuration: one TOML file, `TSUNAGI__SECTION__KEY` environment overrides, and secrets that come
//! only from the environment or a secrets file (never from the TOML file, never logged).
//!
//! Every Twilio base URL is configuration: the same code talks to the real Twilio (the defaults) or to the local
//! stand-in (`crates/twilio-sim`) when the URLs point at it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tsunagi_twilio::{
    AccountSid, ActivitySid, ApiKeySid, ApplicationSid, SyncServiceSid, WorkflowSid, WorkspaceSid,
};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML was malformed or a field had the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A required secret is missing.
    #[error("missing secret {0}: set it in the environment or in the secrets file")]
    MissingSecret(&'static str),
}

/// A secret string: `Debug`/`Display` never show it.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The secret value, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// Database.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Twilio account, SIDs and base URLs.
    pub twilio: TwilioConfig,
    /// Recording archive.
    #[serde(default)]
    pub recordings: RecordingsConfig,
    /// Agent sign-in (refresh tokens).
    #[serde(default)]
    pub auth: AuthConfig,
    /// Secrets (filled from env / secrets file only).
    #[serde(skip)]
    pub secrets: Secrets,
}

/// HTTP listener and limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to bind.
    pub listen: SocketAddr,
    /// Public base URL as Twilio sees it (scheme + host, no trailing slash). Webhook signatures are checked
    /// against this, never against `Host` (spec §3.3).
    pub public_base_url: String,
    /// Maximum request body in bytes.
    pub max_body_bytes: usize,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Agent session lifetime in seconds.
    pub session_ttl_secs: u64,
    /// Minimum interval between two roster pushes to supervisors, in milliseconds.
    pub roster_interval_ms: u64,
    /// Optional path of a secrets file (TOML with `api_key_secret`, `auth_token`, `admin_token`).
    pub secrets_file: Option<PathBuf>,
    /// Lease of a webhook claim, in milliseconds: another instance's claim left undone this long is taken over
    /// (on PostgreSQL a dead owner's claim is taken over at once: its advisory lock is gone). Keep it longer than
    /// Twilio's 15 s webhook timeout and not shorter than `request_timeout_secs`.
    pub webhook_lease_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_base_url: "http://127.0.0.1:8080".into(),
            max_body_bytes: 64 * 1024,
            request_timeout_secs: 30,
            session_ttl_secs: 12 * 3600,
            roster_interval_ms: 1000,
            secrets_file: None,
            webhook_lease_ms: 30_000,
        }
    }
}

/// Agent sign-in: refresh tokens renew the session without the password (contract §1).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a refresh token in seconds (each refresh issues a new one); default 30 days.
    pub refresh_ttl_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            refresh_ttl_secs: 30 * 86_400,
        }
    }
}

/// Database selection.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…`, `sqlite::memory:` or `postgres://…`. Empty = `<data_dir>/tsunagi.db`.
    pub url: String,
    /// Data directory (SQLite file, local recordings).
    pub data_dir: PathBuf,
    /// Pool size.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            data_dir: PathBuf::from("data"),
            max_connections: 8,
        }
    }
}

impl DatabaseConfig {
    /// The effective database URL.
    pub fn effective_url(&self) -> String {
        if self.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tsunagi.db").display()
            )
        } else {
            self.url.clone()
        }
    }
}

/// Twilio account, SIDs, routing values and base URLs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    /// `AC…`.
    pub account_sid: AccountSid,
    /// `SK…` (signs Access Tokens, authenticates REST).
    pub api_key_sid: ApiKeySid,
    /// `WS…`.
    pub workspace_sid: WorkspaceSid,
    /// `WW…` used in `<Enqueue workflowSid>`.
    pub workflow_sid: WorkflowSid,
    /// `AP…` for the voice grant's outgoing application.
    #[serde(default)]
    pub twiml_app_sid: Option<ApplicationSid>,
    /// `IS…` for the data_sync grant.
    #[serde(default)]
    pub sync_service_sid: Option<SyncServiceSid>,
    /// Activity after the conference (`post_work_activity_sid`).
    #[serde(default)]
    pub wrapup_activity_sid: Option<ActivitySid>,
    /// Activity set when an agent misses a reservation.
    #[serde(default)]
    pub missed_activity_sid: Option<ActivitySid>,
    /// Company DID used as caller ID on outbound legs.
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Conference mixing region.
    #[serde(default = "default_region")]
    pub region: String,
    /// Access Token lifetime (≤ 3600 s).
    #[serde(default = "default_token_ttl")]
    pub token_ttl_secs: u64,
    /// Ring time of the agent leg.
    #[serde(default = "default_agent_ring")]
    pub agent_ring_timeout_secs: u64,
    /// Ring time of a transfer target's leg (spec §5.4).
    #[serde(default = "default_agent_ring")]
    pub transfer_ring_timeout_secs: u64,
    /// Ring time of an outbound call's customer leg (spec §5.7).
    #[serde(default = "default_outbound_ring")]
    pub outbound_ring_timeout_secs: u64,
    /// An outbound attempt still setting up after this long is swept: its conference is ended (spec §5.7).
    #[serde(default = "default_outbound_stale")]
    pub outbound_stale_secs: u64,
    /// `<Task timeout>`: task time to live in the queue.
    #[serde(default = "default_task_timeout")]
    pub task_timeout_secs: u64,
    /// `https://api.twilio.com` (Voice REST).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// `https://taskrouter.twilio.com`.
    #[serde(default = "default_taskrouter_base")]
    pub taskrouter_base: String,
    /// `https://sync.twilio.com`.
    #[serde(default = "default_sync_base")]
    pub sync_base: String,
}

fn default_region() -> String {
    "jp1".into()
}
fn default_token_ttl() -> u64 {
    3600
}
fn default_agent_ring() -> u64 {
    20
}
fn default_outbound_ring() -> u64 {
    30
}
fn default_outbound_stale() -> u64 {
    120
}
fn default_task_timeout() -> u64 {
    600
}
fn default_api_base() -> String {
    "https://api.twilio.com".into()
}
fn default_taskrouter_base() -> String {
    "https://taskrouter.twilio.com".into()
}
fn default_sync_base() -> String {
    "https://sync.twilio.com".into()
}

/// Recording archive settings (spec §6).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingsConfig {
    /// Record conferences from the start (`record-from-start`); `false` = `do-not-record`.
    pub record: bool,
    /// Where archived recordings go: `local` (default) or `s3` (any S3-compatible store).
    pub store: StoreKind,
    /// Local directory for archived recordings (default `<data_dir>/recordings`).
    pub dir: Option<PathBuf>,
    /// S3 bucket (`store = "s3"`); credentials come from the standard `AWS_*` environment variables.
    pub bucket: Option<String>,
    /// S3 region.
    pub region: Option<String>,
    /// S3-compatible endpoint (MinIO, …); empty = AWS.
    pub endpoint: Option<String>,
    /// Largest recording downloaded, in bytes.
    pub max_bytes: u64,
    /// Whether this instance runs the archive worker (one worker per job at a time either way: jobs are leased).
    pub worker: bool,
    /// How often the worker lists Twilio's recordings for lost callbacks (spec §6), seconds; 0 = never.
    pub reconcile_interval_secs: u64,
    /// How far back each reconciliation looks (`DateCreatedAfter`), seconds.
    pub reconcile_window_secs: u64,
}

/// The object store behind the recording archive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// A local directory.
    #[default]
    Local,
    /// An S3-compatible bucket.
    S3,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            record: true,
            store: StoreKind::Local,
            dir: None,
            bucket: None,
            region: None,
            endpoint: None,
            max_bytes: 512 * 1024 * 1024,
            worker: true,
            reconcile_interval_secs: 86_400,
            reconcile_window_secs: 2 * 86_400,
        }
    }
}

/// Secrets: only from the environment or a secrets file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Secrets {
    /// API key secret (`TSUNAGI_TWILIO_API_KEY_SECRET`).
    pub api_key_secret: Secret,
    /// Primary Auth Token, only for webhook signatures (`TSUNAGI_TWILIO_AUTH_TOKEN`).
    pub auth_token: Secret,
    /// Previous Auth Token accepted during rotation (`TSUNAGI_TWILIO_AUTH_TOKEN_PREVIOUS`).
    pub auth_token_previous: Option<Secret>,
}

const ENV_PREFIX: &str = "TSUNAGI__";

impl Config {
    /// Reads `path`, applies environment overrides and loads secrets from the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_parts(&text, std::env::vars())
    }

    /// Like [`Config::load`] but without requiring the Twilio secrets: for admin commands that only touch the
    /// database (releases, accounts, seed data).
    pub fn load_for_admin(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, std::env::vars(), false)
    }

    /// Parses `toml_text`, applies `TSUNAGI__SECTION__KEY=value` overrides and `DATABASE_URL` from `env`, then
    /// loads and checks the secrets. Pure apart from reading the secrets file named by the config or env.
    pub fn from_parts(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        Self::parse(toml_text, env, true)
    }

    fn parse(
        toml_text: &str,
        env: impl IntoIterator<Item = (String, String)>,
        require_secrets: bool,
    ) -> Result<Self, ConfigError> {
        let mut doc: toml::Table = toml_text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (key, value) in &env {
            if let Some(path) = key.strip_prefix(ENV_PREFIX) {
                apply_override(&mut doc, path, value)?;
            }
        }
        if let Some((_, url)) = env.iter().find(|(k, _)| k == "DATABASE_URL") {
            let db = doc
                .entry("database")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = db {
                t.insert("url".into(), toml::Value::String(url.clone()));
            }
        }
        let mut config: Config = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.secrets =
            load_secrets(config.server.secrets_file.as_deref(), &env, require_secrets)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.twilio.token_ttl_secs == 0 || self.twilio.token_ttl_secs > 3600 {
            return Err(ConfigError::Invalid(
                "twilio.token_ttl_secs must be 1..=3600".into(),
            ));
        }
        if self.server.public_base_url.ends_with('/') {
            return Err(ConfigError::Invalid(
                "server.public_base_url must not end with '/'".into(),
            ));
        }
        Ok(())
    }
}

fn apply_override(doc: &mut toml::Table, path: &str, value: &str) -> Result<(), ConfigError> {
    let parts: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
    let Some((last, sections)) = parts.split_last() else {
        return Ok(());
    };
    let mut table = doc;
    for section in sections {
        let entry = table
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        table = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(ConfigError::Invalid(format!(
                    "{ENV_PREFIX}{path}: {section} is not a table"
                )))
            }
        };
    }
    // A value that parses as a TOML scalar keeps its type (numbers, booleans); anything else is a string.
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    table.insert(last.clone(), parsed);
    Ok(())
}

fn load_secrets(
    file: Option<&Path>,
    env: &[(String, String)],
    required: bool,
) -> Result<Secrets, ConfigError> {
    let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let file = get("TSUNAGI_SECRETS_FILE")
        .map(PathBuf::from)
        .or_else(|| file.map(Path::to_owned));
    let mut secrets = match file {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            toml::from_str(&text).map_err(|e: toml::de::Error| {
                ConfigError::Invalid(format!("secrets file: {}", e.message()))
            })?
        }
        None => Secrets::default(),
    };
    if let Some(v) = get("TSUNAGI_TWILIO_API_KEY_SECRET") {
        secrets.api_key_secret = Secret::new(v);
    }
    if let Some(v) = get("TSUNAGI_TWILIO_AUTH_TOKEN") {
        secrets.auth_token = Secret::new(v);
    }
    if let Some(v) = get("TSUNAGI_TWILIO_AUTH_TOKEN_PREVIOUS") {
        secrets.auth_token_previous = Some(Secret::new(v));
    }
    if !required {
        return Ok(secrets);
    }
    if secrets.api_key_secret.expose().is_empty() {
        return Err(ConfigError::MissingSecret("TSUNAGI_TWILIO_API_KEY_SECRET"));
    }
    if secrets.auth_token.expose().is_empty() {
        return Err(ConfigError::MissingSecret("TSUNAGI_TWILIO_AUTH_TOKEN"));
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[twilio]
account_sid = "AC00000000000000000000000000000000"
api_key_sid = "SK11111111111111111111111111111111"
workspace_sid = "WS33333333333333333333333333333333"
workflow_sid = "WW66666666666666666666666666666666"
"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_point_at_real_twilio_and_secrets_come_from_env() {
        let c = Config::from_parts(
            BASE,
            env(&[
                ("TSUNAGI_TWILIO_API_KEY_SECRET", "s3cret"),
                ("TSUNAGI_TWILIO_AUTH_TOKEN", "tok"),
            ]),
        )
        .unwrap();
        assert_eq!(c.twilio.api_base, "https://api.twilio.com");
        assert_eq!(c.twilio.taskrouter_base, "https://taskrouter.twilio.com");
        assert_eq!(c.twilio.region, "jp1");
        assert_eq!(c.secrets.api_key_secret.expose(), "s3cret");
        let dbg = format!("{c:?}");
        assert!(
            !dbg.contains("s3cret") && !dbg.contains("tok\""),
            "secrets leaked in Debug: {dbg}"
        );
    }

    #[test]
    fn env_overrides_keep_types_and_database_url_wins() {
        let c = Config::from_parts(
            BASE,
            env(&[
                ("TSUNAGI_TWILIO_API_KEY_SECRET", "s"),
                ("TSUNAGI_TWILIO_AUTH_TOKEN", "t"),
                ("TSUNAGI__SERVER__MAX_BODY_BYTES", "1024"),
                ("TSUNAGI__TWILIO__API_BASE", "http://127.0.0.1:9999"),
                ("DATABASE_URL", "postgres://x@127.0.0.1/db"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.max_body_bytes, 1024);
        assert_eq!(c.twilio.api_base, "http://127.0.0.1:9999");
        assert_eq!(c.database.effective_url(), "postgres://x@127.0.0.1/db");
    }

    #[test]
    fn secrets_in_toml_are_rejected_and_missing_secrets_fail() {
        let with_secret = format!("{BASE}\n[secrets]\nauth_token = \"x\"\n");
        assert!(matches!(
            Config::from_parts(&with_secret, env(&[])),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Config::from_parts(BASE, env(&[("TSUNAGI_TWILIO_AUTH_TOKEN", "t")])),
            Err(ConfigError::MissingSecret("TSUNAGI_TWILIO_API_KEY_SECRET"))
        ));
    }

    #[test]
    fn secrets_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        std::fs::write(&path, "api_key_secret = \"k\"\nauth_token = \"a\"\n").unwrap();
        let c = Config::from_parts(
            BASE,
            env(&[("TSUNAGI_SECRETS_FILE", path.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(c.secrets.auth_token.expose(), "a");
    }

    #[test]
    fn token_ttl_above_one_hour_is_refused() {
        let text = BASE.replace("[twilio]", "[twilio]\ntoken_ttl_secs = 7200");
        let e = Config::from_parts(
            &text,
            env(&[
                ("TSUNAGI_TWILIO_API_KEY_SECRET", "s"),
                ("TSUNAGI_TWILIO_AUTH_TOKEN", "t"),
            ]),
        );
        assert!(matches!(e, Err(ConfigError::Invalid(_))));
    }
}
