//! `<Dial>`: a Voice-edge client leg (rung with the caller's tone, bridged until either side hangs up), a
//! simulated phone number (`answer`, `busy`, `no-answer`, `failed` from `/_sim/calls/numbers`) or a conference
//! room; then the `action` URL with `DialCallStatus`, `DialCallSid`, `DialCallDuration`.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use tsunagi_twilio::sid::CallSid;
use tsunagi_twilio::twiml::{Dial, DialNoun, HttpMethod};

use super::{Driver, Flow, Source, Wake, DIAL_TIMEOUT_S, LEG_POLL_MS, MAX_CALL_MS};
use crate::calls::twiml;
use crate::calls::{Answer, CallStatus, RING_MS};
use crate::voice::{CallState, PlaceCall};

pub(super) enum DialEnd {
    CallerEnded(CallStatus),
    Goto(Source),
    Done(&'static str, Option<CallSid>),
}

impl Driver {
    pub(super) async fn dial(&mut self, d: Dial) -> Flow {
        let started = Instant::now();
        let timeout_ms = u64::from(d.timeout.unwrap_or(DIAL_TIMEOUT_S).clamp(1, 600)) * 1_000;
        let limit_ms = d.time_limit.map_or(MAX_CALL_MS, |t| u64::from(t) * 1_000);
        let outcome = match d.nouns.first().cloned() {
            Some(DialNoun::Client(c)) => {
                let from = d.caller_id.clone().unwrap_or_else(|| {
                    self.calls
                        .view(&self.sid)
                        .map(|v| v.from)
                        .unwrap_or_default()
                });
                let child = c.status_callback.as_deref().map(|u| ChildLeg {
                    url: twiml::resolve(self.doc_url.as_deref(), u),
                    events: if c.status_callback_event.is_empty() {
                        vec!["completed".into()]
                    } else {
                        c.status_callback_event
                            .iter()
                            .flat_map(|e| crate::conference::parse_events(e))
                            .collect()
                    },
                    account: self.account,
                    key: String::new(),
                    params: Vec::new(),
                    seq: 0,
                });
                let client = ClientDial {
                    identity: c.identity,
                    from,
                    params: c.parameters,
                    child,
                };
                self.dial_client(client, timeout_ms, limit_ms).await
            }
            Some(DialNoun::Number(n)) => self.dial_number(&n.number, timeout_ms, limit_ms).await,
            Some(DialNoun::Conference(mut c)) => {
                c.status_callback = c
                    .status_callback
                    .map(|u| twiml::resolve(self.doc_url.as_deref(), &u));
                c.recording_status_callback = c
                    .recording_status_callback
                    .map(|u| twiml::resolve(self.doc_url.as_deref(), &u));
                match crate::conference::join_twiml(&self.calls, &self.sid, &c) {
                    Ok(_) => match self.in_conference().await {
                        Some(s) => DialEnd::CallerEnded(s),
                        None => DialEnd::Done("completed", None),
                    },
                    Err(e) => {
                        self.error(e.code, &e.message);
                        DialEnd::Done("failed", None)
                    }
                }
            }
            None => DialEnd::Done("failed", None),
        };
        let (status, leg) = match outcome {
            DialEnd::CallerEnded(s) => return Flow::End(s),
            DialEnd::Goto(src) => return Flow::Goto(src),
            DialEnd::Done(s, leg) => (s, leg),
        };
        match d.action {
            Some(a) => {
                let mut extra = vec![
                    ("DialCallStatus".into(), status.to_owned()),
                    (
                        "DialCallDuration".into(),
                        started.elapsed().as_secs().to_string(),
                    ),
                ];
                if let Some(l) = leg {
                    extra.push(("DialCallSid".into(), l.to_string()));
                }
                Flow::Goto(self.goto(&a, d.method.unwrap_or(HttpMethod::Post), extra))
            }
            None => Flow::Next,
        }
    }

    async fn dial_client(&mut self, c: ClientDial, timeout_ms: u64, limit_ms: u64) -> DialEnd {
        let to = format!("client:{}", c.identity);
        let placed = self.calls.voice().place_call(PlaceCall {
            to: to.clone(),
            from: c.from.clone(),
            params: c.params,
            tone_hz: self.tone,
        });
        let leg = match placed {
            Ok(v) => v.sid,
            Err(e) => {
                self.calls.log(
                    "call.dial_failed",
                    json!({ "call": self.sid, "code": e.code }),
                );
                return DialEnd::Done("no-answer", None);
            }
        };
        self.client_leg = Some(leg);
        self.calls.update(&self.sid, |v| v.client_leg = Some(leg));
        let mut child = c.child.map(|mut ch| {
            ch.key = leg.to_string();
            ch.params = vec![
                ("AccountSid".into(), self.account.to_string()),
                ("ApiVersion".into(), "2010-04-01".into()),
                ("CallSid".into(), leg.to_string()),
                ("ParentCallSid".into(), self.sid.to_string()),
                ("Direction".into(), "outbound-dial".into()),
                ("From".into(), c.from.clone()),
                ("Caller".into(), c.from.clone()),
                ("To".into(), to.clone()),
                ("Called".into(), to.clone()),
            ];
            ch
        });
        if let Some(ch) = child.as_mut() {
            ch.send(&self.calls, "initiated", "initiated", None);
            ch.send(&self.calls, "ringing", "ringing", None);
        }
        let started = Instant::now();
        let end = self
            .watch_leg(leg, timeout_ms, limit_ms, child.as_mut())
            .await;
        self.client_leg = None;
        self.calls.update(&self.sid, |v| v.client_leg = None);
        if let Some(ch) = child.as_mut() {
            let status = match &end {
                DialEnd::Done(s, _) => *s,
                _ => match self.calls.voice().call(&leg).map(|v| v.state) {
                    Some(CallState::Completed) => "completed",
                    _ => "canceled",
                },
            };
            let secs = started.elapsed().as_secs().to_string();
            ch.send(&self.calls, "completed", status, Some(secs));
        }
        end
    }

