//! Call control through the server (spec §5), for the agent who holds the task (or a supervisor): hold and
//! unhold the customer (§5.2), hang up including the race before the conference exists (§5.3), supervisor
//! monitor / coach / barge (§5.6), and completing the task so the worker leaves `wrapping` (§5.8). Every
//! operation is idempotent. Hold, unhold, hang-up and complete also take an outbound attempt id `ob-<attempt>`
//! (s14 contract §5), handled by [`crate::outbound`] for the agent who dialled it only. The Twilio form bodies are built by pure functions ([`hold_form`],
//! [`supervise_form`]) so their exact parameters are unit-tested.

use crate::auth::{Agent, Role};
use crate::calls::{self, CallRow, CallStatus};
use crate::error::ApiError;
use crate::state::AppState;

/// Twilio's "invalid state transition" code (e.g. completing a completed task).
const INVALID_TRANSITION: i64 = 20001;

/// The interaction `task_sid` (400 if malformed, 404 if unknown).
async fn load(state: &AppState, task_sid: &str) -> Result<CallRow, ApiError> {
    tsunagi_twilio::TaskSid::parse(task_sid)
        .map_err(|e| ApiError::BadRequest(format!("task: {e}")))?;
    calls::get(&state.db, task_sid)
        .await?
        .ok_or(ApiError::NotFound("unknown task"))
}

/// Loads the interaction and checks that `agent` may act on it.
pub async fn authorize(
    state: &AppState,
    agent: &Agent,
    task_sid: &str,
) -> Result<CallRow, ApiError> {
    let row = load(state, task_sid).await?;
    let holds = row.agent_id.as_deref() == Some(agent.id.as_str());
    if holds || agent.role >= Role::Supervisor {
        Ok(row)
    } else {
        Err(ApiError::Forbidden("this task belongs to another agent"))
    }
}

/// Like [`authorize`] for live call control: after a completed transfer the agent who has the customer now
/// (not the reserved agent) may act.
pub async fn authorize_live(
    state: &AppState,
    agent: &Agent,
    task_sid: &str,
) -> Result<CallRow, ApiError> {
    let row = load(state, task_sid).await?;
    let (holder, _) = crate::transfer::holder(state, &row).await?;
    if holder.as_deref() == Some(agent.id.as_str()) || agent.role >= Role::Supervisor {
        Ok(row)
    } else {
        Err(ApiError::Forbidden("this call is handled by another agent"))
    }
}

/// Longest wrap-up notes, in Unicode scalar values (s14 contract §4).
pub const MAX_NOTES_CHARS: usize = 2000;

/// The optional body of `POST /v1/calls/{id}/complete`: nothing, or `{"notes": "…"}`. Returns the notes to store
/// (`None` for no body or empty notes); 422 `NOTES_TOO_LONG` above [`MAX_NOTES_CHARS`]. The notes are never
/// logged.
pub fn complete_notes(body: &[u8]) -> Result<Option<String>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default)]
        notes: Option<String>,
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: Body =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let notes = body.notes.filter(|n| !n.is_empty());
    if notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS)
    {
        return Err(ApiError::unprocessable(
            "NOTES_TOO_LONG",
            format!("notes are limited to {MAX_NOTES_CHARS} characters"),
        ));
    }
    Ok(notes)
}

/// Whether a control id names an outbound attempt (`ob-<attempt>`) rather than a TaskSid.
pub fn is_outbound(id: &str) -> bool {
    id.starts_with("ob-")
}

/// Completes the task (`AssignmentStatus=completed`) and stores the wrap-up notes, if any. Completing an already
/// completed task succeeds (and replaces its notes). An outbound id only stores the notes.
pub async fn complete(
    state: &AppState,
    agent: &Agent,
    task_sid: &str,
    notes: Option<&str>,
) -> Result<(), ApiError> {
    if is_outbound(task_sid) {
        return crate::outbound::complete(state, agent, task_sid, notes).await;
    }
    let row = authorize(state, agent, task_sid).await?;
    if row.status == CallStatus::Completed {
        if let Some(n) = notes {
            calls::set_notes(&state.db, task_sid, n).await?;
        }
        return Ok(());
    }
    let form = [
        ("AssignmentStatus", "completed"),
        ("Reason", "wrap-up finished by the agent"),
    ];
    match state.rest.update_task(task_sid, &form).await {
        Ok(()) => {}
        Err(e) if e.twilio_code() == Some(INVALID_TRANSITION) => {
            if state.rest.task_status(task_sid).await?.as_deref() != Some("completed") {
                return Err(ApiError::Conflict {
                    code: "TASK_NOT_COMPLETABLE",
                    message: "the task cannot be completed in its current state".into(),
                });
            }
        }
        Err(e) => return Err(e.into()),
    }
    calls::set_status(&state.db, task_sid, CallStatus::Completed).await?;
    if let Some(n) = notes {
        calls::set_notes(&state.db, task_sid, n).await?;
    }
    tracing::info!(task = task_sid, agent = %agent.id, notes = notes.is_some(), "task completed");
    Ok(())
}

