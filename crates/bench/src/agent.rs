//! A load agent: the real `tsunagi-core` [`Driver`], hosted the way the desktop app hosts it, with a small
//! scripted agent in place of the webview and the person.
//!
//! - Sign-in: `Driver::new(…, ServerTokens::new(server, session, version))`, then `Command::Login`.
//! - The webview's part, two ways. [`Voice::Simulated`]: no Voice edge, the agent leg is simulated. When a
//!   routed ring arrives without a call, the agent reports `DeviceEvent::Incoming` with a fresh CallSid and the
//!   TaskSid custom parameter (what the server's agent leg carries); `AcceptCall` is answered with
//!   `DeviceEvent::Accepted`, `RejectCall` / `DisconnectCall` with `DeviceEvent::Disconnected`.
//!   [`Voice::Device`]: a headless Voice SDK [`crate::device`] registered at the stand-in's Voice edge with the
//!   token the core fetched; the agent leg is the one the server's `conference` instruction dials. Call
//!   control (`Action::CallControl`) goes to the server's `POST /v1/calls/{task}/{op}` as the app's shell does.
//! - The person: answers after [`Behaviour::answer_after`], talks for [`Behaviour::talk_for`], then hangs up
//!   and finishes wrap-up after [`Behaviour::wrap_for`].
//!
//! Every event the core emits is written to the shared [`Recorder`] with the instant it arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tsunagi_core::driver::{Driver, DriverConfig, ServerTokens, TokenReply, TokenSource};
use tsunagi_core::{
    Action, ActionResult, CallParams, CallPhase, CallSid, Command, ControlOp, ControlTarget,
    DeviceEvent, Event, Input, RestResult, SessionConfig, Target,
};

use crate::device::{self, DeviceHandle, Media};

use crate::recorder::{wall_ms, Recorder, Ring};
use crate::stack::{Stack, CLIENT_VERSION};

/// How the scripted agent behaves.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// From ring to pressing Answer.
    pub answer_after: Duration,
    /// From connected to hanging up.
    pub talk_for: Duration,
    /// From wrap-up start to finishing it.
    pub wrap_for: Duration,
}

/// Who plays the Voice SDK's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    /// Nobody: agent legs are simulated inside the agent (TaskRouter-only scenarios).
    Simulated,
    /// A headless Device registered at the stand-in's Voice edge ([`crate::device`]).
    Device(Media),
}

