//! Signaling reconnect: the stand-in drops the socket mid-call; the SDK's new socket re-`invite`s the call with
//! its reconnect token and gets `answer{reconnect}` back, while the media leg keeps flowing. A stale token fails.

mod voice_support;

use std::time::Duration;

use serde_json::json;
use tsunagi_twilio::pstream::{
    CallRef, ClientAnswer, ClientInvite, ClientMessage, InviteTwilio, ServerMessage,
};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg};
use voice_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_survives_a_dropped_signaling_socket() {
    let edge = Edge::start().await;
    let mut c = edge.registered("alice").await;
    let (_, placed) = edge
        .post(
            "/_sim/voice/calls",
            json!({"to": "alice", "tone_hz": 440.0}),
        )
        .await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    let ServerMessage::Invite(inv) = c.recv().await else {
        panic!("expected invite")
    };
    let token = inv.reconnect.clone().unwrap();
    let opts = LegOptions {
        ice_lite: false,
        tone_hz: Some(1000.0),
    };
    let (leg, answer) = MediaLeg::answer(&MediaConfig::default(), &inv.sdp, opts).unwrap();
    c.send(&ClientMessage::Answer(ClientAnswer {
        callsid: inv.callsid.into(),
        sdp: answer.clone(),
    }))
    .await;
    wait_for("media", async || leg.report().dominant_hz.is_some()).await;

    let (_, dropped) = edge.post("/_sim/voice/sockets/drop", json!({})).await;
    assert_eq!(dropped["dropped"], 1);
    assert!(
        c.try_recv(Duration::from_secs(2)).await.is_none(),
        "socket closed"
    );

    let mut c2 = edge.registered("alice").await;
    let reinvite = |reconnect: &str| {
        ClientMessage::Invite(ClientInvite {
            callsid: CallRef::parse(&sid).unwrap(),
            sdp: answer.clone(),
            twilio: InviteTwilio::default(),
            reconnect: Some(reconnect.into()),
        })
    };
    c2.send(&reinvite(&token)).await;
    let ServerMessage::Answer(a) = c2.recv().await else {
        panic!("expected answer")
    };
    assert_eq!(a.callsid.as_str(), sid);
    let renewed = a.reconnect.expect("new reconnect token");
    assert_ne!(renewed, token);
    let v = edge.get(&format!("/_sim/voice/calls/{sid}")).await;
    assert_eq!(v["state"], "in_progress");
    assert_eq!(v["reconnects"], 1);
    let before = leg.report().packets;
    wait_for("media kept flowing", async || {
        leg.report().packets > before + 10
    })
    .await;

    // The old token is spent.
    c2.send(&reinvite(&token)).await;
    let ServerMessage::Hangup(h) = c2.recv().await else {
        panic!("expected hangup")
    };
    assert_eq!(h.error.map(|e| e.code), Some(31005));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_whose_socket_never_comes_back_ends() {
    let edge = Edge::start().await; // orphan_call_ms = 2 s in the test config
    let mut c = edge.registered("alice").await;
    let (_, placed) = edge.post("/_sim/voice/calls", json!({"to": "alice"})).await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    let ServerMessage::Invite(inv) = c.recv().await else {
        panic!("expected invite")
    };
    let opts = LegOptions {
        ice_lite: false,
        tone_hz: None,
    };
    let (_leg, answer) = MediaLeg::answer(&MediaConfig::default(), &inv.sdp, opts).unwrap();
    c.send(&ClientMessage::Answer(ClientAnswer {
        callsid: inv.callsid.into(),
        sdp: answer,
    }))
    .await;
    wait_for("answered", async || {
        edge.get(&format!("/_sim/voice/calls/{sid}")).await["state"] == "in_progress"
    })
    .await;
    drop(c);
    wait_for("orphaned call ends", async || {
        let v = edge.get(&format!("/_sim/voice/calls/{sid}")).await;
        v["state"] == "completed" && v["ended_by"] == "sim"
    })
    .await;
}
