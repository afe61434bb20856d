//! Test harness: a [`Session`] with a fake clock (no sleeping), in the spirit of str0m's `TestRtc`.
//!
//! `TestSession` keeps its own `now`; `advance(d)` walks the clock forward, feeding `Tick` at every deadline
//! the session asks for on the way, so timers fire in order and simulated minutes take microseconds.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tsunagi_core::{
    Action, ActionResult, Activity, CallParams, CallSid, Caller, Command, ConnId, DeviceEvent,
    Event, Input, ReservationEnd, ReservationInfo, ReservationSid, RestResult, Session,
    SessionConfig, SocketEvent, SocketKind, TaskRouterEvent, TaskSid, TokenEvent,
};

/// Wall-clock Unix seconds at the harness's `start`.
pub const UNIX0: u64 = 1_790_000_000;
/// Lifetime of the tokens the harness issues.
pub const TOKEN_TTL: u64 = 3600;

pub fn task(n: u128) -> TaskSid {
    TaskSid::from_u128(n)
}
pub fn res(n: u128) -> ReservationSid {
    ReservationSid::from_u128(n)
}
pub fn call(n: u128) -> CallSid {
    CallSid::from_u128(n)
}

pub struct TestSession {
    pub session: Session,
    pub start: Instant,
    pub now: Instant,
    /// Every action the session returned, in order.
    pub actions: Vec<Action>,
    /// The newest opened connection id per socket.
    pub conns: HashMap<SocketKind, ConnId>,
}

impl TestSession {
    pub fn new(cfg: SessionConfig) -> Self {
        let start = Instant::now();
        Self {
            session: Session::new(cfg),
            start,
            now: start,
            actions: Vec::new(),
            conns: HashMap::new(),
        }
    }

    /// Signed in, token issued, sockets ready, Available confirmed; the action log cleared.
    pub fn logged_in() -> Self {
        Self::logged_in_with(SessionConfig::default())
    }

    pub fn logged_in_with(cfg: SessionConfig) -> Self {
        let mut t = Self::new(cfg);
        t.input(Input::Command(Command::Login));
        t.issue_token();
        t.open_sockets();
        assert!(
            t.actions.contains(&Action::SetActivity {
                activity: Activity::Available
            }),
            "login sets Available"
        );
        t.input(Input::Result(ActionResult::SetActivity {
            activity: Activity::Available,
            result: RestResult::Ok,
        }));
        t.actions.clear();
        t
    }

    pub fn unix_now(&self) -> u64 {
        UNIX0 + (self.now - self.start).as_secs()
    }

    pub fn issue_token(&mut self) -> Vec<Action> {
        let now_unix = self.unix_now();
        self.input(Input::Token(TokenEvent::Issued {
            expires_unix: now_unix + TOKEN_TTL,
            now_unix,
        }))
    }

    /// Answers every pending `Connect` with `Opened` + `Ready`.
    pub fn open_sockets(&mut self) {
        let connects: Vec<(SocketKind, ConnId)> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Connect { socket, conn } => Some((*socket, *conn)),
                _ => None,
            })
            .collect();
        for (socket, conn) in connects {
            if self.conns.get(&socket).is_some_and(|known| *known >= conn) {
                continue;
            }
            self.conns.insert(socket, conn);
            self.socket(socket, SocketEvent::Opened);
            self.socket(socket, SocketEvent::Ready);
        }
    }

    /// Answers every pending `Connect` with `Opened` only (the protocol never gets ready).
    pub fn open_sockets_without_ready(&mut self) {
        let connects: Vec<(SocketKind, ConnId)> = self
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Connect { socket, conn } => Some((*socket, *conn)),
                _ => None,
            })
            .collect();
        for (socket, conn) in connects {
            if self.conns.get(&socket).is_some_and(|known| *known >= conn) {
                continue;
            }
            self.conns.insert(socket, conn);
            self.socket(socket, SocketEvent::Opened);
        }
    }

    pub fn socket(&mut self, socket: SocketKind, event: SocketEvent) -> Vec<Action> {
        let conn = self.conns[&socket];
        self.input(Input::Socket {
            socket,
            conn,
            event,
        })
    }

    pub fn input(&mut self, input: Input) -> Vec<Action> {
        let out = self.session.handle(input, self.now);
        self.actions.extend(out.iter().cloned());
        out
    }

    pub fn command(&mut self, cmd: Command) -> Vec<Action> {
        self.input(Input::Command(cmd))
    }

    /// Moves the clock forward by `d`, ticking at every deadline on the way. Returns the actions of all ticks.
    pub fn advance(&mut self, d: Duration) -> Vec<Action> {
        let end = self.now + d;
        let mut out = Vec::new();
        let mut guard = 0;
        while let Some(deadline) = self.session.next_deadline() {
            if deadline > end {
                break;
            }
            guard += 1;
            assert!(guard < 100_000, "a deadline that never moves");
            self.now = self.now.max(deadline);
            out.extend(self.input(Input::Tick));
        }
        self.now = end;
        out.extend(self.input(Input::Tick));
        out
    }

    // ----- shorthands for the reservation / call events -----

    pub fn reservation_created(&mut self, n: u128) -> Vec<Action> {
        self.input(Input::TaskRouter(TaskRouterEvent::ReservationCreated(
            ReservationInfo {
                reservation: res(n),
                task: task(n),
                caller: Some(Caller::new("+81312345678")),
                crm: None,
            },
        )))
    }

    pub fn reservation_ended(&mut self, n: u128, end: ReservationEnd) -> Vec<Action> {
        self.input(Input::TaskRouter(TaskRouterEvent::ReservationEnded {
            reservation: res(n),
            task: task(n),
            end,
        }))
    }

    pub fn incoming(&mut self, n: u128) -> Vec<Action> {
        self.input(Input::Device(DeviceEvent::Incoming {
            call: call(n),
            params: CallParams {
                task: Some(task(n)),
                reservation: None,
                caller: Some(Caller::new("+81312345678")),
            },
        }))
    }

    pub fn incoming_direct(&mut self, n: u128) -> Vec<Action> {
        self.input(Input::Device(DeviceEvent::Incoming {
            call: call(n),
            params: CallParams::direct(Some("client:bob")),
        }))
    }

    pub fn device(&mut self, ev: DeviceEvent) -> Vec<Action> {
        self.input(Input::Device(ev))
    }

    pub fn accept_result(&mut self, n: u128, result: RestResult) -> Vec<Action> {
        self.input(Input::Result(ActionResult::AcceptReservation {
            reservation: res(n),
            result,
        }))
    }

    pub fn complete_result(&mut self, n: u128, result: RestResult) -> Vec<Action> {
        self.input(Input::Result(ActionResult::CompleteTask {
            task: task(n),
            result,
        }))
    }

    /// Ring, answer and connect routed call `n` (reservation first).
    pub fn connected_call(&mut self, n: u128) {
        self.reservation_created(n);
        self.incoming(n);
        self.command(Command::Answer {
            target: tsunagi_core::Target::Task(task(n)),
        });
        self.accept_result(n, RestResult::Ok);
        self.device(DeviceEvent::Accepted { call: call(n) });
    }
}

pub fn events(actions: &[Action]) -> Vec<&Event> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e),
            _ => None,
        })
        .collect()
}

pub fn count_ringing(actions: &[Action]) -> usize {
    events(actions)
        .iter()
        .filter(|e| matches!(e, Event::Ringing { .. }))
        .count()
}

pub fn has(actions: &[Action], wanted: &Action) -> bool {
    actions.iter().any(|a| a == wanted)
}
