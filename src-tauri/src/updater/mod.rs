//! Self-update from the companion server's channel (backend-spec §8) with `tauri-plugin-updater`.
//!
//! Contract:
//! - At start and every [`UpdateSettings::interval`] (or at once when the core says the server requires a newer
//!   version), read the client policy, point the plugin at the channel's endpoint with `X-Install-Id`, check,
//!   and download in the background. The plugin verifies every download against the public key in
//!   `tauri.conf.json` (`plugins.updater.pubkey`, with `requireSignedVersion`): a tampered or mis-signed
//!   artifact is discarded and reported as `failed` with kind `signature`; nothing unverified is kept.
//! - A verified download waits as `ready` (version, what's new, mandatory) until the agent installs it. Install
//!   (the Settings button) is refused during a ring, a call or wrap-up ([`crate::activity::CallActivity::is_idle`]).
//! - **Required**: the server no longer supports this version — a 426 to any request (sign-in included; the
//!   core then stops taking calls and asks for a check: [`required_by_server`]) or a client policy whose
//!   `min_supported`/`blocked` excludes it (then the core is told, so it stops taking calls and goes Offline at
//!   once). Every status carries `required`, so the window shows "update required" with one button,
//!   [`update_now`]: it downloads and verifies (if not done yet), waits for any ring, call or wrap-up to end
//!   (`waiting`), installs, and restarts. Nothing installs without that press.
//! - After installing, the restart too waits for the agent to be idle, then signs the core out first (the worker
//!   goes Offline, so nothing is routed to an app that is restarting; the remembered sign-in is kept, so the new
//!   version resumes it) and restarts ([`crate::agent::leave`]). Tauri releases the single-instance name before
//!   it starts the new process, so the new process becomes the instance rather than handing its arguments to
//!   the exiting one.
//! - The server decides the version (rollbacks included): any version other than the current one is taken,
//!   but never one below [`SECURITY_FLOOR`].
//! - Status changes go to the window as [`UpdateStatus`] on the [`UPDATE_EVENT_NAME`] event.

pub(crate) mod commands;
mod policy;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Serialize, Serializer};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::activity::CallActivity;
use crate::agent::AgentHost;
use crate::server::client_version;

/// The Tauri event carrying every [`UpdateStatus`] change.
pub const UPDATE_EVENT_NAME: &str = "tsunagi:update";

/// The oldest version the app ever installs, whatever the server offers (a compromised endpoint cannot push
/// an old, vulnerable build even with a valid old signature).
pub const SECURITY_FLOOR: &str = "0.1.0";

/// Where the update stands, as the window shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum UpdateStatus {
    /// No check has finished yet.
    Idle,
    /// Asking the server.
    Checking,
    /// The server offers nothing newer.
    UpToDate,
    /// A release is being downloaded.
    Downloading {
        /// The version offered.
        version: String,
        /// What's new.
        notes: Option<String>,
        /// The server requires it (this version is below its minimum or blocked).
        mandatory: bool,
    },
    /// A verified release waits for the agent to install it.
    Ready {
        /// The version offered.
        version: String,
        /// What's new.
        notes: Option<String>,
        /// The server requires it.
        mandatory: bool,
    },
    /// The agent asked to update now during a ring, a call or wrap-up: it installs when they end.
    Waiting {
        /// The version waiting to be installed.
        version: String,
    },
    /// Installing; the app restarts as soon as the agent is idle.
    Installing {
        /// The version being installed.
        version: String,
    },
    /// The last check, download or install failed; the next check tries again.
    Failed {
        /// The [`UpdateError::kind`].
        kind: &'static str,
        /// The English detail.
        message: String,
    },
}

/// What the window receives: the [`UpdateStatus`] and whether the server requires an update (then the window
/// shows "update required" and its one button whatever the status).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpdateView {
    /// Where the update stands.
    #[serde(flatten)]
    pub status: UpdateStatus,
    /// The server no longer supports this version: no calls until it is updated.
    pub required: bool,
}

