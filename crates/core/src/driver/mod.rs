//! The thin tokio driver (feature `driver`): it owns the clock, the sockets, the REST proxy and the token, feeds
//! the [`Session`] and runs its actions — the only module that names tokio, reqwest or tokio-tungstenite. It
//! decides nothing.
//!
//! Scope: the TaskRouter worker (EventBridge WebSocket + REST proxy, `eventbridge`), token fetches (`tokens`),
//! and with [`Driver::with_sync`] Sync over Twilsock (`sync`: the presence Document follows every
//! [`crate::Event::Presence`], the inbox Document feeds [`Input::CallContext`]). Actions that belong to the webview
//! (the Voice SDK `Device`: `AcceptCall`, `RejectCall`, `DisconnectCall`, `MuteCall`, `SendDigits`, `ConnectCall`),
//! to the companion server (`CallControl`), to the updater (`CheckForUpdate`) and every [`Action::Emit`] go to the
//! shell through [`DriverIo::actions`]; the shell reports back through [`DriverIo::inputs`] (Device events, UI
//! commands).
//!
//! Contract kept here: all actions of one input are started before the next input is handled (REST calls run
//! as tasks; their results come back as inputs); `Tick` is fed at [`Session::next_deadline`]; news from a socket
//! attempt that is no longer the live one is dropped (the session ignores its `ConnId` too).

mod auth;
mod eventbridge;
mod events;
mod sync;
mod tokens;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;
use tsunagi_twilio::eventbridge::{self as eb, Page};
use tsunagi_twilio::{Pii, WorkerSid, WorkspaceSid};

pub use auth::{
    refresh_due, AuthFailure, AuthState, ServerSession, SignedInAgent, LOGOUT_TIMEOUT,
    REFRESH_AHEAD_SECS,
};
pub use events::EventsConfig;
pub use sync::{inbox_document, presence_document, SyncConfig};
pub use tokens::{ServerTokens, TokenReply, TokenSource};

use crate::api::{Activity, Event, SocketKind};
use crate::input::{
    Action, ActionResult, CompleteReason, ConnId, Input, Reading, RestResult, SocketEvent,
    TokenEvent,
};
use crate::session::{Session, SessionConfig};
use crate::supervisor::SupervisorConfig;
use crate::taskrouter::{self, ActivityMap, FrameInput};
use eventbridge::Proxy;
use sync::{SyncCmd, SyncMemory};

/// What a socket task reports to the driver loop, tagged with its socket and attempt.
#[derive(Debug)]
pub(crate) enum SocketNews {
    /// The WebSocket is open.
    Opened,
    /// The protocol is up (Twilsock `init` replied).
    Ready,
    /// Any frame arrived (heartbeat).
    Frame,
    /// An EventBridge text frame (keepalives included: they feed the heartbeat).
    Text(String),
    /// Something for the session (call context, token news).
    Input(Box<Input>),
    /// The server asks for a fresh reading (it dropped pushes for this socket).
    Resync,
    /// The attempt ended.
    Closed(crate::input::CloseReason),
}

type SocketTx = mpsc::UnboundedSender<(SocketKind, ConnId, SocketNews)>;

/// The Sync side of the driver, when configured.
struct SyncSide {
    cfg: SyncConfig,
    memory: std::sync::Arc<std::sync::Mutex<SyncMemory>>,
    /// Commands for the live attempt.
    cmds: Option<mpsc::UnboundedSender<SyncCmd>>,
}

/// Where the driver connects.
#[derive(Clone, Debug)]
pub struct DriverConfig {
    /// EventBridge WebSocket, e.g. `wss://event-bridge.twilio.com/v1/wschannels` (or the stand-in's).
    pub eventbridge_ws: String,
    /// EventBridge REST proxy, e.g. `https://event-bridge.twilio.com/v1/wschannels`.
    pub eventbridge_rest: String,
    /// Session tunables. The sockets driven are TaskRouter, plus Sync after [`Driver::with_sync`]: their entries
    /// in `sockets` are kept (or the defaults added), the others are dropped.
    pub session: SessionConfig,
}

/// The shell's two ends of a running driver.
#[derive(Debug)]
pub struct DriverIo {
    /// Send UI commands and Device events here.
    pub inputs: mpsc::Sender<Input>,
    /// Actions for the shell: events, Device commands, call control, update checks.
    pub actions: mpsc::UnboundedReceiver<Action>,
}

