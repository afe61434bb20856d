//! Conferences and participants: membership, status callbacks, and the TaskRouter `conference` instruction.
//!
//! A conference (`CF…`, FriendlyName unique among active ones per account) is `init` until a participant with
//! `startConferenceOnEnter` joins, `in-progress` then, `completed` when ended by the API, by a participant with
//! `endConferenceOnExit` leaving, or when the last participant leaves. Each change emits the matching status
//! callback (`conference-start`, `participant-join`, `participant-leave`, `participant-hold`/`-unhold`,
//! `participant-mute`/`-unmute`, `participant-modify`, `conference-end`) to the callback of the participant that
//! created the conference (only the first participant's values count, as on Twilio), filtered by its events
//! (`start end join leave mute hold modify`, comma- or space-separated).
//!
//! Participants are PSTN calls of [`crate::calls`] (the caller's driver waits in the conference) or Voice-edge
//! client legs (`client:` URIs ring the registered Device through [`crate::voice::Voice`]; their state is polled).
//! Audio: [`mixer`] (each participant hears the others; hold, mute, coach) and `record-from-start` recordings
//! ([`crate::recordings`]; [`set_record`] from TwiML `record`, the instruction's or a REST create's
//! `ConferenceRecord`).
//!
//! The instruction ([`start_instruction`], spec §4.5 / §9): the worker leg rings `to` (default: the worker's
//! `contact_uri`; `client:id?TaskSid=…&ReservationSid=…` becomes custom parameters) with `status_callback`
//! events `initiated ringing answered completed`. On answer: `conference-start`, `participant-join` of the worker
//! (label `worker`), then of the caller (label `customer`, moved out of its queue); the two hear each other
//! through the mixer. When the conference ends its reservation and task go to `wrapping`. If the worker leg fails
//! (`no-answer`, `busy` for a rejected call, `failed`) the caller stays queued and the conference never starts.

pub mod instruction;
pub mod legs;
pub mod mixer;
pub mod rest;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;
use tsunagi_twilio::sid::{AccountSid, CallSid, ConferenceSid, ReservationSid, TaskSid};

use crate::calls::{hooks, Calls, Cmd, QueuedTask};
use crate::error::ApiError;
use crate::params::Params;
use crate::shared::lock;

pub use instruction::{start_instruction, Instruction};
pub use legs::{ring_client, split_uri, ClientLeg, LegCallback};

/// Ended conferences kept for inspection.
pub const MAX_ENDED: usize = 1_000;
/// Participants per conference.
pub const MAX_PARTICIPANTS: usize = 250;

/// Conference status callback target.
#[derive(Debug, Clone, Serialize)]
pub struct Callback {
    /// URL.
    pub url: String,
    /// Method.
    pub method: String,
    /// Short event names (`start`, `join`, …).
    pub events: Vec<String>,
}

/// A participant.
#[derive(Debug, Clone, Serialize)]
pub struct Participant {
    /// The participant's call.
    pub call_sid: CallSid,
    /// `pstn` (a stand-in call) or `client` (a Voice-edge leg).
    pub kind: &'static str,
    /// Label.
    pub label: Option<String>,
    /// Muted.
    pub muted: bool,
    /// On hold.
    pub hold: bool,
    /// Ends the conference when leaving.
    pub end_conference_on_exit: bool,
    /// Starts the conference when joining.
    pub start_conference_on_enter: bool,
    /// Coaching.
    pub coaching: bool,
    /// Coached call.
    pub call_sid_to_coach: Option<CallSid>,
    /// `connected`.
    pub status: &'static str,
}

/// A conference as REST and control show it.
#[derive(Debug, Clone, Serialize)]
pub struct ConferenceView {
    /// `CF…`.
    pub sid: ConferenceSid,
    /// Account.
    pub account_sid: AccountSid,
    /// FriendlyName.
    pub friendly_name: String,
    /// `init`, `in-progress`, `completed`.
    pub status: &'static str,
    /// Region.
    pub region: String,
    /// Why it ended.
    pub reason_conference_ended: Option<&'static str>,
    /// Who ended it.
    pub call_sid_ending_conference: Option<CallSid>,
    /// Created, epoch ms.
    pub created_ms: u64,
    /// Updated, epoch ms.
    pub updated_ms: u64,
    /// Active participants.
    pub participants: Vec<Participant>,
    /// The TaskRouter task it serves.
    pub task_sid: Option<TaskSid>,
}

