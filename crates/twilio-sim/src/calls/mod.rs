//! Calls: simulated PSTN legs, the TwiML interpreter that runs them, the Calls REST API and call status callbacks.
//!
//! | path | what |
//! |---|---|
//! | `/2010-04-01/Accounts/{AC}/Calls.json` | `GET` list (`To`, `From`, `Status`, `ParentCallSid`), `POST` create ([`rest`]) |
//! | `/2010-04-01/Accounts/{AC}/Calls/{CA}.json` | `GET`, `POST` update (`Status`, `Url`/`Method`, `Twiml`) |
//! | `/2010-04-01/Accounts/{AC}/Recordings…`, `…/Calls/{CA}/Recordings…` | recordings ([`crate::recordings::rest`]) |
//! | `/_sim/applications` | `GET` list, `POST` add a TwiML application for outgoing client calls ([`apps`]) |
//! | `/_sim/calls…` | scenario control: start a scripted PSTN caller, press keys, hang up ([`control`]) |
//!
//! A PSTN call to a configured number (`[[numbers]]` in the config: `voice_url`, fallback, status callback)
//! fetches its Voice webhook, signed with `X-Twilio-Signature`, and runs the TwiML ([`twiml`] expands the
//! document, [`driver`] executes it: one task per call, woken by commands). `<Enqueue workflowSid>` creates a
//! TaskRouter task through the engine; a `conference` instruction on its reservation rings the worker's client
//! through the Voice edge and bridges the caller ([`crate::conference`]). Bad TwiML or an unreachable webhook
//! gives Twilio's error codes (11200, 12100) in the call's `errors`, then the fallback URL, else the call ends:
//! never a panic, never a stuck call (every wait is bounded or ends with the caller's hang-up).
//!
//! Time: every wait (`<Pause>`, prompts, `<Gather>` and ring timeouts, caller scripts) ends when its duration has
//! passed in real time or on the stand-in's [`crate::clock::SimClock`], whichever is first
//! ([`crate::shared::Shared::sleep_until`]), so `/_sim/clock/advance` skips it; media legs run in real time.
//! Timestamps in callbacks and views come from the simulated clock.

pub mod apps;
pub mod control;
pub mod driver;
pub mod hooks;
pub mod model;
pub mod rest;
pub mod twiml;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};

use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tsunagi_twilio::sid::{AccountSid, ApplicationSid, CallSid, ReservationSid};

use crate::error::ApiError;
use crate::shared::{lock, Shared};
use crate::voice::Voice;

pub(crate) use model::validate_script;
pub use model::{
    Answer, CallStatus, CallView, Cmd, Heard, NumberConfig, QueuedTask, ScriptStep, ScriptedCall,
    StatusCallback, MAX_SCRIPT, RING_MS,
};

/// Ended calls kept for inspection.
pub const MAX_ENDED: usize = 2_000;
/// Entries kept in a call's `heard` log.
pub const MAX_HEARD: usize = 256;

pub(crate) struct CallRec {
    view: CallView,
    tx: mpsc::UnboundedSender<Cmd>,
    status_callback: Option<StatusCallback>,
    seq: u32,
    /// Task ever created by this call's `<Enqueue>` (kept after the bridge, for wrap-up).
    task: Option<QueuedTask>,
    /// The call is a Voice-edge call (an SDK's outgoing call running an application): answering and ending it
    /// answer and end the SDK's call.
    edge: bool,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) calls: BTreeMap<CallSid, CallRec>,
    pub(crate) answers: HashMap<String, (Answer, Vec<ScriptStep>)>,
    pub(crate) handled: HashSet<ReservationSid>,
    pub(crate) applications: BTreeMap<ApplicationSid, apps::ApplicationConfig>,
    minted: u64,
}

impl State {
    fn prune(&mut self) {
        let ended: Vec<CallSid> = self
            .calls
            .values()
            .filter(|c| !c.view.status.is_live())
            .map(|c| c.view.sid)
            .collect();
        for sid in ended.iter().take(ended.len().saturating_sub(MAX_ENDED)) {
            self.calls.remove(sid);
        }
    }
}

