//! The recording archive (spec §6): on `RecordingStatus=completed` a job keyed by RecordingSid is created
//! ([`store`]), and [`run_due`] moves each job through download (`.wav?RequestedChannels=2`) → object store
//! (`recordings/{yyyy}/{mm}/{dd}/{WT or ob-…}/{RE}.wav`) → verify (size and SHA-256 read back) → database row →
//! `DELETE` at Twilio. The state is persisted after each step, so a retried callback changes nothing and a
//! restart resumes where the last instance stopped: an object written again has the same key and content, a
//! DELETE repeated after a crash meets 404 and counts as done.
//!
//! Callbacks that never arrive are caught by [`reconcile`], which feeds the same jobs.
//!
//! The object store is a local directory by default and any S3-compatible bucket by configuration
//! (`object_store`); it is opened on first use.

pub mod reconcile;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use sha2::{Digest as _, Sha256};
use tokio::sync::{Notify, OnceCell};

use crate::config::{Config, StoreKind};
use crate::db::now_unix;
use crate::state::AppState;
use crate::twilio_rest::RestError;
pub use store::{Job, State};

/// A job is leased for this long while one worker handles it.
pub const LEASE_SECS: i64 = 300;
/// After this many failed attempts a job is given up.
const MAX_ATTEMPTS: i64 = 20;

/// Why an archive step failed.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Twilio (or the stand-in) failed.
    #[error("twilio: {0}")]
    Rest(#[from] RestError),
    /// The object store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// The database failed.
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// The object read back differs from what was downloaded.
    #[error("verification failed: {0}")]
    Verify(String),
    /// The store is misconfigured.
    #[error("configuration: {0}")]
    Config(String),
}

/// The archive: its object store (opened lazily) and the worker's wake-up.
#[derive(Debug, Default)]
pub struct Archive {
    store: OnceCell<Arc<dyn ObjectStore>>,
    wake: Notify,
}

impl Archive {
    /// The object store, opened on first use.
    pub async fn store(&self, config: &Config) -> Result<Arc<dyn ObjectStore>, ArchiveError> {
        self.store
            .get_or_try_init(|| async { open_store(config) })
            .await
            .cloned()
    }

    /// Wakes the worker (a new job).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

fn open_store(config: &Config) -> Result<Arc<dyn ObjectStore>, ArchiveError> {
    let r = &config.recordings;
    match r.store {
        StoreKind::Local => {
            let dir = r
                .dir
                .clone()
                .unwrap_or_else(|| config.database.data_dir.join("recordings"));
            std::fs::create_dir_all(&dir)
                .map_err(|e| ArchiveError::Config(format!("{}: {e}", dir.display())))?;
            Ok(Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(&dir)?,
            ))
        }
        StoreKind::S3 => open_s3(config),
    }
}

#[cfg(feature = "s3")]
fn open_s3(config: &Config) -> Result<Arc<dyn ObjectStore>, ArchiveError> {
    let r = &config.recordings;
    let bucket = r
        .bucket
        .as_deref()
        .ok_or_else(|| ArchiveError::Config("recordings.bucket is required for s3".into()))?;
    let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(region) = &r.region {
        b = b.with_region(region);
    }
    if let Some(endpoint) = r.endpoint.as_deref().filter(|e| !e.is_empty()) {
        b = b
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(not(feature = "s3"))]
fn open_s3(_: &Config) -> Result<Arc<dyn ObjectStore>, ArchiveError> {
    Err(ArchiveError::Config(
        "recordings.store = \"s3\" needs tsunagi-server built with --features s3".into(),
    ))
}

/// `recordings/{yyyy}/{mm}/{dd}/{owner}/{RE}.wav` for a recording made at `at` (Unix s, UTC).
pub fn object_key(at: i64, owner: &str, recording_sid: &str) -> String {
    let day = chrono::DateTime::from_timestamp(at, 0)
        .unwrap_or_default()
        .format("%Y/%m/%d");
    format!("recordings/{day}/{owner}/{recording_sid}.wav")
}

/// A completed recording's callback: the job exists once, whatever the retries.
#[derive(Debug, Clone, Copy)]
pub struct Completed<'a> {
    /// `RE…`.
    pub recording_sid: &'a str,
    /// `WT…` or `ob-…`.
    pub owner: &'a str,
    /// Who may fetch it.
    pub agent_id: Option<&'a str>,
    /// `CF…`.
    pub conference_sid: Option<&'a str>,
    /// `RecordingDuration`.
    pub duration_secs: Option<i64>,
    /// `RecordingChannels`.
    pub channels: Option<i64>,
    /// When the recording was made (Unix s): the day its object is filed under, however late the job is created.
    pub at: i64,
}