pub(crate) struct Conf {
    view: ConferenceView,
    callback: Option<Callback>,
    seq: u64,
    task: Option<(QueuedTask, ReservationSid)>,
    /// `record-from-start`, with the recording status callback.
    pub(crate) record: Option<Option<crate::recordings::Callback>>,
}

impl Callback {
    /// From `ConferenceStatusCallback`, `…Method`, `…Event` (default `start end`), as the instruction and the
    /// Participants create take them.
    pub fn from_params(p: &Params) -> Option<Self> {
        let c = LegCallback::from_params(p, "Conference")?;
        Some(Self {
            url: c.url,
            method: c.method,
            events: if p.has("ConferenceStatusCallbackEvent") {
                c.events
            } else {
                vec!["start".into(), "end".into()]
            },
        })
    }
}

/// All conferences.
#[derive(Default)]
pub struct State {
    pub(crate) confs: BTreeMap<ConferenceSid, Conf>,
    /// Simulated phones added by REST as coaches: the call they coach, applied when they join.
    pub(crate) pending_coach: std::collections::HashMap<CallSid, CallSid>,
    minted: u64,
}

pub(crate) fn st(calls: &Calls) -> std::sync::MutexGuard<'_, State> {
    lock(&calls.inner.conf)
}

/// Splits `start, end join` into `["start","end","join"]`.
pub fn parse_events(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect()
}

fn short(event: &str) -> &str {
    match event {
        "conference-start" => "start",
        "conference-end" => "end",
        "participant-join" => "join",
        "participant-leave" => "leave",
        "participant-mute" | "participant-unmute" => "mute",
        "participant-hold" | "participant-unhold" => "hold",
        "participant-modify" => "modify",
        other => other,
    }
}

/// Every conference, oldest first.
pub fn views(calls: &Calls) -> Vec<ConferenceView> {
    st(calls).confs.values().map(|c| c.view.clone()).collect()
}

/// One conference by SID or, among active ones, FriendlyName.
pub fn find(calls: &Calls, account: &AccountSid, key: &str) -> Option<ConferenceView> {
    let s = st(calls);
    lookup(&s, account, key)
        .and_then(|sid| s.confs.get(&sid))
        .map(|c| c.view.clone())
}

fn lookup(s: &State, account: &AccountSid, key: &str) -> Option<ConferenceSid> {
    if let Ok(sid) = key.parse::<ConferenceSid>() {
        return s
            .confs
            .get(&sid)
            .filter(|c| c.view.account_sid == *account)
            .map(|c| c.view.sid);
    }
    s.confs
        .values()
        .find(|c| {
            c.view.account_sid == *account
                && c.view.friendly_name == key
                && c.view.status != "completed"
        })
        .map(|c| c.view.sid)
}

/// Finds the active conference named `name` or creates it (status `init`).
pub fn find_or_create(
    calls: &Calls,
    account: AccountSid,
    name: &str,
    region: Option<String>,
    callback: Option<Callback>,
) -> Result<ConferenceSid, ApiError> {
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::invalid(
            "conference name must be 1-128 characters",
        ));
    }
    let now = calls.shared().now().0;
    let mut s = st(calls);
    if let Some(sid) = lookup(&s, &account, name) {
        return Ok(sid);
    }
    s.minted += 1;
    let sid = ConferenceSid::from_u128(
        (u128::from(calls.shared().config.seed) << 64) | (0x5C00_0000 + u128::from(s.minted)),
    );
    s.confs.insert(
        sid,
        Conf {
            view: ConferenceView {
                sid,
                account_sid: account,
                friendly_name: name.to_owned(),
                status: "init",
                region: region.unwrap_or_else(|| "us1".into()),
                reason_conference_ended: None,
                call_sid_ending_conference: None,
                created_ms: now,
                updated_ms: now,
                participants: Vec::new(),
                task_sid: None,
            },
            callback,
            seq: 0,
            task: None,
            record: None,
        },
    );
    let ended: Vec<ConferenceSid> = s
        .confs
        .values()
        .filter(|c| c.view.status == "completed")
        .map(|c| c.view.sid)
        .collect();
    for e in ended.iter().take(ended.len().saturating_sub(MAX_ENDED)) {
        s.confs.remove(e);
    }
    drop(s);
    calls.log("conference.created", json!({ "conference": sid }));
    Ok(sid)
}

