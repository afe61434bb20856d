//! A load agent: the real `tsunagi-core` [`Driver`], hosted the way the desktop app hosts it, with a small
//! scripted agent in place of the webview and the person.
//!
//! - Sign-in: `Driver::new(…, ServerTokens::new(server, session, version))`, then `Command::Login`.
//! - The webview's part: the Voice SDK `Device` does not exist here, so the agent leg is simulated. When a
//!   routed ring arrives without a call, the agent reports `DeviceEvent::Incoming` with a fresh CallSid and the
//!   TaskSid custom parameter (what the server's agent leg carries); `AcceptCall` is answered with
//!   `DeviceEvent::Accepted`, `RejectCall` / `DisconnectCall` with `DeviceEvent::Disconnected`.
//! - The person: answers after [`Behaviour::answer_after`], talks for [`Behaviour::talk_for`], then hangs up
//!   and finishes wrap-up after [`Behaviour::wrap_for`].
//!
//! Every event the core emits is written to the shared [`Recorder`] with the instant it arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tsunagi_core::driver::{Driver, DriverConfig, ServerTokens};
use tsunagi_core::{
    Action, CallParams, CallPhase, CallSid, Command, DeviceEvent, Event, Input, SessionConfig,
    Target,
};

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

/// A running load agent.
#[derive(Debug)]
pub struct LoadAgent {
    /// Index in the run (worker `i`).
    pub index: usize,
    /// Commands and Device events to the core.
    pub inputs: mpsc::Sender<Input>,
    driver: tokio::task::JoinHandle<()>,
    shell: tokio::task::JoinHandle<()>,
}

impl Drop for LoadAgent {
    fn drop(&mut self) {
        self.driver.abort();
        self.shell.abort();
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
    ) -> Self {
        let sim = &stack.sim;
        let session_cfg = SessionConfig {
            seed: 0x6265_6e63_6800 + index as u64,
            ..SessionConfig::default()
        };
        let (driver, io) = Driver::new(
            DriverConfig {
                eventbridge_ws: format!("{}/v1/wschannels", sim.ws_url()),
                eventbridge_rest: format!("{}/v1/wschannels", sim.base_url()),
                session: session_cfg,
            },
            ServerTokens::new(&stack.server_url, session, CLIENT_VERSION),
        );
        let driver = tokio::spawn(driver.run());
        let inputs = io.inputs.clone();
        let shell = tokio::spawn(shell(
            index,
            io.actions,
            inputs.clone(),
            behaviour,
            recorder,
        ));
        // The channel is fresh and the driver is running: this send cannot find it full or closed.
        let _ = inputs.send(Input::Command(Command::Login)).await;
        Self {
            index,
            inputs,
            driver,
            shell,
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

/// The shell: runs the actions the driver hands over, and records every event.
async fn shell(
    index: usize,
    mut actions: mpsc::UnboundedReceiver<Action>,
    inputs: mpsc::Sender<Input>,
    b: Behaviour,
    recorder: Arc<Recorder>,
) {
    while let Some(action) = actions.recv().await {
        let now = Instant::now();
        match action {
            Action::Emit(event) => on_event(index, event, now, &inputs, b, &recorder),
            Action::AcceptCall { call } => later(
                &inputs,
                Duration::ZERO,
                Input::Device(DeviceEvent::Accepted { call }),
            ),
            Action::RejectCall { call } | Action::DisconnectCall { call } => later(
                &inputs,
                Duration::ZERO,
                Input::Device(DeviceEvent::Disconnected { call }),
            ),
            // Mute, digits, call control and update checks have no part in these scenarios.
            _ => {}
        }
    }
}

fn on_event(
    index: usize,
    event: Event,
    now: Instant,
    inputs: &mpsc::Sender<Input>,
    b: Behaviour,
    recorder: &Recorder,
) {
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
                if call.is_none() {
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
        agents.push(LoadAgent::start(stack, i, session?, behaviour, recorder.clone()).await);
    }
    Ok(agents)
}
