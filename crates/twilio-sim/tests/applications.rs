//! TwiML applications over real sockets: an SDK-like client's outgoing call (token grant naming AP…01) reaches the
//! application's Voice URL signed, with Twilio's parameters and the custom ones as form fields; the returned
//! `<Dial><Conference>` answers the client, a PSTN party added by REST is heard (tone) and hears the client; the
//! client's hang-up ends the conference. A bad application is refused with Twilio's codes.

mod calls_support;
mod voice_support;

use calls_support::*;
use reqwest::Method;
use serde_json::json;
use tsunagi_twilio::pstream::{
    CallRef, ClientHangup, ClientInvite, ClientMessage, InviteTwilio, ServerMessage,
};
use tsunagi_twilio::sid::ApplicationSid;
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, PendingOffer};

const ACCOUNT: &str = voice_support::ACCOUNT;
const EXPERT: &str = "+819055556666";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_client_call_runs_the_application_and_meets_a_pstn_party() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/app",
        r#"<Response><Dial><Conference startConferenceOnEnter="true" endConferenceOnExit="true" statusCallback="/conf" statusCallbackEvent="start join leave end">ob-1</Conference></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let app = ApplicationSid::from_u128(1).to_string();
    let (st, e) = post_json(
        &sim,
        "/_sim/applications",
        json!({"sid": "XX1", "voice_url": hooks.url("/app")}),
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(20001)));
    let (st, e) = post_json(
        &sim,
        "/_sim/applications",
        json!({"sid": app, "voice_url": "ftp://x"}),
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(21502)));
    let (st, _) = post_json(
        &sim,
        "/_sim/applications",
        json!({"sid": app, "voice_url": hooks.url("/app")}),
    )
    .await;
    assert_eq!(st, 200);
    post_json(
        &sim,
        "/_sim/calls/numbers",
        json!({"number": EXPERT, "answer": "answer", "script": [{"do": "tone", "hz": 440.0}]}),
    )
    .await;

    let mut device = registered(&sim, "alice").await;
    let (offer, sdp) = PendingOffer::new(
        &MediaConfig::default(),
        LegOptions {
            ice_lite: false,
            tone_hz: Some(1_000.0),
        },
    )
    .unwrap();
    device
        .send(&ClientMessage::Invite(ClientInvite {
            callsid: CallRef::parse("TJSaaaaaaaa-1b2c-4d3e-8f90-0123456789ab").unwrap(),
            sdp,
            twilio: InviteTwilio {
                params: Some("To=%2B819011112222&TsunagiAttempt=att-1".into()),
            },
            reconnect: None,
        }))
        .await;
    let ServerMessage::Ringing(r) = device.recv().await else {
        panic!("expected ringing")
    };
    let sid = r.callsid.to_string();
    let ServerMessage::Answer(a) = device.recv().await else {
        panic!("expected answer once the application's TwiML runs")
    };
    let leg = offer.accept(a.sdp.as_deref().expect("sdp")).unwrap();

    let hit = hooks.hits("/app").pop().expect("the application webhook");
    assert!(hit.signature_ok);
    for (k, v) in [
        ("CallSid", sid.as_str()),
        ("AccountSid", ACCOUNT),
        ("ApplicationSid", app.as_str()),
        ("From", "client:alice"),
        ("Caller", "client:alice"),
        ("To", "+819011112222"),
        ("Direction", "inbound"),
        ("CallStatus", "ringing"),
        ("TsunagiAttempt", "att-1"),
    ] {
        assert_eq!(hit.get(k), Some(v), "{k}");
    }

    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences");
    let (st, p) = rest(
        &sim,
        Method::POST,
        &format!("{base}/ob-1/Participants.json"),
        &[("From", NUMBER), ("To", EXPERT), ("Label", "customer")],
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let expert = p["call_sid"].as_str().unwrap().to_owned();
    eventually("the client hears the customer's 440 Hz", 10, async || {
        leg.report()
            .dominant_hz
            .is_some_and(|h| (h - 440.0).abs() < 15.0)
            .then_some(())
    })
    .await;
    eventually("the customer hears the client's 1000 Hz", 10, async || {
        call(&sim, &expert).await["audio"]["dominant_hz"]
            .as_f64()
            .is_some_and(|h| (h - 1_000.0).abs() < 15.0)
            .then_some(())
    })
    .await;
    let v = call(&sim, &sid).await;
    assert_eq!(
        (
            v["direction"].as_str(),
            v["status"].as_str(),
            v["from"].as_str()
        ),
        (Some("inbound"), Some("in-progress"), Some("client:alice"))
    );

    device
        .send(&ClientMessage::Hangup(ClientHangup {
            callsid: CallRef::parse(&sid).unwrap(),
            message: None,
        }))
        .await;
    eventually(
        "the conference to end and the customer to be hung up",
        10,
        async || {
            (call(&sim, &expert).await["status"] == "completed"
                && call(&sim, &sid).await["status"] == "completed")
                .then_some(())
        },
    )
    .await;
    let ends: Vec<String> = hooks
        .hits("/conf")
        .iter()
        .filter_map(|h| h.get("StatusCallbackEvent").map(str::to_owned))
        .collect();
    assert_eq!(ends.first().map(String::as_str), Some("conference-start"));
    assert_eq!(ends.last().map(String::as_str), Some("conference-end"));
}
