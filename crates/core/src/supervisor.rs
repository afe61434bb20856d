//! Supervision of one socket (TaskRouter EventBridge, Sync Twilsock, the server's event push): connect with a
//! timeout, watch the heartbeat, reconnect with full-jitter backoff, and re-subscribe with replay once up.
//!
//! Each connection attempt has a [`ConnId`]; socket news about an older attempt is ignored, so a close that
//! the supervisor itself asked for never counts twice. The random source is a seeded [`XorShift`] owned here.

use std::time::{Duration, Instant};

use crate::api::{ConnectionState, Event, SocketKind, StopReason};
use crate::backoff::{Backoff, XorShift};
use crate::input::{Action, CloseReason, ConnId, SocketEvent};

/// Tunables of a socket supervisor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// Reconnect when no data frame arrived for this long (EventBridge 30 s, Twilsock 45 s).
    pub heartbeat: Duration,
    /// Give up an attempt that is not ready after this long.
    pub connect_timeout: Duration,
    /// Reconnect delays.
    pub backoff: Backoff,
}

impl SupervisorConfig {
    /// Defaults for `kind` (specs: taskrouter-protocol §3.4, sync-protocol §1.5, §1.8).
    pub fn for_socket(kind: SocketKind) -> Self {
        let heartbeat = match kind {
            SocketKind::TaskRouter => Duration::from_secs(30),
            SocketKind::Sync => Duration::from_secs(45),
            SocketKind::Events => Duration::from_secs(45),
        };
        Self {
            heartbeat,
            connect_timeout: Duration::from_secs(20),
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(30),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    Connecting {
        conn: ConnId,
        deadline: Instant,
    },
    Open {
        conn: ConnId,
        last_rx: Instant,
        ready: bool,
    },
    Backoff {
        retry_at: Instant,
    },
    Stopped(StopReason),
}

/// What a socket event means for the session, beyond the supervisor's own actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketOutcome {
    /// Nothing more to do.
    None,
    /// The socket became ready, or asked for a fresh reading: a resync begins.
    Ready,
    /// The server refused the token: fetch a new one.
    NeedsToken,
}

/// The supervisor of one socket.
#[derive(Clone, Debug)]
pub struct Supervisor {
    kind: SocketKind,
    cfg: SupervisorConfig,
    state: State,
    attempt: u32,
    next_conn: u64,
    floor: Duration,
    rng: XorShift,
    /// When the current attempt started (the token it was given is older than this).
    attempt_started: Option<Instant>,
}

impl Supervisor {
    /// An idle supervisor; `seed` drives its jitter.
    pub fn new(kind: SocketKind, cfg: SupervisorConfig, seed: u64) -> Self {
        Self {
            kind,
            cfg,
            state: State::Idle,
            attempt: 0,
            next_conn: 0,
            floor: Duration::ZERO,
            rng: XorShift::new(seed ^ (kind as u64 + 1).wrapping_mul(0x9E37_79B9)),
            attempt_started: None,
        }
    }

    /// Which socket.
    pub fn kind(&self) -> SocketKind {
        self.kind
    }

    /// The socket is up and bootstrapped.
    pub fn is_ready(&self) -> bool {
        matches!(self.state, State::Open { ready: true, .. })
    }

    /// The socket is stopped for `reason`.
    pub fn is_stopped(&self, reason: StopReason) -> bool {
        self.state == State::Stopped(reason)
    }

    /// The state to show for this socket at `now`.
    pub fn connection_state(&self, now: Instant) -> ConnectionState {
        match self.state {
            State::Idle => ConnectionState::Stopped {
                reason: StopReason::LoggedOut,
            },
            State::Connecting { .. } | State::Open { ready: false, .. } => {
                ConnectionState::Connecting
            }
            State::Open { ready: true, .. } => ConnectionState::Connected,
            State::Backoff { retry_at } => ConnectionState::Reconnecting {
                attempt: self.attempt,
                retry_in_ms: u64::try_from(retry_at.saturating_duration_since(now).as_millis())
                    .unwrap_or(u64::MAX),
            },
            State::Stopped(reason) => ConnectionState::Stopped { reason },
        }
    }

    /// Never started (or stopped).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle | State::Stopped(_))
    }

    fn emit(&self, state: ConnectionState, out: &mut Vec<Action>) {
        out.push(Action::Emit(Event::Connection {
            socket: self.kind,
            state,
        }));
    }

    /// When the current connection attempt started, if one is under way or open.
    pub fn attempt_started(&self) -> Option<Instant> {
        self.current_conn().and(self.attempt_started)
    }

    /// Whether `conn` is the current attempt.
    pub fn is_current(&self, conn: ConnId) -> bool {
        self.current_conn() == Some(conn)
    }

    fn connect(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.attempt_started = Some(now);
        self.next_conn += 1;
        let conn = ConnId(self.next_conn);
        self.state = State::Connecting {
            conn,
            deadline: now + self.cfg.connect_timeout,
        };
        out.push(Action::Connect {
            socket: self.kind,
            conn,
        });
        self.emit(ConnectionState::Connecting, out);
    }