    /// Follows a voice-edge leg until it ends, the caller ends, or a timer fires.
    async fn watch_leg(
        &mut self,
        leg: CallSid,
        timeout_ms: u64,
        limit_ms: u64,
        mut child: Option<&mut ChildLeg>,
    ) -> DialEnd {
        let voice = self.calls.voice().clone();
        let shared = self.calls.shared().clone();
        let ring_until = shared.deadline(timeout_ms);
        let mut talk_until = None;
        loop {
            let state = voice.call(&leg).map(|v| v.state);
            match state {
                Some(CallState::Ringing) if shared.passed(&ring_until) => {
                    let _ = voice.hangup(&leg);
                    return DialEnd::Done("no-answer", Some(leg));
                }
                Some(CallState::Ringing) => {}
                Some(CallState::InProgress) => {
                    if talk_until.is_none() {
                        if let Some(ch) = child.as_deref_mut() {
                            ch.send(&self.calls, "answered", "in-progress", None);
                        }
                    }
                    let until = *talk_until.get_or_insert_with(|| shared.deadline(limit_ms));
                    if shared.passed(&until) {
                        let _ = voice.hangup(&leg);
                        return DialEnd::Done("completed", Some(leg));
                    }
                }
                Some(CallState::Rejected | CallState::Busy) => {
                    return DialEnd::Done("busy", Some(leg))
                }
                Some(CallState::NoAnswer) => return DialEnd::Done("no-answer", Some(leg)),
                Some(CallState::Failed) | None => return DialEnd::Done("failed", Some(leg)),
                Some(CallState::Canceled) => return DialEnd::Done("canceled", Some(leg)),
                Some(CallState::Completed) => return DialEnd::Done("completed", Some(leg)),
            }
            match self.wait(LEG_POLL_MS, false).await {
                Wake::Ended(s) => {
                    let _ = voice.hangup(&leg);
                    return DialEnd::CallerEnded(s);
                }
                Wake::Goto(src) => {
                    let _ = voice.hangup(&leg);
                    return DialEnd::Goto(src);
                }
                _ => {}
            }
        }
    }

    async fn dial_number(&mut self, number: &str, timeout_ms: u64, limit_ms: u64) -> DialEnd {
        let (answer, _script) = self.calls.answer_of(number);
        let (ring, result) = match answer {
            Answer::Answer => (RING_MS, None),
            Answer::Busy => (RING_MS, Some("busy")),
            Answer::NoAnswer => (timeout_ms, Some("no-answer")),
            Answer::Failed => (0, Some("failed")),
        };
        match self.wait_through(ring.min(timeout_ms)).await {
            Some(end) => return end,
            None if result.is_some() => return DialEnd::Done(result.unwrap_or("failed"), None),
            None if ring > timeout_ms => return DialEnd::Done("no-answer", None),
            None => {}
        }
        match self.wait_through(limit_ms).await {
            Some(end) => end,
            None => DialEnd::Done("completed", None),
        }
    }

    /// Waits `ms` ignoring keys; `Some` when the caller ended or was redirected.
    async fn wait_through(&mut self, ms: u64) -> Option<DialEnd> {
        let shared = self.calls.shared().clone();
        let until = shared.deadline(ms);
        loop {
            let left =
                until
                    .real
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(
                        until.sim.0.saturating_sub(shared.now().0),
                    ));
            if left.is_zero() {
                return None;
            }
            match self.wait(left.as_millis() as u64, false).await {
                Wake::Timeout => return None,
                Wake::Ended(s) => return Some(DialEnd::CallerEnded(s)),
                Wake::Goto(src) => return Some(DialEnd::Goto(src)),
                _ => {}
            }
        }
    }
}

/// A `<Client>` to ring.
struct ClientDial {
    identity: String,
    from: String,
    params: Vec<(String, String)>,
    child: Option<ChildLeg>,
}

/// The dialled leg's own `statusCallback` (`initiated ringing answered completed`, with `ParentCallSid`).
struct ChildLeg {
    url: String,
    events: Vec<String>,
    account: tsunagi_twilio::sid::AccountSid,
    /// The leg's CallSid: its callbacks share one ordered queue.
    key: String,
    params: Vec<(String, String)>,
    seq: u32,
}

impl ChildLeg {
    fn send(
        &mut self,
        calls: &crate::calls::Calls,
        event: &str,
        status: &str,
        duration: Option<String>,
    ) {
        let seq = self.seq;
        self.seq += 1;
        if !self.events.iter().any(|e| e == event) {
            return;
        }
        let mut p = self.params.clone();
        p.push(("CallStatus".into(), status.into()));
        p.push(("CallbackSource".into(), "call-progress-events".into()));
        p.push(("SequenceNumber".into(), seq.to_string()));
        p.push(("Timestamp".into(), calls.shared().now().iso8601()));
        if let Some(d) = duration {
            p.push(("CallDuration".into(), d));
        }
        let job = crate::calls::hooks::Job {
            account: self.account,
            url: self.url.clone(),
            method: "POST".into(),
            params: p,
            kind: "call.child_status_callback",
        };
        crate::calls::hooks::send_webhook(calls, &self.key, job);
    }
}
