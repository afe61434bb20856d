//! A resync reading never overrides a push that arrived after the resync began (the reading may predate it);
//! a reading with no newer push applies. Each test fails without the rule.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{
    Activity, CallContext, CloseReason, ConferenceSid, Event, Input, Reading, SessionConfig,
    SocketEvent, SocketKind, SupervisorConfig, TaskRouterEvent,
};

/// Drops `socket` and lets it reconnect: its resync begins at the new `Ready`.
fn reconnect(t: &mut TestSession, socket: SocketKind) {
    t.socket(socket, SocketEvent::Closed(CloseReason::Lost));
    t.advance(Duration::from_secs(31));
    t.open_sockets();
}

fn with_events() -> TestSession {
    let cfg = SessionConfig {
        sockets: [SocketKind::TaskRouter, SocketKind::Events]
            .into_iter()
            .map(|k| (k, SupervisorConfig::for_socket(k)))
            .collect(),
        ..SessionConfig::default()
    };
    TestSession::logged_in_with(cfg)
}

fn context(n: u128, conference: u128) -> CallContext {
    CallContext {
        task: task(n),
        reservation: Some(res(n)),
        conference: Some(ConferenceSid::from_u128(conference)),
        agent_call: None,
        customer_call: None,
        crm: None,
        seq: None,
    }
}

#[test]
fn a_worker_activity_read_before_a_pushed_change_is_dropped() {
    let mut t = TestSession::logged_in();
    reconnect(&mut t, SocketKind::TaskRouter);
    // A supervisor sets Break while the resync's GET is in flight; its push arrives first.
    t.input(Input::TaskRouter(TaskRouterEvent::WorkerActivity {
        activity: Some(Activity::Break),
    }));
    assert_eq!(t.session.presence().selected(), Activity::Break);
    // The reading, taken before the change, lands late.
    t.input(Input::Resynced {
        socket: SocketKind::TaskRouter,
        reading: Reading::WorkerActivity(Some(Activity::Available)),
    });
    assert_eq!(
        t.session.presence().selected(),
        Activity::Break,
        "the older reading does not undo the push"
    );

    // With no push since the next resync began, its reading applies (a change made while disconnected).
    reconnect(&mut t, SocketKind::TaskRouter);
    t.input(Input::Resynced {
        socket: SocketKind::TaskRouter,
        reading: Reading::WorkerActivity(Some(Activity::Away)),
    });
    assert_eq!(t.session.presence().selected(), Activity::Away);
}

#[test]
fn a_call_context_read_before_a_pushed_one_is_dropped() {
    let mut t = with_events();
    t.connected_call(1);
    t.input(Input::CallContext(Box::new(context(1, 1))));
    reconnect(&mut t, SocketKind::Events);
    // The conference changes (e.g. a transfer) and its push beats the resync's reading of the old one.
    t.input(Input::CallContext(Box::new(context(1, 2))));
    let a = t.input(Input::Resynced {
        socket: SocketKind::Events,
        reading: Reading::CallContext(Box::new(context(1, 1))),
    });
    assert!(
        !events(&a)
            .iter()
            .any(|e| matches!(e, Event::CallContext { .. })),
        "the stale reading is not shown: {a:?}"
    );
    assert_eq!(
        t.session.view(t.now).calls[0].conference,
        Some(ConferenceSid::from_u128(2))
    );

    // A reading with nothing newer applies: the push missed while disconnected is recovered.
    reconnect(&mut t, SocketKind::Events);
    let a = t.input(Input::Resynced {
        socket: SocketKind::Events,
        reading: Reading::CallContext(Box::new(context(1, 3))),
    });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallContext { conference: Some(c), .. } if *c == ConferenceSid::from_u128(3)
    )));
}

#[test]
fn a_server_asking_for_a_resync_starts_a_new_one() {
    let mut t = with_events();
    t.connected_call(1);
    t.input(Input::CallContext(Box::new(context(1, 1))));
    // The server dropped pushes for this socket and asks for a fresh reading; what it reads is newer than
    // every push before the request.
    let a = t.socket(SocketKind::Events, SocketEvent::ResyncRequested);
    assert!(a.contains(&tsunagi_core::Action::Resync {
        socket: SocketKind::Events
    }));
    let a = t.input(Input::Resynced {
        socket: SocketKind::Events,
        reading: Reading::CallContext(Box::new(context(1, 4))),
    });
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::CallContext { conference: Some(c), .. } if *c == ConferenceSid::from_u128(4)
    )));
}
