//! `/_sim/voice/…`: scenario control for tests (JSON in, JSON out, Twilio's error JSON on failure).
//!
//! | route | does |
//! |---|---|
//! | `GET /_sim/voice/clients` | identities with a registered Device |
//! | `POST /_sim/voice/calls` `{to, from?, params?: [[k,v]…], tone_hz?}` | rings a registered Device |
//! | `GET /_sim/voice/calls`, `GET /_sim/voice/calls/{sid}` | calls with state, DTMF, messages, received audio |
//! | `POST /_sim/voice/calls/{sid}/hangup` | far end hangs up (`cancel` while ringing) |
//! | `POST /_sim/voice/calls/{sid}/tone` `{hz: 440 \| null}` | changes the tone the far end plays |
//! | `POST /_sim/voice/numbers` `{number, behaviour: "answer" \| "busy" \| "no-answer"}` | outgoing call outcome |
//! | `POST /_sim/voice/sockets/drop` | drops every signaling socket (signaling-reconnect tests) |

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tsunagi_twilio::sid::CallSid;

use super::model::{CallView, NumberBehaviour, PlaceCall};
use super::Voice;
use crate::error::ApiError;

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v)
        .map_err(|e| ApiError::invalid(e.body_text()))
}

fn sid(s: &str) -> Result<CallSid, ApiError> {
    s.parse().map_err(|_| ApiError::not_found("call"))
}

/// `GET /_sim/voice/clients`.
pub async fn clients(State(v): State<Voice>) -> Json<Value> {
    Json(json!({ "registered": v.registered() }))
}

/// `POST /_sim/voice/calls`.
pub async fn place(
    State(v): State<Voice>,
    b: Result<Json<PlaceCall>, JsonRejection>,
) -> Result<Json<CallView>, ApiError> {
    v.place_call(body(b)?).map(Json)
}

/// `GET /_sim/voice/calls`.
pub async fn list(State(v): State<Voice>) -> Json<Vec<CallView>> {
    Json(v.calls())
}

/// `GET /_sim/voice/calls/{sid}`.
pub async fn get(
    State(v): State<Voice>,
    Path(s): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    let sid = sid(&s)?;
    v.call(&sid)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(sid))
}

/// `POST /_sim/voice/calls/{sid}/hangup`.
pub async fn hangup(
    State(v): State<Voice>,
    Path(s): Path<String>,
) -> Result<Json<CallView>, ApiError> {
    v.hangup(&sid(&s)?).map(Json)
}

/// Body of `POST /_sim/voice/calls/{sid}/tone`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tone {
    /// Frequency, or `null` for silence.
    pub hz: Option<f64>,
}

/// `POST /_sim/voice/calls/{sid}/tone`.
pub async fn tone(
    State(v): State<Voice>,
    Path(s): Path<String>,
    b: Result<Json<Tone>, JsonRejection>,
) -> Result<Json<CallView>, ApiError> {
    let hz = body(b)?.hz;
    if hz.is_some_and(|h| !(20.0..=3_900.0).contains(&h)) {
        return Err(ApiError::invalid("hz must be within 20‥3900 (8 kHz PCMU)"));
    }
    v.set_tone(&sid(&s)?, hz).map(Json)
}

/// Body of `POST /_sim/voice/numbers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Number {
    /// The dialled `To`.
    pub number: String,
    /// What happens.
    pub behaviour: NumberBehaviour,
}

/// `POST /_sim/voice/numbers`.
pub async fn set_number(
    State(v): State<Voice>,
    b: Result<Json<Number>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let n = body(b)?;
    v.set_number(n.number, n.behaviour);
    Ok(Json(json!({ "ok": true })))
}

/// `POST /_sim/voice/sockets/drop`.
pub async fn drop_sockets(State(v): State<Voice>) -> Json<Value> {
    Json(json!({ "dropped": v.drop_sockets() }))
}
