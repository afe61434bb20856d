//! Client participant legs: ring a `client:` identity through the Voice edge, report the leg's progress to its
//! `StatusCallback` (`initiated ringing answered completed`, final `CallStatus` `completed`, `no-answer`, `busy`
//! for a rejected call, `failed`, `canceled`), join the conference on answer and leave it on hang-up.
//!
//! A leg started by a TaskRouter instruction also carries its reservation: it is accepted only when the agent
//! answers (the task becomes `assigned` then), the ringing stops if the reservation ends first (timeout, the
//! caller abandoned), and the caller is bridged in right after the agent joins.

use std::time::Duration;

use serde_json::json;
use tsunagi_twilio::sid::{AccountSid, CallSid, ConferenceSid, ReservationSid, WorkspaceSid};

use super::{add, end, parse_events, remove, st, Participant};
use crate::calls::{hooks, Calls, Cmd};
use crate::error::ApiError;
use crate::params::Params;
use crate::shared::lock;
use crate::taskrouter::model::ResStatus;
use crate::voice::{CallState, PlaceCall};

/// Splits `client:agent_1?TaskSid=WT…&ReservationSid=WR…` into the URI and its custom parameters.
pub fn split_uri(to: &str) -> (String, Vec<(String, String)>) {
    match to.split_once('?') {
        Some((uri, q)) => (
            uri.to_owned(),
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
        None => (to.to_owned(), Vec::new()),
    }
}

/// A leg's status callback target and events.
#[derive(Debug, Clone)]
pub struct LegCallback {
    pub(crate) url: String,
    pub(crate) method: String,
    pub(crate) events: Vec<String>,
}

impl LegCallback {
    /// From `{prefix}StatusCallback`, `…Method`, `…Event` (default `completed`).
    pub fn from_params(p: &Params, prefix: &str) -> Option<Self> {
        let url = p
            .str(&format!("{prefix}StatusCallback"))
            .filter(|u| !u.is_empty())?;
        let events = p
            .str(&format!("{prefix}StatusCallbackEvent"))
            .map(|e| parse_events(&e))
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| vec!["completed".into()]);
        Some(Self {
            url,
            method: p
                .str(&format!("{prefix}StatusCallbackMethod"))
                .unwrap_or_else(|| "POST".into()),
            events,
        })
    }
}

/// Options of a client participant leg (instruction or REST create).
#[derive(Debug, Clone)]
pub struct ClientLeg {
    /// Account.
    pub account: AccountSid,
    /// Conference to join on answer.
    pub conference: ConferenceSid,
    /// `client:id` (custom parameters already split off).
    pub to: String,
    /// Custom parameters.
    pub params: Vec<(String, String)>,
    /// Caller id shown.
    pub from: String,
    /// Ring timeout, ms.
    pub timeout_ms: u64,
    /// The participant as it will join.
    pub participant: Participant,
    /// Leg status callback.
    pub callback: Option<LegCallback>,
    /// Caller to bridge in after the answer (instruction only), with its participant settings.
    pub bridge: Option<(CallSid, Participant)>,
    /// Reservation accepted on answer (instruction only).
    pub reservation: Option<(WorkspaceSid, ReservationSid)>,
}

struct Progress<'a> {
    calls: &'a Calls,
    leg: &'a ClientLeg,
    base: Vec<(String, String)>,
    seq: u32,
}

impl Progress<'_> {
    fn send(&mut self, event: &str, status: &str, extra: &[(String, String)]) {
        let Some(cb) = &self.leg.callback else { return };
        let seq = self.seq;
        self.seq += 1;
        if !cb.events.iter().any(|e| e == event) {
            return;
        }
        let mut p = self.base.clone();
        p.extend(extra.iter().cloned());
        p.push(("CallStatus".into(), status.into()));
        p.push(("CallbackSource".into(), "call-progress-events".into()));
        p.push(("SequenceNumber".into(), seq.to_string()));
        p.push(("Timestamp".into(), self.calls.shared().now().iso8601()));
        let job = hooks::Job {
            account: self.leg.account,
            url: cb.url.clone(),
            method: cb.method.clone(),
            params: p,
            kind: "leg.status_callback",
        };
        // A leg shares its conference's queue: `answered` goes out before the `participant-join` it causes.
        hooks::send_webhook(self.calls, self.leg.conference.as_str(), job);
    }
}

fn base_params(leg: &ClientLeg, sid: CallSid) -> Vec<(String, String)> {
    vec![
        ("AccountSid".into(), leg.account.to_string()),
        ("ApiVersion".into(), "2010-04-01".into()),
        ("CallSid".into(), sid.to_string()),
        ("Direction".into(), "outbound-api".into()),
        ("From".into(), leg.from.clone()),
        ("To".into(), leg.to.clone()),
        ("Called".into(), leg.to.clone()),
        ("Caller".into(), leg.from.clone()),
    ]
}

/// Rings a client leg and joins it to its conference on answer; returns the leg's CallSid (minted by the voice
/// edge, which also becomes the participant's CallSid). A client that is not registered gives a `failed` leg.
pub fn ring_client(calls: &Calls, mut leg: ClientLeg) -> Result<CallSid, ApiError> {
    let placed = calls.voice().place_call(PlaceCall {
        to: leg.to.clone(),
        from: leg.from.clone(),
        params: leg.params.clone(),
        // The conference mixer feeds the leg once it joined.
        tone_hz: None,
    });
    let sid = match &placed {
        Ok(v) => v.sid,
        Err(_) => calls.mint_sid(),
    };
    leg.participant.call_sid = sid;
    let mut progress = Progress {
        calls,
        base: base_params(&leg, sid),
        leg: &leg,
        seq: 0,
    };
    progress.send("initiated", "initiated", &[]);
    if placed.is_err() {
        calls.log(
            "conference.leg_failed",
            json!({ "conference": leg.conference, "leg": sid, "reason": "client not registered" }),
        );
        progress.send(
            "completed",
            "failed",
            &[("CallDuration".into(), "0".into())],
        );
        end_if_empty(calls, &leg.conference);
        return Ok(sid);
    }
    progress.send("ringing", "ringing", &[]);
    let seq = progress.seq;
    calls.log(
        "conference.leg_ringing",
        json!({ "conference": leg.conference, "leg": sid }),
    );
    let me = calls.clone();
    tokio::spawn(async move { watch(me, sid, leg, seq).await });
    Ok(sid)
}

