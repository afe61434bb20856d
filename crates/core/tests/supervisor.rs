//! Socket supervision: heartbeat loss reconnects with full-jitter backoff, a ready socket resyncs, stale
//! attempts are ignored, and a token-expired close waits for a new token.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{
    Action, CloseReason, ConnectionState, Event, SocketEvent, SocketKind, StopReason,
};

fn reconnecting(a: &[Action], socket: SocketKind) -> Option<(u32, u64)> {
    events(a).iter().find_map(|e| match e {
        Event::Connection {
            socket: s,
            state:
                ConnectionState::Reconnecting {
                    attempt,
                    retry_in_ms,
                },
        } if *s == socket => Some((*attempt, *retry_in_ms)),
        _ => None,
    })
}

#[test]
fn silence_past_the_heartbeat_reconnects_and_resyncs() {
    let mut t = TestSession::logged_in();
    let a = t.advance(Duration::from_secs(29));
    assert!(reconnecting(&a, SocketKind::TaskRouter).is_none());
    t.socket(SocketKind::TaskRouter, SocketEvent::Frame); // a keepalive resets the watchdog
    let a = t.advance(Duration::from_secs(29));
    assert!(reconnecting(&a, SocketKind::TaskRouter).is_none());
    let a = t.advance(Duration::from_secs(2));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Disconnect {
            socket: SocketKind::TaskRouter,
            ..
        }
    )));
    let (attempt, delay) = reconnecting(&a, SocketKind::TaskRouter).expect("reconnecting");
    assert_eq!(attempt, 1);
    assert!(delay <= 1000, "first retry within the 1 s ceiling: {delay}");
    let mut a = a;
    a.extend(t.advance(Duration::from_millis(1001)));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Connect {
            socket: SocketKind::TaskRouter,
            ..
        }
    )));
    t.open_sockets();
    assert!(t.actions.contains(&Action::Resync {
        socket: SocketKind::TaskRouter
    }));
}

#[test]
fn repeated_failures_back_off_with_growing_ceilings() {
    let mut t = TestSession::logged_in();
    t.socket(SocketKind::Sync, SocketEvent::Closed(CloseReason::Lost));
    let mut delays = Vec::new();
    for attempt in 1..=8u32 {
        let (n, delay) = reconnecting(&t.actions, SocketKind::Sync).expect("retry scheduled");
        assert_eq!(n, attempt);
        let ceiling = 1000u64.saturating_mul(1 << (attempt - 1)).min(30_000);
        assert!(delay <= ceiling, "attempt {attempt}: {delay} > {ceiling}");
        delays.push(delay);
        t.actions.clear();
        t.advance(Duration::from_millis(delay));
        t.open_sockets_without_ready();
        t.actions.clear();
        t.socket(SocketKind::Sync, SocketEvent::Closed(CloseReason::Lost));
    }
    assert!(
        delays
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 1,
        "jittered"
    );
}

#[test]
fn news_from_an_old_attempt_is_ignored() {
    let mut t = TestSession::logged_in();
    let old = t.conns[&SocketKind::TaskRouter];
    t.socket(
        SocketKind::TaskRouter,
        SocketEvent::Closed(CloseReason::Lost),
    );
    let a = t.input(tsunagi_core::Input::Socket {
        socket: SocketKind::TaskRouter,
        conn: old,
        event: SocketEvent::Closed(CloseReason::Lost),
    });
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn token_expired_close_waits_for_a_new_token() {
    let mut t = TestSession::logged_in();
    let a = t.socket(
        SocketKind::TaskRouter,
        SocketEvent::Closed(CloseReason::TokenExpired),
    );
    assert!(has(&a, &Action::FetchToken));
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Connection {
            state: ConnectionState::Stopped {
                reason: StopReason::TokenExpired
            },
            ..
        }
    )));
    let a = t.advance(Duration::from_secs(20));
    assert!(!a.iter().any(|x| matches!(
        x,
        Action::Connect {
            socket: SocketKind::TaskRouter,
            ..
        }
    )));
    let a = t.issue_token();
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Connect {
            socket: SocketKind::TaskRouter,
            ..
        }
    )));
}

#[test]
fn redirect_honours_the_minimum_backoff() {
    let mut t = TestSession::logged_in();
    let a = t.socket(
        SocketKind::Sync,
        SocketEvent::Closed(CloseReason::Redirect {
            min_backoff_ms: 5000,
        }),
    );
    let (_, delay) = reconnecting(&a, SocketKind::Sync).expect("retry");
    assert!(delay >= 5000);
}