/// Results of the driver's own tasks, back to its loop.
enum Internal {
    Input(Input),
    Activities(ActivityMap),
    Token(Pii<String>, u64),
}

/// The driver. Build with [`Driver::new`], then `tokio::spawn(driver.run())`.
pub struct Driver<T: TokenSource> {
    session: Session,
    session_cfg: SessionConfig,
    proxy: Proxy,
    ws_url: String,
    tokens: std::sync::Arc<T>,
    token: Option<Pii<String>>,
    ids: Option<(WorkspaceSid, WorkerSid)>,
    activities: ActivityMap,
    /// An activity change asked for before the workspace's activities were known.
    pending_activity: Option<Activity>,
    sockets: std::collections::HashMap<SocketKind, (ConnId, JoinHandle<()>)>,
    sync: Option<SyncSide>,
    events: Option<EventsConfig>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    socket_tx: SocketTx,
    socket_rx: mpsc::UnboundedReceiver<(SocketKind, ConnId, SocketNews)>,
    inputs: mpsc::Receiver<Input>,
    shell: mpsc::UnboundedSender<Action>,
}

impl<T: TokenSource> std::fmt::Debug for Driver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("session", &self.session)
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

/// 64 bits from the OS's per-process hash keys and the clock: the session's seed (reconnect jitter, outgoing-call
/// attempt ids), so that no two running sessions share one.
fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn reason_text(reason: CompleteReason) -> &'static str {
    match reason {
        CompleteReason::WrapUpFinished => "wrap-up finished",
        CompleteReason::AutoWrapUp => "wrap-up time elapsed",
        CompleteReason::CallerAbandoned => "caller abandoned",
        CompleteReason::AgentLegFailed => "agent leg failed",
    }
}

impl<T: TokenSource> Driver<T> {
    /// A driver and the shell's ends of it.
    pub fn new(cfg: DriverConfig, tokens: T) -> (Self, DriverIo) {
        // wss:// needs a process-wide rustls provider; installing it twice is harmless.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let mut session_cfg = cfg.session;
        if session_cfg.seed == SessionConfig::default().seed {
            // Left at its default: draw one, so agents never reconnect in lockstep and attempt ids differ.
            // (A caller that sets its own seed, e.g. a test, keeps it.)
            session_cfg.seed = os_seed();
        }
        let all_sockets = std::mem::take(&mut session_cfg.sockets);
        session_cfg.sockets = all_sockets.clone();
        let session = Session::new(Self::driven(&session_cfg, &[SocketKind::TaskRouter]));
        session_cfg.sockets = all_sockets;
        let (internal_tx, internal_rx) = mpsc::unbounded_channel();
        let (socket_tx, socket_rx) = mpsc::unbounded_channel();
        let (inputs_tx, inputs) = mpsc::channel(256);
        let (shell, actions) = mpsc::unbounded_channel();
        let driver = Self {
            session,
            session_cfg,
            proxy: Proxy::new(cfg.eventbridge_rest),
            ws_url: cfg.eventbridge_ws,
            tokens: std::sync::Arc::new(tokens),
            token: None,
            ids: None,
            activities: ActivityMap::default(),
            pending_activity: None,
            sockets: std::collections::HashMap::new(),
            sync: None,
            events: None,
            internal_tx,
            internal_rx,
            socket_tx,
            socket_rx,
            inputs,
            shell,
        };
        (
            driver,
            DriverIo {
                inputs: inputs_tx,
                actions,
            },
        )
    }

    /// The session config with only the `kinds` sockets (their configured entries, or the defaults).
    fn driven(cfg: &SessionConfig, kinds: &[SocketKind]) -> SessionConfig {
        let mut cfg = cfg.clone();
        cfg.sockets = kinds
            .iter()
            .map(|kind| {
                let sc = cfg
                    .sockets
                    .iter()
                    .find(|(k, _)| k == kind)
                    .map_or_else(|| SupervisorConfig::for_socket(*kind), |(_, c)| *c);
                (*kind, sc)
            })
            .collect();
        cfg
    }

