//! The serializable session view agrees with what the events said, for a UI that (re)connects mid-session.

mod common;

use common::*;
use serde_json::json;
use tsunagi_core::{
    Activity, CallView, Command, ConnectionState, OfferPhase, PresenceState, SessionConfig,
    SocketKind, Target,
};

#[test]
fn view_of_a_signed_out_session() {
    let t = TestSession::new(SessionConfig::default());
    let v = t.session.view(t.now);
    assert!(!v.logged_in);
    assert_eq!(v.presence, PresenceState::Offline);
    assert!(v.calls.is_empty());
    assert!(v
        .connections
        .iter()
        .all(|c| matches!(c.state, ConnectionState::Stopped { .. })));
}

#[test]
fn view_shows_rings_calls_and_connections() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    t.connected_call(2);
    let v = t.session.view(t.now);
    assert!(v.logged_in);
    assert_eq!(v.presence, PresenceState::Busy);
    assert_eq!(v.selected, Activity::Available);
    assert_eq!(
        v.calls,
        vec![
            CallView {
                target: Target::Task(task(1)),
                reservation: Some(res(1)),
                call: None,
                conference: None,
                phase: OfferPhase::Ringing
            },
            CallView {
                target: Target::Task(task(2)),
                reservation: Some(res(2)),
                call: Some(call(2)),
                conference: None,
                phase: OfferPhase::Connected
            },
        ]
    );
    let tr = v
        .connections
        .iter()
        .find(|c| c.socket == SocketKind::TaskRouter)
        .unwrap();
    assert_eq!(tr.state, ConnectionState::Connected);
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["presence"], "busy");
    assert_eq!(j["updateRequired"], false);
    assert_eq!(
        j["calls"][0],
        json!({"target": {"kind": "task", "sid": task(1).as_str()}, "reservation": res(1).as_str(), "phase": "ringing"})
    );
    t.command(Command::Reject {
        target: Target::Task(task(1)),
    });
    assert_eq!(
        t.session.view(t.now).calls.len(),
        1,
        "a stopped ring is not shown"
    );
}
