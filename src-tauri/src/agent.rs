//! Hosts the agent core (`tsunagi-core`'s driver) for the signed-in agent and carries out what it asks of the
//! shell: events go to the window, tray and notifications; Voice SDK commands go to the webview; call control
//! goes to the server. It decides nothing: every decision is the core's.

use std::sync::Mutex;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::mpsc;
use tsunagi_core::driver::{
    AuthFailure, AuthState, Driver, DriverConfig, EventsConfig, ServerSession, ServerTokens,
    SyncConfig, TokenReply, TokenSource,
};
use tsunagi_core::{
    Action, ActionResult, Activity, Command, Event, Input, PresenceState, RestResult, SessionConfig,
};
use tsunagi_twilio::Pii;

use crate::config::{ClientConfig, VoiceSettings};
use crate::device::{DeviceCommand, DeviceReport, DEVICE_EVENT_NAME};
use crate::error::AppError;
use crate::events;
use crate::server::{Profile, ServerClient};

/// The Tauri event carrying a fresh Access Token to the webview's `Device` (`{ "token": "…" }`).
pub const VOICE_TOKEN_EVENT_NAME: &str = "tsunagi:voice-token";

/// The Tauri event telling the window the server ended the sign-in (`{ kind, message }`, kind `refreshInvalid`
/// or `refreshReused`): the window goes back to the sign-in screen and says why.
pub const SESSION_ENDED_EVENT_NAME: &str = "tsunagi:session-ended";

/// How the app leaves once the core has signed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The agent quit.
    Quit,
    /// An installed update restarts the app.
    Restart,
}

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
    /// The agent's session at the server (its token renews itself).
    session: ServerSession,
    /// The latest Access Token, for a Voice `Device` created (or re-created after a reload) mid-session.
    voice_token: Option<Pii<String>>,
    /// The app leaves (quit, or restart after an update) once the core has signed out.
    quitting: Option<Exit>,
}

/// What ended with a session.
struct Ended {
    session: ServerSession,
    exit: Option<Exit>,
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
        // A report only for the log (a call quality warning) has no input for the core.
        let Some(event) = report.into_event() else {
            return Ok(());
        };
        // CallSids and CallParams print redacted callers (Pii), so the event is safe to log.
        tracing::info!(?event, "Voice device event");
        inputs
            .send(Input::Device(event))
            .await
            .map_err(|_| AppError::CoreStopped)
    }

    /// The server no longer supports this version (its client policy says so before any request got a 426):
    /// the core stops taking calls as it does on a 426. No-op when signed out.
    pub async fn upgrade_required(&self, min_supported: Option<String>) {
        if let Ok(inputs) = self.inputs() {
            let _ = inputs.send(Input::UpgradeRequired { min_supported }).await;
        }
    }

    /// Updates the snapshot from a core event.
    pub fn observe(&self, event: &Event) {
        if let Event::Presence { state, selected } = event {
            let mut snapshot = lock(&self.snapshot);
            snapshot.presence = *state;
            snapshot.selected = *selected;
        }
    }

    /// Forgets the session once the core has signed out.
    fn signed_out(&self) -> Option<Ended> {
        let ended = lock(&self.running).take().map(|r| Ended {
            session: r.session,
            exit: r.quitting,
        });
        lock(&self.snapshot).profile = None;
        ended
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
        lock(&self.running).as_ref().map(|r| r.session.token())
    }

    /// Whether an agent is signed in.
    pub fn signed_in(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// The server client and the signed-in session, for the agent's own server requests (roster, supervise,
    /// history, warm-transfer steps).
    pub fn server_session(&self) -> Result<(ServerClient, ServerSession), AppError> {
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
    leave(app, Exit::Quit);
}

/// Leaves the app for good (`Quit`) or to start again (`Restart`, after an update) the way that loses nothing:
/// signed in, the core signs out first (the worker goes Offline, so no call is routed to an app that is going
/// away) and the app leaves when it has; the remembered sign-in is kept, so the next start resumes it. The core
/// refuses during a call or wrap-up (then the app keeps running; see [`quit`]).
pub fn leave<R: Runtime>(app: &AppHandle<R>, exit: Exit) {
    let host = app.state::<AgentHost>();
    let inputs = {
        let mut running = lock(&host.running);
        match running.as_mut() {
            None => None,
            Some(r) => {
                r.quitting = Some(exit);
                Some(r.inputs.clone())
            }
        }
    };
    let Some(inputs) = inputs else {
        return leave_now(app, exit);
    };
    tracing::info!(?exit, "leaving: signing out first");
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if inputs.send(Input::Command(Command::Logout)).await.is_err() {
            leave_now(&app, exit);
        }
    });
}

fn leave_now<R: Runtime>(app: &AppHandle<R>, exit: Exit) {
    match exit {
        Exit::Quit => app.exit(0),
        Exit::Restart => {
            tracing::info!("restarting");
            // Tauri releases the single-instance D-Bus name (cleanup_before_exit) before it starts the new
            // process, so the new one becomes the instance instead of forwarding to this one.
            app.request_restart();
        }
    }
}

fn quit_refused(host: &AgentHost) -> bool {
    lock(&host.running)
        .as_mut()
        .is_some_and(|r| r.quitting.take().is_some())
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
    let (session, profile) = host.server.login(login, password).await?;
    start_session(app, session, profile).await
}