    /// The socket kinds this driver drives.
    fn kinds(&self) -> Vec<SocketKind> {
        let mut kinds = vec![SocketKind::TaskRouter];
        if self.sync.is_some() {
            kinds.push(SocketKind::Sync);
        }
        if self.events.is_some() {
            kinds.push(SocketKind::Events);
        }
        kinds
    }

    /// Also drive the companion server's push (`/v1/events`) and its resync reading
    /// (`GET /v1/agents/me/active-call`); call before [`Driver::run`].
    pub fn with_server_events(mut self, cfg: EventsConfig) -> Self {
        self.events = Some(cfg);
        self.session = Session::new(Self::driven(&self.session_cfg, &self.kinds()));
        self
    }

    /// Also drive Sync over Twilsock (the agent's presence Document and inbox); call before [`Driver::run`].
    pub fn with_sync(mut self, cfg: SyncConfig) -> Self {
        self.sync = Some(SyncSide {
            cfg,
            memory: std::sync::Arc::default(),
            cmds: None,
        });
        self.session = Session::new(Self::driven(&self.session_cfg, &self.kinds()));
        self
    }

    /// Runs until the shell drops [`DriverIo::inputs`].
    pub async fn run(mut self) {
        loop {
            let deadline = self
                .session
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            let sleep = async move {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                Some(news) = self.socket_rx.recv() => self.on_socket(news),
                Some(msg) = self.internal_rx.recv() => self.on_internal(msg),
                input = self.inputs.recv() => match input {
                    Some(input) => self.feed(input),
                    None => break,
                },
                () = sleep => self.feed(Input::Tick),
            }
        }
        for (_, (_, task)) in self.sockets.drain() {
            task.abort();
        }
    }

    fn feed(&mut self, input: Input) {
        let actions = self.session.handle(input, Instant::now());
        for action in actions {
            self.run_action(action);
        }
    }

    fn on_internal(&mut self, msg: Internal) {
        match msg {
            Internal::Input(input) => self.feed(input),
            Internal::Activities(map) => {
                self.activities = map;
                if let Some(activity) = self.pending_activity.take() {
                    self.set_activity(activity);
                }
            }
            Internal::Token(token, expires_unix) => {
                if let Some(cmds) = self.sync.as_ref().and_then(|s| s.cmds.as_ref()) {
                    let _ = cmds.send(SyncCmd::Token(token.clone()));
                }
                self.token = Some(token);
                self.feed(Input::Token(TokenEvent::Issued {
                    expires_unix,
                    now_unix: now_unix(),
                }));
            }
        }
    }