/// The call engine: calls and conferences. Cheap to clone.
#[derive(Clone)]
pub struct Calls {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) voice: Voice,
    pub(crate) state: Mutex<State>,
    pub(crate) conf: Mutex<crate::conference::State>,
    pub(crate) mixer: Mutex<crate::conference::mixer::State>,
    pub(crate) recordings: Mutex<crate::recordings::Store>,
    pub(crate) outbox: Mutex<HashMap<String, mpsc::UnboundedSender<hooks::Job>>>,
}

impl std::fmt::Debug for Calls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calls").finish_non_exhaustive()
    }
}

/// A callback run after every TaskRouter mutation (how the call engine sees `conference` instructions and
/// ended tasks without the engine knowing about calls).
pub struct Observer(pub Box<dyn Fn() + Send + Sync>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl Calls {
    /// A call engine on `shared`, ringing clients through `voice`. Registers the TaskRouter observer (first
    /// engine per stand-in only) and starts the `[[callers]]` of the config.
    pub fn install(shared: &Arc<Shared>, voice: Voice) -> Self {
        let calls = Self {
            inner: Arc::new(Inner {
                shared: shared.clone(),
                voice,
                state: Mutex::new(State::default()),
                conf: Mutex::new(Default::default()),
                mixer: Mutex::new(Default::default()),
                recordings: Mutex::new(Default::default()),
                outbox: Mutex::new(HashMap::new()),
            }),
        };
        // Conference instructions wait for the worker's leg to answer before the reservation is accepted.
        lock(&shared.tr).defer_conference = true;
        let weak: Weak<Inner> = Arc::downgrade(&calls.inner);
        let observer = Observer(Box::new(move || {
            if let Some(inner) = weak.upgrade() {
                hooks::observe(&Calls { inner });
            }
        }));
        tokio::spawn(crate::conference::mixer::run(Arc::downgrade(&calls.inner)));
        if shared.tr_observer.set(observer).is_err() {
            tracing::warn!("a call engine is already installed on this stand-in; conference instructions go there");
        }
        for a in shared.config.applications.clone() {
            if let Err(e) = apps::set(&calls, a) {
                tracing::warn!(code = e.code, "a configured application was refused");
            }
        }
        let weak: Weak<Inner> = Arc::downgrade(&calls.inner);
        calls.voice().route_applications(Box::new(move |offer| {
            weak.upgrade()
                .is_some_and(|inner| apps::route(&Calls { inner }, offer))
        }));
        for c in shared.config.callers.clone() {
            let me = calls.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(c.delay_ms)).await;
                if let Err(e) = me.start_caller(c) {
                    // The message may name phone numbers: only the code goes to the log.
                    tracing::warn!(code = e.code, "a configured caller could not start");
                }
            });
        }
        calls
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.inner.shared
    }

    pub(crate) fn voice(&self) -> &Voice {
        &self.inner.voice
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.inner.state)
    }

    pub(crate) fn log(&self, kind: &str, data: Value) {
        self.inner.shared.log(kind, data);
    }

    /// A fresh `CA…` SID (for legs that fail before any edge minted one).
    pub(crate) fn mint_sid(&self) -> CallSid {
        let mut st = self.state();
        self.mint(&mut st)
    }

    fn mint(&self, st: &mut State) -> CallSid {
        st.minted += 1;
        CallSid::from_u128(
            (u128::from(self.inner.shared.config.seed) << 64)
                | (0x5100_0000 + u128::from(st.minted)),
        )
    }

    /// The configured number `to`.
    pub fn number(&self, to: &str) -> Option<NumberConfig> {
        self.inner
            .shared
            .config
            .numbers
            .iter()
            .find(|n| n.number == to)
            .cloned()
    }

    /// Creates a call record and its command channel; the caller spawns the driver.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        &self,
        account: AccountSid,
        direction: &'static str,
        from: &str,
        to: &str,
        parent: Option<CallSid>,
        tone_hz: Option<f64>,
        status_callback: Option<StatusCallback>,
    ) -> Result<(CallSid, mpsc::UnboundedReceiver<Cmd>), ApiError> {
        self.insert(
            None,
            account,
            direction,
            from,
            to,
            parent,
            tone_hz,
            status_callback,
            false,
        )
    }

    /// Takes over a Voice-edge call (the SDK's outgoing call, SID minted by the edge) as an `inbound` call.
    pub(crate) fn adopt(
        &self,
        sid: CallSid,
        account: AccountSid,
        from: &str,
        to: &str,
        status_callback: Option<StatusCallback>,
    ) -> Result<mpsc::UnboundedReceiver<Cmd>, ApiError> {
        if self.state().calls.contains_key(&sid) {
            return Err(ApiError::new(
                409,
                20409,
                format!("Call {sid} already exists"),
            ));
        }
        self.insert(
            Some(sid),
            account,
            "inbound",
            from,
            to,
            None,
            None,
            status_callback,
            true,
        )
        .map(|(_, rx)| rx)
    }

    /// Validates the parties, mints a SID unless given, and stores the call.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        &self,
        sid: Option<CallSid>,
        account: AccountSid,
        direction: &'static str,
        from: &str,
        to: &str,
        parent: Option<CallSid>,
        tone_hz: Option<f64>,
        status_callback: Option<StatusCallback>,
        edge: bool,
    ) -> Result<(CallSid, mpsc::UnboundedReceiver<Cmd>), ApiError> {
        if from.len() > 256 || to.len() > 256 {
            return Err(ApiError::new(
                400,
                21211,
                "Invalid 'To' or 'From' Phone Number",
            ));
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let now = self.inner.shared.now().0;
        let mut st = self.state();
        let sid = match sid {
            Some(s) => s,
            None => self.mint(&mut st),
        };
        st.calls.insert(
            sid,
            CallRec {
                view: CallView {
                    sid,
                    account_sid: account,
                    direction,
                    from: from.into(),
                    to: to.into(),
                    status: CallStatus::Queued,
                    parent_call_sid: parent,
                    created_ms: now,
                    answered_ms: None,
                    ended_ms: None,
                    heard: Vec::new(),
                    digits: String::new(),
                    errors: Vec::new(),
                    queued_task: None,
                    conference: None,
                    client_leg: None,
                    tone_hz,
                },
                tx,
                status_callback,
                seq: 0,
                task: None,
                edge,
            },
        );
        st.prune();
        drop(st);
        self.log(
            "call.created",
            json!({ "call": sid, "direction": direction }),
        );
        Ok((sid, rx))
    }

    /// Starts a scripted PSTN caller dialling a configured number.
    pub fn start_caller(&self, c: ScriptedCall) -> Result<CallView, ApiError> {
        if c.script.len() > MAX_SCRIPT {
            return Err(ApiError::invalid(format!(
                "script has more than {MAX_SCRIPT} steps"
            )));
        }
        validate_script(&c.script)?;
        let number = self.number(&c.to).ok_or_else(|| {
            ApiError::new(
                404,
                21211,
                format!("'To' {} is not a stand-in number", c.to),
            )
        })?;
        let account: AccountSid = number
            .account
            .parse()
            .map_err(|_| ApiError::invalid("the number's account is not an AC SID"))?;
        let status_callback = number.status_callback.clone().map(|url| StatusCallback {
            url,
            method: "POST".into(),
            events: vec!["completed".into()],
        });
        let (sid, rx) = self.create(
            account,
            "inbound",
            &c.from,
            &c.to,
            None,
            c.tone_hz,
            status_callback,
        )?;
        self.set_status(&sid, CallStatus::Ringing);
        let source = driver::Source::Fetch {
            url: number.voice_url.clone(),
            method: number.voice_method.clone(),
            extra: Vec::new(),
        };
        driver::spawn(
            self.clone(),
            sid,
            rx,
            source,
            number.voice_fallback_url.clone(),
        );
        self.run_script(sid, c.script);
        self.view(&sid).ok_or_else(|| ApiError::not_found(sid))
    }

    /// Runs a caller script against a call (a task; ends with the call).
    pub(crate) fn run_script(&self, sid: CallSid, script: Vec<ScriptStep>) {
        if script.is_empty() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            for step in script {
                if !me.view(&sid).is_some_and(|v| v.status.is_live()) {
                    return;
                }
                let cmd = match step {
                    ScriptStep::Wait { ms } => {
                        me.shared().sleep(ms).await;
                        continue;
                    }
                    ScriptStep::Dtmf { digits } => Cmd::Dtmf(digits),
                    ScriptStep::Tone { hz } => Cmd::Tone(hz),
                    ScriptStep::Hangup => Cmd::Hangup(CallStatus::Completed),
                };
                me.send(&sid, cmd);
            }
        });
    }

    /// Sends a command to a live call's driver; `false` if the call is unknown or over.
    pub fn send(&self, sid: &CallSid, cmd: Cmd) -> bool {
        let st = self.state();
        match st.calls.get(sid) {
            Some(c) if c.view.status.is_live() => c.tx.send(cmd).is_ok(),
            _ => false,
        }
    }

    /// One call.
    pub fn view(&self, sid: &CallSid) -> Option<CallView> {
        self.state().calls.get(sid).map(|c| c.view.clone())
    }

    /// Whether a call is live and the tone it plays (cheaper than [`Calls::view`]; the mixer asks every tick).
    pub fn tone_of(&self, sid: &CallSid) -> Option<(bool, Option<f64>)> {
        self.state()
            .calls
            .get(sid)
            .map(|c| (c.view.status.is_live(), c.view.tone_hz))
    }

    /// Every call, oldest first.
    pub fn views(&self) -> Vec<CallView> {
        self.state()
            .calls
            .values()
            .map(|c| c.view.clone())
            .collect()
    }

    /// Sets how calls *to* a simulated PSTN number go, and what its party does once answered.
    pub fn set_answer(
        &self,
        number: String,
        answer: Answer,
        script: Vec<ScriptStep>,
    ) -> Result<(), ApiError> {
        if script.len() > MAX_SCRIPT || number.len() > 64 {
            return Err(ApiError::invalid("number or script too long"));
        }
        validate_script(&script)?;
        self.state().answers.insert(number, (answer, script));
        Ok(())
    }

    pub(crate) fn answer_of(&self, number: &str) -> (Answer, Vec<ScriptStep>) {
        self.state()
            .answers
            .get(number)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn update(&self, sid: &CallSid, f: impl FnOnce(&mut CallView)) {
        if let Some(c) = self.state().calls.get_mut(sid) {
            f(&mut c.view);
        }
    }

    pub(crate) fn heard(&self, sid: &CallSid, h: Heard) {
        self.update(sid, |v| {
            if v.heard.len() < MAX_HEARD {
                v.heard.push(h);
            }
        });
    }

    pub(crate) fn set_task(&self, sid: &CallSid, task: Option<QueuedTask>) {
        if let Some(c) = self.state().calls.get_mut(sid) {
            c.view.queued_task = task;
            if task.is_some() {
                c.task = task;
            }
        }
    }

    pub(crate) fn task_of(&self, sid: &CallSid) -> Option<QueuedTask> {
        self.state().calls.get(sid).and_then(|c| c.task)
    }

    /// Moves a call to `status`, stamping times and sending the matching status callback.
    pub(crate) fn set_status(&self, sid: &CallSid, status: CallStatus) {
        let now = self.inner.shared.now().0;
        let edge: bool;
        let hook = {
            let mut st = self.state();
            let Some(c) = st.calls.get_mut(sid) else {
                return;
            };
            if (c.view.status == status && status != CallStatus::Queued) || !c.view.status.is_live()
            {
                return;
            }
            c.view.status = status;
            edge = c.edge;
            if status == CallStatus::InProgress {
                c.view.answered_ms = Some(now);
            }
            if !status.is_live() {
                c.view.ended_ms = Some(now);
            }
            let event = match status {
                CallStatus::Queued => "initiated",
                CallStatus::Ringing => "ringing",
                CallStatus::InProgress => "answered",
                _ => "completed",
            };
            let wanted = c
                .status_callback
                .as_ref()
                .filter(|cb| cb.events.iter().any(|e| e == event))
                .cloned();
            wanted.map(|cb| {
                c.seq += 1;
                let mut p = call_params(&c.view);
                p.push(("CallbackSource".into(), "call-progress-events".into()));
                p.push(("SequenceNumber".into(), (c.seq - 1).to_string()));
                p.push(("Timestamp".into(), crate::clock::UnixMillis(now).iso8601()));
                if !status.is_live() {
                    let secs = c
                        .view
                        .answered_ms
                        .map_or(0, |a| now.saturating_sub(a) / 1000);
                    p.push(("CallDuration".into(), secs.to_string()));
                    p.push(("Duration".into(), secs.div_ceil(60).to_string()));
                }
                (c.view.account_sid, cb, p)
            })
        };
        self.log("call.status", json!({ "call": sid, "status": status }));
        if edge && status == CallStatus::InProgress {
            self.voice().answer_outgoing(sid);
        } else if edge && !status.is_live() {
            let _ = self.voice().hangup(sid);
        }
        if let Some((account, cb, params)) = hook {
            let job = hooks::Job {
                account,
                url: cb.url,
                method: cb.method,
                params,
                kind: "call.status_callback",
            };
            hooks::send_webhook(self, sid.as_str(), job);
        }
    }
}

