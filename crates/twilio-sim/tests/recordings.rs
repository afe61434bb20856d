//! Recordings over real sockets: two simulated callers playing different tones meet in a `record-from-start`
//! conference; the signed recording callback arrives, the stereo WAV has the first caller's tone on channel 1 and
//! the other's on channel 2 (Goertzel), the mono download mixes both, list filters work, DELETE then GET is 404.
//! A REST call recording (`RecordingChannels=dual`) records what the call says and hears; bad requests get
//! Twilio's codes.

mod calls_support;
mod voice_support;

use calls_support::*;
use reqwest::Method;
use serde_json::json;
use tsunagi_twilio_sim::media::ToneDetector;
use tsunagi_twilio_sim::recordings::wav;

const ACCOUNT: &str = voice_support::ACCOUNT;
const A_HZ: f64 = 440.0;
const B_HZ: f64 = 1_000.0;

/// The dominant frequency of the middle 256 ms of `samples`.
fn tone_of(samples: &[i16]) -> Option<f64> {
    let mid = samples.len() / 2;
    let mut d = ToneDetector::new();
    d.push_packet(samples[mid.saturating_sub(2_048)..mid].iter().copied());
    d.report().dominant_hz
}

fn near(hz: Option<f64>, want: f64) -> bool {
    hz.is_some_and(|h| (h - want).abs() < 15.0)
}

async fn caller(sim: &tsunagi_twilio_sim::Sim, hz: f64) -> String {
    let (st, placed) = post_json(
        sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER, "tone_hz": hz}),
    )
    .await;
    assert_eq!(st, 200, "{placed}");
    placed["sid"].as_str().unwrap().to_owned()
}

