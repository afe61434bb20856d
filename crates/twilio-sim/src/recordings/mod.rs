//! Recordings (backend-spec §6, issue #5): conference recordings (`record="record-from-start"`, the instruction's
//! `ConferenceRecord`), call recordings (`POST Calls/{CA}/Recordings.json`), their status callbacks and the
//! `Recordings` REST API ([`rest`]).
//!
//! Audio comes from the conference mixer ([`crate::conference::mixer`]), one stereo frame per 20 ms tick:
//!
//! - **conference**: starts when the conference is in progress with two participants (Twilio: "when the first two
//!   participants are bridged"); channel 1 = the first participant to join, channel 2 = all other audio the
//!   conference hears. A participant on hold or muted is not in the mix, so hold audio is never recorded, and a
//!   coach's whisper is not either (only the coached agent hears it). Ends with the conference.
//! - **call**: channel 1 = what the call says (`inbound`), channel 2 = what it hears (`outbound`); `RecordingTrack`
//!   silences the other channel; ends with the call or `Status=stopped`.
//!
//! Stored as 8 kHz 16-bit PCM, at most [`MAX_SECONDS`] per recording and [`MAX_RECORDINGS`] recordings (the oldest
//! ended ones go first). A download is mono (the two channels summed) unless `RequestedChannels=2` ([`wav`]).
//! Status callbacks (`in-progress`, `completed`, `absent` for a recording without a single frame) are signed
//! webhooks with Twilio's parameters, queued per recording so they arrive in order.

pub mod rest;
pub mod wav;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use tsunagi_twilio::sid::{AccountSid, CallSid, ConferenceSid, RecordingSid};

use crate::calls::{hooks, Calls};
use crate::clock::UnixMillis;
use crate::conference::LegCallback;
use crate::shared::lock;

/// Longest recording kept, seconds (the stand-in's bound; Twilio's is 24 h).
pub const MAX_SECONDS: usize = 600;
/// Recordings kept.
pub const MAX_RECORDINGS: usize = 500;
/// Sample rate.
pub const RATE: u32 = 8_000;

/// Where a recording's audio comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// A conference; channel 1 is this participant (the first to join).
    Conference(ConferenceSid, CallSid),
    /// One call.
    Call(CallSid),
}

/// A recording's status callback and the events it wants (`in-progress`, `completed`, `absent`).
pub type Callback = LegCallback;

/// A recording as the REST API renders it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingView {
    /// `RE…`.
    pub sid: RecordingSid,
    /// Account.
    pub account_sid: AccountSid,
    /// The call (call recordings; the first participant's call for conference recordings, as on Twilio).
    pub call_sid: Option<CallSid>,
    /// The conference (conference recordings).
    pub conference_sid: Option<ConferenceSid>,
    /// `in-progress`, `paused`, `stopped`, `completed`, `absent`.
    pub status: &'static str,
    /// 1 or 2.
    pub channels: u8,
    /// `Conference`, `StartCallRecordingAPI`.
    pub source: &'static str,
    /// `inbound`, `outbound`, `both`.
    pub track: &'static str,
    /// Created, epoch ms.
    pub created_ms: u64,
    /// Last change, epoch ms.
    pub updated_ms: u64,
    /// Whole seconds recorded.
    pub duration_s: u64,
}

pub(crate) struct Rec {
    pub(crate) view: RecordingView,
    pub(crate) target: Target,
    /// Interleaved stereo frames `[ch1, ch2]`.
    samples: Vec<[i16; 2]>,
    callback: Option<Callback>,
    paused: bool,
}

/// Every recording (deleted ones are removed).
#[derive(Default)]
pub struct Store {
    pub(crate) recs: BTreeMap<RecordingSid, Rec>,
    minted: u64,
}

/// What to record and how (the parts a caller decides).
#[derive(Debug, Clone)]
pub struct Request {
    /// Account.
    pub account: AccountSid,
    /// Source of the audio.
    pub target: Target,
    /// 1 or 2.
    pub channels: u8,
    /// `inbound`, `outbound`, `both`.
    pub track: &'static str,
    /// Status callback.
    pub callback: Option<Callback>,
}

pub(crate) fn st(calls: &Calls) -> std::sync::MutexGuard<'_, Store> {
    lock(&calls.inner.recordings)
}

