//! Hosts the agent core (`tsunagi-core`'s driver) for the signed-in agent and carries out what it asks of the
//! shell: events go to the window, tray and notifications; Voice SDK commands go to the webview; call control
//! goes to the server. It decides nothing: every decision is the core's.

use std::sync::Mutex;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;
use tsunagi_core::driver::{
    Driver, DriverConfig, EventsConfig, ServerTokens, TokenReply, TokenSource,
};
use tsunagi_core::{
    Action, ActionResult, Activity, Command, Event, Input, PresenceState, RestResult, SessionConfig,
};
use tsunagi_twilio::Pii;

use crate::config::{ClientConfig, VoiceSettings};
use crate::device::{DeviceCommand, DeviceReport, DEVICE_EVENT_NAME};
use crate::error::AppError;
use crate::events;
use crate::server::{Profile, ServerClient, SignedIn, CLIENT_VERSION};

/// The Tauri event carrying a fresh Access Token to the webview's `Device` (`{ "token": "…" }`).
pub const VOICE_TOKEN_EVENT_NAME: &str = "tsunagi:voice-token";

/// What the window needs to draw after a (re)load; the event stream says what changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The signed-in agent, if any.
    pub profile: Option<Profile>,
    /// What the presence shows.
    pub presence: PresenceState,
    /// The activity the agent chose.
    pub selected: Activity,
    /// The server that signs in.
    pub server_url: String,
    /// Where the webview's Voice `Device` signals.
    pub voice: VoiceSettings,
}

struct Running {
    inputs: mpsc::Sender<Input>,
    session: Pii<String>,
    /// The latest Access Token, for a Voice `Device` created (or re-created after a reload) mid-session.
    voice_token: Option<Pii<String>>,
    /// The agent asked to quit: exit once the core has signed out.
    quitting: bool,
}

/// The managed host of the agent session.
pub struct AgentHost {
    config: ClientConfig,
    server: ServerClient,
    running: Mutex<Option<Running>>,
    snapshot: Mutex<Snapshot>,
}

impl AgentHost {
    /// A host for the deployment in `config`; nobody is signed in yet.
    pub fn new(config: ClientConfig) -> Self {
        let server = ServerClient::new(&config.server_url);
        let snapshot = Snapshot {
            profile: None,
            presence: PresenceState::Offline,
            selected: Activity::Offline,
            server_url: config.server_url.clone(),
            voice: config.voice.clone(),
        };
        AgentHost {
            config,
            server,
            running: Mutex::new(None),
            snapshot: Mutex::new(snapshot),
        }
    }

    /// What the window should show now.
    pub fn snapshot(&self) -> Snapshot {
        lock(&self.snapshot).clone()
    }

    fn inputs(&self) -> Result<mpsc::Sender<Input>, AppError> {
        lock(&self.running)
            .as_ref()
            .map(|r| r.inputs.clone())
            .ok_or(AppError::NotSignedIn)
    }

    /// Hands a command to the core.
    pub async fn command(&self, command: Command) -> Result<(), AppError> {
        let inputs = self.inputs()?;
        inputs
            .send(Input::Command(command))
            .await
            .map_err(|_| AppError::CoreStopped)
    }

    /// Hands a Voice SDK event to the core.
    pub async fn device(&self, report: DeviceReport) -> Result<(), AppError> {
        let inputs = self.inputs()?;
        let event = report.into_event();
        // CallSids and CallParams print redacted callers (Pii), so the event is safe to log.
        tracing::info!(?event, "Voice device event");
        inputs
            .send(Input::Device(event))
            .await
            .map_err(|_| AppError::CoreStopped)
    }

    /// Updates the snapshot from a core event.
    pub fn observe(&self, event: &Event) {
        if let Event::Presence { state, selected } = event {
            let mut snapshot = lock(&self.snapshot);
            snapshot.presence = *state;
            snapshot.selected = *selected;
        }
    }

    /// Forgets the session once the core has signed out; true if the agent was quitting.
    fn signed_out(&self) -> bool {
        let quitting = lock(&self.running).take().is_some_and(|r| r.quitting);
        lock(&self.snapshot).profile = None;
        quitting
    }

    /// The latest Access Token for the webview's Voice `Device`, if signed in.
    pub fn voice_token(&self) -> Option<String> {
        lock(&self.running)
            .as_ref()
            .and_then(|r| r.voice_token.as_ref())
            .map(|t| t.expose().clone())
    }