/// A running load agent.
#[derive(Debug)]
pub struct LoadAgent {
    /// Index in the run (worker `i`).
    pub index: usize,
    /// Commands and Device events to the core.
    pub inputs: mpsc::Sender<Input>,
    /// The agent's Voice Device, when it has one.
    pub device: Option<DeviceHandle>,
    /// The agent's server session token (bearer).
    pub session: Arc<String>,
    driver: tokio::task::JoinHandle<()>,
    shell: tokio::task::JoinHandle<()>,
    device_task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for LoadAgent {
    fn drop(&mut self) {
        self.driver.abort();
        self.shell.abort();
        if let Some(t) = &self.device_task {
            t.abort();
        }
    }
}

/// The server's tokens, also handed to the agent's Device (what the app's shell does for the webview).
struct DeviceTokens {
    inner: ServerTokens,
    device: Option<DeviceHandle>,
}

impl TokenSource for DeviceTokens {
    async fn fetch(&self) -> TokenReply {
        let reply = self.inner.fetch().await;
        if let (TokenReply::Issued { token, .. }, Some(device)) = (&reply, &self.device) {
            device.send(device::Command::Token(token.expose().clone()));
        }
        reply
    }
}

/// Where the shell sends call control: the server's `POST /v1/calls/{task}/{op}` with the agent's session.
#[derive(Clone)]
struct Control {
    http: reqwest::Client,
    server: String,
    session: Arc<String>,
}

impl Control {
    /// `POST /v1/calls/{task or ob-attempt}/{op}` (as the app's shell); the HTTP status is the result.
    async fn run(&self, target: &ControlTarget, op: &ControlOp) -> RestResult {
        let (path, body) = match op {
            ControlOp::Hold => ("hold", serde_json::json!({})),
            ControlOp::Unhold => ("unhold", serde_json::json!({})),
            ControlOp::Hangup => ("hangup", serde_json::json!({})),
            ControlOp::Transfer { to, mode } => {
                ("transfer", serde_json::json!({ "to": to, "mode": mode }))
            }
        };
        let sent = self
            .http
            .post(format!("{}/v1/calls/{target}/{path}", self.server))
            .bearer_auth(self.session.as_str())
            .header("X-Client-Version", CLIENT_VERSION)
            .json(&body)
            .send()
            .await;
        RestResult::from_status(sent.ok().map(|r| r.status().as_u16()), None)
    }
}

/// Synthetic agent-leg CallSids, unique in the process.
static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

impl LoadAgent {
    /// Starts agent `index` with its server session token and signs it in.
    pub async fn start(
        stack: &Stack,
        index: usize,
        session: String,
        behaviour: Behaviour,
        recorder: Arc<Recorder>,
        voice: Voice,
    ) -> Self {
        let sim = &stack.sim;
        let session_cfg = SessionConfig {
            seed: 0x6265_6e63_6800 + index as u64,
            ..SessionConfig::default()
        };
        let (handle, pending) = match voice {
            Voice::Simulated => (None, None),
            Voice::Device(media) => {
                let (h, p) = device::new();
                (Some(h), Some((p, media)))
            }
        };
        let control = Control {
            http: stack.http.clone(),
            server: stack.server_url.clone(),
            session: Arc::new(session.clone()),
        };
        let (driver, io) = Driver::new(
            DriverConfig {
                eventbridge_ws: format!("{}/v1/wschannels", sim.ws_url()),
                eventbridge_rest: format!("{}/v1/wschannels", sim.base_url()),
                session: session_cfg,
            },
            DeviceTokens {
                inner: ServerTokens::new(&stack.server_url, session, CLIENT_VERSION),
                device: handle.clone(),
            },
        );
        let driver = tokio::spawn(driver.run());
        let inputs = io.inputs.clone();
        let device_task = pending.map(|(p, media)| {
            let url = format!("{}/signal", sim.ws_url());
            p.start(url, media, inputs.clone(), recorder.clone())
        });
        let session = control.session.clone();
        let shell = tokio::spawn(shell(
            Shell {
                index,
                inputs: inputs.clone(),
                b: behaviour,
                recorder,
                device: handle.clone(),
                control,
            },
            io.actions,
        ));
        // The channel is fresh and the driver is running: this send cannot find it full or closed.
        let _ = inputs.send(Input::Command(Command::Login)).await;
        Self {
            index,
            inputs,
            session,
            device: handle,
            driver,
            shell,
            device_task,
        }
    }

    /// Sends a UI command to the core.
    pub async fn command(&self, command: Command) {
        let _ = self.inputs.send(Input::Command(command)).await;
    }
}

/// Feeds `input` after `delay`, as the person or the webview would.
fn later(inputs: &mpsc::Sender<Input>, delay: Duration, input: Input) {
    let inputs = inputs.clone();
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let _ = inputs.send(input).await;
    });
}

/// What the shell task holds.
struct Shell {
    index: usize,
    inputs: mpsc::Sender<Input>,
    b: Behaviour,
    recorder: Arc<Recorder>,
    device: Option<DeviceHandle>,
    control: Control,
}