    fn current_conn(&self) -> Option<ConnId> {
        match self.state {
            State::Connecting { conn, .. } | State::Open { conn, .. } => Some(conn),
            _ => None,
        }
    }

    fn schedule_retry(&mut self, now: Instant, out: &mut Vec<Action>) {
        let delay = self
            .cfg
            .backoff
            .delay(self.attempt, self.floor, &mut self.rng);
        self.floor = Duration::ZERO;
        self.attempt = self.attempt.saturating_add(1);
        self.state = State::Backoff {
            retry_at: now + delay,
        };
        self.emit(
            ConnectionState::Reconnecting {
                attempt: self.attempt,
                retry_in_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            },
            out,
        );
    }

    /// Starts (or restarts, after a stop) connecting now.
    pub fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if matches!(self.state, State::Idle | State::Stopped(_)) {
            self.attempt = 0;
            self.connect(now, out);
        }
    }

    /// Stops: closes the current attempt and does not reconnect until [`Supervisor::start`].
    pub fn stop(&mut self, reason: StopReason, out: &mut Vec<Action>) {
        if self.state == State::Stopped(reason) {
            return;
        }
        if let Some(conn) = self.current_conn() {
            out.push(Action::Disconnect {
                socket: self.kind,
                conn,
            });
        }
        self.state = State::Stopped(reason);
        self.emit(ConnectionState::Stopped { reason }, out);
    }

    /// Socket news for attempt `conn`.
    pub fn handle(
        &mut self,
        conn: ConnId,
        event: SocketEvent,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> SocketOutcome {
        if self.current_conn() != Some(conn) {
            return SocketOutcome::None; // an older attempt
        }
        match event {
            SocketEvent::Opened => {
                if let State::Connecting { .. } = self.state {
                    self.state = State::Open {
                        conn,
                        last_rx: now,
                        ready: false,
                    };
                }
                SocketOutcome::None
            }
            SocketEvent::Ready => {
                self.state = State::Open {
                    conn,
                    last_rx: now,
                    ready: true,
                };
                self.attempt = 0;
                self.emit(ConnectionState::Connected, out);
                out.push(Action::Resync { socket: self.kind });
                SocketOutcome::Ready
            }
            SocketEvent::Frame => {
                if let State::Open { last_rx, .. } = &mut self.state {
                    *last_rx = now;
                }
                SocketOutcome::None
            }
            SocketEvent::ResyncRequested => {
                if let State::Open {
                    last_rx,
                    ready: true,
                    ..
                } = &mut self.state
                {
                    *last_rx = now;
                    out.push(Action::Resync { socket: self.kind });
                    return SocketOutcome::Ready;
                }
                SocketOutcome::None
            }
            SocketEvent::Closed(reason) => match reason {
                CloseReason::TokenExpired => {
                    self.state = State::Stopped(StopReason::TokenExpired);
                    self.emit(
                        ConnectionState::Stopped {
                            reason: StopReason::TokenExpired,
                        },
                        out,
                    );
                    SocketOutcome::NeedsToken
                }
                CloseReason::Unauthorized => {
                    self.schedule_retry(now, out);
                    SocketOutcome::NeedsToken
                }
                CloseReason::Redirect { min_backoff_ms } => {
                    self.floor = Duration::from_millis(min_backoff_ms);
                    self.schedule_retry(now, out);
                    SocketOutcome::None
                }
                CloseReason::Lost => {
                    self.schedule_retry(now, out);
                    SocketOutcome::None
                }
                CloseReason::UpdateRequired => {
                    self.state = State::Stopped(StopReason::UpdateRequired);
                    self.emit(
                        ConnectionState::Stopped {
                            reason: StopReason::UpdateRequired,
                        },
                        out,
                    );
                    SocketOutcome::None
                }
            },
        }
    }

    /// When [`Supervisor::tick`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::Connecting { deadline, .. } => Some(deadline),
            State::Open { last_rx, ready, .. } => {
                let hb = last_rx + self.cfg.heartbeat;
                Some(if ready {
                    hb
                } else {
                    hb.min(last_rx + self.cfg.connect_timeout)
                })
            }
            State::Backoff { retry_at } => Some(retry_at),
            State::Idle | State::Stopped(_) => None,
        }
    }

    /// Connect timeouts, heartbeat loss and due reconnects.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Backoff { retry_at } if now >= retry_at => self.connect(now, out),
            State::Connecting { conn, deadline } if now >= deadline => {
                out.push(Action::Disconnect {
                    socket: self.kind,
                    conn,
                });
                self.schedule_retry(now, out);
            }
            State::Open { conn, .. } if self.next_deadline().is_some_and(|d| now >= d) => {
                out.push(Action::Disconnect {
                    socket: self.kind,
                    conn,
                });
                self.schedule_retry(now, out);
            }
            _ => {}
        }
    }
}
