//! The conference mixer over real sockets, one tone per party: two simulated callers (440 Hz, 1000 Hz) hear each
//! other; `Muted=true` silences one for the other; `Hold=true` gives the held party the hold source (620 Hz) and
//! silences it for the others; a coach (1500 Hz, added by REST with `Coaching=true`, `CallSidToCoach`) is heard by
//! the coached party only.

mod calls_support;
mod voice_support;

use calls_support::*;
use reqwest::Method;
use serde_json::{json, Value};

const ACCOUNT: &str = voice_support::ACCOUNT;
const A_HZ: f64 = 440.0;
const B_HZ: f64 = 1_000.0;
const COACH_HZ: f64 = 1_500.0;
const HOLD_HZ: f64 = 620.0;
const COACH: &str = "+819077778888";

/// What the party heard: `Some(hz)`, or `None` for silence.
async fn hears(sim: &tsunagi_twilio_sim::Sim, sid: &str) -> Option<Option<f64>> {
    let a = call(sim, sid).await["audio"].clone();
    if a.is_null() {
        return None;
    }
    Some(a["dominant_hz"].as_f64())
}

async fn until_hears(sim: &tsunagi_twilio_sim::Sim, who: &str, sid: &str, want: Option<f64>) {
    eventually(&format!("{who} to hear {want:?}"), 10, async || {
        let got = hears(sim, sid).await?;
        let ok = match (got, want) {
            (Some(g), Some(w)) => (g - w).abs() < 15.0,
            (None, None) => true,
            _ => false,
        };
        ok.then_some(())
    })
    .await;
}

async fn set(sim: &tsunagi_twilio_sim::Sim, cf: &str, who: &str, form: &[(&str, &str)]) -> Value {
    let (st, p) = rest(
        sim,
        Method::POST,
        &format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences/{cf}/Participants/{who}.json"),
        form,
    )
    .await;
    assert_eq!(st, 200, "{p}");
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn participants_hear_the_others_except_held_muted_and_coaching() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Dial><Conference>mix-room</Conference></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let mut sids = Vec::new();
    for hz in [A_HZ, B_HZ] {
        let (_, placed) = post_json(
            &sim,
            "/_sim/calls",
            json!({"from": "+81312345678", "to": NUMBER, "tone_hz": hz}),
        )
        .await;
        sids.push(placed["sid"].as_str().unwrap().to_owned());
    }
    let (a, b) = (sids[0].clone(), sids[1].clone());
    until_hears(&sim, "A", &a, Some(B_HZ)).await;
    until_hears(&sim, "B", &b, Some(A_HZ)).await;
    let cf = call(&sim, &a).await["conference"]
        .as_str()
        .unwrap()
        .to_owned();

    // Mute B: A hears nothing, B still hears A.
    assert_eq!(
        set(&sim, &cf, &b, &[("Muted", "true")]).await["muted"],
        true
    );
    until_hears(&sim, "A", &a, None).await;
    until_hears(&sim, "B", &b, Some(A_HZ)).await;
    set(&sim, &cf, &b, &[("Muted", "false")]).await;
    until_hears(&sim, "A", &a, Some(B_HZ)).await;

    // Hold A: A hears the hold source, B hears nothing; unhold restores both.
    assert_eq!(set(&sim, &cf, &a, &[("Hold", "true")]).await["hold"], true);
    until_hears(&sim, "A", &a, Some(HOLD_HZ)).await;
    until_hears(&sim, "B", &b, None).await;
    set(&sim, &cf, &a, &[("Hold", "false")]).await;
    until_hears(&sim, "A", &a, Some(B_HZ)).await;
    until_hears(&sim, "B", &b, Some(A_HZ)).await;

    // A coach for A joins (B muted so each party hears one tone): A hears the coach, B does not.
    set(&sim, &cf, &b, &[("Muted", "true")]).await;
    post_json(
        &sim,
        "/_sim/calls/numbers",
        json!({"number": COACH, "answer": "answer", "script": [{"do": "tone", "hz": COACH_HZ}]}),
    )
    .await;
    let (st, p) = rest(
        &sim,
        Method::POST,
        &format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences/{cf}/Participants.json"),
        &[
            ("From", NUMBER),
            ("To", COACH),
            ("Label", "coach"),
            ("Coaching", "true"),
            ("CallSidToCoach", &a),
        ],
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let coach = p["call_sid"].as_str().unwrap().to_owned();
    until_hears(&sim, "A", &a, Some(COACH_HZ)).await;
    until_hears(&sim, "the coach", &coach, Some(A_HZ)).await;
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    until_hears(&sim, "B (only A, never the coach)", &b, Some(A_HZ)).await;
    let (_, ps) = rest(
        &sim,
        Method::GET,
        &format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences/{cf}/Participants/coach.json"),
        &[],
    )
    .await;
    assert_eq!(
        (ps["coaching"].as_bool(), ps["call_sid_to_coach"].as_str()),
        (Some(true), Some(a.as_str()))
    );

    // Barge: the coach is heard by everyone; with A muted too, B hears the coach.
    set(&sim, &cf, "coach", &[("Coaching", "false")]).await;
    set(&sim, &cf, &a, &[("Muted", "true")]).await;
    until_hears(&sim, "B after the barge", &b, Some(COACH_HZ)).await;
    for s in [&a, &b, &coach] {
        post_json(&sim, &format!("/_sim/calls/{s}/hangup"), json!({})).await;
    }
}