/// The parameters Twilio sends about a call (webhooks and status callbacks).
pub fn call_params(v: &CallView) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = vec![
        ("AccountSid".into(), v.account_sid.to_string()),
        ("ApiVersion".into(), "2010-04-01".into()),
        ("CallSid".into(), v.sid.to_string()),
        ("CallStatus".into(), v.status.as_str().into()),
        ("Called".into(), v.to.clone()),
        ("Caller".into(), v.from.clone()),
        ("Direction".into(), v.direction.into()),
        ("From".into(), v.from.clone()),
        ("To".into(), v.to.clone()),
    ];
    if let Some(parent) = v.parent_call_sid {
        p.push(("ParentCallSid".into(), parent.to_string()));
    }
    p
}

/// The call and conference routes (REST and `/_sim` control).
pub fn router(calls: Calls) -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/2010-04-01/Accounts/{ac}/Calls.json",
            any(rest::calls_root),
        )
        .route(
            "/2010-04-01/Accounts/{ac}/Calls/{*rest}",
            any(rest::calls_one),
        )
        .route(
            "/2010-04-01/Accounts/{ac}/Conferences.json",
            any(crate::conference::rest::root),
        )
        .route(
            "/2010-04-01/Accounts/{ac}/Conferences/{*rest}",
            any(crate::conference::rest::one),
        )
        .route(
            "/2010-04-01/Accounts/{ac}/Recordings.json",
            any(crate::recordings::rest::root),
        )
        .route(
            "/2010-04-01/Accounts/{ac}/Recordings/{file}",
            any(crate::recordings::rest::one),
        )
        .route("/_sim/applications", get(apps::list).post(apps::create))
        .route("/_sim/calls", get(control::list).post(control::start))
        .route("/_sim/calls/numbers", post(control::set_number))
        .route("/_sim/calls/{sid}", get(control::get))
        .route("/_sim/calls/{sid}/hangup", post(control::hangup))
        .route("/_sim/calls/{sid}/dtmf", post(control::dtmf))
        .route("/_sim/calls/{sid}/tone", post(control::tone))
        .route("/_sim/conferences", get(control::conferences))
        .layer(axum::Extension(calls))
}