/// The shell: runs the actions the driver hands over (to the Device, the server, or simulated), and records
/// every event.
async fn shell(sh: Shell, mut actions: mpsc::UnboundedReceiver<Action>) {
    while let Some(action) = actions.recv().await {
        let now = Instant::now();
        let inputs = &sh.inputs;
        match (action, &sh.device) {
            (Action::Emit(event), _) => on_event(&sh, event, now),
            (Action::AcceptCall { call }, Some(d)) => d.send(device::Command::Accept(call)),
            (Action::RejectCall { call }, Some(d)) => d.send(device::Command::Reject(call)),
            (Action::DisconnectCall { call }, Some(d)) => d.send(device::Command::Disconnect(call)),
            (Action::AcceptCall { call }, None) => later(
                inputs,
                Duration::ZERO,
                Input::Device(DeviceEvent::Accepted { call }),
            ),
            (Action::RejectCall { call } | Action::DisconnectCall { call }, None) => later(
                inputs,
                Duration::ZERO,
                Input::Device(DeviceEvent::Disconnected { call }),
            ),
            (Action::CallControl { target, op }, _) => {
                let (control, inputs) = (sh.control.clone(), inputs.clone());
                tokio::spawn(async move {
                    let result = control.run(&target, &op).await;
                    let _ = inputs
                        .send(Input::Result(ActionResult::CallControl {
                            target,
                            op,
                            result,
                        }))
                        .await;
                });
            }
            // Mute, digits and update checks have no part in these scenarios.
            _ => {}
        }
    }
}

fn on_event(sh: &Shell, event: Event, now: Instant) {
    let (index, inputs, b, recorder) = (sh.index, &sh.inputs, sh.b, &*sh.recorder);
    match event {
        Event::Ringing {
            target, task, call, ..
        } => {
            if let Some(task) = task {
                let ring = Ring {
                    agent: index,
                    at: now,
                    wall_ms: wall_ms(),
                };
                recorder.lock().rings.entry(task).or_default().push(ring);
                if call.is_none() && sh.device.is_none() {
                    // The agent leg the server would dial, arriving at the (simulated) Device.
                    let call =
                        CallSid::from_u128(u128::from(NEXT_CALL.fetch_add(1, Ordering::Relaxed)));
                    let params = CallParams {
                        task: Some(task),
                        reservation: None,
                        caller: None,
                    };
                    later(
                        inputs,
                        Duration::ZERO,
                        Input::Device(DeviceEvent::Incoming { call, params }),
                    );
                }
            }
            later(
                inputs,
                b.answer_after,
                Input::Command(Command::Answer { target }),
            );
        }
        Event::CallState { target, phase, .. } => match (phase, target) {
            (CallPhase::Connected, Target::Task(task)) => {
                *recorder.lock().connected.entry(task).or_default() += 1;
                later(
                    inputs,
                    b.talk_for,
                    Input::Command(Command::Hangup { target }),
                );
            }
            (CallPhase::WrapUp, Target::Task(task)) => {
                recorder.lock().wrapping.entry(task).or_insert(now);
                later(
                    inputs,
                    b.wrap_for,
                    Input::Command(Command::CompleteWrapup { task }),
                );
            }
            (CallPhase::Ended, Target::Task(task)) => {
                recorder.lock().ended.entry(task).or_insert(now);
            }
            _ => {}
        },
        Event::Presence { state, selected } => {
            recorder.agent(index, |a| a.presence = Some((state, selected, now)));
        }
        Event::Connection { state, .. } => recorder.agent(index, |a| {
            if matches!(state, tsunagi_core::ConnectionState::Connected) {
                a.connected_at.push(now);
            }
            a.connection = Some(state);
        }),
        Event::Error(e) => {
            tracing::warn!(agent = index, kind = ?e.kind, "core error");
            recorder.agent(index, |a| a.errors.push(e.kind));
        }
        _ => {}
    }
}

/// Signs `count` agents in (server login, then the core's own sign-in), at most `parallel` logins at a time.
pub async fn start_all(
    stack: &Stack,
    count: usize,
    behaviour: Behaviour,
    recorder: &Arc<Recorder>,
    parallel: usize,
    voice: Voice,
) -> Result<Vec<LoadAgent>, crate::BenchError> {
    use futures_util::StreamExt as _;
    let sessions: Vec<(usize, Result<String, crate::BenchError>)> =
        futures_util::stream::iter(0..count)
            .map(|i| async move { (i, stack.login(&crate::stack::agent_id(i)).await) })
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
    let mut agents = Vec::with_capacity(count);
    let mut sorted = sessions;
    sorted.sort_by_key(|(i, _)| *i);
    for (i, session) in sorted {
        agents.push(LoadAgent::start(stack, i, session?, behaviour, recorder.clone(), voice).await);
    }
    Ok(agents)
}
