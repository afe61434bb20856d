//! Outbound-call webhooks (spec §5.7): the TwiML application's Voice URL and the `ob-…` conference's status
//! callback. Signature-checked; the conference callback runs once per (conference, sequence number).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tsunagi_twilio::CallSid;

use crate::db::CallEvent;
use crate::error::{ApiError, ApiResult};
use crate::http::twilio::{exactly_once, sid, xml, ConferenceHook};
use crate::http::webhook::TwilioWebhook;
use crate::outbound::{self, Answer, Connect};
use crate::state::AppState;
use crate::twiml;

/// `POST /twilio/voice/outbound`: `<Dial><Conference>ob-…</Conference></Dial>` for the attempt, or a refusal.
pub async fn voice(State(state): State<AppState>, hook: TwilioWebhook) -> ApiResult<Response> {
    let call = sid(CallSid::parse, "CallSid", hook.require("CallSid")?)?;
    let c = Connect {
        call_sid: call.as_str(),
        from: hook.param("From").unwrap_or(""),
        to: hook.param("To").unwrap_or(""),
        attempt: hook.param("TsunagiAttempt").unwrap_or(""),
    };
    Ok(xml(match outbound::connect(&state, c).await? {
        Answer::Join(a) => twiml::outbound_conference(&state.config, &a.attempt, &a.conf_name),
        Answer::Refuse(why) => {
            tracing::info!(call = %call, why, "outbound call refused");
            twiml::refused()
        }
    }))
}

/// `POST /twilio/outbound/conference?attempt=…`: the `ob-…` conference's events.
pub async fn conference(
    State(state): State<AppState>,
    hook: TwilioWebhook,
) -> ApiResult<StatusCode> {
    let attempt = hook.query("attempt").unwrap_or("");
    if !crate::legs::valid_key(attempt) {
        return Err(ApiError::BadRequest("attempt: expected an id".into()));
    }
    let c = ConferenceHook::parse(&hook)?;
    let (cf, event, call) = (c.conference.as_str(), c.event, c.call());
    exactly_once(&state, &c.key, async {
        let log = CallEvent {
            dedup_key: &c.key,
            task_sid: None,
            call_sid: call,
            conference_sid: Some(cf),
            kind: "outbound-conference",
            status: event,
            agent_id: None,
        };
        state.db.log_call_event(&log).await?;
        let label = hook.param("ParticipantLabel");
        let reason = hook.param("ReasonConferenceEnded");
        outbound::conference_event(&state, attempt, cf, event, call, label, reason).await
    })
    .await?;
    // Who is on a call may have changed: the roster's next flush says so.
    state.roster.mark_dirty();
    Ok(StatusCode::NO_CONTENT)
}