    /// The session token while signed in (the updater asks the server for this agent's channel with it).
    pub fn session_token(&self) -> Option<Pii<String>> {
        lock(&self.running).as_ref().map(|r| r.session.clone())
    }

    /// Whether an agent is signed in.
    pub fn signed_in(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// The server client and the signed-in session, for the agent's own server requests (roster, supervise,
    /// history, warm-transfer steps).
    pub fn server_session(&self) -> Result<(ServerClient, Pii<String>), AppError> {
        lock(&self.running)
            .as_ref()
            .map(|r| (self.server.clone(), r.session.clone()))
            .ok_or(AppError::NotSignedIn)
    }

    /// Where this deployment connects.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }
}

/// Quits the app the way that loses nothing: signed out, the app exits at once; signed in, the core signs out
/// first (TaskRouter sets the worker Offline, so no call is routed to a closed app) and the app exits when it
/// has. The core refuses during a call or wrap-up: then the window comes up with the core's explanation and the
/// app keeps running.
pub fn quit<R: Runtime>(app: &AppHandle<R>) {
    let host = app.state::<AgentHost>();
    let inputs = {
        let mut running = lock(&host.running);
        match running.as_mut() {
            None => None,
            Some(r) => {
                r.quitting = true;
                Some(r.inputs.clone())
            }
        }
    };
    let Some(inputs) = inputs else {
        app.exit(0);
        return;
    };
    tracing::info!("quit requested: signing out first");
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if inputs.send(Input::Command(Command::Logout)).await.is_err() {
            app.exit(0);
        }
    });
}

