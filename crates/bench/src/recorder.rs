//! What every load agent's core said, with when it said it: rings per task, answers, completions, each agent's
//! connection and presence. One recorder is shared by all agents of a run (a plain mutex: a few thousand events
//! per second at most); scenarios read it to compute figures and invariants.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tsunagi_core::{Activity, ConnectionState, ErrorKind, PresenceState, TaskSid};

/// Everything recorded so far.
#[derive(Debug, Default)]
pub struct Log {
    /// Per task: every ring.
    pub rings: HashMap<TaskSid, Vec<Ring>>,
    /// Per task: how many times a core reported the call connected.
    pub connected: HashMap<TaskSid, u32>,
    /// Per task: when a core reported wrap-up (the call itself is over).
    pub wrapping: HashMap<TaskSid, Instant>,
    /// Per task: when a core reported it ended (wrap-up completed).
    pub ended: HashMap<TaskSid, Instant>,
    /// Per agent.
    pub agents: Vec<AgentLog>,
    /// What the agents' kept media legs received (`call-storm --rtp`).
    pub media: MediaLog,
}

/// The kept media legs of answered calls (`--rtp`), summed as each call ends.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct MediaLog {
    /// Legs that ended.
    pub legs: u64,
    /// Of those, legs whose ICE and DTLS completed.
    pub connected: u64,
    /// Of those, legs that received no RTP at all.
    pub silent: u64,
    /// RTP media packets received, all legs.
    pub packets: u64,
    /// The legs' lifetimes added up, s.
    pub seconds: f64,
}

impl MediaLog {
    /// Adds one ended leg: connected or not, packets received, how long it lived.
    pub fn add(&mut self, connected: bool, packets: u64, lived: Duration) {
        self.legs += 1;
        self.connected += u64::from(connected);
        self.silent += u64::from(packets == 0);
        self.packets += packets;
        self.seconds += lived.as_secs_f64();
    }

    /// Packets per second of leg life (a 20 ms audio stream is 50).
    pub fn packets_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            (self.packets as f64 / self.seconds * 10.0).round() / 10.0
        } else {
            0.0
        }
    }
}

/// One `Ringing` event out of a core.
#[derive(Debug, Clone, Copy)]
pub struct Ring {
    /// Which agent.
    pub agent: usize,
    /// When (monotonic).
    pub at: Instant,
    /// When (Unix ms), to line up with the stand-in's log.
    pub wall_ms: u64,
}

/// The wall clock in Unix milliseconds (0 before 1970).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// One agent's latest state and history of connection changes.
#[derive(Debug, Clone, Default)]
pub struct AgentLog {
    /// Latest TaskRouter socket state.
    pub connection: Option<ConnectionState>,
    /// Every time the socket became `Connected`.
    pub connected_at: Vec<Instant>,
    /// Latest presence (shown state, chosen activity, when).
    pub presence: Option<(PresenceState, Activity, Instant)>,
    /// Errors the core reported to the agent, by kind.
    pub errors: Vec<ErrorKind>,
}

impl AgentLog {
    /// Connected, showing Available.
    pub fn is_available(&self) -> bool {
        matches!(self.connection, Some(ConnectionState::Connected))
            && matches!(self.presence, Some((PresenceState::Available, _, _)))
    }
}

/// The shared recorder.
#[derive(Debug)]
pub struct Recorder {
    log: Mutex<Log>,
}

impl Recorder {
    /// A recorder for `agents` agents.
    pub fn new(agents: usize) -> Self {
        Self {
            log: Mutex::new(Log {
                agents: vec![AgentLog::default(); agents],
                ..Log::default()
            }),
        }
    }

    /// Locks the log for reading or recording.
    pub fn lock(&self) -> MutexGuard<'_, Log> {
        // A poisoned lock means a recording thread panicked: the bench is already failing; keep the data.
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the agent's log (ignores unknown indexes).
    pub fn agent(&self, index: usize, f: impl FnOnce(&mut AgentLog)) {
        if let Some(a) = self.lock().agents.get_mut(index) {
            f(a);
        }
    }

    /// Polls `cond` every 5 ms until it holds (`Ok`) or `timeout` passes (`Err` with the elapsed time).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        mut cond: impl FnMut(&Log) -> bool,
    ) -> Result<Duration, Duration> {
        let start = Instant::now();
        loop {
            if cond(&self.lock()) {
                return Ok(start.elapsed());
            }
            if start.elapsed() >= timeout {
                return Err(start.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Log {
    /// Agents not connected and Available.
    pub fn not_available(&self) -> usize {
        self.agents.iter().filter(|a| !a.is_available()).count()
    }

    /// Errors of `kind` over all agents.
    pub fn errors_of(&self, kind: ErrorKind) -> usize {
        self.agents
            .iter()
            .flat_map(|a| &a.errors)
            .filter(|k| **k == kind)
            .count()
    }

    /// Errors over all agents, counted by kind (its camelCase wire name).
    pub fn error_kinds(&self) -> std::collections::BTreeMap<String, usize> {
        let mut out = std::collections::BTreeMap::new();
        for kind in self.agents.iter().flat_map(|a| &a.errors) {
            let name = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{kind:?}"));
            *out.entry(name).or_insert(0) += 1;
        }
        out
    }

    /// Errors of any kind over all agents.
    pub fn errors(&self) -> usize {
        self.agents.iter().map(|a| a.errors.len()).sum()
    }
}