/// What went wrong with an update, serialized as `{ kind, message }` like every shell error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The server could not be reached.
    #[error("cannot reach the update server ({0})")]
    Unreachable(String),
    /// The server answered with an unexpected status.
    #[error("the update server answered HTTP {0}")]
    Server(u16),
    /// The client policy could not be read.
    #[error("the update server's policy is malformed: {0}")]
    Policy(String),
    /// The artifact's signature did not verify against the app's public key: it was discarded.
    #[error(
        "the downloaded update is not signed by Tsunagi's release key and was discarded ({0})"
    )]
    Signature(String),
    /// The updater failed otherwise.
    #[error("the update check failed: {0}")]
    Updater(String),
    /// Install asked for with nothing downloaded.
    #[error("no verified update is ready to install")]
    NothingToInstall,
    /// Install asked for during a ring, a call or wrap-up.
    #[error("updates are not installed during a ring, a call or wrap-up; install it when the call is done")]
    Busy,
    /// The package manager failed.
    #[error("installing the update failed: {0}")]
    Install(String),
}

impl UpdateError {
    /// A stable machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            UpdateError::Unreachable(_) => "unreachable",
            UpdateError::Server(_) => "server",
            UpdateError::Policy(_) => "policy",
            UpdateError::Signature(_) => "signature",
            UpdateError::Updater(_) => "updater",
            UpdateError::NothingToInstall => "nothingToInstall",
            UpdateError::Busy => "busy",
            UpdateError::Install(_) => "install",
        }
    }

    fn from_plugin(error: tauri_plugin_updater::Error) -> Self {
        use tauri_plugin_updater::Error as E;
        match error {
            E::Minisign(_)
            | E::Base64(_)
            | E::SignatureUtf8(_)
            | E::SignedVersionMismatch { .. }
            | E::MissingSignedVersion => UpdateError::Signature(error.to_string()),
            E::Reqwest(e) => UpdateError::Unreachable(e.without_url().to_string()),
            E::Network(e) => UpdateError::Unreachable(e),
            other => UpdateError::Updater(other.to_string()),
        }
    }
}

impl Serialize for UpdateError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("UpdateError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// How often to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateSettings {
    /// Time between two checks.
    pub interval: Duration,
}

impl UpdateSettings {
    /// Every 30 minutes, or `TSUNAGI_UPDATE_INTERVAL_MINUTES` (at least 1); debug builds also take
    /// `TSUNAGI_UPDATE_INTERVAL_SECONDS` (at least 2) for the end-to-end tests.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let seconds = cfg!(debug_assertions)
            .then(|| var("TSUNAGI_UPDATE_INTERVAL_SECONDS"))
            .flatten()
            .map(|s| s.max(2));
        let minutes = var("TSUNAGI_UPDATE_INTERVAL_MINUTES").unwrap_or(30).max(1);
        UpdateSettings {
            interval: Duration::from_secs(seconds.unwrap_or(minutes * 60)),
        }
    }
}

struct Ready {
    update: Update,
    bytes: Vec<u8>,
    mandatory: bool,
}