async fn media(sim: &tsunagi_twilio_sim::Sim, url: &str) -> (u16, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(url)
        .basic_auth(voice_support::KEY, Some(voice_support::SECRET))
        .send()
        .await
        .unwrap();
    let _ = sim;
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conference_recording_is_dual_channel_signed_listed_and_deleted() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Dial><Conference record="record-from-start" recordingStatusCallback="/rec" endConferenceOnExit="true">rec-room</Conference></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let a = caller(&sim, A_HZ).await;
    let cf = eventually("A in the room", 5, async || {
        call(&sim, &a).await["conference"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let b = caller(&sim, B_HZ).await;
    // Each caller hears the other through the mixer.
    eventually("A hears B and B hears A", 10, async || {
        let (ha, hb) = (call(&sim, &a).await, call(&sim, &b).await);
        (near(ha["audio"]["dominant_hz"].as_f64(), B_HZ)
            && near(hb["audio"]["dominant_hz"].as_f64(), A_HZ))
        .then_some(())
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    post_json(&sim, &format!("/_sim/calls/{a}/hangup"), json!({})).await;

    let hit = eventually("the recording callback", 10, async || {
        hooks.hits("/rec").into_iter().next()
    })
    .await;
    assert!(hit.signature_ok, "X-Twilio-Signature verifies");
    assert_eq!(hit.get("RecordingStatus"), Some("completed"));
    assert_eq!(hit.get("RecordingChannels"), Some("2"));
    assert_eq!(hit.get("RecordingSource"), Some("Conference"));
    assert_eq!(hit.get("ConferenceSid"), Some(cf.as_str()));
    assert_eq!(hit.get("AccountSid"), Some(ACCOUNT));
    assert!(hit
        .get("RecordingStartTime")
        .is_some_and(|t| t.ends_with("+0000")));
    let duration: u64 = hit.get("RecordingDuration").unwrap().parse().unwrap();
    assert!((1..=10).contains(&duration), "{duration}");
    let re = hit.get("RecordingSid").unwrap().to_owned();
    let url = hit.get("RecordingUrl").unwrap().to_owned();
    assert_eq!(
        url,
        format!(
            "{}/2010-04-01/Accounts/{ACCOUNT}/Recordings/{re}",
            sim.base_url()
        )
    );

    let (st, body) = media(&sim, &format!("{url}.wav?RequestedChannels=2")).await;
    assert_eq!(st, 200);
    let (channels, pcm) = wav::decode(&body).expect("a WAV");
    assert_eq!(channels, 2);
    assert!(pcm[0].len() >= 8_000, "at least a second: {}", pcm[0].len());
    assert!(
        near(tone_of(&pcm[0]), A_HZ),
        "channel 1 = first to join: {:?}",
        tone_of(&pcm[0])
    );
    assert!(
        near(tone_of(&pcm[1]), B_HZ),
        "channel 2 = the others: {:?}",
        tone_of(&pcm[1])
    );
    let (st, body) = media(&sim, &url).await;
    assert_eq!(st, 200);
    let (channels, mono) = wav::decode(&body).unwrap();
    assert_eq!(
        (channels, mono[0].len()),
        (1, pcm[0].len()),
        "mono mix-down by default"
    );

    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Recordings");
    let (st, one) = rest(&sim, Method::GET, &format!("{base}/{re}.json"), &[]).await;
    assert_eq!(st, 200);
    assert_eq!(
        (
            one["status"].as_str(),
            one["channels"].as_u64(),
            one["conference_sid"].as_str()
        ),
        (Some("completed"), Some(2), Some(cf.as_str()))
    );
    let count = async |q: &str| {
        let (st, l) = rest(&sim, Method::GET, &format!("{base}.json?{q}"), &[]).await;
        assert_eq!(st, 200, "{l}");
        l["recordings"].as_array().map_or(0, Vec::len)
    };
    assert_eq!(count(&format!("ConferenceSid={cf}")).await, 1);
    assert_eq!(
        count(&format!("CallSid={a}")).await,
        1,
        "the first participant's call"
    );
    assert_eq!(count(&format!("CallSid={b}")).await, 0);
    assert_eq!(count("DateCreatedAfter=2000-01-01T00:00:00Z").await, 1);
    assert_eq!(count("DateCreatedAfter=2999-01-01").await, 0);
    let (st, e) = rest(
        &sim,
        Method::GET,
        &format!("{base}.json?DateCreatedAfter=yesterday"),
        &[],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(20001)));

    let (st, _) = rest(&sim, Method::DELETE, &format!("{base}/{re}.json"), &[]).await;
    assert_eq!(st, 204);
    let (st, e) = rest(&sim, Method::GET, &format!("{base}/{re}.json"), &[]).await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));
    assert_eq!(media(&sim, &format!("{url}.wav")).await.0, 404);
    let (st, _) = rest(&sim, Method::DELETE, &format!("{base}/{re}.json"), &[]).await;
    assert_eq!(st, 404, "a second DELETE finds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_recording_by_rest_records_what_the_call_says_and_hears() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Dial><Conference>plain-room</Conference></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let a = caller(&sim, A_HZ).await;
    let b = caller(&sim, B_HZ).await;
    eventually("B hears A", 10, async || {
        near(call(&sim, &b).await["audio"]["dominant_hz"].as_f64(), A_HZ).then_some(())
    })
    .await;
    let calls = format!("/2010-04-01/Accounts/{ACCOUNT}/Calls");
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{calls}/{b}/Recordings.json"),
        &[("RecordingChannels", "stereo")],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(20001)), "{e}");
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{calls}/CA00000000000000000000000000000099/Recordings.json"),
        &[],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));
    let (st, r) = rest(
        &sim,
        Method::POST,
        &format!("{calls}/{b}/Recordings.json"),
        &[
            ("RecordingChannels", "dual"),
            ("RecordingStatusCallback", &hooks.url("/crec")),
            ("RecordingStatusCallbackEvent", "in-progress completed"),
        ],
    )
    .await;
    assert_eq!(st, 201, "{r}");
    assert_eq!(
        (
            r["status"].as_str(),
            r["call_sid"].as_str(),
            r["source"].as_str()
        ),
        (
            Some("in-progress"),
            Some(b.as_str()),
            Some("StartCallRecordingAPI")
        )
    );
    let re = r["sid"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1_000)).await;
    let (st, r) = rest(
        &sim,
        Method::POST,
        &format!("{calls}/{b}/Recordings/{re}.json"),
        &[("Status", "stopped")],
    )
    .await;
    assert_eq!((st, r["status"].as_str()), (200, Some("completed")), "{r}");
    let hits = eventually("both callbacks", 10, async || {
        let h = hooks.hits("/crec");
        (h.len() == 2).then_some(h)
    })
    .await;
    let statuses: Vec<_> = hits
        .iter()
        .map(|h| h.get("RecordingStatus").unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["in-progress", "completed"]);
    assert!(hits
        .iter()
        .all(|h| h.signature_ok && h.get("CallSid") == Some(b.as_str())));
    let url = hits[1].get("RecordingUrl").unwrap().to_owned();
    let (st, body) = media(&sim, &format!("{url}.wav?RequestedChannels=2")).await;
    assert_eq!(st, 200);
    let (_, pcm) = wav::decode(&body).unwrap();
    assert!(near(tone_of(&pcm[0]), B_HZ), "channel 1 = what B says");
    assert!(near(tone_of(&pcm[1]), A_HZ), "channel 2 = what B hears");
    let (st, l) = rest(
        &sim,
        Method::GET,
        &format!("{calls}/{b}/Recordings.json"),
        &[],
    )
    .await;
    assert_eq!(
        (st, l["recordings"].as_array().map(Vec::len)),
        (200, Some(1))
    );
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{calls}/{b}/Recordings/{re}.json"),
        &[("Status", "paused")],
    )
    .await;
    assert_eq!(
        (st, e["code"].as_u64()),
        (400, Some(21220)),
        "an ended recording"
    );
    post_json(&sim, &format!("/_sim/calls/{a}/hangup"), json!({})).await;
}