/// Starts a recording (status `in-progress`); sends its `in-progress` callback if wanted.
pub fn start(calls: &Calls, r: Request) -> RecordingView {
    let now = calls.shared().now().0;
    let mut s = st(calls);
    s.minted += 1;
    let sid = RecordingSid::from_u128(
        (u128::from(calls.shared().config.seed) << 64) | (0x5E00_0000 + u128::from(s.minted)),
    );
    let (call_sid, conference_sid, source) = match r.target {
        Target::Conference(cf, first) => (Some(first), Some(cf), "Conference"),
        Target::Call(ca) => (Some(ca), None, "StartCallRecordingAPI"),
    };
    let view = RecordingView {
        sid,
        account_sid: r.account,
        call_sid,
        conference_sid,
        status: "in-progress",
        channels: r.channels.clamp(1, 2),
        source,
        track: r.track,
        created_ms: now,
        updated_ms: now,
        duration_s: 0,
    };
    s.recs.insert(
        sid,
        Rec {
            view: view.clone(),
            target: r.target,
            samples: Vec::new(),
            callback: r.callback,
            paused: false,
        },
    );
    prune(&mut s);
    let hook = callback_job(calls, s.recs.get(&sid), "in-progress");
    drop(s);
    calls.log(
        "recording.started",
        json!({ "recording": sid, "source": source }),
    );
    if let Some(job) = hook {
        hooks::send_webhook(calls, sid.as_str(), job);
    }
    view
}

fn prune(s: &mut Store) {
    let ended: Vec<RecordingSid> = s
        .recs
        .values()
        .filter(|r| !is_active(r.view.status))
        .map(|r| r.view.sid)
        .collect();
    let over = s.recs.len().saturating_sub(MAX_RECORDINGS);
    for sid in ended.iter().take(over) {
        s.recs.remove(sid);
    }
}

fn is_active(status: &str) -> bool {
    matches!(status, "in-progress" | "paused")
}

/// The active recordings and their targets (the mixer feeds these).
pub(crate) fn active(calls: &Calls) -> Vec<(RecordingSid, Target)> {
    st(calls)
        .recs
        .values()
        .filter(|r| r.view.status == "in-progress" && !r.paused)
        .map(|r| (r.view.sid, r.target))
        .collect()
}

/// Whether the conference already has a recording (active or not).
pub(crate) fn has_conference_recording(calls: &Calls, cf: &ConferenceSid) -> bool {
    st(calls)
        .recs
        .values()
        .any(|r| matches!(r.target, Target::Conference(c, _) if c == *cf))
}

/// Appends one 20 ms stereo frame; a full recording stops taking audio.
pub(crate) fn append(calls: &Calls, sid: &RecordingSid, ch1: &[i16], ch2: &[i16]) {
    let mut s = st(calls);
    let Some(r) = s.recs.get_mut(sid) else { return };
    if r.view.status != "in-progress" || r.paused {
        return;
    }
    let room = (MAX_SECONDS * RATE as usize).saturating_sub(r.samples.len());
    let (in_on, out_on) = match r.view.track {
        "inbound" => (true, false),
        "outbound" => (false, true),
        _ => (true, true),
    };
    r.samples.extend(
        ch1.iter()
            .zip(ch2)
            .take(room)
            .map(|(&a, &b)| [if in_on { a } else { 0 }, if out_on { b } else { 0 }]),
    );
}

/// Ends a recording: `completed` (or `absent` with no audio), duration set, callback sent. Idempotent.
pub fn finish(calls: &Calls, sid: &RecordingSid) {
    let now = calls.shared().now().0;
    let mut s = st(calls);
    let Some(r) = s.recs.get_mut(sid) else { return };
    if !is_active(r.view.status) {
        return;
    }
    let frames = r.samples.len() as u64;
    r.view.status = if frames == 0 { "absent" } else { "completed" };
    r.view.duration_s = frames.div_ceil(u64::from(RATE));
    r.view.updated_ms = now;
    let status = r.view.status;
    let hook = callback_job(calls, Some(&*r), status);
    drop(s);
    calls.log(
        "recording.ended",
        json!({ "recording": sid, "status": status, "frames": frames }),
    );
    if let Some(job) = hook {
        hooks::send_webhook(calls, sid.as_str(), job);
    }
}