/// The managed update state.
pub struct UpdateHost {
    settings: UpdateSettings,
    http: reqwest::Client,
    status: Mutex<UpdateStatus>,
    ready: Mutex<Option<Ready>>,
    wake: tokio::sync::Notify,
    /// The server no longer supports this version (kept until the app restarts into another one).
    required: AtomicBool,
    /// The agent pressed "update now": install the verified update as soon as no call needs the app.
    wanted: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere mid-update of plain data; the data itself is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The updater plugin. Debug builds take `TSUNAGI_UPDATER_PUBKEY` in place of the configured key, so tests
/// can sign with a throwaway key; release builds only ever trust `tauri.conf.json`.
pub fn plugin<R: Runtime>() -> TauriPlugin<R, tauri_plugin_updater::Config> {
    let mut builder = tauri_plugin_updater::Builder::new();
    if let Some(key) = pubkey_override() {
        builder = builder.pubkey(key);
    }
    builder.build()
}

fn pubkey_override() -> Option<String> {
    cfg!(debug_assertions)
        .then(|| std::env::var("TSUNAGI_UPDATER_PUBKEY").ok())
        .flatten()
}

/// Starts checking: now, then every interval.
pub fn start<R: Runtime>(app: &AppHandle<R>, settings: UpdateSettings) {
    if pubkey_override().is_some() {
        tracing::warn!("debug build: update signatures are checked against TSUNAGI_UPDATER_PUBKEY");
    }
    app.manage(UpdateHost {
        settings,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default(),
        status: Mutex::new(UpdateStatus::Idle),
        ready: Mutex::new(None),
        wake: tokio::sync::Notify::new(),
        required: AtomicBool::new(false),
        wanted: AtomicBool::new(false),
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            if let Err(error) = check(&app).await {
                tracing::warn!(kind = error.kind(), %error, "update check failed");
                set_status(
                    &app,
                    UpdateStatus::Failed {
                        kind: error.kind(),
                        message: error.to_string(),
                    },
                );
            }
            let host = app.state::<UpdateHost>();
            if host.wanted.swap(false, Ordering::SeqCst) {
                if let Err(error) = install_when_idle(&app).await {
                    tracing::warn!(kind = error.kind(), %error, "update not installed");
                }
            }
            // Either the interval passes or someone asks for a check now.
            let _ = tokio::time::timeout(host.settings.interval, host.wake.notified()).await;
        }
    });
}

