//! Tokens are refreshed ahead of expiry, failed fetches are retried, and an expired token parks the sockets.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_core::{
    Action, ConnectionState, ErrorKind, Event, Input, SocketKind, StopReason, TokenEvent,
};

fn fetches(a: &[Action]) -> usize {
    a.iter().filter(|x| **x == Action::FetchToken).count()
}

/// Keeps the sockets quiet-but-alive while the clock runs (their watchdogs are not under test here).
fn advance_with_keepalives(t: &mut TestSession, total: Duration) -> Vec<Action> {
    let mut out = Vec::new();
    let step = Duration::from_secs(10);
    let mut done = Duration::ZERO;
    while done < total {
        let d = step.min(total - done);
        out.extend(t.advance(d));
        t.socket(SocketKind::TaskRouter, tsunagi_core::SocketEvent::Frame);
        t.socket(SocketKind::Sync, tsunagi_core::SocketEvent::Frame);
        done += d;
    }
    out
}

#[test]
fn refreshes_before_expiry_never_after() {
    let mut t = TestSession::logged_in();
    // 1 h token: refresh 6 min ahead (10 %), i.e. at 54 min.
    let a = advance_with_keepalives(&mut t, Duration::from_secs(53 * 60));
    assert_eq!(fetches(&a), 0);
    let a = advance_with_keepalives(&mut t, Duration::from_secs(70));
    assert_eq!(fetches(&a), 1, "refresh ahead of expiry");
    let a = t.issue_token();
    assert!(
        !a.iter().any(|x| matches!(x, Action::Connect { .. })),
        "sockets stay up"
    );
}

#[test]
fn short_tokens_refresh_at_half_life_at_the_latest() {
    let mut t = TestSession::logged_in();
    let now_unix = t.unix_now();
    t.input(Input::Token(TokenEvent::Issued {
        expires_unix: now_unix + 60,
        now_unix,
    }));
    let a = advance_with_keepalives(&mut t, Duration::from_secs(29));
    assert_eq!(fetches(&a), 0);
    let a = advance_with_keepalives(&mut t, Duration::from_secs(2));
    assert_eq!(fetches(&a), 1);
}

#[test]
fn failed_fetch_is_reported_once_and_retried() {
    let mut t = TestSession::logged_in();
    advance_with_keepalives(&mut t, Duration::from_secs(31 * 60)); // past half-life: a warning is heeded
    t.input(Input::Token(TokenEvent::AboutToExpire));
    assert_eq!(fetches(&t.actions), 1);
    let a = t.input(Input::Token(TokenEvent::FetchFailed));
    assert!(events(&a)
        .iter()
        .any(|e| matches!(e, Event::Error(err) if err.kind == ErrorKind::TokenFetchFailed)));
    let a = t.advance(Duration::from_secs(2));
    assert_eq!(fetches(&a), 1, "retried within the first backoff ceiling");
    let a = t.input(Input::Token(TokenEvent::FetchFailed));
    assert!(
        !events(&a).iter().any(|e| matches!(e, Event::Error(_))),
        "reported once per series"
    );
}

#[test]
fn an_expired_token_parks_the_sockets_until_a_new_one() {
    let mut t = TestSession::logged_in();
    // Every refresh fails until the token is gone.
    let mut parked = false;
    for _ in 0..400 {
        let a = t.advance(Duration::from_secs(10));
        t.socket(SocketKind::TaskRouter, tsunagi_core::SocketEvent::Frame);
        t.socket(SocketKind::Sync, tsunagi_core::SocketEvent::Frame);
        if a.contains(&Action::FetchToken) {
            t.input(Input::Token(TokenEvent::FetchFailed));
        }
        if events(&a).iter().any(|e| {
            matches!(
                e,
                Event::Connection {
                    state: ConnectionState::Stopped {
                        reason: StopReason::TokenExpired
                    },
                    ..
                }
            )
        }) {
            parked = true;
            break;
        }
    }
    assert!(parked, "sockets stop when the token expires");
    let a = t.issue_token();
    assert!(a.iter().any(|x| matches!(x, Action::Connect { .. })));
}

#[test]
fn a_socket_closed_for_its_expired_token_reconnects_at_once_with_the_fresher_one() {
    let mut t = TestSession::logged_in();
    advance_with_keepalives(&mut t, Duration::from_secs(55 * 60));
    t.issue_token(); // refreshed ahead of expiry
    advance_with_keepalives(&mut t, Duration::from_secs(5 * 60 + 10));
    // The server closes the TaskRouter socket opened with the old token when it expires.
    let a = t.socket(
        SocketKind::TaskRouter,
        tsunagi_core::SocketEvent::Closed(tsunagi_core::CloseReason::TokenExpired),
    );
    assert_eq!(fetches(&a), 0, "the token in hand is fresh: no new fetch");
    assert!(
        events(&a).iter().any(|e| matches!(
            e,
            Event::Connection {
                socket: SocketKind::TaskRouter,
                state: ConnectionState::Reconnecting { .. }
            }
        )),
        "a plain reconnect, not parked: {a:?}"
    );
    let a = t.advance(Duration::from_secs(2));
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Connect {
            socket: SocketKind::TaskRouter,
            ..
        }
    )));

    // Without a fresher token the socket is parked until one comes.
    let mut t = TestSession::logged_in();
    let a = t.socket(
        SocketKind::TaskRouter,
        tsunagi_core::SocketEvent::Closed(tsunagi_core::CloseReason::TokenExpired),
    );
    assert_eq!(fetches(&a), 1);
    assert!(events(&a).iter().any(|e| matches!(
        e,
        Event::Connection {
            socket: SocketKind::TaskRouter,
            state: ConnectionState::Stopped {
                reason: StopReason::TokenExpired
            }
        }
    )));
}

#[test]
fn about_to_expire_refreshes_an_old_token_but_not_a_young_short_one() {
    let mut t = TestSession::logged_in();
    // A 1 h token warned 4 min before expiry: refresh now.
    advance_with_keepalives(&mut t, Duration::from_secs(50 * 60));
    let a = t.input(Input::Token(TokenEvent::AboutToExpire));
    assert_eq!(fetches(&a), 1);
    // A fresh 60 s token is "about to expire" from birth for a server warning 4 min ahead: no fetch loop.
    let now_unix = t.unix_now();
    t.input(Input::Token(TokenEvent::Issued {
        expires_unix: now_unix + 60,
        now_unix,
    }));
    let a = t.input(Input::Token(TokenEvent::AboutToExpire));
    assert_eq!(fetches(&a), 0);
}