/// Ends the recordings of a conference that ended.
pub fn finish_conference(calls: &Calls, cf: &ConferenceSid) {
    let sids: Vec<RecordingSid> = st(calls)
        .recs
        .values()
        .filter(|r| matches!(r.target, Target::Conference(c, _) if c == *cf))
        .map(|r| r.view.sid)
        .collect();
    for sid in sids {
        finish(calls, &sid);
    }
}

/// `Status=paused|in-progress|stopped` on a live recording.
pub fn set_status(
    calls: &Calls,
    sid: &RecordingSid,
    status: &str,
) -> Result<RecordingView, crate::ApiError> {
    {
        let mut s = st(calls);
        let r = s
            .recs
            .get_mut(sid)
            .ok_or_else(|| crate::ApiError::not_found(sid))?;
        if !is_active(r.view.status) {
            return Err(crate::ApiError::new(
                400,
                21220,
                format!("Recording {sid} is not in progress"),
            ));
        }
        match status {
            "paused" => r.paused = true,
            "in-progress" => r.paused = false,
            "stopped" => {}
            other => {
                return Err(crate::ApiError::invalid(format!(
                    "Status {other:?} must be paused, in-progress or stopped"
                )))
            }
        }
        r.view.status = if r.paused { "paused" } else { "in-progress" };
        r.view.updated_ms = calls.shared().now().0;
    }
    if status == "stopped" {
        finish(calls, sid);
    }
    view(calls, sid).ok_or_else(|| crate::ApiError::not_found(sid))
}

/// One recording.
pub fn view(calls: &Calls, sid: &RecordingSid) -> Option<RecordingView> {
    st(calls).recs.get(sid).map(|r| r.view.clone())
}

/// Every recording, newest first.
pub fn views(calls: &Calls) -> Vec<RecordingView> {
    st(calls)
        .recs
        .values()
        .rev()
        .map(|r| r.view.clone())
        .collect()
}

/// The recording's audio as a WAV file with `channels` channels (1 = the two summed), once it has ended.
pub fn media(calls: &Calls, sid: &RecordingSid, channels: u8) -> Option<Vec<u8>> {
    let s = st(calls);
    let r = s.recs.get(sid).filter(|r| !is_active(r.view.status))?;
    let channels = if r.view.channels == 2 { channels } else { 1 };
    Some(wav::encode(&r.samples, channels))
}

/// Deletes a recording; `false` if there was none.
pub fn delete(calls: &Calls, sid: &RecordingSid) -> bool {
    let removed = st(calls).recs.remove(sid).is_some();
    if removed {
        calls.log("recording.deleted", json!({ "recording": sid }));
    }
    removed
}

/// `…/Recordings/RE…` without extension, on this stand-in's base URL (Twilio's `RecordingUrl`).
pub fn media_url(calls: &Calls, v: &RecordingView) -> String {
    format!(
        "{}/2010-04-01/Accounts/{}/Recordings/{}",
        calls.shared().base_url(),
        v.account_sid,
        v.sid
    )
}

fn callback_job(calls: &Calls, r: Option<&Rec>, status: &str) -> Option<hooks::Job> {
    let r = r?;
    let cb = r.callback.as_ref()?;
    if !cb.events.iter().any(|e| e == status) {
        return None;
    }
    let v = &r.view;
    let mut p: Vec<(String, String)> = vec![
        ("AccountSid".into(), v.account_sid.to_string()),
        ("RecordingSid".into(), v.sid.to_string()),
        ("RecordingUrl".into(), media_url(calls, v)),
        ("RecordingStatus".into(), status.into()),
        ("RecordingDuration".into(), v.duration_s.to_string()),
        ("RecordingChannels".into(), v.channels.to_string()),
        (
            "RecordingStartTime".into(),
            crate::calls::rest::rfc2822(UnixMillis(v.created_ms)),
        ),
        ("RecordingSource".into(), v.source.into()),
    ];
    match r.target {
        Target::Conference(cf, _) => p.push(("ConferenceSid".into(), cf.to_string())),
        Target::Call(ca) => {
            p.push(("CallSid".into(), ca.to_string()));
            p.push(("RecordingTrack".into(), v.track.into()));
            p.push(("ErrorCode".into(), "0".into()));
        }
    }
    Some(hooks::Job {
        account: v.account_sid,
        url: cb.url.clone(),
        method: cb.method.clone(),
        params: p,
        kind: "recording.status_callback",
    })
}
