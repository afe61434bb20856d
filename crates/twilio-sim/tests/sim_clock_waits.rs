//! Waits follow the simulated clock too: `POST /_sim/clock/advance` ends a TwiML `<Pause>` and a caller script's
//! `wait` at once instead of after their real duration.

mod calls_support;
mod voice_support;

use calls_support::*;
use serde_json::json;

async fn advance(sim: &tsunagi_twilio_sim::Sim, ms: u64) {
    let (st, _) = post_json(sim, "/_sim/clock/advance", json!({ "ms": ms })).await;
    assert_eq!(st, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_script_waits_end_when_the_clock_is_advanced() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Pause length="600"/><Say>ok</Say><Hangup/></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER}),
    )
    .await;
    let a = placed["sid"].as_str().unwrap().to_owned();
    eventually("the pause to start", 5, async || {
        call(&sim, &a).await["heard"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x["verb"] == "pause"))
            .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        call(&sim, &a).await["status"],
        "in-progress",
        "still pausing"
    );
    advance(&sim, 600_000).await;
    eventually("the say after the pause, then the hang-up", 5, async || {
        let v = call(&sim, &a).await;
        (v["status"] == "completed"
            && v["heard"]
                .as_array()
                .is_some_and(|h| h.iter().any(|x| x["verb"] == "say")))
        .then_some(())
    })
    .await;

    hooks.twiml(
        "/voice",
        r#"<Response><Dial><Conference>waiting-room</Conference></Dial></Response>"#,
    );
    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER, "script": [{"do": "wait", "ms": 3_600_000}, {"do": "hangup"}]}),
    )
    .await;
    let b = placed["sid"].as_str().unwrap().to_owned();
    eventually("the caller in the room", 5, async || {
        call(&sim, &b).await["conference"].as_str().map(|_| ())
    })
    .await;
    advance(&sim, 3_600_000).await;
    eventually(
        "the scripted hang-up after the advanced hour",
        5,
        async || (call(&sim, &b).await["status"] == "completed").then_some(()),
    )
    .await;
}