/// The agent pressed "update now" after a check found nothing to install, or the check failed: said and done.
/// Otherwise waits (status `waiting`) until no ring, call or wrap-up needs the app, then installs.
async fn install_when_idle<R: Runtime>(app: &AppHandle<R>) -> Result<(), UpdateError> {
    let host = app.state::<UpdateHost>();
    let Some(version) = lock(&host.ready).as_ref().map(|r| r.update.version.clone()) else {
        return Ok(()); // nothing verified to install: the status already says why (up to date or failed)
    };
    loop {
        if !app.state::<CallActivity>().is_idle() {
            tracing::info!(%version, "update asked for during a call: installing when it and wrap-up end");
            set_status(
                app,
                UpdateStatus::Waiting {
                    version: version.clone(),
                },
            );
            while !app.state::<CallActivity>().is_idle() {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        match install(app).await {
            // A ring arrived between the idle check and the install: wait for it too.
            Err(UpdateError::Busy) => continue,
            other => return other,
        }
    }
}

/// The one "update now" button: checks now (downloading and verifying what the server offers), then installs
/// as soon as no ring, call or wrap-up needs the app, and restarts. No-op before [`start`].
pub fn update_now<R: Runtime>(app: &AppHandle<R>) {
    if let Some(host) = app.try_state::<UpdateHost>() {
        tracing::info!("the agent asked to update now");
        host.wanted.store(true, Ordering::SeqCst);
        host.wake.notify_one();
    }
}

/// The server answered 426 (the core has stopped taking calls): the update is required; check now.
pub fn required_by_server<R: Runtime>(app: &AppHandle<R>) {
    mark_required(app);
    check_now(app);
}

/// Marks the update required and tells the window; returns whether it was not already.
fn mark_required<R: Runtime>(app: &AppHandle<R>) -> bool {
    let Some(host) = app.try_state::<UpdateHost>() else {
        return false;
    };
    if host.required.swap(true, Ordering::SeqCst) {
        return false;
    }
    tracing::warn!(
        version = %client_version(),
        "this version is no longer supported: an update is required"
    );
    let status = lock(&host.status).clone();
    set_status(app, status);
    true
}

/// Asks for a check now (the server answered 426, or the agent pressed "check"); no-op before [`start`].
pub fn check_now<R: Runtime>(app: &AppHandle<R>) {
    if let Some(host) = app.try_state::<UpdateHost>() {
        host.wake.notify_one();
    }
}

/// The current status.
pub fn status<R: Runtime>(app: &AppHandle<R>) -> UpdateView {
    app.try_state::<UpdateHost>().map_or(
        UpdateView {
            status: UpdateStatus::Idle,
            required: false,
        },
        |h| UpdateView {
            status: lock(&h.status).clone(),
            required: h.required.load(Ordering::SeqCst),
        },
    )
}

fn set_status<R: Runtime>(app: &AppHandle<R>, status: UpdateStatus) {
    let mut required = false;
    if let Some(host) = app.try_state::<UpdateHost>() {
        *lock(&host.status) = status.clone();
        required = host.required.load(Ordering::SeqCst);
    }
    if let Err(error) = app.emit(UPDATE_EVENT_NAME, &UpdateView { status, required }) {
        tracing::warn!(%error, "could not tell the window about the update");
    }
}

fn floor() -> semver::Version {
    // The constant is a literal checked by the `the_security_floor_parses` test.
    semver::Version::parse(SECURITY_FLOOR).unwrap_or_else(|_| semver::Version::new(0, 1, 0))
}

async fn check<R: Runtime>(app: &AppHandle<R>) -> Result<(), UpdateError> {
    let host = app.state::<UpdateHost>();
    let agent = app.state::<AgentHost>();
    if lock(&host.ready).is_none() {
        set_status(app, UpdateStatus::Checking);
    }
    let server = agent.snapshot().server_url;
    let policy = policy::fetch(&host.http, &server, agent.session_token().as_ref()).await?;
    if policy.excludes(client_version()) && mark_required(app) {
        // No request has been refused yet (the push socket stays up): the core stops taking calls now.
        agent
            .upgrade_required(Some(policy.min_supported.clone()))
            .await;
    }
    let dir = app
        .path()
        .app_config_dir()
        .map_err(|e| UpdateError::Updater(e.to_string()))?;
    let floor = floor();
    let updater = app
        .updater_builder()
        .endpoints(vec![policy.endpoint()?])
        .and_then(|b| b.header("X-Install-Id", policy::install_id(&dir)))
        .and_then(|b| b.header("X-Client-Version", client_version()))
        .map_err(UpdateError::from_plugin)?
        .timeout(Duration::from_secs(120))
        .version_comparator(move |current, release| {
            // The version the server knows this client by (the same as the plugin's in a release build).
            let current = semver::Version::parse(client_version()).unwrap_or(current);
            release.version != current && release.version >= floor
        })
        .build()
        .map_err(UpdateError::from_plugin)?;
    let Some(update) = updater.check().await.map_err(UpdateError::from_plugin)? else {
        tracing::info!(channel = %policy.channel, "no update offered");
        *lock(&host.ready) = None;
        set_status(app, UpdateStatus::UpToDate);
        return Ok(());
    };
    let mandatory = update.raw_json["mandatory"].as_bool().unwrap_or(false);
    let notes = update.body.clone();
    let version = update.version.clone();
    if lock(&host.ready)
        .as_ref()
        .is_some_and(|r| r.update.version == version)
    {
        return Ok(()); // already downloaded and verified
    }
    tracing::info!(%version, mandatory, channel = %policy.channel, "update offered: downloading");
    set_status(
        app,
        UpdateStatus::Downloading {
            version: version.clone(),
            notes: notes.clone(),
            mandatory,
        },
    );
    // `download` verifies the bytes against the configured public key before returning them.
    let bytes = match update.download(|_, _| {}, || {}).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let error = UpdateError::from_plugin(error);
            if error.kind() == "signature" {
                tracing::error!(%version, %error, "update refused: signature verification failed");
            }
            return Err(error);
        }
    };
    tracing::info!(%version, size = bytes.len(), "update downloaded and its signature verified");
    *lock(&host.ready) = Some(Ready {
        update,
        bytes,
        mandatory,
    });
    set_status(
        app,
        UpdateStatus::Ready {
            version,
            notes,
            mandatory,
        },
    );
    Ok(())
}

