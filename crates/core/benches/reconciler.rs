//! Reconciler throughput in events per second: full answered-call lifecycles, and cancel storms with duplicated
//! events (the replay after a reconnect), through the bare `Reconciler` and through the whole `Session`.
//!
//! Run: `cargo bench -p tsunagi-core --bench reconciler`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tsunagi_core::{
    ActionResult, CallParams, CallSid, Command, DeviceEvent, Input, Reconciler, ReconcilerConfig,
    ReservationEnd, ReservationInfo, ReservationSid, RestResult, Session, SessionConfig, Target,
    TaskRouterEvent, TaskSid,
};

const TASKS: u128 = 1000;
/// Tasks in flight at once (their events interleave).
const CONCURRENT: u128 = 4;

fn created(n: u128) -> Input {
    Input::TaskRouter(TaskRouterEvent::ReservationCreated(ReservationInfo {
        reservation: ReservationSid::from_u128(n),
        task: TaskSid::from_u128(n),
        caller: None,
        crm: None,
    }))
}

fn incoming(n: u128) -> Input {
    Input::Device(DeviceEvent::Incoming {
        call: CallSid::from_u128(n),
        params: CallParams {
            task: Some(TaskSid::from_u128(n)),
            reservation: None,
            caller: None,
        },
    })
}

/// Eight events per task: created, incoming, answer, accept result, call accepted, hang-up, finish wrap-up,
/// completion result. Tasks are interleaved `CONCURRENT` at a time.
fn answered_calls() -> Vec<Input> {
    let mut out = Vec::new();
    for batch in (0..TASKS).step_by(CONCURRENT as usize) {
        let ids: Vec<u128> = (batch..batch + CONCURRENT).map(|n| n + 1).collect();
        let steps: [fn(u128) -> Input; 8] = [
            created,
            incoming,
            |n| {
                Input::Command(Command::Answer {
                    target: Target::Task(TaskSid::from_u128(n)),
                })
            },
            |n| {
                Input::Result(ActionResult::AcceptReservation {
                    reservation: ReservationSid::from_u128(n),
                    result: RestResult::Ok,
                })
            },
            |n| {
                Input::Device(DeviceEvent::Accepted {
                    call: CallSid::from_u128(n),
                })
            },
            |n| {
                Input::Device(DeviceEvent::Disconnected {
                    call: CallSid::from_u128(n),
                })
            },
            |n| {
                Input::Command(Command::CompleteWrapup {
                    task: TaskSid::from_u128(n),
                })
            },
            |n| {
                Input::Result(ActionResult::CompleteTask {
                    task: TaskSid::from_u128(n),
                    result: RestResult::Ok,
                })
            },
        ];
        for step in steps {
            for &n in &ids {
                out.push(step(n));
            }
        }
    }
    out
}

/// Six events per task: incoming, created, a replayed created, canceled, a replayed incoming, a replayed cancel.
fn canceled_with_duplicates() -> Vec<Input> {
    let mut out = Vec::new();
    for n in 1..=TASKS {
        let canceled = Input::TaskRouter(TaskRouterEvent::ReservationEnded {
            reservation: ReservationSid::from_u128(n),
            task: TaskSid::from_u128(n),
            end: ReservationEnd::Canceled,
        });
        out.extend([
            incoming(n),
            created(n),
            created(n),
            canceled.clone(),
            incoming(n),
            canceled,
        ]);
    }
    out
}

fn run_reconciler(inputs: Vec<Input>, start: Instant) -> usize {
    let mut r = Reconciler::new(ReconcilerConfig::default());
    let mut actions = 0;
    for (i, input) in inputs.into_iter().enumerate() {
        let now = start + Duration::from_millis(i as u64);
        actions += r.handle(input, now).len();
    }
    actions
}

fn run_session(inputs: Vec<Input>, start: Instant) -> usize {
    let cfg = SessionConfig {
        sockets: Vec::new(),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg);
    let mut actions = s.handle(Input::Command(Command::Login), start).len();
    actions += s
        .handle(
            Input::Token(tsunagi_core::TokenEvent::Issued {
                expires_unix: 1_790_003_600,
                now_unix: 1_790_000_000,
            }),
            start,
        )
        .len();
    for (i, input) in inputs.into_iter().enumerate() {
        let now = start + Duration::from_millis(i as u64);
        actions += s.handle(input, now).len();
    }
    actions
}

fn bench(c: &mut Criterion) {
    let start = Instant::now();
    let mut g = c.benchmark_group("reconciler");
    for (name, inputs) in [
        ("answered_calls", answered_calls()),
        ("canceled_with_duplicates", canceled_with_duplicates()),
    ] {
        g.throughput(Throughput::Elements(inputs.len() as u64));
        g.bench_function(format!("reconciler/{name}"), |b| {
            b.iter_batched(
                || inputs.clone(),
                |i| black_box(run_reconciler(i, start)),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(format!("session/{name}"), |b| {
            b.iter_batched(
                || inputs.clone(),
                |i| black_box(run_session(i, start)),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