/// Queues the status callback for `event` (if the conference's callback wants it).
fn emit(
    calls: &Calls,
    s: &mut State,
    cf: &ConferenceSid,
    event: &str,
    extra: Vec<(String, String)>,
) {
    let Some(c) = s.confs.get_mut(cf) else { return };
    c.seq += 1;
    calls.log(
        "conference.event",
        json!({ "conference": cf, "event": event }),
    );
    let Some(cb) = c
        .callback
        .clone()
        .filter(|cb| cb.events.iter().any(|e| e == short(event)))
    else {
        return;
    };
    let mut p: Vec<(String, String)> = vec![
        ("AccountSid".into(), c.view.account_sid.to_string()),
        ("ConferenceSid".into(), cf.to_string()),
        ("FriendlyName".into(), c.view.friendly_name.clone()),
        ("StatusCallbackEvent".into(), event.into()),
        ("SequenceNumber".into(), c.seq.to_string()),
        ("Timestamp".into(), calls.shared().now().iso8601()),
    ];
    p.extend(extra);
    let job = hooks::Job {
        account: c.view.account_sid,
        url: cb.url,
        method: cb.method,
        params: p,
        kind: "conference.status_callback",
    };
    hooks::send_webhook(calls, cf.as_str(), job);
}

fn participant_params(p: &Participant) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("CallSid".into(), p.call_sid.to_string()),
        ("Muted".into(), p.muted.to_string()),
        ("Hold".into(), p.hold.to_string()),
        ("Coaching".into(), p.coaching.to_string()),
        (
            "EndConferenceOnExit".into(),
            p.end_conference_on_exit.to_string(),
        ),
        (
            "StartConferenceOnEnter".into(),
            p.start_conference_on_enter.to_string(),
        ),
    ];
    if let Some(l) = &p.label {
        v.push(("ParticipantLabel".into(), l.clone()));
    }
    v
}

/// Adds a connected participant: `conference-start` first if it starts the conference, then `participant-join`.
pub fn add(calls: &Calls, cf: &ConferenceSid, p: Participant) -> Result<(), ApiError> {
    let mut s = st(calls);
    let now = calls.shared().now().0;
    let c = s.confs.get_mut(cf).ok_or_else(|| ApiError::not_found(cf))?;
    if c.view.status == "completed" {
        return Err(ApiError::new(
            400,
            16003,
            format!("Conference {cf} is already completed"),
        ));
    }
    if c.view.participants.len() >= MAX_PARTICIPANTS {
        return Err(ApiError::new(400, 16004, "Conference is full"));
    }
    let start = c.view.status == "init" && p.start_conference_on_enter;
    if start {
        c.view.status = "in-progress";
    }
    c.view.updated_ms = now;
    let params = participant_params(&p);
    let (call, kind) = (p.call_sid, p.kind);
    c.view.participants.retain(|x| x.call_sid != p.call_sid);
    c.view.participants.push(p);
    if start {
        emit(calls, &mut s, cf, "conference-start", Vec::new());
    }
    emit(calls, &mut s, cf, "participant-join", params);
    drop(s);
    if kind == "pstn" {
        calls.update(&call, |v| v.conference = Some(*cf));
    }
    Ok(())
}

/// The caller `call` leaves whatever conference it is in (hang-up, redirect).
pub fn leave_call(calls: &Calls, call: &CallSid, reason: &'static str) {
    let cf = {
        let s = st(calls);
        s.confs
            .values()
            .find(|c| {
                c.view.status != "completed"
                    && c.view.participants.iter().any(|p| p.call_sid == *call)
            })
            .map(|c| c.view.sid)
    };
    if let Some(cf) = cf {
        remove(calls, &cf, call, reason, "completed");
    }
}