fn end_if_empty(calls: &Calls, cf: &ConferenceSid) {
    let empty = st(calls)
        .confs
        .get(cf)
        .is_some_and(|c| c.view.participants.is_empty());
    if empty {
        end(calls, cf, "last-participant-left", None);
    }
}

/// The reservation the leg rings for, if any, is still live: pending, or already accepted over REST by the
/// agent's own client (which accepts the reservation, then answers the leg).
fn reservation_live(calls: &Calls, r: &Option<(WorkspaceSid, ReservationSid)>) -> bool {
    r.as_ref().is_none_or(|(_, r)| {
        lock(&calls.shared().tr)
            .reservations
            .get(r)
            .is_some_and(|r| matches!(r.status, ResStatus::Pending | ResStatus::Accepted))
    })
}

fn accept(calls: &Calls, r: &Option<(WorkspaceSid, ReservationSid)>) -> Result<(), ApiError> {
    let Some((ws, r)) = r else { return Ok(()) };
    let accepted = lock(&calls.shared().tr)
        .reservations
        .get(r)
        .is_some_and(|r| r.status == ResStatus::Accepted);
    if accepted {
        return Ok(()); // the agent's client accepted it over REST before answering
    }
    let mut p = Params::default();
    p.0.insert("ReservationStatus".into(), "accepted".into());
    calls
        .shared()
        .with_tr(|tr, now| tr.update_reservation(ws, r.as_str(), None, &p, None, now))
        .map(|_| ())
}

async fn watch(calls: Calls, sid: CallSid, leg: ClientLeg, seq: u32) {
    let voice = calls.voice().clone();
    let ring_until = calls.shared().deadline(leg.timeout_ms);
    let mut answered_at: Option<tokio::time::Instant> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(crate::calls::driver::LEG_POLL_MS));
    let caller_live = || {
        leg.bridge
            .as_ref()
            .is_none_or(|(c, _)| calls.view(c).is_some_and(|v| v.status.is_live()))
    };
    let mut progress = Progress {
        calls: &calls,
        base: base_params(&leg, sid),
        leg: &leg,
        seq,
    };
    let final_status: &str = loop {
        tick.tick().await;
        let state = voice.call(&sid).map(|v| v.state);
        match (state, answered_at) {
            (Some(CallState::Ringing), _) if calls.shared().passed(&ring_until) => {
                let _ = voice.hangup(&sid);
                break "no-answer";
            }
            (Some(CallState::Ringing), _)
                if !caller_live() || !reservation_live(&calls, &leg.reservation) =>
            {
                let _ = voice.hangup(&sid);
                break "canceled";
            }
            (Some(CallState::Ringing), _) => {}
            (Some(CallState::InProgress), None) => {
                answered_at = Some(tokio::time::Instant::now());
                progress.send("answered", "in-progress", &[]);
                let joined = accept(&calls, &leg.reservation)
                    .and_then(|()| add(&calls, &leg.conference, leg.participant.clone()));
                if let Err(e) = joined {
                    calls.log(
                        "conference.join_failed",
                        json!({ "leg": sid, "code": e.code, "message": e.message }),
                    );
                    let _ = voice.hangup(&sid);
                    break "completed";
                }
                if let Some((caller, p)) = &leg.bridge {
                    bridge_caller(&calls, &leg.conference, *caller, p.clone());
                }
            }
            (Some(CallState::InProgress), Some(_)) => {}
            (Some(CallState::Rejected | CallState::Busy), None) => break "busy",
            (Some(CallState::NoAnswer), None) => break "no-answer",
            (Some(CallState::Canceled), None) => break "canceled",
            (Some(CallState::Failed) | None, None) => break "failed",
            (Some(_) | None, _) => break "completed",
        }
    };
    let duration = answered_at.map_or(0, |a| a.elapsed().as_secs());
    if answered_at.is_some() {
        remove(
            &calls,
            &leg.conference,
            &sid,
            "participant_hung_up",
            "completed",
        );
    } else {
        // Never joined: a conference nobody is in does not outlive its failed first leg.
        end_if_empty(&calls, &leg.conference);
    }
    calls.log(
        "conference.leg_ended",
        json!({ "leg": sid, "status": final_status }),
    );
    progress.send(
        "completed",
        final_status,
        &[("CallDuration".into(), duration.to_string())],
    );
}

/// Moves a queued caller into the conference (the instruction's bridge).
fn bridge_caller(calls: &Calls, cf: &ConferenceSid, caller: CallSid, p: Participant) {
    let live = calls
        .view(&caller)
        .is_some_and(|v| v.status.is_live() && v.queued_task.is_some());
    if !live {
        calls.log(
            "conference.bridge_skipped",
            json!({ "conference": cf, "call": caller }),
        );
        return;
    }
    if let Err(e) = add(calls, cf, p) {
        calls.log(
            "conference.bridge_failed",
            json!({ "call": caller, "code": e.code }),
        );
        return;
    }
    calls.send(&caller, Cmd::Bridged(*cf));
}
