//! Status callbacks of legs the server adds to conferences through the Participants API
//! (`POST /twilio/participant/status?attempt=…&role=transfer|customer`), signature-checked and idempotent
//! per (leg, status).

use axum::extract::State;
use axum::http::StatusCode;
use tsunagi_twilio::CallSid;

use crate::db::CallEvent;
use crate::error::{ApiError, ApiResult};
use crate::http::twilio::{exactly_once, sid};
use crate::http::webhook::TwilioWebhook;
use crate::state::AppState;

/// `POST /twilio/participant/status?attempt=<id>&role=<role>`.
pub async fn participant_status(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<StatusCode> {
    let attempt = hook.query("attempt").unwrap_or("");
    if !crate::legs::valid_key(attempt) {
        return Err(ApiError::BadRequest("attempt: expected an id".into()));
    }
    let role = hook.query("role").unwrap_or("");
    let call = sid(CallSid::parse, "CallSid", hook.require("CallSid")?)?;
    let status = hook.require("CallStatus")?;
    let key = format!("leg:{call}:{status}");
    exactly_once(&state, &key, async {
        let event = CallEvent {
            dedup_key: &key,
            task_sid: None,
            call_sid: Some(call.as_str()),
            conference_sid: None,
            kind: role_kind(role)?,
            status,
            agent_id: None,
        };
        state.db.log_call_event(&event).await?;
        match role {
            "transfer" => {
                crate::transfer::on_leg_status(&state, attempt, call.as_str(), status).await
            }
            "customer" => crate::outbound::on_customer_status(&state, attempt, status).await,
            _ => Ok(()),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn role_kind(role: &str) -> Result<&'static str, ApiError> {
    match role {
        "transfer" => Ok("transfer-leg"),
        "customer" => Ok("outbound-leg"),
        _ => Err(ApiError::BadRequest(
            "role: expected transfer or customer".into(),
        )),
    }
}
