//! One task per call: fetches TwiML, executes the [`Program`] step by step and reacts to [`Cmd`]s (hang-up, keys,
//! redirects, bridge into a conference). Every wait is bounded or ends with the call; the call always reaches a
//! final status through [`Driver::finish`], which also ends its task, conference membership and dialled leg.

mod dial;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tsunagi_twilio::sid::{AccountSid, CallSid};
use tsunagi_twilio::twiml::{Enqueue, HttpMethod, VoiceResponse};

use super::hooks::{self, FetchError};
use super::twiml::{self, Audio, GatherStep, Program, Step};
use super::{call_params, CallStatus, Calls, Cmd, Heard};

/// Longest time a call may run with nothing bounding it (queue without timeout, conference), ms.
pub const MAX_CALL_MS: u64 = 4 * 3_600_000;
/// Voice-edge poll interval for dialled client legs, ms.
pub const LEG_POLL_MS: u64 = 25;
/// `<Dial>` default ring timeout, seconds.
pub const DIAL_TIMEOUT_S: u32 = 30;
/// Documents one call may fetch (a `<Redirect>` loop ends the call instead of spinning).
pub const MAX_DOCUMENTS: u32 = 500;

/// Where the next document comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Fetch from a URL with extra parameters (`Digits`, `QueueResult`, …).
    Fetch {
        /// URL.
        url: String,
        /// `GET` / `POST`.
        method: String,
        /// Extra parameters.
        extra: Vec<(String, String)>,
    },
    /// Inline TwiML (REST `Twiml`).
    Inline(String),
}

/// What ended a wait.
enum Wake {
    Timeout,
    Digit,
    Ended(CallStatus),
    Goto(Source),
    Bridged,
    ConferenceLeft,
    QueueLeft(&'static str),
}

/// What a step decided.
enum Flow {
    Next,
    Goto(Source),
    End(CallStatus),
}

/// Starts a call's driver.
pub fn spawn(
    calls: Calls,
    sid: CallSid,
    rx: mpsc::UnboundedReceiver<Cmd>,
    first: Source,
    fallback: Option<String>,
) {
    let Some(view) = calls.view(&sid) else { return };
    let d = Driver {
        calls,
        sid,
        account: view.account_sid,
        rx,
        digits: String::new(),
        tone: view.tone_hz,
        doc_url: None,
        fallback,
        client_leg: None,
        deadline: Instant::now() + Duration::from_millis(MAX_CALL_MS),
    };
    tokio::spawn(d.run(first));
}

struct Driver {
    calls: Calls,
    sid: CallSid,
    account: AccountSid,
    rx: mpsc::UnboundedReceiver<Cmd>,
    digits: String,
    tone: Option<f64>,
    doc_url: Option<String>,
    fallback: Option<String>,
    client_leg: Option<CallSid>,
    deadline: Instant,
}

impl Driver {
    async fn run(mut self, first: Source) {
        let mut source = first;
        let mut docs = 0;
        let status = loop {
            docs += 1;
            if docs > MAX_DOCUMENTS {
                self.error(12400, "too many documents (redirect loop)");
                break CallStatus::Completed;
            }
            let Some(program) = self.load(source).await else {
                break self.application_error();
            };
            if !program.starts_with_reject() {
                self.answer();
            }
            match self.execute(program).await {
                Flow::Goto(next) => source = next,
                Flow::End(s) => break s,
                Flow::Next => break CallStatus::Completed,
            }
        };
        self.finish(status);
    }

    /// The document for `source`, trying the fallback URL once on failure.
    async fn load(&mut self, source: Source) -> Option<Program> {
        let (url, result) = match source {
            Source::Inline(xml) => (None, VoiceResponse::parse(&xml).map_err(FetchError::from)),
            Source::Fetch { url, method, extra } => {
                let r = self.fetch(&url, &method, &extra).await;
                (Some(url), r)
            }
        };
        match result {
            Ok(doc) => {
                if url.is_some() {
                    self.doc_url = url;
                }
                Some(Program::new(doc))
            }
            Err(e) => {
                self.error(e.code(), &e.to_string());
                let fallback = self.fallback.take()?;
                match self
                    .fetch(
                        &fallback,
                        "POST",
                        &[("ErrorCode".into(), e.code().to_string())],
                    )
                    .await
                {
                    Ok(doc) => {
                        self.doc_url = Some(fallback);
                        Some(Program::new(doc))
                    }
                    Err(e2) => {
                        self.error(e2.code(), &e2.to_string());
                        None
                    }
                }
            }
        }
    }

