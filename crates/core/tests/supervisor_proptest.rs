//! Property test of one socket supervisor under random socket news (current and stale attempts), stops,
//! restarts and time:
//!
//! - `SINGLE_ATTEMPT`: a new `Connect` only once the previous attempt is over (closed, or disconnected by us).
//! - `RETRY_WITHIN_CEILING`: every retry delay is within the full-jitter ceiling (or the server's floor).
//! - `NO_CONNECT_WHILE_STOPPED`: a stopped supervisor never connects until started again.
//! - `DEADLINES_MOVE`: ticking at the deadlines always makes progress (no busy loop).
//! - `HEARTBEAT_ENFORCED`: a ready socket silent for longer than the heartbeat is dropped and retried.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use tsunagi_core::{
    Action, CloseReason, ConnId, ConnectionState, Event, SocketEvent, SocketKind, StopReason,
    Supervisor, SupervisorConfig,
};

#[derive(Clone, Debug)]
enum Op {
    News { stale: bool, event: SocketEvent },
    Advance(u64),
    Stop,
    Start,
}

fn op() -> impl Strategy<Value = Op> {
    let event = prop_oneof![
        Just(SocketEvent::Opened),
        Just(SocketEvent::Ready),
        Just(SocketEvent::Frame),
        Just(SocketEvent::Closed(CloseReason::Lost)),
        Just(SocketEvent::Closed(CloseReason::Unauthorized)),
        Just(SocketEvent::Closed(CloseReason::TokenExpired)),
        (0u64..10_000)
            .prop_map(|ms| SocketEvent::Closed(CloseReason::Redirect { min_backoff_ms: ms })),
    ];
    prop_oneof![
        6 => (prop::bool::weighted(0.2), event).prop_map(|(stale, event)| Op::News { stale, event }),
        4 => (0u64..40_000).prop_map(Op::Advance),
        1 => Just(Op::Stop),
        1 => Just(Op::Start),
    ]
}

struct Check {
    sup: Supervisor,
    cfg: SupervisorConfig,
    now: Instant,
    /// The attempt still open from our side, if any.
    live: Option<ConnId>,
    /// Every attempt ever started.
    started: Vec<ConnId>,
    stopped: bool,
    floor_ms: u64,
    ready_since_rx: Option<Instant>,
}

impl Check {
    fn apply(&mut self, out: Vec<Action>) {
        for a in out {
            match a {
                Action::Connect { conn, .. } => {
                    assert!(
                        self.live.is_none(),
                        "SINGLE_ATTEMPT: {conn:?} while {:?} is live",
                        self.live
                    );
                    assert!(!self.stopped, "NO_CONNECT_WHILE_STOPPED");
                    self.live = Some(conn);
                    self.started.push(conn);
                }
                Action::Disconnect { conn, .. } if self.live == Some(conn) => self.live = None,
                Action::Emit(Event::Connection {
                    state:
                        ConnectionState::Reconnecting {
                            attempt,
                            retry_in_ms,
                        },
                    ..
                }) => {
                    let ceiling = self.cfg.backoff.ceiling(attempt - 1).as_millis() as u64;
                    assert!(
                        retry_in_ms <= ceiling.max(self.floor_ms),
                        "RETRY_WITHIN_CEILING: attempt {attempt}: {retry_in_ms} > {ceiling} (floor {})",
                        self.floor_ms
                    );
                    self.ready_since_rx = None;
                }
                Action::Emit(Event::Connection {
                    state: ConnectionState::Stopped { .. },
                    ..
                }) => {
                    self.ready_since_rx = None;
                }
                _ => {}
            }
        }
    }

    fn tick_through(&mut self, until: Instant) {
        let mut guard = 0;
        while let Some(d) = self.sup.next_deadline() {
            if d > until {
                break;
            }
            if let Some(rx) = self.ready_since_rx {
                // HEARTBEAT_ENFORCED: the watchdog deadline is never later than heartbeat after the last frame.
                assert!(d <= rx + self.cfg.heartbeat, "HEARTBEAT_ENFORCED");
            }
            self.now = self.now.max(d);
            let mut out = Vec::new();
            self.sup.tick(self.now, &mut out);
            self.apply(out);
            guard += 1;
            // A zero-jitter retry may be due at once, but ticks always make progress.
            assert!(
                guard < 1000,
                "DEADLINES_MOVE: the deadline does not advance"
            );
        }
        self.now = until;
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Advance(ms) => {
                let until = self.now + Duration::from_millis(ms);
                self.tick_through(until);
            }
            Op::Stop => {
                let mut out = Vec::new();
                self.sup.stop(StopReason::LoggedOut, &mut out);
                self.apply(out);
                self.stopped = true;
                self.live = None;
            }
            Op::Start => {
                let mut out = Vec::new();
                self.stopped = false;
                self.sup.start(self.now, &mut out);
                self.apply(out);
            }
            Op::News { stale, event } => {
                let conn = if stale {
                    match self.started.first() {
                        Some(c) if Some(*c) != self.live => *c,
                        _ => return,
                    }
                } else {
                    match self.live {
                        Some(c) => c,
                        None => return,
                    }
                };
                if let SocketEvent::Closed(CloseReason::Redirect { min_backoff_ms }) = event {
                    self.floor_ms = min_backoff_ms;
                } else {
                    self.floor_ms = 0;
                }
                let mut out = Vec::new();
                self.sup.handle(conn, event, self.now, &mut out);
                if stale {
                    assert!(
                        out.is_empty(),
                        "news from an old attempt changes nothing: {out:?}"
                    );
                    return;
                }
                match event {
                    SocketEvent::Closed(CloseReason::TokenExpired) => {
                        self.live = None;
                        self.stopped = true; // until a new token restarts it
                    }
                    SocketEvent::Closed(_) => self.live = None,
                    SocketEvent::Ready | SocketEvent::Frame if self.sup.is_ready() => {
                        self.ready_since_rx = Some(self.now)
                    }
                    _ => {}
                }
                self.apply(out);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn supervisor_keeps_its_invariants(ops in prop::collection::vec(op(), 1..60), seed in any::<u64>()) {
        let cfg = SupervisorConfig::for_socket(SocketKind::TaskRouter);
        let mut c = Check {
            sup: Supervisor::new(SocketKind::TaskRouter, cfg, seed),
            cfg,
            now: Instant::now(),
            live: None,
            started: Vec::new(),
            stopped: false,
            floor_ms: 0,
            ready_since_rx: None,
        };
        let mut out = Vec::new();
        c.sup.start(c.now, &mut out);
        c.apply(out);
        for op in ops {
            c.run(op);
        }
    }
}
