//! Against the stand-in's media leg (`tsunagi-twilio-sim`), which behaves like Twilio's media edge: ICE-lite,
//! PCMU (+ telephone-event), a tone source and a Goertzel detector. Both directions of negotiation: the leg
//! offers (incoming call, we answer) and we offer (outgoing call, the leg answers).

use std::net::Ipv4Addr;
use std::time::Duration;

use tsunagi_media::driver::{Call, ToneAudio};
use tsunagi_media::tone::tone_share;
use tsunagi_media::{CodecKind, EndpointConfig};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg, PendingOffer};

const LEG_HZ: f64 = 440.0;
const OUR_HZ: f64 = 1_000.0;

async fn assert_two_way(call: &Call, audio: &ToneAudio, leg: &MediaLeg) {
    let mut heard_ok = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = leg.report();
        let h = audio.heard();
        let ours = tone_share(&h[h.len().saturating_sub(24_000)..], LEG_HZ);
        if r.dominant_hz.is_some_and(|hz| (hz - OUR_HZ).abs() < 5.0) && ours > 0.8 {
            heard_ok = true;
            break;
        }
    }
    let s = call.stats().await.unwrap();
    assert!(heard_ok, "leg report {:?}, our stats {s:?}", leg.report());
    assert_eq!(s.codec, Some(CodecKind::Pcmu));
    assert!(leg.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incoming_call_we_answer_the_legs_offer() {
    let options = LegOptions {
        ice_lite: true,
        tone_hz: Some(LEG_HZ),
    };
    let (pending, offer) = PendingOffer::new(&MediaConfig::default(), options).unwrap();
    let audio = ToneAudio::new(Some(OUR_HZ), 48_000);
    let call = Call::start(
        Ipv4Addr::LOCALHOST.into(),
        EndpointConfig::default(),
        Box::new(audio.clone()),
    )
    .await
    .unwrap();
    let answer = call.accept_offer(&offer).await.unwrap();
    assert!(
        answer.contains("\r\na=setup:active") || answer.contains("\r\na=setup:passive"),
        "{answer}"
    );
    let leg = pending.accept(&answer).unwrap();
    assert_two_way(&call, &audio, &leg).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_call_the_leg_answers_our_offer() {
    let audio = ToneAudio::new(Some(OUR_HZ), 48_000);
    let call = Call::start(
        Ipv4Addr::LOCALHOST.into(),
        EndpointConfig::default(),
        Box::new(audio.clone()),
    )
    .await
    .unwrap();
    let offer = call.create_offer().await.unwrap();
    let options = LegOptions {
        ice_lite: true,
        tone_hz: Some(LEG_HZ),
    };
    let (leg, answer) = MediaLeg::answer(&MediaConfig::default(), &offer, options).unwrap();
    call.accept_answer(&answer).await.unwrap();
    assert_two_way(&call, &audio, &leg).await;
    call.set_muted(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(leg.report().rms < 50.0, "muted: {:?}", leg.report());
}