#[tokio::test]
async fn bad_recording_requests_get_twilio_errors() {
    let hooks = Hooks::start().await;
    let sim = start_sim(&hooks, None).await;
    let base = format!("/2010-04-01/Accounts/{ACCOUNT}");
    let unknown = "RE00000000000000000000000000000099";
    let cases: Vec<(Method, String, u16)> = vec![
        (Method::GET, format!("{base}/Recordings/nonsense.json"), 404),
        (
            Method::GET,
            format!("{base}/Recordings/{unknown}.json"),
            404,
        ),
        (Method::GET, format!("{base}/Recordings/{unknown}.wav"), 404),
        (Method::GET, format!("{base}/Recordings/{unknown}"), 404),
        (
            Method::DELETE,
            format!("{base}/Recordings/{unknown}.json"),
            404,
        ),
        (
            Method::GET,
            format!("{base}/Recordings.json?DateCreatedBefore=soon"),
            400,
        ),
        (Method::POST, format!("{base}/Recordings.json"), 405),
        (
            Method::POST,
            format!("{base}/Calls/CA00000000000000000000000000000099/Recordings.json"),
            404,
        ),
        (
            Method::GET,
            format!("{base}/Calls/nonsense/Recordings.json"),
            404,
        ),
        (
            Method::GET,
            "/2010-04-01/Accounts/AC00000000000000000000000000000999/Recordings.json".into(),
            403,
        ),
    ];
    for (m, path, want) in cases {
        let (st, body) = rest(&sim, m.clone(), &path, &[]).await;
        assert_eq!(st, want, "{m} {path}: {body}");
        assert!(
            body["code"].as_u64().is_some() && body["status"] == st,
            "Twilio error shape: {body}"
        );
    }
    let (st, body) = post_json(&sim, "/_sim/applications", json!({"voice_url": "http://x"})).await;
    assert_eq!(
        (st, body["code"].as_u64()),
        (400, Some(20001)),
        "missing sid"
    );
}
