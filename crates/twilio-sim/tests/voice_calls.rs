//! Calls end to end over real sockets: the test plays the SDK (PStream client + a full-ICE str0m leg in the
//! browser's role) against the stand-in's signaling and ICE-lite media legs.

mod voice_support;

use serde_json::{json, Value};
use tsunagi_twilio::pstream::{
    decode_params, CallMessage, CallOnly, CallRef, ClientAnswer, ClientHangup, ClientInvite,
    ClientMessage, Dtmf, InviteTwilio, ServerMessage,
};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg, PendingOffer};
use voice_support::*;

const TEMP: &str = "TJS734d268e-1b2c-4d3e-8f90-0123456789ab";

fn browser(tone_hz: f64) -> LegOptions {
    LegOptions {
        ice_lite: false,
        tone_hz: Some(tone_hz),
    }
}

async fn call_json(edge: &Edge, sid: &str) -> Value {
    edge.get(&format!("/_sim/voice/calls/{sid}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_call_rings_with_params_carries_audio_dtmf_and_hangs_up() {
    let edge = Edge::start().await;
    let mut c = edge.registered("alice").await;
    let (status, placed) = edge
        .post(
            "/_sim/voice/calls",
            json!({"to": "client:alice", "from": "+15551230000", "tone_hz": 440.0,
                   "params": [["task_sid", "WT00000000000000000000000000000042"], ["name", "Bob Caller"]]}),
        )
        .await;
    assert_eq!(status, 200, "{placed}");
    assert_eq!(placed["state"], "ringing");
    let sid = placed["sid"].as_str().unwrap().to_owned();

    let ServerMessage::Invite(inv) = c.recv().await else {
        panic!("expected invite")
    };
    assert_eq!(inv.callsid.as_str(), sid);
    assert_eq!(inv.parameters.call_sid.as_str(), sid);
    assert_eq!(inv.parameters.account_sid.as_str(), ACCOUNT);
    assert_eq!(inv.parameters.from, "+15551230000");
    assert_eq!(inv.parameters.to, "client:alice");
    assert_eq!(
        decode_params(&inv.parameters.params),
        vec![
            (
                "task_sid".into(),
                "WT00000000000000000000000000000042".into()
            ),
            ("name".into(), "Bob Caller".into())
        ]
    );
    assert!(inv.reconnect.is_some());
    assert!(inv.sdp.contains("\r\na=ice-lite") && inv.sdp.contains("PCMU/8000"));

    let (leg, answer) =
        MediaLeg::answer(&MediaConfig::default(), &inv.sdp, browser(1000.0)).unwrap();
    c.send(&ClientMessage::Answer(ClientAnswer {
        callsid: inv.callsid.into(),
        sdp: answer,
    }))
    .await;

    wait_for("the stand-in hears the agent's 1000 Hz", async || {
        let v = call_json(&edge, &sid).await;
        v["state"] == "in_progress"
            && v["media_connected"] == true
            && near(&v["audio"]["dominant_hz"], 1000.0)
    })
    .await;
    wait_for("the agent hears the caller's 440 Hz", async || {
        leg.report()
            .dominant_hz
            .is_some_and(|h| (h - 440.0).abs() < 5.0)
    })
    .await;

    // Mute = the browser sends silence; the stand-in's level drops while packets continue.
    leg.set_tone(None);
    wait_for("silence at the stand-in", async || {
        let v = call_json(&edge, &sid).await;
        v["audio"]["rms"].as_f64().is_some_and(|r| r < 1.0) && v["audio"]["dominant_hz"].is_null()
    })
    .await;

    let callsid = CallRef::parse(&sid).unwrap();
    c.send(&ClientMessage::Dtmf(Dtmf {
        callsid: callsid.clone(),
        dtmf: "12".into(),
    }))
    .await;
    c.send(&ClientMessage::Dtmf(Dtmf {
        callsid: callsid.clone(),
        dtmf: "#".into(),
    }))
    .await;
    c.send(&ClientMessage::Dtmf(Dtmf {
        callsid: callsid.clone(),
        dtmf: "1x".into(),
    }))
    .await;
    c.send(&ClientMessage::Message(CallMessage {
        callsid: callsid.clone(),
        content: json!({"note": "hi"}),
        contenttype: "application/json".into(),
        messagetype: "user-defined-message".into(),
        voiceeventsid: "KX1".into(),
    }))
    .await;
    let ServerMessage::Ack(ack) = c.recv().await else {
        panic!("expected ack")
    };
    assert_eq!(ack.voiceeventsid, "KX1");
    let v = call_json(&edge, &sid).await;
    assert_eq!(v["dtmf"], "12#", "invalid digit strings are ignored");
    assert_eq!(v["messages"][0]["content"]["note"], "hi");

    let (status, v) = edge
        .post(&format!("/_sim/voice/calls/{sid}/hangup"), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["state"], "completed");
    assert_eq!(v["ended_by"], "sim");
    let ServerMessage::Hangup(h) = c.recv().await else {
        panic!("expected hangup")
    };
    assert_eq!(h.callsid.as_str(), sid);
    assert!(h.error.is_none());
}

#[tokio::test]
async fn cancel_while_ringing_and_client_reject() {
    let edge = Edge::start().await;
    let mut c = edge.registered("alice").await;
    let (_, placed) = edge.post("/_sim/voice/calls", json!({"to": "alice"})).await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    assert!(matches!(c.recv().await, ServerMessage::Invite(_)));
    edge.post(&format!("/_sim/voice/calls/{sid}/hangup"), json!({}))
        .await;
    let ServerMessage::Cancel(CallOnly { callsid }) = c.recv().await else {
        panic!("expected cancel")
    };
    assert_eq!(callsid.as_str(), sid);
    assert_eq!(call_json(&edge, &sid).await["state"], "canceled");

    let (_, placed) = edge.post("/_sim/voice/calls", json!({"to": "alice"})).await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    assert!(matches!(c.recv().await, ServerMessage::Invite(_)));
    c.send(&ClientMessage::Reject(CallOnly {
        callsid: CallRef::parse(&sid).unwrap(),
    }))
    .await;
    wait_for("rejected", async || {
        call_json(&edge, &sid).await["state"] == "rejected"
    })
    .await;
    assert_eq!(call_json(&edge, &sid).await["ended_by"], "client");

    let (status, err) = edge
        .post("/_sim/voice/calls", json!({"to": "nobody"}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(err["code"], 20404);
}

async fn dial(c: &mut Client, to: &str) -> PendingOffer {
    let (offer, sdp) = PendingOffer::new(&MediaConfig::default(), browser(1000.0)).unwrap();
    c.send(&ClientMessage::Invite(ClientInvite {
        callsid: CallRef::parse(TEMP).unwrap(),
        sdp,
        twilio: InviteTwilio {
            params: Some(format!("To={}&agent=alice", to.replace('+', "%2B"))),
        },
        reconnect: None,
    }))
    .await;
    offer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_call_rings_answers_carries_audio_and_hangs_up() {
    let edge = Edge::start().await;
    let mut c = edge.registered("alice").await;
    let offer = dial(&mut c, "+15551234567").await;
    let ServerMessage::Ringing(r) = c.recv().await else {
        panic!("expected ringing")
    };
    let sid = r.callsid.to_string();
    let ServerMessage::Answer(a) = c.recv().await else {
        panic!("expected answer")
    };
    assert_eq!(a.callsid.as_str(), sid);
    let leg = offer.accept(a.sdp.as_deref().expect("answer sdp")).unwrap();
    wait_for("agent hears 440 Hz", async || {
        leg.report()
            .dominant_hz
            .is_some_and(|h| (h - 440.0).abs() < 5.0)
    })
    .await;
    wait_for("stand-in hears 1000 Hz", async || {
        near(
            &call_json(&edge, &sid).await["audio"]["dominant_hz"],
            1000.0,
        )
    })
    .await;
    let v = call_json(&edge, &sid).await;
    assert_eq!(v["direction"], "outgoing");
    assert_eq!(v["to"], "+15551234567");
    assert_eq!(v["from"], "client:alice");

    c.send(&ClientMessage::Hangup(ClientHangup {
        callsid: CallRef::parse(&sid).unwrap(),
        message: None,
    }))
    .await;
    wait_for("completed", async || {
        call_json(&edge, &sid).await["state"] == "completed"
    })
    .await;
}

#[tokio::test]
async fn outgoing_busy_and_no_answer_fail_with_twilio_codes() {
    let edge = Edge::start().await;
    edge.post(
        "/_sim/voice/numbers",
        json!({"number": "+15550000001", "behaviour": "busy"}),
    )
    .await;
    edge.post(
        "/_sim/voice/numbers",
        json!({"number": "+15550000002", "behaviour": "no-answer"}),
    )
    .await;
    let mut c = edge.registered("alice").await;
    for (number, code, state) in [
        ("+15550000001", 31486, "busy"),
        ("+15550000002", 31480, "no_answer"),
    ] {
        let _offer = dial(&mut c, number).await;
        let ServerMessage::Ringing(r) = c.recv().await else {
            panic!("expected ringing")
        };
        let ServerMessage::Hangup(h) = c.recv().await else {
            panic!("expected hangup")
        };
        assert_eq!(h.callsid.as_str(), r.callsid.as_str());
        assert_eq!(h.error.map(|e| e.code), Some(code));
        assert_eq!(call_json(&edge, r.callsid.as_str()).await["state"], state);
    }
    // Hanging up while it rings cancels it, using the temporary id.
    let _offer = dial(&mut c, "+15550000002").await;
    let ServerMessage::Ringing(r) = c.recv().await else {
        panic!("expected ringing")
    };
    c.send(&ClientMessage::Hangup(ClientHangup {
        callsid: CallRef::parse(TEMP).unwrap(),
        message: None,
    }))
    .await;
    wait_for("canceled", async || {
        call_json(&edge, r.callsid.as_str()).await["state"] == "canceled"
    })
    .await;
}