    fn on_socket(&mut self, (socket, conn, news): (SocketKind, ConnId, SocketNews)) {
        match news {
            SocketNews::Ready => self.feed(Input::Socket {
                socket,
                conn,
                event: SocketEvent::Ready,
            }),
            SocketNews::Frame => self.feed(Input::Socket {
                socket,
                conn,
                event: SocketEvent::Frame,
            }),
            SocketNews::Resync => self.feed(Input::Socket {
                socket,
                conn,
                event: SocketEvent::ResyncRequested,
            }),
            SocketNews::Input(input) => {
                // Only the live attempt speaks for its socket.
                if self.sockets.get(&socket).is_some_and(|(c, _)| *c == conn) {
                    self.feed(*input);
                }
            }
            SocketNews::Opened => self.feed(Input::Socket {
                socket,
                conn,
                event: SocketEvent::Opened,
            }),
            SocketNews::Closed(reason) => self.feed(Input::Socket {
                socket,
                conn,
                event: SocketEvent::Closed(reason),
            }),
            SocketNews::Text(text) => {
                self.feed(Input::Socket {
                    socket,
                    conn,
                    event: SocketEvent::Frame,
                });
                let frame = match eb::parse_frame(&text) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => return, // keepalive
                    Err(e) => {
                        tracing::warn!(error = %e, "malformed EventBridge frame");
                        return;
                    }
                };
                let event_type = frame.event_type.clone();
                match taskrouter::frame_input(frame, &self.activities) {
                    FrameInput::Init(init) => {
                        match (
                            WorkspaceSid::parse(&init.workspace_sid),
                            WorkerSid::parse(&init.channel_id),
                        ) {
                            (Ok(ws), Ok(wk)) => {
                                self.ids = Some((ws, wk));
                                self.feed(Input::Socket {
                                    socket,
                                    conn,
                                    event: SocketEvent::Ready,
                                });
                            }
                            _ => tracing::warn!("EventBridge init with invalid SIDs"),
                        }
                    }
                    FrameInput::Input(input) => self.feed(input),
                    FrameInput::Ignored => {
                        tracing::debug!(%event_type, "EventBridge frame ignored")
                    }
                }
            }
        }
    }

    /// Reports an input from a spawned task.
    fn reporter(&self) -> impl Fn(Input) + Send + Sync + 'static {
        let tx = self.internal_tx.clone();
        move |input| {
            let _ = tx.send(Internal::Input(input));
        }
    }

    fn run_action(&mut self, action: Action) {
        match action {
            Action::AcceptReservation { task, reservation } => {
                let span = tracing::info_span!("accept_reservation", %task, %reservation);
                let report = self.reporter();
                let call = self.reservation_call(reservation, "accepted");
                tokio::spawn(
                    async move {
                        let result = match call {
                            Some(call) => call.await.map_or_else(|e| e, |_| RestResult::Ok),
                            None => RestResult::Failed,
                        };
                        tracing::info!(?result, "reservation accept");
                        report(Input::Result(ActionResult::AcceptReservation {
                            reservation,
                            result,
                        }));
                    }
                    .instrument(span),
                );
            }
            Action::RejectReservation { task, reservation } => {
                let span = tracing::info_span!("reject_reservation", %task, %reservation);
                if let Some(call) = self.reservation_call(reservation, "rejected") {
                    tokio::spawn(
                        async move {
                            // Best effort: "no longer pending" is as good as done.
                            if let Err(result) = call.await {
                                tracing::info!(?result, "reservation reject not applied");
                            }
                        }
                        .instrument(span),
                    );
                }
            }
            Action::CompleteTask { task, reason } => {
                let span = tracing::info_span!("complete_task", %task, ?reason);
                let report = self.reporter();
                let call = self.ids.zip(self.token.clone()).map(|((ws, _), token)| {
                    let proxy = self.proxy.clone();
                    async move {
                        proxy
                            .call(
                                &token,
                                "POST",
                                format!("Workspaces/{ws}/Tasks/{task}"),
                                json!({"AssignmentStatus": "completed", "Reason": reason_text(reason)}),
                                "v1",
                            )
                            .await
                    }
                });
                tokio::spawn(
                    async move {
                        let result = match call {
                            Some(call) => call.await.map_or_else(|e| e, |_| RestResult::Ok),
                            None => RestResult::Failed,
                        };
                        tracing::info!(?result, "task complete");
                        report(Input::Result(ActionResult::CompleteTask { task, result }));
                    }
                    .instrument(span),
                );
            }
            Action::SetActivity { activity } => self.set_activity(activity),
            Action::Connect {
                socket: SocketKind::TaskRouter,
                conn,
            } => self.connect(conn),
            Action::Connect {
                socket: SocketKind::Sync,
                conn,
            } if self.sync.is_some() => self.connect_sync(conn),
            Action::Connect {
                socket: SocketKind::Events,
                conn,
            } if self.events.is_some() => self.connect_events(conn),
            Action::Disconnect { socket, conn } => {
                if let Some((current, task)) = self.sockets.remove(&socket) {
                    if current == conn {
                        task.abort();
                    } else {
                        self.sockets.insert(socket, (current, task));
                    }
                }
            }
            Action::Resync {
                socket: SocketKind::TaskRouter,
            } => self.resync(),
            Action::Resync {
                socket: SocketKind::Sync,
            } => {
                if let Some(cmds) = self.sync.as_ref().and_then(|s| s.cmds.as_ref()) {
                    let _ = cmds.send(SyncCmd::Resubscribe);
                }
            }
            Action::Resync {
                socket: SocketKind::Events,
            } => self.events_resync(),
            Action::Connect { socket, .. } => {
                tracing::warn!(?socket, "socket not driven by this driver");
            }
            Action::Emit(event) => {
                if let (Event::Presence { state, selected }, Some(sync)) = (&event, &self.sync) {
                    // The presence Document follows what the presence shows, written on change only.
                    let value = serde_json::json!({ "state": state, "selected": selected });
                    sync::lock(&sync.memory).set_presence(value);
                    if let Some(cmds) = &sync.cmds {
                        let _ = cmds.send(SyncCmd::Presence);
                    }
                }
                let _ = self.shell.send(Action::Emit(event));
            }
            Action::FetchToken => {
                let tokens = self.tokens.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(
                    async move {
                        let msg = match tokens.fetch().await {
                            TokenReply::Issued {
                                token,
                                expires_unix,
                            } => Internal::Token(token, expires_unix),
                            TokenReply::UpgradeRequired { min_supported } => {
                                Internal::Input(Input::UpgradeRequired { min_supported })
                            }
                            TokenReply::Failed => {
                                tracing::warn!("token fetch failed");
                                Internal::Input(Input::Token(TokenEvent::FetchFailed))
                            }
                        };
                        let _ = tx.send(msg);
                    }
                    .instrument(tracing::info_span!("fetch_token")),
                );
            }
            Action::AcceptCall { call }
            | Action::RejectCall { call }
            | Action::DisconnectCall { call } => {
                tracing::info!(%call, ?action, "device action");
                let _ = self.shell.send(action);
            }
            other => {
                let _ = self.shell.send(other);
            }
        }
    }

    /// `POST …/Workers/{WK}/Reservations/{WR}` with `ReservationStatus`, if the worker is known.
    fn reservation_call(
        &self,
        reservation: tsunagi_twilio::ReservationSid,
        status: &'static str,
    ) -> Option<impl std::future::Future<Output = Result<Value, RestResult>> + Send + 'static> {
        let ((ws, wk), token) = self.ids.zip(self.token.clone())?;
        let proxy = self.proxy.clone();
        Some(async move {
            proxy
                .call(
                    &token,
                    "POST",
                    format!("Workspaces/{ws}/Workers/{wk}/Reservations/{reservation}"),
                    json!({ "ReservationStatus": status }),
                    "v1",
                )
                .await
        })
    }

    fn set_activity(&mut self, activity: Activity) {
        if self.activities.is_empty() {
            self.pending_activity = Some(activity); // sent once the resync has loaded the activities
            return;
        }
        let report = self.reporter();
        let target = self.activities.sid(activity).map(str::to_owned);
        let call = self.ids.zip(self.token.clone()).zip(target);
        let proxy = self.proxy.clone();
        tokio::spawn(
            async move {
                let result = match call {
                    Some((((ws, wk), token), sid)) => proxy
                        .call(
                            &token,
                            "POST",
                            format!("Workspaces/{ws}/Workers/{wk}"),
                            json!({ "ActivitySid": sid }),
                            "v1",
                        )
                        .await
                        .map_or_else(|e| e, |_| RestResult::Ok),
                    None => RestResult::Failed,
                };
                tracing::info!(?result, "set activity");
                report(Input::Result(ActionResult::SetActivity {
                    activity,
                    result,
                }));
            }
            .instrument(tracing::info_span!("set_activity", ?activity)),
        );
    }

    /// The token for a new attempt of `socket`, or the attempt fails at once (the session asks for a token).
    fn token_for(&mut self, socket: SocketKind, conn: ConnId) -> Option<Pii<String>> {
        if let Some((_, old)) = self.sockets.remove(&socket) {
            old.abort();
        }
        let token = self.token.clone();
        if token.is_none() {
            let _ = self.socket_tx.send((
                socket,
                conn,
                SocketNews::Closed(crate::input::CloseReason::Unauthorized),
            ));
        }
        token
    }

    fn connect(&mut self, conn: ConnId) {
        let Some(token) = self.token_for(SocketKind::TaskRouter, conn) else {
            return;
        };
        let task = tokio::spawn(
            eventbridge::socket(self.ws_url.clone(), token, conn, self.socket_tx.clone())
                .instrument(tracing::info_span!("eventbridge", conn = conn.0)),
        );
        self.sockets.insert(SocketKind::TaskRouter, (conn, task));
    }

    fn connect_events(&mut self, conn: ConnId) {
        let Some(cfg) = self.events.clone() else {
            return;
        };
        if let Some((_, old)) = self.sockets.remove(&SocketKind::Events) {
            old.abort();
        }
        let task = tokio::spawn(
            events::socket(cfg, conn, self.socket_tx.clone())
                .instrument(tracing::info_span!("server_events", conn = conn.0)),
        );
        self.sockets.insert(SocketKind::Events, (conn, task));
    }

    /// Reads the agent's active call from the server (after a (re)connect, or when the server asks).
    fn events_resync(&mut self) {
        let Some(cfg) = self.events.clone() else {
            return;
        };
        let tx = self.internal_tx.clone();
        tokio::spawn(
            async move {
                let readings = match events::active_call(&cfg).await {
                    events::ActiveCall::Snapshot { call, outbound } => {
                        let call = call.map(Reading::CallContext);
                        let outbound =
                            outbound.map(|(attempt, state)| Reading::Outbound { attempt, state });
                        call.into_iter().chain(outbound).collect::<Vec<_>>()
                    }
                    events::ActiveCall::UpgradeRequired(min_supported) => {
                        let _ = tx.send(Internal::Input(Input::UpgradeRequired { min_supported }));
                        return;
                    }
                    events::ActiveCall::None => return,
                    events::ActiveCall::Failed => {
                        tracing::warn!("active-call resync failed");
                        return;
                    }
                };
                for reading in readings {
                    let input = Input::Resynced {
                        socket: SocketKind::Events,
                        reading,
                    };
                    let _ = tx.send(Internal::Input(input));
                }
            }
            .instrument(tracing::info_span!("active_call")),
        );
    }

    fn connect_sync(&mut self, conn: ConnId) {
        let Some(token) = self.token_for(SocketKind::Sync, conn) else {
            return;
        };
        let Some(side) = self.sync.as_mut() else {
            return;
        };
        let (cmds_tx, cmds) = mpsc::unbounded_channel();
        side.cmds = Some(cmds_tx);
        let attempt = sync::Attempt {
            url: side.cfg.url.clone(),
            token,
            conn,
            memory: side.memory.clone(),
            news: self.socket_tx.clone(),
            cmds,
            salt: os_seed(),
        };
        let task = tokio::spawn(
            sync::run(attempt).instrument(tracing::info_span!("twilsock", conn = conn.0)),
        );
        self.sockets.insert(SocketKind::Sync, (conn, task));
    }

    /// Re-bootstrap after (re)connecting: activities, the worker's activity, and the active reservations.
    fn resync(&mut self) {
        let Some(((ws, wk), token)) = self.ids.zip(self.token.clone()) else {
            return;
        };
        let proxy = self.proxy.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(
            async move {
                let activities = proxy
                    .call(
                        &token,
                        "GET",
                        format!("Workspaces/{ws}/Activities"),
                        json!({"PageSize": 1000}),
                        "v1",
                    )
                    .await
                    .ok()
                    .and_then(|v| serde_json::from_value::<Page<eb::Activity>>(v).ok())
                    .map(|p| ActivityMap::from_activities(&p.contents));
                let Some(map) = activities else {
                    tracing::warn!("resync: activities unavailable");
                    return;
                };
                let worker = proxy
                    .call(
                        &token,
                        "GET",
                        format!("Workspaces/{ws}/Workers/{wk}"),
                        json!({}),
                        "v1",
                    )
                    .await
                    .ok()
                    .and_then(|v| serde_json::from_value::<eb::Worker>(v).ok());
                // The worker's activity as read goes in before the activity map, which releases a queued
                // SetActivity; a reading older than a push is dropped by the session anyway.
                if let Some(w) = worker {
                    let _ = tx.send(Internal::Input(Input::Resynced {
                        socket: SocketKind::TaskRouter,
                        reading: Reading::WorkerActivity(map.activity(&w.activity_sid)),
                    }));
                }
                let _ = tx.send(Internal::Activities(map));
                let reservations = proxy
                    .call(
                        &token,
                        "GET",
                        format!("Workspaces/{ws}/Workers/{wk}/Reservations"),
                        json!({"Active": "true", "PageSize": 1000}),
                        "v2",
                    )
                    .await
                    .ok()
                    .and_then(|v| serde_json::from_value::<Page<eb::Reservation>>(v).ok());
                match reservations {
                    Some(page) => {
                        let _ = tx.send(Internal::Input(taskrouter::snapshot(&page.contents)));
                    }
                    None => tracing::warn!("resync: reservations unavailable"),
                }
            }
            .instrument(tracing::info_span!("resync", workspace = %ws, worker = %wk)),
        );
    }
}
