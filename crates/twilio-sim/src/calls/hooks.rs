//! Where calls meet the rest of the stand-in: the TaskRouter engine (create the `<Enqueue>` task, cancel or wrap it,
//! watch for `conference` instructions and ended tasks) and outgoing HTTP (signed webhooks, TwiML fetches).

use serde_json::{json, Value};
use tsunagi_twilio::sid::{AccountSid, CallSid, ReservationSid, WorkflowSid};
use tsunagi_twilio::twiml::{TwimlError, VoiceResponse};

use super::{Calls, Cmd, QueuedTask};
use crate::conference::Instruction;
use crate::error::ApiError;
use crate::params::Params;
use crate::shared::lock;
use crate::taskrouter::model::{ResStatus, TaskStatus};

/// Largest TwiML document read, bytes.
pub const MAX_TWIML: usize = 64 * 1024;

/// Why a TwiML fetch failed, with Twilio's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// 11200: HTTP retrieval failure (connection, timeout, non-2xx).
    #[error("11200 HTTP retrieval failure: {0}")]
    Http(String),
    /// 12100: document parse failure.
    #[error("12100 Document parse failure: {0}")]
    Parse(#[from] TwimlError),
}

impl FetchError {
    /// Twilio's error code.
    pub fn code(&self) -> u32 {
        match self {
            Self::Http(_) => 11200,
            Self::Parse(_) => 12100,
        }
    }
}

fn token(calls: &Calls, account: &AccountSid) -> Option<String> {
    lock(&calls.shared().accounts)
        .auth_token(account)
        .map(str::to_owned)
}

/// Fetches and parses TwiML, signed like Twilio (`GET`: parameters in the query, signature over the full URL).
pub async fn fetch_twiml(
    calls: &Calls,
    account: &AccountSid,
    url: &str,
    method: &str,
    params: &[(String, String)],
) -> Result<VoiceResponse, FetchError> {
    let Some(token) = token(calls, account) else {
        return Err(FetchError::Http("account has no auth token".into()));
    };
    let http = &calls.shared().http;
    let req = if method.eq_ignore_ascii_case("GET") {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}{query}");
        let no_params: [(&str, &str); 0] = [];
        let sig = tsunagi_twilio::signature::compute(&token, &full, &no_params);
        http.get(full).header("X-Twilio-Signature", sig)
    } else {
        let sig = crate::webhook::sign(&token, url, params);
        http.post(url)
            .header("X-Twilio-Signature", sig)
            .form(params)
    };
    let resp = req
        .header("User-Agent", "TwilioProxy/1.1 (tsunagi-twilio-sim)")
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| FetchError::Http(format!("request failed: {e}")))?;
    if !resp.status().is_success() {
        return Err(FetchError::Http(format!("HTTP {}", resp.status().as_u16())));
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| FetchError::Http(format!("reading reply failed: {e}")))?;
    if body.len() > MAX_TWIML {
        return Err(FetchError::Http(format!(
            "document larger than {MAX_TWIML} bytes"
        )));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| FetchError::Http("document is not UTF-8".into()))?;
    Ok(VoiceResponse::parse(text)?)
}

/// One outgoing webhook (TwiML ignored).
#[derive(Debug, Clone)]
pub struct Job {
    /// Signing account.
    pub account: AccountSid,
    /// URL.
    pub url: String,
    /// `POST` or `GET`.
    pub method: String,
    /// Form parameters.
    pub params: Vec<(String, String)>,
    /// Scenario-log kind.
    pub kind: &'static str,
}

/// Sends a signed form webhook once, in the background, after every earlier webhook with the same `key` (one
/// queue per call or conference keeps `initiated → ringing → answered → completed` and `start → join → leave
/// → end` in order, as the `SequenceNumber`s say). The outcome goes to the scenario log.
pub fn send_webhook(calls: &Calls, key: &str, job: Job) {
    let mut outbox = lock(&calls.inner.outbox);
    let job = match outbox.get(key) {
        Some(tx) => match tx.send(job) {
            Ok(()) => return,
            Err(e) => e.0,
        },
        None => job,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let _ = tx.send(job);
    outbox.insert(key.to_owned(), tx);
    tokio::spawn(outbox_worker(calls.clone(), key.to_owned(), rx));
}

async fn outbox_worker(
    calls: Calls,
    key: String,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>,
) {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv()).await {
            Ok(Some(job)) => deliver(&calls, job).await,
            Ok(None) => return,
            Err(_) => {
                let mut outbox = lock(&calls.inner.outbox);
                if rx.is_empty() {
                    outbox.remove(&key);
                    return;
                }
            }
        }
    }
}

async fn deliver(calls: &Calls, job: Job) {
    let Job {
        account,
        url,
        method,
        params,
        kind,
    } = job;
    let result = if method.eq_ignore_ascii_case("GET") {
        fetch_twiml(calls, &account, &url, "GET", &params)
            .await
            .map(|_| ())
    } else {
        match token(calls, &account) {
            Some(t) => {
                let sig = crate::webhook::sign(&t, &url, &params);
                crate::webhook::post(&calls.shared().http, &url, &params, &sig)
                    .await
                    .map(|_| ())
                    .map_err(FetchError::Http)
            }
            None => Err(FetchError::Http("account has no auth token".into())),
        }
    };
    let event = params
        .iter()
        .find(|(k, _)| k == "StatusCallbackEvent" || k == "CallStatus")
        .map(|(_, v)| v.clone());
    calls.log(
        kind,
        json!({ "url": url, "event": event, "ok": result.is_ok() }),
    );
}

