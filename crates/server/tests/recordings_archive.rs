//! Scenario 9 (spec §6): a real call through the stand-in is recorded from the start (dual channel); on
//! `completed` the server archives it exactly once — `.wav?RequestedChannels=2` → local object store at
//! `recordings/{yyyy}/{mm}/{dd}/{WT}/{RE}.wav` → size and SHA-256 verified → row → DELETE at Twilio — whatever
//! the callback retries; a restart after a failed download or after the store but before the DELETE resumes the
//! job and finishes it once. The app fetches the stored audio (its agent or a supervisor only). A callback that
//! arrives after midnight files the recording under the day of its `RecordingStartTime`.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use tsunagi_server::recordings::{self, store, State};
use tsunagi_server::AppState;

async fn at_twilio(s: &Stack, re: &str) -> (u16, Value) {
    s.voice(Method::GET, &format!("Recordings/{re}.json"), &[])
        .await
}

fn file_of(state: &AppState, job: &store::Job) -> std::path::PathBuf {
    state
        .config
        .recordings
        .dir
        .clone()
        .unwrap()
        .join(&job.object_key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_call_is_archived_once_and_deleted_at_twilio() {
    let l = live_call().await;
    tokio::time::sleep(std::time::Duration::from_millis(600)).await; // some audio
    let job = l.hang_up_and_get_job().await;
    let re = job.recording_sid.clone();
    let done = l.archived(&re).await;
    let today = chrono::Utc::now().format("%Y/%m/%d").to_string();
    assert_eq!(
        done.object_key,
        format!("recordings/{today}/{}/{re}.wav", l.task)
    );
    let file = std::fs::read(file_of(&l.s.app.state, &done)).expect("the archived file");
    assert_eq!(done.size_bytes, Some(file.len() as i64));
    assert_eq!(done.sha256.as_deref(), Some(hex_sha256(&file).as_str()));
    assert_eq!(&file[..4], b"RIFF");
    assert_eq!(u16::from_le_bytes([file[22], file[23]]), 2, "dual channel");
    assert_eq!(at_twilio(&l.s, &re).await.0, 404, "deleted at Twilio");

    // Twilio retries the completed callback: nothing new happens.
    let params = [
        ("AccountSid", ACCOUNT),
        ("RecordingSid", re.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "1"),
        ("RecordingChannels", "2"),
        ("ConferenceSid", l.cf.as_str()),
    ];
    let uri = format!("/twilio/recording/status?task={}", l.task);
    for _ in 0..2 {
        let req = signed_form_for(&l.s.public, &uri, &params);
        assert_eq!(l.s.app.send(req).await.0, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        recordings::run_due(&l.s.app.state, tsunagi_server::db::now_unix() + 86_400)
            .await
            .unwrap(),
        0
    );
    let again = store::get(&l.s.app.state.db, &re).await.unwrap().unwrap();
    assert_eq!(again, done);
    let rows = l.s.app.count("SELECT COUNT(*) FROM recordings").await;
    assert_eq!(rows, 1);

    // The app fetches it: the call's agent and supervisors may, another agent may not.
    assert_eq!(l.fetched_recording(&re).await, file);
    let uri = format!("/v1/recordings/{re}");
    l.s.app.add_colleague().await;
    l.s.app.add_supervisor().await;
    let other = l.s.app.login("sato", "pw2").await;
    let sup = l.s.app.login("yamamoto", "pw9").await;
    assert_eq!(
        l.s.app
            .send(authed("GET", &uri, &other, Some("1.0.0")))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        l.s.app
            .send(authed("GET", &uri, &sup, Some("1.0.0")))
            .await
            .0,
        StatusCode::OK
    );
    let list = format!("/v1/calls/{}/recordings", l.task);
    let (status, jobs) =
        l.s.app
            .json(authed("GET", &list, &l.session, Some("1.0.0")))
            .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(jobs[0]["recording_sid"], re.as_str());
    assert_eq!(jobs[0]["state"], "done");
    let (status, _) =
        l.s.app
            .json(authed(
                "GET",
                "/v1/recordings/RE00000000000000000000000000000999",
                &sup,
                Some("1.0.0"),
            ))
            .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_the_job_after_a_failed_download_and_after_the_store() {
    // No background worker: each "instance" runs the job by hand.
    let l = live_call_on(stack_tweaked(|c| c.recordings.worker = false).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let job = l.hang_up_and_get_job().await;
    let re = job.recording_sid.clone();
    assert_eq!(job.state, State::Pending);
    let now = tsunagi_server::db::now_unix();

    // Instance 1: Twilio fails the download; the job waits for its retry.
    let (st, _) =
        l.s.control("/_sim/faults", json!({"rest_fail_next": 1}))
            .await;
    assert_eq!(st, 200);
    assert_eq!(recordings::run_due(&l.s.app.state, now).await.unwrap(), 0);
    let j = store::get(&l.s.app.state.db, &re).await.unwrap().unwrap();
    assert_eq!((j.state, j.attempts), (State::Pending, 1));
    assert_eq!(
        recordings::run_due(&l.s.app.state, now).await.unwrap(),
        0,
        "not due yet"
    );

    // Instance 2 stores the audio, then "crashes" before the DELETE (its lease is still held).
    let second = AppState::new((*l.s.app.state.config).clone(), l.s.app.state.db.clone()).unwrap();
    let later = now + 3_600;
    let claimed = store::claim(&second.db, &re, later, later + recordings::LEASE_SECS)
        .await
        .unwrap()
        .expect("due again");
    recordings::archive(&second, &claimed).await.unwrap();
    drop(second);
    let stored = store::get(&l.s.app.state.db, &re).await.unwrap().unwrap();
    assert_eq!(stored.state, State::Stored);
    assert_eq!(at_twilio(&l.s, &re).await.0, 200, "not deleted yet");

    // Instance 3 starts after the lease: DELETE, done; the stored object is untouched.
    let third = AppState::new((*l.s.app.state.config).clone(), l.s.app.state.db.clone()).unwrap();
    assert_eq!(
        recordings::run_due(&third, later + 1).await.unwrap(),
        0,
        "leased by the crashed instance"
    );
    let after_lease = later + recordings::LEASE_SECS + 1;
    assert_eq!(recordings::run_due(&third, after_lease).await.unwrap(), 1);
    let done = store::get(&third.db, &re).await.unwrap().unwrap();
    assert_eq!(done.state, State::Done);
    assert_eq!(
        (done.size_bytes, done.sha256.clone()),
        (stored.size_bytes, stored.sha256.clone())
    );
    let file = std::fs::read(file_of(&third, &done)).unwrap();
    assert_eq!(Some(hex_sha256(&file)), done.sha256);
    assert_eq!(at_twilio(&l.s, &re).await.0, 404);
    assert_eq!(
        recordings::run_due(&third, after_lease + 86_400)
            .await
            .unwrap(),
        0
    );
    let deletes = l.s.app.count("SELECT COUNT(*) FROM recordings").await;
    assert_eq!(deletes, 1);
}

#[tokio::test]
async fn a_callback_files_the_recording_under_the_day_it_started() {
    let t = test_app().await;
    let task = "WT00000000000000000000000000000042";
    let re = "RE00000000000000000000000000000042";
    let params = [
        ("AccountSid", ACCOUNT),
        ("RecordingSid", re),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "61"),
        ("RecordingChannels", "2"),
        // Started a minute before midnight UTC, two days ago or more: not today's folder.
        ("RecordingStartTime", "Tue, 24 Nov 2026 23:59:00 +0000"),
        ("ConferenceSid", "CF00000000000000000000000000000042"),
    ];
    let req = signed_form(&format!("/twilio/recording/status?task={task}"), &params);
    assert_eq!(t.send(req).await.0, StatusCode::NO_CONTENT);
    let job = store::get(&t.state.db, re).await.unwrap().expect("the job");
    assert_eq!(
        job.object_key,
        format!("recordings/2026/11/24/{task}/{re}.wav")
    );
}