fn quit_refused(host: &AgentHost) -> bool {
    lock(&host.running)
        .as_mut()
        .is_some_and(|r| std::mem::replace(&mut r.quitting, false))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock means a panic elsewhere mid-update of plain data; the data itself is still usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Signs in at the server, starts the core for this agent and asks it to go online.
pub async fn login<R: Runtime>(
    app: &AppHandle<R>,
    login: &str,
    password: &str,
) -> Result<Profile, AppError> {
    let host = app.state::<AgentHost>();
    if lock(&host.running).is_some() {
        return Err(AppError::AlreadySignedIn);
    }
    let signed = host.server.login(login, password).await?;
    crate::keychain::remember(app, &signed.session_token);
    start_session(app, signed).await
}

/// Resumes a session remembered in the OS keychain: the server confirms the token (`GET /v1/me`), then the
/// session starts as after a sign-in.
pub async fn resume<R: Runtime>(
    app: &AppHandle<R>,
    session: Pii<String>,
) -> Result<Profile, AppError> {
    let host = app.state::<AgentHost>();
    if lock(&host.running).is_some() {
        return Err(AppError::AlreadySignedIn);
    }
    let profile = host.server.me(&session).await?;
    let signed = SignedIn {
        session_token: session,
        profile,
    };
    start_session(app, signed).await
}

/// Starts the core for a signed-in agent and asks it to go online.
async fn start_session<R: Runtime>(
    app: &AppHandle<R>,
    signed: SignedIn,
) -> Result<Profile, AppError> {
    let host = app.state::<AgentHost>();
    let tokens = SharedTokens {
        inner: ServerTokens::new(
            host.server.base(),
            signed.session_token.expose().clone(),
            CLIENT_VERSION,
        ),
        app: app.clone(),
    };
    let config = DriverConfig {
        eventbridge_ws: host.config.eventbridge_ws.clone(),
        eventbridge_rest: host.config.eventbridge_rest.clone(),
        session: SessionConfig::default(),
    };
    // The server's push carries what the Voice SDK never learns (the ConferenceSid, the CRM record), and its
    // resync after a reconnect restores it; a 426 on it stops the client taking calls.
    let events = EventsConfig {
        base_url: host.server.base().to_string(),
        session: signed.session_token.clone(),
        client_version: CLIENT_VERSION.to_string(),
    };
    let (driver, io) = Driver::new(config, tokens);
    let driver = driver.with_server_events(events);
    {
        let mut running = lock(&host.running);
        if running.is_some() {
            return Err(AppError::AlreadySignedIn); // a second sign-in raced this one
        }
        *running = Some(Running {
            inputs: io.inputs.clone(),
            session: signed.session_token,
            voice_token: None,
            quitting: false,
        });
        lock(&host.snapshot).profile = Some(signed.profile.clone());
    }
    tracing::info!(agent = %signed.profile.id, "signed in; starting the agent session");
    tauri::async_runtime::spawn(driver.run());
    tauri::async_runtime::spawn(pump(app.clone(), io.actions));
    io.inputs
        .send(Input::Command(Command::Login))
        .await
        .map_err(|_| AppError::CoreStopped)?;
    Ok(signed.profile)
}

/// The server's tokens, also handed to the webview: one Access Token (voice + task_router grants) serves both the
/// core's TaskRouter socket and the Voice `Device`, and both refresh together, ahead of expiry, on the core's clock.
struct SharedTokens<R: Runtime> {
    inner: ServerTokens,
    app: AppHandle<R>,
}

impl<R: Runtime> TokenSource for SharedTokens<R> {
    async fn fetch(&self) -> TokenReply {
        let reply = self.inner.fetch().await;
        if let TokenReply::Issued { token, .. } = &reply {
            if let Some(running) = lock(&self.app.state::<AgentHost>().running).as_mut() {
                running.voice_token = Some(token.clone());
            }
            let payload = serde_json::json!({ "token": token.expose() });
            if let Err(error) = self.app.emit(VOICE_TOKEN_EVENT_NAME, payload) {
                tracing::warn!(%error, "could not hand the new token to the Voice device");
            }
        }
        reply
    }
}

/// Carries out the core's actions for the shell until the core stops.
async fn pump<R: Runtime>(app: AppHandle<R>, mut actions: mpsc::UnboundedReceiver<Action>) {
    while let Some(action) = actions.recv().await {
        dispatch(&app, action);
    }
    tracing::info!("agent session ended");
    if app.state::<AgentHost>().signed_out() {
        app.exit(0);
    }
}

fn dispatch<R: Runtime>(app: &AppHandle<R>, action: Action) {
    let device = |command: DeviceCommand| {
        if let Err(error) = app.emit(DEVICE_EVENT_NAME, command) {
            tracing::error!(%error, "could not hand a call action to the webview");
        }
    };
    match action {
        Action::Emit(event) => {
            let host = app.state::<AgentHost>();
            host.observe(&event);
            events::on_core_event(app, &event);
            let signed_out = is_signed_out(&event);
            if signed_out && host.signed_out() {
                // The Offline activity was just sent; give its REST call a moment before the process ends.
                // TaskRouter's disconnect activity covers the case where it does not make it.
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                    app.exit(0);
                });
            } else if signed_out {
                // The agent signed out (a quit keeps the sign-in): the next start asks for the password.
                crate::keychain::forget(app);
            }
            if matches!(&event, Event::Error(e) if e.kind == tsunagi_core::ErrorKind::CallInProgress)
                && quit_refused(&host)
            {
                tracing::info!("quit refused by the core: a call or wrap-up is in progress");
                crate::window::show_main(app);
            }
        }
        Action::AcceptCall { call } => device(DeviceCommand::Accept { call }),
        Action::RejectCall { call } => device(DeviceCommand::Reject { call }),
        Action::DisconnectCall { call } => device(DeviceCommand::Disconnect { call }),
        Action::MuteCall { call, muted } => device(DeviceCommand::Mute { call, muted }),
        Action::SendDigits { call, digits } => device(DeviceCommand::SendDigits { call, digits }),
        Action::ConnectCall { to, attempt } => device(DeviceCommand::Connect {
            to: to.expose().to_owned(),
            attempt,
        }),
        Action::CallControl { target, op } => {
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let host = app.state::<AgentHost>();
                let Some((inputs, session)) = lock(&host.running)
                    .as_ref()
                    .map(|r| (r.inputs.clone(), r.session.clone()))
                else {
                    return;
                };
                let status = host.server.call_control(&session, &target, &op).await;
                if let Err(error) = &status {
                    tracing::warn!(%error, %target, "call control failed");
                }
                let result = RestResult::from_status(status.ok(), None);
                let _ = inputs
                    .send(Input::Result(ActionResult::CallControl {
                        target,
                        op,
                        result,
                    }))
                    .await;
            });
        }
        Action::CheckForUpdate => {
            crate::updater::check_now(app);
            tracing::warn!(
                "the server requires a newer version; new calls are refused until the update"
            )
        }
        other => tracing::debug!(?other, "action not meant for the shell"),
    }
}

fn is_signed_out(event: &Event) -> bool {
    use tsunagi_core::{ConnectionState, SocketKind, StopReason};
    matches!(
        event,
        Event::Connection {
            socket: SocketKind::TaskRouter,
            state: ConnectionState::Stopped {
                reason: StopReason::LoggedOut
            }
        }
    )
}
