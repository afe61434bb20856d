//! One rule for every resync: **a reading never overrides a push that arrived after the reading was asked
//! for.** A resync (after a reconnect, or when a server says it dropped pushes) reads state over HTTP; pushes
//! keep arriving meanwhile. A reading may have been taken before a change whose push is already here, so for each
//! piece of state the session remembers when its last push arrived, and drops a reading of it if that push came
//! after the reading's resync began. (A push that arrived after the start but describes an older state is
//! followed by the newer state's own push, so the rule never leaves stale state behind.)
//!
//! Order is the order in which the session handles inputs (a counter, not the clock: two inputs handled at the
//! same instant are still ordered).

use std::collections::HashMap;

use tsunagi_twilio::TaskSid;

use crate::api::{AttemptId, SocketKind};

/// A piece of state that both pushes and resync readings describe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// The worker's activity at TaskRouter.
    WorkerActivity,
    /// What the server knows of a task's call.
    CallContext(TaskSid),
    /// Where an outgoing call's attempt stands at the server.
    Outbound(AttemptId),
}

/// Push times and resync starts.
#[derive(Debug, Default)]
pub(crate) struct Freshness {
    tick: u64,
    started: HashMap<SocketKind, u64>,
    pushed: HashMap<Key, u64>,
}

/// Push times older than this many entries are forgotten (oldest first).
const MAX_KEYS: usize = 1024;

impl Freshness {
    fn next(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// A resync of `socket` begins.
    pub(crate) fn resync_started(&mut self, socket: SocketKind) {
        let t = self.next();
        self.started.insert(socket, t);
    }

    /// A push about `key` arrived.
    pub(crate) fn pushed(&mut self, key: Key) {
        let now = self.next();
        if self.pushed.len() >= MAX_KEYS && !self.pushed.contains_key(&key) {
            if let Some(oldest) = self.pushed.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
                self.pushed.remove(&oldest);
            }
        }
        self.pushed.insert(key, now);
    }

    /// A reading of `key` from `socket`'s resync is older than the newest push about it.
    pub(crate) fn is_stale(&self, socket: SocketKind, key: Key) -> bool {
        match (self.started.get(&socket), self.pushed.get(&key)) {
            (_, None) => false,
            (Some(start), Some(push)) => push > start,
            (None, Some(_)) => true, // a reading nobody asked for: the push is what we know
        }
    }
}