/// Creates the `<Enqueue>` task in the workspace owning `workflow`.
pub fn create_task(
    calls: &Calls,
    account: &AccountSid,
    workflow: &WorkflowSid,
    attributes: Value,
    priority: Option<u32>,
    timeout: Option<u32>,
) -> Result<QueuedTask, ApiError> {
    let workspace = {
        let tr = lock(&calls.shared().tr);
        let wf = tr
            .workflows
            .get(workflow)
            .ok_or_else(|| ApiError::new(404, 20404, format!("Workflow {workflow} not found")))?;
        let ws = wf.workspace;
        let owner = tr.workspaces.get(&ws).map(|w| w.account);
        if owner.is_some_and(|o| !lock(&calls.shared().accounts).can_access(account, &o)) {
            return Err(ApiError::new(
                403,
                20403,
                "workflow belongs to another account",
            ));
        }
        ws
    };
    let mut p = Params::default();
    p.0.insert("WorkflowSid".into(), workflow.to_string().into());
    p.0.insert("Attributes".into(), attributes.to_string().into());
    if let Some(pr) = priority {
        p.0.insert("Priority".into(), pr.into());
    }
    if let Some(t) = timeout {
        p.0.insert("Timeout".into(), t.into());
    }
    let task = calls
        .shared()
        .with_tr(|tr, now| tr.create_task(&workspace, &p, now))?;
    Ok(QueuedTask { workspace, task })
}

/// Ends a call's task: `canceled` while it waits, `wrapping` once assigned (the reservation too). Errors are
/// logged (the task may have ended on its own).
pub fn end_task(calls: &Calls, t: QueuedTask, reason: &str) {
    let (status, reservation) = {
        let tr = lock(&calls.shared().tr);
        let status = tr.tasks.get(&t.task).map(|x| x.status);
        let res = tr
            .reservations
            .values()
            .find(|r| r.task == t.task && r.status == ResStatus::Accepted)
            .map(|r| r.sid);
        (status, res)
    };
    let result = match (status, reservation) {
        (Some(TaskStatus::Pending | TaskStatus::Reserved), _) => {
            let mut p = Params::default();
            p.0.insert("AssignmentStatus".into(), "canceled".into());
            p.0.insert("Reason".into(), reason.into());
            calls
                .shared()
                .with_tr(|tr, now| tr.update_task(&t.workspace, t.task.as_str(), &p, None, now))
                .map(|_| ())
        }
        (Some(TaskStatus::Assigned), Some(r)) => wrap(calls, t, &r),
        _ => Ok(()),
    };
    if let Err(e) = result {
        calls.log(
            "call.task_end_failed",
            json!({ "task": t.task, "code": e.code, "message": e.message }),
        );
    }
}

/// Moves an accepted reservation and its task to `wrapping` (a conference with its agent ended).
pub fn wrap_after_conference(calls: &Calls, t: QueuedTask, r: &ReservationSid) {
    if let Err(e) = wrap(calls, t, r) {
        calls.log(
            "call.task_wrap_failed",
            json!({ "task": t.task, "code": e.code, "message": e.message }),
        );
    }
}

fn wrap(calls: &Calls, t: QueuedTask, r: &ReservationSid) -> Result<(), ApiError> {
    let mut p = Params::default();
    p.0.insert("ReservationStatus".into(), "wrapping".into());
    calls
        .shared()
        .with_tr(|tr, now| tr.update_reservation(&t.workspace, r.as_str(), None, &p, None, now))
        .map(|_| ())
}

/// Runs after every TaskRouter mutation: starts new `conference` instructions, and tells queued callers whose
/// task ended without a bridge (canceled, timed out) to leave the queue.
pub fn observe(calls: &Calls) {
    let queued: Vec<(CallSid, QueuedTask)> = calls
        .state()
        .calls
        .values()
        .filter(|c| c.view.status.is_live())
        .filter_map(|c| c.view.queued_task.map(|t| (c.view.sid, t)))
        .collect();
    let (orders, ended) = {
        let mut tr = lock(&calls.shared().tr);
        // The engine queues each deferred `conference` instruction once; draining keeps this O(new).
        let new = std::mem::take(&mut tr.conference_instructions);
        let orders: Vec<Instruction> = new
            .iter()
            .filter_map(|sid| tr.reservations.get(sid))
            .filter(|r| r.status == ResStatus::Pending)
            .filter_map(|r| {
                let i = r.instruction.as_ref()?;
                let task = tr.tasks.get(&r.task)?;
                let worker = tr.workers.get(&r.worker)?;
                Some(Instruction {
                    workspace: r.workspace,
                    task: r.task,
                    reservation: r.sid,
                    account: tr.workspaces.get(&r.workspace)?.account,
                    params: Params::from_json(i.clone()),
                    task_attributes: task.attributes.clone(),
                    contact_uri: worker
                        .attributes
                        .get("contact_uri")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
            })
            .collect();
        let ended: Vec<CallSid> = queued
            .iter()
            .filter(|(_, t)| {
                tr.tasks.get(&t.task).is_none_or(|x| {
                    matches!(x.status, TaskStatus::Canceled | TaskStatus::Completed)
                })
            })
            .map(|(c, _)| *c)
            .collect();
        (orders, ended)
    };
    let fresh: Vec<Instruction> = {
        let mut st = calls.state();
        orders
            .into_iter()
            .filter(|o| st.handled.insert(o.reservation))
            .collect()
    };
    for o in fresh {
        crate::conference::start_instruction(calls, o);
    }
    for c in ended {
        calls.send(&c, Cmd::QueueLeft("leave"));
    }
}