    async fn fetch(
        &self,
        url: &str,
        method: &str,
        extra: &[(String, String)],
    ) -> Result<VoiceResponse, FetchError> {
        let Some(view) = self.calls.view(&self.sid) else {
            return Err(FetchError::Http("call vanished".into()));
        };
        let mut params = call_params(&view);
        params.extend(extra.iter().cloned());
        self.calls
            .log("call.webhook", json!({ "call": self.sid, "url": url }));
        hooks::fetch_twiml(&self.calls, &self.account, url, method, &params).await
    }

    fn error(&self, code: u32, message: &str) {
        self.calls.update(&self.sid, |v| {
            if v.errors.len() < 32 {
                v.errors.push(code);
            }
        });
        self.calls.log(
            "call.error",
            json!({ "call": self.sid, "code": code, "message": message }),
        );
    }

    /// "An application error has occurred": the caller hears it, then the call ends.
    fn application_error(&self) -> CallStatus {
        self.calls.heard(
            &self.sid,
            Heard {
                verb: "error",
                hz: Some(twiml::SAY_HZ),
                ms: 2_000,
                detail: "application error".into(),
            },
        );
        self.answer();
        CallStatus::Completed
    }

    fn answer(&self) {
        if self
            .calls
            .view(&self.sid)
            .is_some_and(|v| v.status != CallStatus::InProgress)
        {
            self.calls.set_status(&self.sid, CallStatus::InProgress);
        }
    }

    fn goto(&self, url: &str, method: HttpMethod, extra: Vec<(String, String)>) -> Source {
        Source::Fetch {
            url: twiml::resolve(self.doc_url.as_deref(), url),
            method: method.as_str().into(),
            extra,
        }
    }

    async fn execute(&mut self, mut program: Program) -> Flow {
        while let Some(step) = program.next_step() {
            let flow = match step {
                Step::Audio(a) => match self.audio(&a, false).await {
                    Wake::Ended(s) => Flow::End(s),
                    Wake::Goto(src) => Flow::Goto(src),
                    _ => Flow::Next,
                },
                Step::Gather(g) => self.gather(g).await,
                Step::Dial(d) => self.dial(d).await,
                Step::Enqueue(e) => self.enqueue(e).await,
                Step::Reject(status) => {
                    Flow::End(CallStatus::parse(status).unwrap_or(CallStatus::Busy))
                }
                Step::Hangup => Flow::End(CallStatus::Completed),
                Step::Redirect { url, method } => Flow::Goto(self.goto(&url, method, Vec::new())),
            };
            match flow {
                Flow::Next => {}
                other => return other,
            }
        }
        Flow::End(CallStatus::Completed)
    }

    /// Waits up to `ms`, handling commands; returns early on hang-up, redirect, digit (if asked) and the
    /// queue/conference events.
    async fn wait(&mut self, ms: u64, stop_on_digit: bool) -> Wake {
        let shared = self.calls.shared().clone();
        let mut until = shared.deadline(ms);
        until.real = until.real.min(self.deadline);
        loop {
            let cmd = tokio::select! {
                c = self.rx.recv() => c,
                () = shared.sleep_until(until) => {
                    return if Instant::now() >= self.deadline { Wake::Ended(CallStatus::Completed) } else { Wake::Timeout };
                }
            };
            let Some(cmd) = cmd else {
                return Wake::Ended(CallStatus::Completed);
            };
            match cmd {
                Cmd::Hangup(s) => return Wake::Ended(s),
                Cmd::Dtmf(d) => {
                    self.digits.push_str(&d);
                    self.calls.update(&self.sid, |v| {
                        if v.digits.len() < 256 {
                            v.digits.push_str(&d);
                        }
                    });
                    if stop_on_digit {
                        return Wake::Digit;
                    }
                }
                Cmd::Tone(hz) => {
                    self.tone = hz;
                    self.calls.update(&self.sid, |v| v.tone_hz = hz);
                    if let Some(leg) = self.client_leg {
                        let _ = self.calls.voice().set_tone(&leg, hz);
                    }
                }
                Cmd::Redirect(url, method) => {
                    return Wake::Goto(Source::Fetch {
                        url,
                        method,
                        extra: Vec::new(),
                    })
                }
                Cmd::Twiml(xml) => return Wake::Goto(Source::Inline(xml)),
                Cmd::Bridged(_) => return Wake::Bridged,
                Cmd::ConferenceLeft => return Wake::ConferenceLeft,
                Cmd::QueueLeft(r) => return Wake::QueueLeft(r),
            }
        }
    }

