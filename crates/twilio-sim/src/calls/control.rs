//! `/_sim/calls…`: scenario control for simulated PSTN parties (JSON in, JSON out, Twilio's error JSON on failure).
//!
//! | route | does |
//! |---|---|
//! | `POST /_sim/calls` `{from, to, tone_hz?, script?: [{do: wait, ms} \| {do: dtmf, digits} \| {do: tone, hz} \| {do: hangup}]}` | a customer calls stand-in number `to` |
//! | `GET /_sim/calls`, `GET /_sim/calls/{CA}` | calls: status, what the caller heard, keys, errors, task, conference |
//! | `POST /_sim/calls/{CA}/hangup` | the caller hangs up |
//! | `POST /_sim/calls/{CA}/dtmf` `{digits}` | the caller presses keys |
//! | `POST /_sim/calls/{CA}/tone` `{hz: 440 \| null}` | the caller's tone (heard by a bridged agent) |
//! | `POST /_sim/calls/numbers` `{number, answer: answer\|busy\|no-answer\|failed, script?}` | how calls *to* a simulated phone go |
//! | `GET /_sim/conferences` | conferences with participants |

use axum::extract::rejection::JsonRejection;
use axum::extract::Path;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use tsunagi_twilio::sid::CallSid;

use super::{Answer, CallStatus, CallView, Calls, Cmd, ScriptStep, ScriptedCall};
use crate::error::ApiError;

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

fn live(calls: &Calls, s: &str) -> Result<CallSid, ApiError> {
    let sid: CallSid = s
        .parse()
        .map_err(|_| ApiError::not_found(format!("Call {s}")))?;
    match calls.view(&sid) {
        None => Err(ApiError::not_found(sid)),
        Some(v) if !v.status.is_live() => Err(ApiError::new(400, 21220, "Call is not in progress")),
        Some(_) => Ok(sid),
    }
}

/// `POST /_sim/calls`.
pub async fn start(
    Extension(calls): Extension<Calls>,
    b: Result<Json<ScriptedCall>, JsonRejection>,
) -> Result<Json<CallView>, ApiError> {
    calls.start_caller(body(b)?).map(Json)
}

/// `GET /_sim/calls`.
pub async fn list(Extension(calls): Extension<Calls>) -> Json<Vec<CallView>> {
    Json(calls.views())
}

/// `GET /_sim/calls/{sid}`.
pub async fn get(
    Extension(calls): Extension<Calls>,
    Path(s): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid: CallSid = s
        .parse()
        .map_err(|_| ApiError::not_found(format!("Call {s}")))?;
    let view = calls.view(&sid).ok_or_else(|| ApiError::not_found(sid))?;
    let mut v = serde_json::to_value(view).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        // What the party heard in its conference (the mixer's detector), like a Voice-edge call's `audio`.
        let audio = crate::conference::mixer::heard(&calls, &sid);
        m.insert(
            "audio".into(),
            serde_json::to_value(audio).unwrap_or(Value::Null),
        );
    }
    Ok(Json(v))
}

/// `POST /_sim/calls/{sid}/hangup`.
pub async fn hangup(
    Extension(calls): Extension<Calls>,
    Path(s): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sid = live(&calls, &s)?;
    calls.send(&sid, Cmd::Hangup(CallStatus::Completed));
    Ok(Json(json!({ "ok": true })))
}

/// Body of `POST /_sim/calls/{sid}/dtmf`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Digits {
    /// `0-9*#`.
    pub digits: String,
}

/// `POST /_sim/calls/{sid}/dtmf`.
pub async fn dtmf(
    Extension(calls): Extension<Calls>,
    Path(s): Path<String>,
    b: Result<Json<Digits>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let d = body(b)?.digits;
    super::validate_script(&[ScriptStep::Dtmf { digits: d.clone() }])?;
    let sid = live(&calls, &s)?;
    calls.send(&sid, Cmd::Dtmf(d));
    Ok(Json(json!({ "ok": true })))
}

/// Body of `POST /_sim/calls/{sid}/tone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tone {
    /// Hz or `null`.
    pub hz: Option<f64>,
}

/// `POST /_sim/calls/{sid}/tone`.
pub async fn tone(
    Extension(calls): Extension<Calls>,
    Path(s): Path<String>,
    b: Result<Json<Tone>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let hz = body(b)?.hz;
    super::validate_script(&[ScriptStep::Tone { hz }])?;
    let sid = live(&calls, &s)?;
    calls.send(&sid, Cmd::Tone(hz));
    Ok(Json(json!({ "ok": true })))
}

/// Body of `POST /_sim/calls/numbers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberBehaviour {
    /// The simulated phone.
    pub number: String,
    /// Outcome.
    #[serde(default)]
    pub answer: Answer,
    /// What the party does after answering.
    #[serde(default)]
    pub script: Vec<ScriptStep>,
}

/// `POST /_sim/calls/numbers`.
pub async fn set_number(
    Extension(calls): Extension<Calls>,
    b: Result<Json<NumberBehaviour>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let n = body(b)?;
    calls.set_answer(n.number, n.answer, n.script)?;
    Ok(Json(json!({ "ok": true })))
}

/// `GET /_sim/conferences`.
pub async fn conferences(
    Extension(calls): Extension<Calls>,
) -> Json<Vec<crate::conference::ConferenceView>> {
    Json(crate::conference::views(&calls))
}