/// Removes a participant; ends the conference if it had `endConferenceOnExit` or was the last one.
pub fn remove(
    calls: &Calls,
    cf: &ConferenceSid,
    call: &CallSid,
    reason: &'static str,
    call_status: &str,
) {
    let mut s = st(calls);
    let Some(c) = s.confs.get_mut(cf) else { return };
    let Some(pos) = c.view.participants.iter().position(|p| p.call_sid == *call) else {
        return;
    };
    let p = c.view.participants.remove(pos);
    c.view.updated_ms = calls.shared().now().0;
    let empty = c.view.participants.is_empty();
    let mut extra = participant_params(&p);
    extra.push(("ReasonParticipantLeft".into(), reason.into()));
    extra.push(("ParticipantCallStatus".into(), call_status.into()));
    emit(calls, &mut s, cf, "participant-leave", extra);
    drop(s);
    release(calls, &p);
    if p.end_conference_on_exit {
        end(
            calls,
            cf,
            "participant-with-end-conference-on-exit-left",
            Some(*call),
        );
    } else if empty {
        end(calls, cf, "last-participant-left", Some(*call));
    }
}

/// Lets a removed participant go: a PSTN call continues its TwiML, a client leg is hung up.
fn release(calls: &Calls, p: &Participant) {
    if p.kind == "pstn" {
        calls.update(&p.call_sid, |v| v.conference = None);
        calls.send(&p.call_sid, Cmd::ConferenceLeft);
    } else {
        let _ = calls.voice().hangup(&p.call_sid);
    }
}

/// Ends a conference: everyone leaves, `conference-end`, and its task goes to `wrapping`.
pub fn end(calls: &Calls, cf: &ConferenceSid, reason: &'static str, ending: Option<CallSid>) {
    let mut s = st(calls);
    let Some(c) = s.confs.get_mut(cf) else { return };
    if c.view.status == "completed" {
        return;
    }
    let was_started = c.view.status == "in-progress";
    c.view.status = "completed";
    c.view.reason_conference_ended = Some(reason);
    c.view.call_sid_ending_conference = ending;
    c.view.updated_ms = calls.shared().now().0;
    let left: Vec<Participant> = std::mem::take(&mut c.view.participants);
    let task = c.task;
    for p in &left {
        let mut extra = participant_params(p);
        extra.push(("ReasonParticipantLeft".into(), "conference_ended".into()));
        extra.push(("ParticipantCallStatus".into(), "completed".into()));
        emit(calls, &mut s, cf, "participant-leave", extra);
    }
    if was_started || !left.is_empty() {
        let mut extra = vec![("ReasonConferenceEnded".into(), reason.to_owned())];
        if let Some(e) = ending {
            extra.push(("CallSidEndingConference".into(), e.to_string()));
        }
        emit(calls, &mut s, cf, "conference-end", extra);
    }
    drop(s);
    crate::recordings::finish_conference(calls, cf);
    for p in &left {
        release(calls, p);
    }
    // Only a conference that started had its reservation accepted; a failed first leg leaves the task alone.
    if let Some((t, r)) = task.filter(|_| was_started) {
        hooks::wrap_after_conference(calls, t, &r);
    }
}