    async fn audio(&mut self, a: &Audio, stop_on_digit: bool) -> Wake {
        self.calls.heard(
            &self.sid,
            Heard {
                verb: a.verb,
                hz: a.hz,
                ms: a.ms,
                detail: a.detail.clone(),
            },
        );
        self.wait(a.ms, stop_on_digit).await
    }

    async fn gather(&mut self, g: GatherStep) -> Flow {
        if !g.dtmf {
            self.digits.clear();
        }
        let mut interrupted = !self.digits.is_empty();
        for p in &g.prompts {
            if interrupted {
                break;
            }
            match self.audio(p, g.dtmf).await {
                Wake::Ended(s) => return Flow::End(s),
                Wake::Goto(src) => return Flow::Goto(src),
                Wake::Digit => interrupted = true,
                _ => {}
            }
        }
        let mut collected = String::new();
        loop {
            // Consume buffered keys first.
            while !self.digits.is_empty() && g.dtmf {
                let c = self.digits.remove(0);
                if g.finish_on_key.contains(c) {
                    return self.gathered(&g, collected);
                }
                collected.push(c);
                if g.num_digits.is_some_and(|n| collected.len() >= n as usize) {
                    return self.gathered(&g, collected);
                }
            }
            match self.wait(g.timeout_ms, true).await {
                Wake::Digit => {}
                Wake::Ended(s) => return Flow::End(s),
                Wake::Goto(src) => return Flow::Goto(src),
                _ => return self.gathered(&g, collected),
            }
        }
    }

    fn gathered(&mut self, g: &GatherStep, digits: String) -> Flow {
        if digits.is_empty() {
            return Flow::Next;
        }
        let action = g.action.clone().unwrap_or_default();
        Flow::Goto(self.goto(&action, g.method, vec![("Digits".into(), digits)]))
    }

    async fn enqueue(&mut self, e: Enqueue) -> Flow {
        let action = e.action.clone();
        let method = e.method.unwrap_or(HttpMethod::Post);
        let result = match self.create_task(&e) {
            Err(code) => {
                self.error(code, "Enqueue could not create the task");
                "error"
            }
            Ok(()) => {
                let started = Instant::now();
                let r = self.queue_wait(&e).await;
                self.calls.set_task(&self.sid, None);
                let secs = started.elapsed().as_secs().to_string();
                match r {
                    QueueEnd::Ended(s, bridged) => {
                        if !bridged {
                            // Abandoned in the queue (or while the agent's leg rang).
                            self.end_task("hangup");
                        }
                        if let Some(a) = &action {
                            self.notify(
                                a,
                                method,
                                vec![
                                    ("QueueResult".into(), "hangup".into()),
                                    ("QueueTime".into(), secs),
                                ],
                            );
                        }
                        return Flow::End(s);
                    }
                    QueueEnd::Goto(src) => {
                        self.end_task("redirected");
                        return Flow::Goto(src);
                    }
                    QueueEnd::Left(r) => r,
                }
            }
        };
        match action {
            Some(a) => {
                Flow::Goto(self.goto(&a, method, vec![("QueueResult".into(), result.into())]))
            }
            None => Flow::Next,
        }
    }

    fn create_task(&mut self, e: &Enqueue) -> Result<(), u32> {
        let Some(workflow) = e.workflow_sid else {
            return Err(40001);
        };
        let view = self.calls.view(&self.sid).ok_or(20404_u32)?;
        let mut attrs = json!({
            "call_sid": view.sid, "account_sid": view.account_sid, "from": view.from, "to": view.to,
            "caller": view.from, "called": view.to, "direction": view.direction,
        });
        let task = e.task.as_ref();
        if let Some(t) = task.filter(|t| !t.attributes.trim().is_empty()) {
            let Ok(Value::Object(given)) = serde_json::from_str::<Value>(&t.attributes) else {
                return Err(40001);
            };
            if let Some(obj) = attrs.as_object_mut() {
                obj.extend(given);
            }
        }
        match hooks::create_task(
            &self.calls,
            &self.account,
            &workflow,
            attrs,
            task.and_then(|t| t.priority),
            task.and_then(|t| t.timeout),
        ) {
            Ok(t) => {
                self.calls.set_task(&self.sid, Some(t));
                self.calls
                    .log("call.enqueued", json!({ "call": self.sid, "task": t.task }));
                Ok(())
            }
            Err(e) => {
                self.calls.log(
                    "call.enqueue_failed",
                    json!({ "call": self.sid, "code": e.code, "message": e.message }),
                );
                Err(e.code)
            }
        }
    }

    fn end_task(&self, reason: &str) {
        if let Some(t) = self.calls.task_of(&self.sid) {
            hooks::end_task(&self.calls, t, reason);
        }
    }

