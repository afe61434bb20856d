//! The shell's shared state and effect dispatch: the one place that turns engine [`Effect`]s into socket writes
//! and HTTP requests, runs the timer loop, and keeps the scenario event log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tsunagi_twilio::sid::WorkerSid;

use crate::auth::Accounts;
use crate::clock::{SimClock, UnixMillis};
use crate::config::Config;
use crate::sync::SyncStore;
use crate::taskrouter::{Effect, TaskRouter, Webhook, WebhookKind};

/// Entries kept in the scenario log.
pub const MAX_LOG: usize = 20_000;
/// Frames queued per socket before the socket is considered stuck and dropped.
pub const SOCKET_QUEUE: usize = 1024;

/// A command for one WebSocket task.
#[derive(Debug, Clone)]
pub enum SocketCmd {
    /// Send this text frame.
    Text(String),
    /// Send this binary frame.
    Binary(Vec<u8>),
    /// Close with code and reason.
    Close(u16, String),
}

/// A registered socket.
#[derive(Debug, Clone)]
pub struct SocketHandle {
    /// Unique id.
    pub id: u64,
    /// Command channel.
    pub tx: mpsc::Sender<SocketCmd>,
}

/// An instant in real and in simulated time: it has passed when either clock reached it.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    /// Runtime clock.
    pub real: tokio::time::Instant,
    /// Simulated clock.
    pub sim: UnixMillis,
}

/// One entry in the scenario log (`GET /_sim/events`).
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// Sequence number.
    pub seq: u64,
    /// Simulated time, epoch ms.
    pub at_ms: u64,
    /// e.g. `eventbridge.push`, `webhook.sent`, `socket.open`.
    pub kind: String,
    /// Details.
    pub data: Value,
}

/// Injected faults (`/_sim/faults`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Faults {
    /// Delay added before answering REST / proxy requests, ms.
    #[serde(default)]
    pub rest_delay_ms: u64,
    /// The next N REST / proxy requests fail with 500.
    #[serde(default)]
    pub rest_fail_next: u32,
    /// The next N webhook deliveries are treated as failed (5xx) without being sent.
    #[serde(default)]
    pub webhook_fail_next: u32,
}

/// Everything the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// Simulated clock.
    pub clock: SimClock,
    /// Static config.
    pub config: Config,
    /// Accounts and keys.
    pub accounts: Mutex<Accounts>,
    /// TaskRouter engine.
    pub tr: Mutex<TaskRouter>,
    /// Sync store.
    pub sync: Mutex<SyncStore>,
    /// Initialised twilsock connections by connection id.
    pub twilsock_conns: Mutex<HashMap<u64, SocketHandle>>,
    /// EventBridge sockets by worker.
    pub eb_sockets: Mutex<HashMap<WorkerSid, Vec<SocketHandle>>>,
    /// Every open socket (EventBridge and Twilsock) by id, for `/_sim/sockets/drop`.
    pub all_sockets: Mutex<HashMap<u64, (String, String, SocketHandle)>>,
    /// Scenario log.
    pub log: Mutex<VecDeque<LogEntry>>,
    /// Injected faults.
    pub faults: Mutex<Faults>,
    /// Outgoing HTTP client (webhooks).
    pub http: reqwest::Client,
    /// Run after every TaskRouter mutation (the call engine watches for `conference` instructions).
    pub tr_observer: std::sync::OnceLock<crate::calls::Observer>,
    /// `http://HOST:PORT` once bound (absolute URLs in callbacks, e.g. `RecordingUrl`).
    pub base_url: std::sync::OnceLock<String>,
    /// Woken by `/_sim/clock/advance`, so waits on simulated time ([`Shared::sleep_until`]) end early.
    pub clock_moved: tokio::sync::Notify,
    next_id: Mutex<u64>,
}

