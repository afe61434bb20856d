//! Twilio-facing routes (`/twilio/*`). Every one takes a [`TwilioWebhook`] (signature checked first, 403
//! otherwise) and is idempotent: side effects run once per delivery key, and a retry gets the same answer.

use std::future::Future;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use tsunagi_twilio::{CallSid, ConferenceSid, ReservationSid, TaskSid, WorkerSid};

use crate::auth;
use crate::calls::{self, CallStatus, Reservation};
use crate::db::{now_unix_ms, CallEvent, Claim, Delivery};
use crate::error::{ApiError, ApiResult};
use crate::http::webhook::TwilioWebhook;
use crate::inbound::{self, Assignment};
use crate::state::AppState;
use crate::twiml;

pub(crate) fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

pub(crate) fn sid<T>(
    parse: fn(&str) -> Result<T, tsunagi_twilio::SidError>,
    name: &str,
    value: &str,
) -> ApiResult<T> {
    parse(value).map_err(|e| ApiError::BadRequest(format!("{name}: {e}")))
}

/// The SID parameter `name`: `None` when absent or empty, 400 when present and malformed.
pub(crate) fn optional_sid<T>(
    hook: &TwilioWebhook,
    parse: fn(&str) -> Result<T, tsunagi_twilio::SidError>,
    name: &str,
) -> ApiResult<Option<T>> {
    hook.param(name)
        .filter(|s| !s.is_empty())
        .map(|s| sid(parse, name, s))
        .transpose()
}

/// The common part of a conference status callback (inbound and outbound conferences alike).
pub(crate) struct ConferenceHook<'a> {
    /// `ConferenceSid`.
    pub(crate) conference: ConferenceSid,
    /// `StatusCallbackEvent`.
    pub(crate) event: &'a str,
    /// The participant's `CallSid`, on participant events.
    pub(crate) call: Option<CallSid>,
    /// Delivery key: `conf:{CF}:{SequenceNumber}`, or the event and call when there is no sequence number.
    pub(crate) key: String,
}

impl<'a> ConferenceHook<'a> {
    pub(crate) fn parse(hook: &'a TwilioWebhook) -> ApiResult<Self> {
        let conference = sid(
            ConferenceSid::parse,
            "ConferenceSid",
            hook.require("ConferenceSid")?,
        )?;
        let event = hook.require("StatusCallbackEvent")?;
        let call = optional_sid(hook, CallSid::parse, "CallSid")?;
        let key = match hook.param("SequenceNumber") {
            Some(seq) => format!("conf:{conference}:{seq}"),
            None => format!(
                "conf:{conference}:{event}:{}",
                call.as_ref().map_or("", CallSid::as_str)
            ),
        };
        Ok(Self {
            conference,
            event,
            call,
            key,
        })
    }

    /// The participant's CallSid as text.
    pub(crate) fn call(&self) -> Option<&str> {
        self.call.as_ref().map(CallSid::as_str)
    }
}

/// Runs `work` once per `key` (claims in [`crate::db::Delivery`]): a retry of a handled delivery does nothing;
/// a retry while another delivery of the key is in flight gets 503 + `Retry-After` and does nothing; a failed
/// delivery can be retried. If the request is dropped mid-way (Twilio timed out and hung up), the claim is
/// released too, and a claim left by a dead instance (or older than `server.webhook_lease_ms`) is taken over, so
/// the retry redoes the work: every flow below resumes from its stored state.
pub(crate) async fn exactly_once(
    state: &AppState,
    key: &str,
    work: impl Future<Output = ApiResult<()>>,
) -> ApiResult<()> {
    let lease = i64::try_from(state.config.server.webhook_lease_ms).unwrap_or(i64::MAX);
    let metrics = &state.metrics;
    let claim = match state.db.claim_delivery(key, now_unix_ms(), lease).await? {
        Delivery::First(claim) => claim,
        Delivery::Done => {
            metrics.webhooks_duplicate.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Delivery::Busy { retry_after_secs } => {
            metrics.webhooks_busy.fetch_add(1, Ordering::Relaxed);
            return Err(ApiError::WebhookBusy { retry_after_secs });
        }
    };
    if claim.taken_over() {
        metrics.webhooks_taken_over.fetch_add(1, Ordering::Relaxed);
    }
    let mut receipt = Receipt(Some((state.db.clone(), claim)));
    let span = tracing::info_span!("webhook", key = %key);
    let result = tracing::Instrument::instrument(work, span).await;
    let Some((db, claim)) = receipt.0.take() else {
        return result; // unreachable: only this function empties the receipt
    };
    if let Err(e) = result {
        if let Err(release) = db.release_delivery(claim).await {
            tracing::error!(error = %release, "could not release a webhook claim");
        }
        return Err(e);
    }
    match db.finish_delivery(claim).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(key, "webhook claim was taken over before it finished"),
        // The work is done; the undone claim only means a later duplicate would redo it after the lease.
        Err(e) => tracing::error!(error = %e, "could not mark a webhook claim done"),
    }
    metrics.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// A webhook claim that is released unless the work finished.
struct Receipt(Option<(crate::db::Db, Claim)>);

impl Drop for Receipt {
    fn drop(&mut self) {
        if let Some((db, claim)) = self.0.take() {
            tracing::warn!(key = %claim.key(), "webhook dropped mid-way; its retry will run again");
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    if let Err(e) = db.release_delivery(claim).await {
                        tracing::error!(error = %e, "could not release a webhook claim");
                    }
                });
            }
        }
    }
}