    /// Plays the wait URL's TwiML (or silence) until the queue ends. A `<Redirect>` in it names the next round's
    /// document; a failing wait URL is reported once, then the caller waits in silence.
    async fn queue_wait(&mut self, e: &Enqueue) -> QueueEnd {
        let mut next = e
            .wait_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| twiml::resolve(self.doc_url.as_deref(), u));
        let mut method = e
            .wait_url_method
            .unwrap_or(HttpMethod::Post)
            .as_str()
            .to_owned();
        loop {
            let mut program = match next.clone() {
                Some(url) => {
                    let extra = vec![("QueuePosition".into(), "1".into())];
                    match self.fetch(&url, &method, &extra).await {
                        Ok(doc) => Program::new(doc),
                        Err(err) => {
                            self.error(err.code(), &err.to_string());
                            next = None;
                            Program::default()
                        }
                    }
                }
                None => Program::default(),
            };
            let mut played = false;
            while let Some(step) = program.next_step() {
                // The wait document plays audio and may redirect; other verbs end this round.
                let a = match step {
                    Step::Audio(a) => a,
                    Step::Redirect { url, method: m } => {
                        next = Some(twiml::resolve(next.as_deref(), &url));
                        method = m.as_str().to_owned();
                        break;
                    }
                    _ => break,
                };
                played = true;
                match self.audio(&a, false).await {
                    Wake::Timeout | Wake::Digit => {}
                    w => return self.queue_wake(w).await,
                }
            }
            if !played {
                match self.wait(1_000, false).await {
                    Wake::Timeout | Wake::Digit => {}
                    w => return self.queue_wake(w).await,
                }
            }
        }
    }

    async fn queue_wake(&mut self, w: Wake) -> QueueEnd {
        match w {
            Wake::Ended(s) => QueueEnd::Ended(s, false),
            Wake::Goto(src) => QueueEnd::Goto(src),
            Wake::QueueLeft(r) => QueueEnd::Left(r),
            Wake::Bridged => match self.in_conference().await {
                Some(s) => QueueEnd::Ended(s, true),
                None => QueueEnd::Left("bridged"),
            },
            // A conference left before a bridge, timeouts, digits: keep waiting is impossible here (the caller
            // only calls this for terminal wakes), treat as a system error.
            _ => QueueEnd::Left("system-error"),
        }
    }

    /// Stays in a conference; `Some(status)` when the call ended there, `None` when it left the conference.
    async fn in_conference(&mut self) -> Option<CallStatus> {
        loop {
            match self.wait(MAX_CALL_MS, false).await {
                Wake::Ended(s) => return Some(s),
                Wake::ConferenceLeft => return None,
                Wake::Goto(_) => {
                    // REST redirect of a participant: leave the conference first.
                    crate::conference::leave_call(&self.calls, &self.sid, "redirected");
                    return None;
                }
                _ => {}
            }
        }
    }

    /// Fire-and-forget request to an action URL whose TwiML is ignored (the call is over).
    fn notify(&self, url: &str, method: HttpMethod, extra: Vec<(String, String)>) {
        let Some(view) = self.calls.view(&self.sid) else {
            return;
        };
        let mut params = call_params(&view);
        params.extend(extra);
        let url = twiml::resolve(self.doc_url.as_deref(), url);
        let job = hooks::Job {
            account: self.account,
            url,
            method: method.as_str().into(),
            params,
            kind: "call.action",
        };
        hooks::send_webhook(&self.calls, self.sid.as_str(), job);
    }

    /// The final status; cleans up the task, conference and dialled leg.
    fn finish(mut self, status: CallStatus) {
        self.rx.close();
        let view = self.calls.view(&self.sid);
        let status = match (status, view.as_ref().map(|v| v.status)) {
            // Ended before the answer: the caller gave up.
            (CallStatus::Completed, Some(CallStatus::Ringing | CallStatus::Queued)) => {
                CallStatus::Canceled
            }
            (s, _) => s,
        };
        if let Some(leg) = self.client_leg.take() {
            let _ = self.calls.voice().hangup(&leg);
        }
        crate::conference::leave_call(&self.calls, &self.sid, "hangup");
        if view.as_ref().is_some_and(|v| v.queued_task.is_some()) {
            self.end_task("hangup");
        }
        self.calls.set_task(&self.sid, None);
        self.calls.set_status(&self.sid, status);
    }
}

enum QueueEnd {
    /// The call ended; `true` if it had been bridged into a conference.
    Ended(CallStatus, bool),
    Goto(Source),
    Left(&'static str),
}