/// Conference not created yet (spec §5.1): the client retries shortly.
pub(crate) fn not_ready() -> ApiError {
    ApiError::Conflict {
        code: "CONFERENCE_NOT_READY",
        message: "the conference does not exist yet; retry in 500 ms".into(),
    }
}

/// The participant update that holds (`true`) or resumes (`false`) a leg. Without `HoldUrl` Twilio plays its
/// default hold music.
pub fn hold_form(on: bool) -> Vec<(&'static str, String)> {
    vec![("Hold", on.to_string())]
}

/// Holds or resumes the customer.
pub async fn hold(
    state: &AppState,
    agent: &Agent,
    task_sid: &str,
    on: bool,
) -> Result<(), ApiError> {
    if is_outbound(task_sid) {
        return crate::outbound::hold(state, agent, task_sid, on).await;
    }
    let row = authorize_live(state, agent, task_sid).await?;
    let (Some(cf), Some(customer)) = (
        row.conference_sid.as_deref(),
        row.customer_call_sid.as_deref(),
    ) else {
        return Err(not_ready());
    };
    if matches!(
        row.status,
        CallStatus::Ended | CallStatus::Completed | CallStatus::Abandoned
    ) {
        return Err(ApiError::Conflict {
            code: "CALL_ENDED",
            message: "the call has ended".into(),
        });
    }
    let form = hold_form(on);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    state.rest.update_participant(cf, customer, &form).await?;
    Ok(())
}

/// What a hang-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hangup {
    /// The call is over (now or already).
    Done,
    /// The conference does not exist yet; it is ended as soon as it starts.
    Queued,
}

fn gone(e: &crate::twilio_rest::RestError) -> bool {
    e.http_status() == Some(404) || matches!(e.twilio_code(), Some(20404 | 40136 | 40144))
}

/// Hangs up (spec §5.3): ends the conference when it exists; otherwise rejects a reservation whose agent leg
/// has not been answered yet; otherwise remembers the request and ends the conference when it starts.
pub async fn hangup(state: &AppState, agent: &Agent, task_sid: &str) -> Result<Hangup, ApiError> {
    if is_outbound(task_sid) {
        return crate::outbound::hangup(state, agent, task_sid).await;
    }
    let row = authorize_live(state, agent, task_sid).await?;
    if matches!(
        row.status,
        CallStatus::Ended | CallStatus::Completed | CallStatus::Abandoned
    ) {
        return Ok(Hangup::Done);
    }
    if let Some(cf) = row.conference_sid.as_deref() {
        return end_conference(state, cf).await;
    }
    let answered = match row.agent_call_sid.as_deref() {
        Some(leg) => calls::agent_leg_answered(&state.db, task_sid, leg).await?,
        None => false,
    };
    if let (false, Some(res)) = (answered, row.reservation_sid.as_deref()) {
        match state
            .rest
            .update_reservation(task_sid, res, &[("ReservationStatus", "rejected")])
            .await
        {
            Ok(()) => return Ok(Hangup::Done),
            // Already accepted: the agent leg is being answered; fall through to the queued hang-up.
            Err(e) if gone(&e) || e.twilio_code() == Some(INVALID_TRANSITION) => {}
            Err(e) => return Err(e.into()),
        }
    }
    calls::request_hangup(&state.db, task_sid).await?;
    // The conference may have started between the read above and the flag: re-check.
    if let Some(cf) = calls::get(&state.db, task_sid)
        .await?
        .and_then(|r| r.conference_sid)
    {
        return end_conference(state, &cf).await;
    }
    tracing::info!(
        task = task_sid,
        "hang-up queued until the conference starts"
    );
    Ok(Hangup::Queued)
}

/// Ends a conference; one that is already gone counts as ended.
pub(crate) async fn end_conference(state: &AppState, cf: &str) -> Result<Hangup, ApiError> {
    match state
        .rest
        .update_conference(cf, &[("Status", "completed")])
        .await
    {
        Ok(()) => Ok(Hangup::Done),
        Err(e) if gone(&e) => Ok(Hangup::Done),
        Err(e) => Err(e.into()),
    }
}