/// Installs the verified update, then restarts once the agent is idle. Refused during a ring, call or wrap-up
/// (the Settings button; "update now" waits instead: [`update_now`]).
pub async fn install<R: Runtime>(app: &AppHandle<R>) -> Result<(), UpdateError> {
    let host = app.state::<UpdateHost>();
    if !app.state::<CallActivity>().is_idle() {
        return Err(UpdateError::Busy);
    }
    let ready = lock(&host.ready)
        .take()
        .ok_or(UpdateError::NothingToInstall)?;
    let version = ready.update.version.clone();
    tracing::info!(%version, mandatory = ready.mandatory, "installing the update");
    set_status(
        app,
        UpdateStatus::Installing {
            version: version.clone(),
        },
    );
    // `install` verifies the bytes again, then runs the package manager (dpkg/rpm on Linux): blocking work.
    let installed = tauri::async_runtime::spawn_blocking(move || {
        let result = ready.update.install(&ready.bytes);
        (result, ready)
    })
    .await
    .map_err(|e| UpdateError::Install(e.to_string()))?;
    if let (Err(error), ready) = installed {
        let error = match error {
            tauri_plugin_updater::Error::Minisign(_) => UpdateError::from_plugin(error),
            other => UpdateError::Install(other.to_string()),
        };
        tracing::error!(%version, %error, "update install failed");
        let status = UpdateStatus::Ready {
            version,
            notes: ready.update.body.clone(),
            mandatory: ready.mandatory,
        };
        *lock(&host.ready) = Some(ready);
        set_status(app, status);
        return Err(error);
    }
    tracing::info!(%version, "update installed; restarting when idle");
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        // A ring may have arrived while the package manager ran: the restart waits for it to be handled (and
        // tries again if one arrives between the check and the sign-out, which the core then refuses).
        loop {
            while !app.state::<CallActivity>().is_idle() {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            tracing::info!(%version, "restarting into the update: signing out first");
            crate::agent::leave(&app, crate::agent::Exit::Restart);
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_security_floor_parses() {
        assert_eq!(semver::Version::parse(SECURITY_FLOOR).ok(), Some(floor()));
    }

    #[test]
    fn status_and_errors_serialize_for_the_ui() {
        let ready = serde_json::to_value(UpdateStatus::Ready {
            version: "0.2.0".into(),
            notes: Some("新機能".into()),
            mandatory: true,
        })
        .unwrap();
        assert_eq!(
            ready,
            serde_json::json!({"state": "ready", "version": "0.2.0", "notes": "新機能", "mandatory": true})
        );
        let up = serde_json::to_value(UpdateStatus::UpToDate).unwrap();
        assert_eq!(up, serde_json::json!({"state": "upToDate"}));
        let waiting = serde_json::to_value(UpdateView {
            status: UpdateStatus::Waiting {
                version: "0.2.0".into(),
            },
            required: true,
        })
        .unwrap();
        assert_eq!(
            waiting,
            serde_json::json!({"state": "waiting", "version": "0.2.0", "required": true})
        );
        let busy = serde_json::to_value(UpdateError::Busy).unwrap();
        assert_eq!(busy["kind"], "busy");
        assert!(busy["message"].as_str().unwrap().contains("during a ring"));
    }

    #[test]
    fn signature_failures_are_told_apart() {
        let e = UpdateError::from_plugin(tauri_plugin_updater::Error::MissingSignedVersion);
        assert_eq!(e.kind(), "signature");
        let e = UpdateError::from_plugin(tauri_plugin_updater::Error::Network("reset".into()));
        assert_eq!(e.kind(), "unreachable");
        let e = UpdateError::from_plugin(tauri_plugin_updater::Error::EmptyEndpoints);
        assert_eq!(e.kind(), "updater");
    }
}