/// Changes a participant (`Hold`, `Muted`, `EndConferenceOnExit`, `Coaching`, `CallSidToCoach`, `Label`),
/// emitting hold/mute/modify events. `key` is the CallSid or the label.
pub fn update(
    calls: &Calls,
    cf: &ConferenceSid,
    key: &str,
    p: &Params,
) -> Result<Participant, ApiError> {
    let hold = p.bool("Hold")?;
    let muted = p.bool("Muted")?;
    let eoe = p.bool("EndConferenceOnExit")?;
    let coaching = p.bool("Coaching")?;
    let coach = p
        .str("CallSidToCoach")
        .map(|c| {
            c.parse::<CallSid>()
                .map_err(|_| ApiError::invalid("CallSidToCoach is not a CallSid"))
        })
        .transpose()?;
    if coaching == Some(true) && coach.is_none() {
        return Err(ApiError::new(
            400,
            16000,
            "CallSidToCoach is required when Coaching is true",
        ));
    }
    let mut s = st(calls);
    let c = s.confs.get_mut(cf).ok_or_else(|| ApiError::not_found(cf))?;
    let part = position(&c.view.participants, key)
        .and_then(|i| c.view.participants.get_mut(i))
        .ok_or_else(|| ApiError::not_found(format!("Participant {key}")))?;
    let mut events = Vec::new();
    if let Some(h) = hold.filter(|h| *h != part.hold) {
        part.hold = h;
        events.push(if h {
            "participant-hold"
        } else {
            "participant-unhold"
        });
    }
    if let Some(m) = muted.filter(|m| *m != part.muted) {
        part.muted = m;
        events.push(if m {
            "participant-mute"
        } else {
            "participant-unmute"
        });
    }
    let mut modified = false;
    if let Some(e) = eoe {
        modified |= e != part.end_conference_on_exit;
        part.end_conference_on_exit = e;
    }
    if let Some(co) = coaching {
        modified |= co != part.coaching;
        part.coaching = co;
        part.call_sid_to_coach = if co { coach } else { None };
    }
    if let Some(l) = p.str("Label") {
        part.label = Some(l);
    }
    if modified {
        events.push("participant-modify");
    }
    let out = part.clone();
    let params = participant_params(&out);
    for e in events {
        emit(calls, &mut s, cf, e, params.clone());
    }
    Ok(out)
}

fn position(ps: &[Participant], key: &str) -> Option<usize> {
    ps.iter()
        .position(|p| p.call_sid.as_str() == key)
        .or_else(|| ps.iter().position(|p| p.label.as_deref() == Some(key)))
}

/// A participant by CallSid or label.
pub fn participant(calls: &Calls, cf: &ConferenceSid, key: &str) -> Option<Participant> {
    let s = st(calls);
    let c = s.confs.get(cf)?;
    position(&c.view.participants, key).and_then(|i| c.view.participants.get(i).cloned())
}

/// Whether a `record` / `ConferenceRecord` value asks for a recording (`record-from-start`, `true`).
pub fn wants_record(value: Option<&str>) -> bool {
    matches!(value, Some("record-from-start" | "true"))
}

/// Sets `record-from-start` on a conference nobody has joined yet (the first participant's settings count).
pub fn set_record(
    calls: &Calls,
    cf: &ConferenceSid,
    callback: Option<crate::recordings::Callback>,
) {
    let mut s = st(calls);
    if let Some(c) = s.confs.get_mut(cf) {
        if c.record.is_none() && c.view.participants.is_empty() && c.view.status == "init" {
            c.record = Some(callback);
        }
    }
}

/// `<Dial><Conference>`: joins `call` to the named room.
pub fn join_twiml(
    calls: &Calls,
    call: &CallSid,
    c: &tsunagi_twilio::twiml::Conference,
) -> Result<ConferenceSid, ApiError> {
    let view = calls.view(call).ok_or_else(|| ApiError::not_found(call))?;
    let callback = c.status_callback.clone().map(|url| Callback {
        url,
        method: "POST".into(),
        events: if c.status_callback_event.is_empty() {
            vec!["start".into(), "end".into()]
        } else {
            c.status_callback_event
                .iter()
                .flat_map(|e| parse_events(e))
                .collect()
        },
    });
    let cf = find_or_create(calls, view.account_sid, &c.name, c.region.clone(), callback)?;
    let coach = st(calls).pending_coach.remove(call);
    if wants_record(c.record.as_deref()) {
        let cb = c
            .recording_status_callback
            .clone()
            .filter(|u| !u.is_empty())
            .map(|url| LegCallback {
                url,
                method: "POST".into(),
                events: vec!["completed".into()],
            });
        set_record(calls, &cf, cb);
    }
    add(
        calls,
        &cf,
        Participant {
            call_sid: *call,
            kind: "pstn",
            label: c.participant_label.clone(),
            muted: c.muted.unwrap_or(false),
            hold: false,
            end_conference_on_exit: c.end_conference_on_exit.unwrap_or(false),
            start_conference_on_enter: c.start_conference_on_enter.unwrap_or(true),
            coaching: coach.is_some(),
            call_sid_to_coach: coach,
            status: "connected",
        },
    )?;
    Ok(cf)
}