/// Supervisor modes (spec §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuperviseMode {
    /// Listen only.
    Monitor,
    /// Whisper to the agent only.
    Coach,
    /// Talk to both.
    Barge,
}

/// The participant parameters of a supervisor in `mode`; `agent_leg` is the coached call.
pub fn supervise_form(mode: SuperviseMode, agent_leg: &str) -> Vec<(&'static str, String)> {
    match mode {
        SuperviseMode::Monitor => vec![("Muted", "true".into()), ("Coaching", "false".into())],
        SuperviseMode::Coach => {
            vec![
                ("Muted", "false".into()),
                ("Coaching", "true".into()),
                ("CallSidToCoach", agent_leg.into()),
            ]
        }
        SuperviseMode::Barge => vec![("Muted", "false".into()), ("Coaching", "false".into())],
    }
}

/// The extra parameters that create a supervisor's leg.
pub fn supervisor_leg_form(
    supervisor: &Agent,
    caller_id: &str,
    region: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("From", caller_id.to_owned()),
        ("To", format!("client:{}", supervisor.id)),
        ("Label", format!("supervisor-{}", supervisor.id)),
        ("Beep", "false".into()),
        ("StartConferenceOnEnter", "false".into()),
        ("EndConferenceOnExit", "false".into()),
        ("Region", region.to_owned()),
    ]
}

/// Puts the supervisor in `mode` on the task's conference: updates their leg (addressed by label) or adds it.
pub async fn supervise(
    state: &AppState,
    supervisor: &Agent,
    task_sid: &str,
    mode: SuperviseMode,
) -> Result<(), ApiError> {
    if supervisor.role < Role::Supervisor {
        return Err(ApiError::Forbidden("supervisors only"));
    }
    let row = authorize(state, supervisor, task_sid).await?;
    let (Some(cf), Some(agent_leg)) =
        (row.conference_sid.as_deref(), row.agent_call_sid.as_deref())
    else {
        return Err(not_ready());
    };
    let mode_form = supervise_form(mode, agent_leg);
    let as_refs =
        |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let label = format!("supervisor-{}", supervisor.id);
    let update: Vec<(&str, &str)> = mode_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match state.rest.update_participant(cf, &label, &update).await {
        Ok(()) => return Ok(()),
        Err(e) if e.http_status() == Some(404) => {}
        Err(e) => return Err(e.into()),
    }
    let caller_id = state.config.twilio.caller_id.clone().unwrap_or_default();
    let mut create = supervisor_leg_form(supervisor, &caller_id, &state.config.twilio.region);
    create.extend(as_refs(&mode_form));
    let create: Vec<(&str, &str)> = create.iter().map(|(k, v)| (*k, v.as_str())).collect();
    state.rest.create_participant(cf, &create).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a [(&'static str, String)], k: &str) -> Option<&'a str> {
        f.iter().find(|(key, _)| *key == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn supervisor_forms_follow_spec_5_6() {
        let m = supervise_form(SuperviseMode::Monitor, "CAa");
        assert_eq!(
            (
                get(&m, "Muted"),
                get(&m, "Coaching"),
                get(&m, "CallSidToCoach")
            ),
            (Some("true"), Some("false"), None)
        );
        let c = supervise_form(SuperviseMode::Coach, "CAa");
        assert_eq!(
            (
                get(&c, "Muted"),
                get(&c, "Coaching"),
                get(&c, "CallSidToCoach")
            ),
            (Some("false"), Some("true"), Some("CAa"))
        );
        let b = supervise_form(SuperviseMode::Barge, "CAa");
        assert_eq!(
            (get(&b, "Muted"), get(&b, "Coaching")),
            (Some("false"), Some("false"))
        );
        let sup = Agent {
            id: "agent_9001".into(),
            login: "y".into(),
            display_name: "山本".into(),
            worker_sid: None,
            department_id: None,
            role: Role::Supervisor,
            channel: "stable".into(),
        };
        let leg = supervisor_leg_form(&sup, "+815012345678", "jp1");
        assert_eq!(get(&leg, "To"), Some("client:agent_9001"));
        assert_eq!(get(&leg, "Label"), Some("supervisor-agent_9001"));
        assert_eq!(get(&leg, "StartConferenceOnEnter"), Some("false"));
        assert_eq!(get(&leg, "EndConferenceOnExit"), Some("false"));
        assert_eq!(get(&leg, "Beep"), Some("false"));
        assert_eq!(get(&leg, "Region"), Some("jp1"));
        assert_eq!(hold_form(true), vec![("Hold", "true".to_owned())]);
    }
}