/// `POST /twilio/voice/inbound`: CRM lookup, then `<Enqueue>` with the task attributes.
pub async fn voice_inbound(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<Response> {
    let call_sid = sid(CallSid::parse, "CallSid", hook.require("CallSid")?)?;
    let from = hook.param("From").unwrap_or("");
    let to = hook.param("To").unwrap_or("");
    let attrs = inbound::enqueue_attributes(&state, call_sid.as_str(), from, to).await;
    let event = CallEvent {
        dedup_key: &format!("inbound:{call_sid}"),
        task_sid: None,
        call_sid: Some(call_sid.as_str()),
        conference_sid: None,
        kind: "inbound",
        status: "enqueued",
        agent_id: None,
    };
    state.db.log_call_event(&event).await?;
    Ok(xml(twiml::enqueue(&state.config, &attrs)))
}

/// `GET /twilio/voice/wait`: the queue's hold loop.
pub async fn voice_wait(State(state): State<AppState>, _hook: TwilioWebhook) -> Response {
    xml(twiml::wait(&state.config))
}

/// `POST /twilio/voice/enqueue-action`: the caller left the queue without being bridged.
pub async fn enqueue_action(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<Response> {
    let call_sid = sid(CallSid::parse, "CallSid", hook.require("CallSid")?)?;
    let result = hook.param("QueueResult").unwrap_or("unknown");
    let event = CallEvent {
        dedup_key: &format!("enqueue-action:{call_sid}"),
        task_sid: None,
        call_sid: Some(call_sid.as_str()),
        conference_sid: None,
        kind: "enqueue",
        status: result,
        agent_id: None,
    };
    state.db.log_call_event(&event).await?;
    Ok(xml(twiml::after_queue(result)))
}

/// `POST /twilio/taskrouter/assignment`: answers the conference instruction.
pub async fn assignment(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<Json<Value>> {
    let task = sid(TaskSid::parse, "TaskSid", hook.require("TaskSid")?)?;
    let res = sid(
        ReservationSid::parse,
        "ReservationSid",
        hook.require("ReservationSid")?,
    )?;
    let worker = sid(WorkerSid::parse, "WorkerSid", hook.require("WorkerSid")?)?;
    let task_attrs = json_param(&hook, "TaskAttributes")?;
    let worker_attrs = json_param(&hook, "WorkerAttributes")?;
    let agent = auth::agent_by_worker(&state.db, worker.as_str()).await?;
    let contact = match (
        worker_attrs.get("contact_uri").and_then(Value::as_str),
        &agent,
    ) {
        (Some(uri), _) => uri.to_owned(),
        (None, Some(a)) => format!("client:{}", a.id),
        (None, None) => {
            tracing::warn!(%task, %worker, "worker has no contact_uri and is not a known agent; rejecting");
            return Ok(Json(serde_json::json!({"instruction": "reject"})));
        }
    };
    let attr = |k: &str| task_attrs.get(k).and_then(Value::as_str);
    let reservation = Reservation {
        task_sid: task.as_str(),
        reservation_sid: res.as_str(),
        worker_sid: worker.as_str(),
        agent_id: agent.as_ref().map(|a| a.id.as_str()),
        customer_call_sid: attr("call_sid"),
        customer_id: attr("customer_id"),
    };
    calls::upsert_reserved(&state.db, &reservation).await?;
    let a = Assignment {
        task_sid: task.as_str(),
        reservation_sid: res.as_str(),
        contact_uri: &contact,
        from: attr("from"),
    };
    Ok(Json(inbound::conference_instruction(&state.config, &a)))
}

fn json_param(hook: &TwilioWebhook, name: &'static str) -> ApiResult<Value> {
    match hook.param(name) {
        None | Some("") => Ok(Value::Object(Default::default())),
        Some(s) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| ApiError::BadRequest(format!("{name} is not a JSON object"))),
    }
}

/// `POST /twilio/taskrouter/agent-leg?task=WT…&res=WR…`: the agent leg's progress.
pub async fn agent_leg(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<StatusCode> {
    let task = sid(TaskSid::parse, "task", hook.query("task").unwrap_or(""))?;
    let res = sid(
        ReservationSid::parse,
        "res",
        hook.query("res").unwrap_or(""),
    )?;
    let call = sid(CallSid::parse, "CallSid", hook.require("CallSid")?)?;
    let status = hook.require("CallStatus")?;
    let key = format!("leg:{call}:{status}");
    exactly_once(&state, &key, async {
        let event = CallEvent {
            dedup_key: &key,
            task_sid: Some(task.as_str()),
            call_sid: Some(call.as_str()),
            conference_sid: None,
            kind: "agent-leg",
            status,
            agent_id: hook.param("To").and_then(client_identity),
        };
        state.db.log_call_event(&event).await?;
        inbound::agent_leg(&state, task.as_str(), res.as_str(), call.as_str(), status).await
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /twilio/conference/status?task=WT…`: conference and participant events.
pub async fn conference_status(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<StatusCode> {
    let task_text = hook
        .query("task")
        .or(hook.param("FriendlyName"))
        .unwrap_or("");
    let task = sid(TaskSid::parse, "task", task_text)?;
    let c = ConferenceHook::parse(&hook)?;
    let (event, call) = (c.event, c.call());
    exactly_once(&state, &c.key, async {
        let log = CallEvent {
            dedup_key: &c.key,
            task_sid: Some(task.as_str()),
            call_sid: call,
            conference_sid: Some(c.conference.as_str()),
            kind: "conference",
            status: event,
            agent_id: None,
        };
        state.db.log_call_event(&log).await?;
        let reason = hook.param("ReasonConferenceEnded");
        let cf = c.conference.as_str();
        inbound::conference_event(&state, task.as_str(), cf, event, call, reason).await?;
        let label = hook.param("ParticipantLabel");
        crate::transfer::on_participant(&state, task.as_str(), event, call, label).await
    })
    .await?;
    // Who is on a call may have changed (answered, ended, handed over): the roster's next flush says so.
    state.roster.mark_dirty();
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /twilio/taskrouter/events`: workspace events (task created / canceled). Always 204 when signed.
pub async fn taskrouter_events(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<StatusCode> {
    let event_type = hook.param("EventType").unwrap_or("");
    if event_type == "worker.activity.update" {
        return worker_activity(&state, &hook).await;
    }
    let Some(task) = hook.param("TaskSid").and_then(|t| TaskSid::parse(t).ok()) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let key = match hook.param("Sid") {
        Some(ev) if !ev.is_empty() => format!("tr:{ev}"),
        _ => format!("tr:{task}:{event_type}"),
    };
    exactly_once(&state, &key, async {
        let attrs = json_param(&hook, "TaskAttributes")?;
        match event_type {
            "task.created" => {
                let attr = |k: &str| attrs.get(k).and_then(Value::as_str);
                calls::upsert_queued(
                    &state.db,
                    task.as_str(),
                    attr("call_sid"),
                    attr("customer_id"),
                )
                .await?;
            }
            "task.canceled" => {
                calls::set_status(&state.db, task.as_str(), CallStatus::Abandoned).await?
            }
            "task.completed" => {
                calls::set_status(&state.db, task.as_str(), CallStatus::Completed).await?
            }
            _ => {}
        }
        let log = CallEvent {
            dedup_key: &key,
            task_sid: Some(task.as_str()),
            call_sid: None,
            conference_sid: None,
            kind: "task",
            status: event_type,
            agent_id: None,
        };
        state.db.log_call_event(&log).await?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn worker_activity(state: &AppState, hook: &TwilioWebhook) -> ApiResult<StatusCode> {
    let worker = sid(WorkerSid::parse, "WorkerSid", hook.require("WorkerSid")?)?;
    let activity = hook.require("WorkerActivityName")?;
    let at_ms = match (hook.param("TimestampMs"), hook.param("Timestamp")) {
        (Some(ms), _) => ms.parse::<i64>().ok(),
        (None, Some(s)) => s.parse::<i64>().ok().map(|s| s.saturating_mul(1000)),
        (None, None) => None,
    }
    .ok_or_else(|| ApiError::BadRequest("missing or invalid Timestamp".into()))?;
    let key = match hook.param("Sid") {
        Some(ev) if !ev.is_empty() => format!("tr:{ev}"),
        _ => format!("tr:{worker}:activity:{at_ms}"),
    };
    exactly_once(state, &key, async {
        crate::roster::record_activity(&state.db, worker.as_str(), activity, at_ms).await?;
        state.roster.mark_dirty();
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `client:agent_1024?TaskSid=…` → `agent_1024`.
fn client_identity(to: &str) -> Option<&str> {
    let id = to.strip_prefix("client:")?;
    Some(id.split('?').next().unwrap_or(id)).filter(|s| !s.is_empty())
}