/// Locks a mutex, recovering from poisoning (a panicked holder must not take the whole stand-in down).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Builds the shared state from config.
    pub fn new(config: Config, clock: SimClock, tr: TaskRouter, sync: SyncStore) -> Arc<Self> {
        let accounts = Accounts::from_config(&config);
        Arc::new(Self {
            clock,
            accounts: Mutex::new(accounts),
            tr: Mutex::new(tr),
            sync: Mutex::new(sync),
            twilsock_conns: Mutex::new(HashMap::new()),
            eb_sockets: Mutex::new(HashMap::new()),
            all_sockets: Mutex::new(HashMap::new()),
            log: Mutex::new(VecDeque::new()),
            faults: Mutex::new(Faults::default()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            tr_observer: std::sync::OnceLock::new(),
            base_url: std::sync::OnceLock::new(),
            clock_moved: tokio::sync::Notify::new(),
            next_id: Mutex::new(0),
            config,
        })
    }

    /// `http://HOST:PORT` of the running stand-in (`http://127.0.0.1` before it is bound).
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map_or("http://127.0.0.1", String::as_str)
    }

    /// The current simulated time.
    pub fn now(&self) -> UnixMillis {
        self.clock.now()
    }

    /// `ms` from now, in both clocks.
    pub fn deadline(&self, ms: u64) -> Deadline {
        Deadline {
            real: tokio::time::Instant::now() + Duration::from_millis(ms),
            sim: self.now().plus_ms(ms),
        }
    }

    /// Whether `d` has passed on either clock.
    pub fn passed(&self, d: &Deadline) -> bool {
        tokio::time::Instant::now() >= d.real || self.now() >= d.sim
    }

    /// Sleeps until `d` passes on either clock: in real time, or as soon as `/_sim/clock/advance` moves the
    /// simulated clock past it (a test skips a 20 s `<Pause>` or a 60 s ring timeout at once).
    pub async fn sleep_until(&self, d: Deadline) {
        loop {
            let moved = self.clock_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            if self.passed(&d) {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(d.real) => return,
                () = moved => {}
            }
        }
    }

    /// Sleeps `ms` (see [`Shared::sleep_until`]).
    pub async fn sleep(&self, ms: u64) {
        self.sleep_until(self.deadline(ms)).await;
    }

    /// Moves the simulated clock forward and wakes everything waiting on it.
    pub fn advance(self: &Arc<Self>, ms: u64) {
        self.clock.advance(ms);
        self.clock_moved.notify_waiters();
        self.run_due();
    }

    /// A fresh id for sockets and log entries.
    pub fn next_id(&self) -> u64 {
        let mut g = lock(&self.next_id);
        *g += 1;
        *g
    }

    /// Appends to the scenario log.
    pub fn log(&self, kind: &str, data: Value) {
        let seq = self.next_id();
        let mut g = lock(&self.log);
        if g.len() >= MAX_LOG {
            g.pop_front();
        }
        g.push_back(LogEntry {
            seq,
            at_ms: self.now().0,
            kind: kind.into(),
            data,
        });
    }

    /// Runs a closure on the TaskRouter engine, then dispatches the effects it queued.
    pub fn with_tr<R>(self: &Arc<Self>, f: impl FnOnce(&mut TaskRouter, UnixMillis) -> R) -> R {
        let now = self.now();
        let (out, effects) = {
            let mut tr = lock(&self.tr);
            let out = f(&mut tr, now);
            (out, tr.drain_effects())
        };
        self.dispatch(effects);
        if let Some(observer) = self.tr_observer.get() {
            (observer.0)();
        }
        out
    }

    /// Sends engine effects: pushes to sockets, webhooks to HTTP.
    pub fn dispatch(self: &Arc<Self>, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Push { worker, frame } => {
                    let text = frame.to_text();
                    self.log("eventbridge.push", serde_json::json!({"worker": worker.to_string(), "event_type": frame.event_type}));
                    let socks = lock(&self.eb_sockets)
                        .get(&worker)
                        .cloned()
                        .unwrap_or_default();
                    for s in socks {
                        if s.tx.try_send(SocketCmd::Text(text.clone())).is_err() {
                            let _ =
                                s.tx.try_send(SocketCmd::Close(1011, "send queue full".into()));
                        }
                    }
                }
                Effect::CloseSockets { worker } => {
                    let socks = lock(&self.eb_sockets).remove(&worker).unwrap_or_default();
                    for s in socks {
                        let _ =
                            s.tx.try_send(SocketCmd::Close(4404, "worker deleted".into()));
                    }
                }
                Effect::Webhook(w) => {
                    let me = self.clone();
                    tokio::spawn(async move { me.deliver(w).await });
                }
            }
        }
    }

    /// Delivers a webhook with Twilio-style retries; assignment replies are fed back to the engine.
    async fn deliver(self: Arc<Self>, w: Webhook) {
        let Some(token) = lock(&self.accounts)
            .auth_token(&w.account)
            .map(str::to_owned)
        else {
            return;
        };
        let signature = crate::webhook::sign(&token, &w.url, &w.params);
        let delays = self.config.webhook_retry_delays_ms.clone();
        let kind = match &w.kind {
            WebhookKind::Assignment(r) => format!("assignment:{r}"),
            WebhookKind::Event => "event".into(),
        };
        for attempt in 0..=delays.len() {
            let injected = {
                let mut f = lock(&self.faults);
                if f.webhook_fail_next > 0 {
                    f.webhook_fail_next -= 1;
                    true
                } else {
                    false
                }
            };
            let result = if injected {
                Err("injected 500".to_owned())
            } else {
                crate::webhook::post(&self.http, &w.url, &w.params, &signature).await
            };
            self.log(
                "webhook.attempt",
                serde_json::json!({"url": w.url, "kind": kind, "attempt": attempt + 1, "ok": result.is_ok(),
                    "event_type": w.params.iter().find(|(k, _)| k == "EventType").map(|(_, v)| v.clone()),
                    "error": result.as_ref().err()}),
            );
            match result {
                Ok(body) => {
                    if let WebhookKind::Assignment(rsid) = &w.kind {
                        let reply: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                        let rsid = *rsid;
                        let applied =
                            self.with_tr(|tr, now| tr.assignment_reply(&rsid, &reply, now));
                        if let Err(e) = applied {
                            self.log("assignment.instruction_failed", serde_json::json!({"reservation": rsid.to_string(), "code": e.code, "message": e.message}));
                        }
                    }
                    return;
                }
                Err(_) => {
                    if let Some(d) = delays.get(attempt) {
                        tokio::time::sleep(Duration::from_millis(*d)).await;
                    }
                }
            }
        }
    }

    /// Registers a socket for `/_sim/sockets` and drops.
    pub fn register_socket(&self, kind: &str, label: &str, h: SocketHandle) {
        lock(&self.all_sockets).insert(h.id, (kind.into(), label.into(), h));
    }

    /// Forgets a socket.
    pub fn unregister_socket(&self, id: u64) {
        lock(&self.all_sockets).remove(&id);
    }

    /// Runs engine timers forever (every 50 ms of real time, against simulated time).
    pub async fn timer_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            self.run_due();
        }
    }

    /// Runs whatever is due now (also called right after `/_sim/clock/advance`).
    pub fn run_due(self: &Arc<Self>) {
        let now = self.now();
        let due = lock(&self.tr).next_deadline().is_some_and(|d| d <= now);
        if due {
            self.with_tr(|tr, now| tr.handle_timeout(now));
        }
    }
}
