//! Recordings: Twilio's recording status callback (`POST /twilio/recording/status?task=WT…|attempt=…`, signed,
//! idempotent) and the archive's read side for the app and supervisors (`GET /v1/recordings/{RE}`,
//! `GET /v1/calls/{task}/recordings`): supervisors, and agents who had a leg in the call
//! ([`crate::history::had_leg`]); everyone else gets 403 `FORBIDDEN`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tsunagi_twilio::{ConferenceSid, RecordingSid, TaskSid};

use crate::auth::Role;
use crate::db::{now_unix, CallEvent};
use crate::error::{ApiError, ApiResult};
use crate::http::twilio::{exactly_once, optional_sid, sid};
use crate::http::webhook::TwilioWebhook;
use crate::policy::SupportedAgent;
use crate::recordings::{self, Completed, Job};
use crate::state::AppState;
use crate::twilio_rest::twilio_time;

/// `POST /twilio/recording/status?task=WT…` (inbound) or `?attempt=…` (outbound).
pub async fn status(State(state): State<AppState>, hook: TwilioWebhook) -> ApiResult<StatusCode> {
    let re = sid(
        RecordingSid::parse,
        "RecordingSid",
        hook.require("RecordingSid")?,
    )?;
    let status = hook.require("RecordingStatus")?;
    let cf = optional_sid(&hook, ConferenceSid::parse, "ConferenceSid")?;
    let (owner, agent) = owner(&state, &hook).await?;
    let key = format!("rec:{re}:{status}");
    exactly_once(&state, &key, async {
        let log = CallEvent {
            dedup_key: &key,
            task_sid: owner.starts_with("WT").then_some(owner.as_str()),
            call_sid: None,
            conference_sid: cf.as_ref().map(ConferenceSid::as_str),
            kind: "recording",
            status,
            agent_id: agent.as_deref(),
        };
        state.db.log_call_event(&log).await?;
        if status == "completed" {
            let number = |k: &str| hook.param(k).and_then(|v| v.parse::<i64>().ok());
            let c = Completed {
                recording_sid: re.as_str(),
                owner: &owner,
                agent_id: agent.as_deref(),
                conference_sid: cf.as_ref().map(ConferenceSid::as_str),
                duration_secs: number("RecordingDuration"),
                channels: number("RecordingChannels"),
                at: hook
                    .param("RecordingStartTime")
                    .and_then(twilio_time)
                    .unwrap_or_else(now_unix),
            };
            recordings::completed(&state, &c).await?;
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The recording's owner key and agent, from the callback URL's `task` or `attempt`.
async fn owner(state: &AppState, hook: &TwilioWebhook) -> ApiResult<(String, Option<String>)> {
    if let Some(task) = hook.query("task") {
        let task = sid(TaskSid::parse, "task", task)?;
        let agent = crate::calls::get(&state.db, task.as_str())
            .await?
            .and_then(|r| r.agent_id);
        return Ok((task.to_string(), agent));
    }
    let attempt = hook.query("attempt").filter(|a| crate::legs::valid_key(a));
    let Some(attempt) = attempt else {
        return Err(ApiError::BadRequest("task or attempt required".into()));
    };
    match crate::outbound::store::get(&state.db, attempt).await? {
        Some(a) => Ok((a.conf_name, Some(a.agent_id))),
        None => Err(ApiError::BadRequest("unknown attempt".into())),
    }
}

/// `GET /v1/recordings/{RE}`: the archived WAV (supervisors, or an agent who had a leg in the call).
pub async fn fetch(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(re): Path<String>,
) -> ApiResult<Response> {
    let re = sid(RecordingSid::parse, "recording", &re)?;
    let job = recordings::store::get(&state.db, re.as_str())
        .await?
        .ok_or(ApiError::NotFound("unknown recording"))?;
    may_listen(&state, &agent, &job.owner).await?;
    if !job.state.archived() {
        return Err(ApiError::conflict(
            "RECORDING_NOT_ARCHIVED",
            "the recording is not archived yet",
        ));
    }
    let audio = recordings::read(&state, &job)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], audio).into_response())
}

/// `GET /v1/calls/{task}/recordings` (or `/v1/calls/ob-<attempt>/recordings`): the call's recordings and their
/// archive state.
pub async fn for_task(
    State(state): State<AppState>,
    SupportedAgent(agent): SupportedAgent,
    Path(task): Path<String>,
) -> ApiResult<Json<Vec<Job>>> {
    let owner = if crate::control::is_outbound(&task) {
        let a = crate::outbound::store::get(&state.db, task.trim_start_matches("ob-"))
            .await?
            .ok_or(ApiError::NotFound("unknown outbound call"))?;
        a.conf_name
    } else {
        let task = sid(TaskSid::parse, "task", &task)?;
        crate::calls::get(&state.db, task.as_str())
            .await?
            .ok_or(ApiError::NotFound("unknown task"))?;
        task.to_string()
    };
    may_listen(&state, &agent, &owner).await?;
    Ok(Json(recordings::store::for_owner(&state.db, &owner).await?))
}

/// Supervisors, and agents who had a leg in the call `owner` (TaskSid or `ob-…` conference name).
async fn may_listen(state: &AppState, agent: &crate::auth::Agent, owner: &str) -> ApiResult<()> {
    if agent.role >= Role::Supervisor
        || crate::history::had_leg(&state.db, owner, &agent.id).await?
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(
        "only agents who were on this call may hear it",
    ))
}