/// Resumes a sign-in remembered in the OS keychain: the refresh token is exchanged for a new session (and a new
/// refresh token), then the session starts as after a sign-in.
pub async fn resume<R: Runtime>(
    app: &AppHandle<R>,
    remembered: crate::keychain::Remembered,
) -> Result<Profile, AppError> {
    let host = app.state::<AgentHost>();
    if lock(&host.running).is_some() {
        return Err(AppError::AlreadySignedIn);
    }
    let (session, profile) = match remembered {
        crate::keychain::Remembered::Refresh(token) => host.server.resume(&token).await?,
        crate::keychain::Remembered::Session(token) => host.server.resume_legacy(token).await?,
    };
    start_session(app, session, profile).await
}

/// Starts the core for a signed-in agent and asks it to go online.
async fn start_session<R: Runtime>(
    app: &AppHandle<R>,
    session: ServerSession,
    profile: Profile,
) -> Result<Profile, AppError> {
    let host = app.state::<AgentHost>();
    let tokens = SharedTokens {
        inner: ServerTokens::for_session(session.clone()),
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
        session: session.clone(),
    };
    let (driver, io) = Driver::new(config, tokens);
    let mut driver = driver.with_server_events(events);
    if let Some(url) = &host.config.sync_ws {
        // The agent's presence Document (and inbox) in Sync, over Twilsock.
        driver = driver.with_sync(SyncConfig { url: url.clone() });
    }
    {
        let mut running = lock(&host.running);
        if running.is_some() {
            return Err(AppError::AlreadySignedIn); // a second sign-in raced this one
        }
        *running = Some(Running {
            inputs: io.inputs.clone(),
            session: session.clone(),
            voice_token: None,
            quitting: None,
        });
        lock(&host.snapshot).profile = Some(profile.clone());
    }
    tracing::info!(agent = %profile.id, "signed in; starting the agent session");
    tauri::async_runtime::spawn(driver.run());
    tauri::async_runtime::spawn(pump(app.clone(), io.actions));
    tauri::async_runtime::spawn(session.clone().maintain());
    tauri::async_runtime::spawn(follow_session(app.clone(), session));
    io.inputs
        .send(Input::Command(Command::Login))
        .await
        .map_err(|_| AppError::CoreStopped)?;
    Ok(profile)
}

/// Keeps the keychain on the current refresh token (every renewal rotates it), and when the server ends the
/// sign-in, signs the core out and sends the window back to the sign-in screen with the reason.
async fn follow_session<R: Runtime>(app: AppHandle<R>, session: ServerSession) {
    let mut state = session.subscribe();
    loop {
        let now = state.borrow_and_update().clone();
        match now {
            AuthState::Active {
                refresh: Some(token),
            } => crate::keychain::remember(&app, &token).await,
            AuthState::Active { refresh: None } => {} // a remembered old-style session: kept as it is
            AuthState::SignedOut => return,
            AuthState::Ended(failure) => return session_ended(&app, &session, failure).await,
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// The server ended the sign-in: forget it, tell the window, and sign the core out as soon as no call or
/// wrap-up is in progress (the worker goes Offline; a call in progress keeps its media until then).
async fn session_ended<R: Runtime>(app: &AppHandle<R>, session: &ServerSession, why: AuthFailure) {
    let error = AppError::from_auth(why, session.base_url());
    tracing::warn!(kind = error.kind(), "the server ended the sign-in");
    crate::keychain::forget(app);
    if let Err(e) = app.emit(SESSION_ENDED_EVENT_NAME, &error) {
        tracing::warn!(error = %e, "could not tell the window the sign-in ended");
    }
    loop {
        let inputs = {
            let host = app.state::<AgentHost>();
            let running = lock(&host.running);
            match running.as_ref() {
                // Still this session (not signed in again meanwhile).
                Some(r) if r.session.token() == session.token() => r.inputs.clone(),
                _ => return,
            }
        };
        if app.state::<crate::activity::CallActivity>().is_idle() {
            let _ = inputs.send(Input::Command(Command::Logout)).await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
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
    if let Some(Ended {
        exit: Some(exit), ..
    }) = app.state::<AgentHost>().signed_out()
    {
        leave_now(&app, exit);
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
            match is_signed_out(&event).then(|| host.signed_out()).flatten() {
                Some(Ended {
                    exit: Some(exit), ..
                }) => {
                    // The Offline activity was just sent; give its REST call a moment before the process ends.
                    // TaskRouter's disconnect activity covers the case where it does not make it.
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
                        leave_now(&app, exit);
                    });
                }
                Some(Ended {
                    session,
                    exit: None,
                }) => {
                    // The agent signed out (a quit keeps the sign-in): the server revokes the session and its
                    // refresh tokens (best effort, 3 s), then the keychain forgets it.
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        if session.is_active() {
                            let confirmed = session.logout().await;
                            tracing::info!(confirmed, "signed out at the server");
                        }
                        crate::keychain::forget(&app);
                    });
                }
                None => {}
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
                let result = match host.server.call_control(&session, &target, &op).await {
                    Ok(result) => result,
                    Err(error) => {
                        tracing::warn!(%error, %target, "call control failed");
                        RestResult::Failed
                    }
                };
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
            tracing::warn!(
                "the server requires a newer version; new calls are refused until the update"
            );
            crate::updater::required_by_server(app);
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
