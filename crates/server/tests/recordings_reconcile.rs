//! The recording reconciler (spec §6, step 6) against the stand-in: a call recording whose status callback never
//! reaches the server (its callback URL is a closed port) is found by `GET Recordings.json?DateCreatedAfter=…`,
//! queued through the callback's own job path and archived exactly once (stored, verified, deleted at Twilio)
//! under the recording's own day (Twilio's `date_created`), not the later day of the reconciliation; a second
//! reconciliation does nothing.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use reqwest::Method;
use tsunagi_server::db::now_unix;
use tsunagi_server::recordings::{self, reconcile, store, State};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_whose_callback_was_lost_is_archived_once_by_the_reconciler() {
    // No conference recording and no background worker: the test drives the reconciler and the jobs itself.
    let s = stack_tweaked(|c| {
        c.recordings.record = false;
        c.recordings.worker = false;
    })
    .await;
    let l = live_call_on(s).await;
    let (status, rec) =
        l.s.voice(
            Method::POST,
            &format!("Calls/{}/Recordings.json", l.customer),
            &[
                ("RecordingChannels", "dual"),
                ("RecordingStatusCallback", "http://127.0.0.1:9/lost"),
                ("RecordingStatusCallbackEvent", "completed"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{rec}");
    let re = rec["sid"].as_str().unwrap().to_owned();
    let created = chrono::DateTime::parse_from_rfc2822(rec["date_created"].as_str().unwrap())
        .expect("Twilio's date_created");
    let recording_day = created.to_utc().format("%Y/%m/%d").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // some audio
    let (status, body) = l.control(&l.session, "hangup", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let path = format!("Recordings/{re}.json");
    l.s.eventually("the recording completed at Twilio", || async {
        let (_, r) = l.s.voice(Method::GET, &path, &[]).await;
        (r["status"] == "completed").then_some(())
    })
    .await;
    let state = &l.s.app.state;
    assert!(
        store::get(&state.db, &re).await.unwrap().is_none(),
        "the callback never arrived"
    );

    // The nightly run comes the next day (still inside the 2-day window).
    let next_day = now_unix() + 86_400;
    let first = reconcile::run(state, next_day).await.unwrap();
    assert_eq!(
        (first.completed, first.queued, first.unattributed),
        (1, 1, 0)
    );
    assert_eq!(recordings::run_due(state, now_unix()).await.unwrap(), 1);
    let job = store::get(&state.db, &re).await.unwrap().unwrap();
    assert_eq!(job.state, State::Done);
    assert_eq!(job.owner, l.task, "attributed to the call's task");
    assert_eq!(
        job.object_key,
        format!("recordings/{recording_day}/{}/{re}.wav", l.task),
        "filed under the day it was recorded"
    );
    assert_eq!(job.agent_id.as_deref(), Some("agent_1024"));
    let dir = state.config.recordings.dir.clone().unwrap();
    let file = std::fs::read(dir.join(&job.object_key)).expect("the archived file");
    assert_eq!(job.size_bytes, Some(file.len() as i64));
    assert_eq!(&file[..4], b"RIFF");
    assert_eq!(
        l.s.voice(Method::GET, &path, &[]).await.0,
        404,
        "deleted at Twilio"
    );

    // Nightly again: nothing left to find, nothing archived twice.
    let second = reconcile::run(state, next_day).await.unwrap();
    assert_eq!(second.queued, 0);
    assert_eq!(
        recordings::run_due(state, now_unix() + 86_400)
            .await
            .unwrap(),
        0
    );
    assert_eq!(l.s.app.count("SELECT COUNT(*) FROM recordings").await, 1);
    assert_eq!(store::get(&state.db, &re).await.unwrap().unwrap(), job);
}