/// Creates the job for a completed recording and wakes the worker.
pub async fn completed(state: &AppState, c: &Completed<'_>) -> Result<(), sqlx::Error> {
    let key = object_key(c.at, c.owner, c.recording_sid);
    let job = store::NewJob {
        recording_sid: c.recording_sid,
        owner: c.owner,
        agent_id: c.agent_id,
        conference_sid: c.conference_sid,
        object_key: &key,
        duration_secs: c.duration_secs,
        channels: c.channels,
    };
    if store::create(&state.db, &job).await? {
        tracing::info!(
            recording = c.recording_sid,
            owner = c.owner,
            "recording archive job created"
        );
        state.archive.wake();
    }
    Ok(())
}

/// Runs every job due at `now` once; returns how many reached `done`.
pub async fn run_due(state: &AppState, now: i64) -> Result<usize, sqlx::Error> {
    let mut done = 0;
    for sid in store::due(&state.db, now, 16).await? {
        let Some(job) = store::claim(&state.db, &sid, now, now + LEASE_SECS).await? else {
            continue;
        };
        match advance(state, &job).await {
            Ok(State::Done) => done += 1,
            Ok(_) => {}
            Err(e) => {
                let attempts = job.attempts + 1;
                tracing::warn!(recording = %sid, attempts, error = %e, "recording archive step failed");
                if attempts >= MAX_ATTEMPTS {
                    store::finish(&state.db, &sid, State::Failed, Some(&e.to_string())).await?;
                } else {
                    let backoff = (5_i64 << attempts.min(10)).min(3600);
                    store::retry_later(&state.db, &sid, now + backoff, &e.to_string()).await?;
                }
            }
        }
    }
    Ok(done)
}

/// Takes `job` as far as it goes.
async fn advance(state: &AppState, job: &Job) -> Result<State, ArchiveError> {
    if job.state == State::Pending {
        match archive(state, job).await {
            Err(ArchiveError::Rest(e)) if e.http_status() == Some(404) => {
                tracing::warn!(recording = %job.recording_sid, "recording no longer exists at Twilio");
                store::finish(
                    &state.db,
                    &job.recording_sid,
                    State::Failed,
                    Some("not found at Twilio"),
                )
                .await?;
                return Ok(State::Failed);
            }
            other => other?,
        }
    }
    match state.rest.delete_recording(&job.recording_sid).await {
        Ok(()) => {}
        Err(e) if e.http_status() == Some(404) => {}
        Err(e) => return Err(e.into()),
    }
    store::finish(&state.db, &job.recording_sid, State::Done, None).await?;
    tracing::info!(recording = %job.recording_sid, "recording archived and deleted at Twilio");
    Ok(State::Done)
}

/// The first half of a job: download → store → read back and verify → row (`stored`). [`run_due`] does this
/// and the DELETE; calling it alone leaves the job `stored`, as a crash before the DELETE would.
pub async fn archive(state: &AppState, job: &Job) -> Result<(), ArchiveError> {
    let audio = state
        .rest
        .recording_wav(&job.recording_sid, state.config.recordings.max_bytes)
        .await?;
    let sha = hex(&Sha256::digest(&audio));
    let objects = state.archive.store(&state.config).await?;
    let path = ObjectPath::from(job.object_key.as_str());
    objects.put(&path, PutPayload::from(audio.clone())).await?;
    let back = objects.get(&path).await?.bytes().await?;
    if back.len() != audio.len() || hex(&Sha256::digest(&back)) != sha {
        return Err(ArchiveError::Verify(format!(
            "{} bytes read back, {} written",
            back.len(),
            audio.len()
        )));
    }
    let size = i64::try_from(audio.len()).unwrap_or(i64::MAX);
    store::mark_stored(&state.db, &job.recording_sid, size, &sha).await?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads an archived recording's audio.
pub async fn read(state: &AppState, job: &Job) -> Result<axum::body::Bytes, ArchiveError> {
    let objects = state.archive.store(&state.config).await?;
    Ok(objects
        .get(&ObjectPath::from(job.object_key.as_str()))
        .await?
        .bytes()
        .await?)
}

/// The worker: runs due jobs when woken by a new job, and every 10 s for retries; stops with the instance.
pub fn spawn_worker(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let mut stopping = state.stopping();
        loop {
            if let Err(e) = run_due(&state, now_unix()).await {
                tracing::warn!(error = %e, "recording archive run failed");
            }
            tokio::select! {
                _ = state.archive.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(10)) => {}
                _ = stopping.changed() => return,
            }
        }
    });
}
