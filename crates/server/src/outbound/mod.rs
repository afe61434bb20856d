//! Outbound calls as conferences (spec §5.7, the Voice SDK connect variant of the session contract).
//!
//! The agent's `device.connect({To, TsunagiAttempt})` reaches the TwiML application's Voice URL
//! (`POST /twilio/voice/outbound`). The attempt key makes the webhook idempotent: a retry or a double press gets
//! the same `ob-<uuid>` conference, a closed attempt never joins its name again (that is how the seeds' busy
//! redial forked a second conference with the same FriendlyName). On the agent's `participant-join` the
//! customer is added **by ConferenceSid**; a customer leg that ends busy / no-answer / failed / canceled ends the
//! conference and pushes `outbound.failed`; late callbacks for a closed attempt change nothing. [`sweep`] ends
//! attempts stuck in setup and `init` conferences nobody owns.
//!
//! Call control of an outbound call (s14 contract §5) addresses it as `ob-<attempt>`: [`hold`], [`hangup`] and
//! [`complete`] (wrap-up notes), for the agent who dialled it only.

pub mod store;

use crate::error::ApiError;
use crate::events::AgentEvent;
use crate::legs;
use crate::state::AppState;
use crate::twilio_rest::RestError;
pub use store::{Attempt, Status};

/// What the Voice webhook answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Join this conference.
    Join(Attempt),
    /// Refuse the call (why, for the log).
    Refuse(&'static str),
}

/// The Voice webhook's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Connect<'a> {
    /// The agent's leg.
    pub call_sid: &'a str,
    /// `client:<identity>`.
    pub from: &'a str,
    /// The number dialled.
    pub to: &'a str,
    /// `TsunagiAttempt`.
    pub attempt: &'a str,
}

/// Decides the Voice webhook's answer: creates or finds the attempt.
pub async fn connect(state: &AppState, c: Connect<'_>) -> Result<Answer, ApiError> {
    let Some(identity) = c.from.strip_prefix("client:").filter(|i| !i.is_empty()) else {
        return Ok(Answer::Refuse("not a client call"));
    };
    if !legs::is_e164(c.to) {
        return Ok(Answer::Refuse("number is not E.164"));
    }
    if !legs::valid_key(c.attempt) {
        return Ok(Answer::Refuse("missing or malformed TsunagiAttempt"));
    }
    if crate::auth::agent_by_id(&state.db, identity)
        .await?
        .is_none()
    {
        return Ok(Answer::Refuse("unknown agent"));
    }
    let since = crate::db::now_unix() - state.config.twilio.outbound_stale_secs as i64;
    if store::other_in_setup(&state.db, identity, c.attempt, since).await? {
        return Ok(Answer::Refuse("another outbound call is being set up"));
    }
    let Some(a) = store::create_or_get(&state.db, c.attempt, identity, c.to, c.call_sid).await?
    else {
        return Err(ApiError::Internal("attempt vanished after insert".into()));
    };
    Ok(if a.agent_id != identity {
        Answer::Refuse("attempt belongs to another agent")
    } else if a.status.closed() {
        Answer::Refuse("attempt is closed")
    } else {
        tracing::info!(attempt = %a.attempt, agent = %a.agent_id, conference = %a.conf_name, "outbound attempt");
        Answer::Join(a)
    })
}

async fn push(state: &AppState, a: &Attempt, event: AgentEvent) -> Result<(), ApiError> {
    Ok(state.hub.publish(&a.agent_id, &event).await?)
}

/// Ends the attempt as failed (once): ends its conference and tells the agent.
pub async fn fail(state: &AppState, a: &Attempt, reason: &str) -> Result<(), ApiError> {
    if !store::transition(
        &state.db,
        &a.attempt,
        &[Status::Init, Status::Dialing],
        Status::Failed,
        Some(reason),
    )
    .await?
    {
        return Ok(());
    }
    end_conferences(state, a).await?;
    tracing::info!(attempt = %a.attempt, reason, "outbound attempt failed");
    push(
        state,
        a,
        AgentEvent::OutboundFailed {
            attempt: a.attempt.clone(),
            reason: reason.to_owned(),
        },
    )
    .await
}

/// Ends the attempt's conference: by SID when known, else every live one with its name.
async fn end_conferences(state: &AppState, a: &Attempt) -> Result<(), ApiError> {
    let sids = match &a.conference_sid {
        Some(cf) => vec![cf.clone()],
        None => live_conferences(state, Some(&a.conf_name))
            .await?
            .into_iter()
            .map(|c| c.sid)
            .collect(),
    };
    for cf in sids {
        crate::control::end_conference(state, &cf).await?;
    }
    Ok(())
}

async fn live_conferences(
    state: &AppState,
    name: Option<&str>,
) -> Result<Vec<crate::twilio_rest::ConferenceInfo>, RestError> {
    let mut all = Vec::new();
    for status in ["init", "in-progress"] {
        let mut q = vec![("Status", status)];
        if let Some(n) = name {
            q.push(("FriendlyName", n));
        }
        all.extend(state.rest.conferences(&q).await?);
    }
    Ok(all)
}

/// A status callback of the attempt's conference.
pub async fn conference_event(
    state: &AppState,
    attempt: &str,
    cf: &str,
    event: &str,
    call_sid: Option<&str>,
    label: Option<&str>,
    reason: Option<&str>,
) -> Result<(), ApiError> {
    let Some(a) = store::get(&state.db, attempt).await? else {
        tracing::info!(
            attempt,
            "conference event for an unknown attempt; ending it"
        );
        crate::control::end_conference(state, cf).await?;
        return Ok(());
    };
    let customer = label == Some("customer")
        || (call_sid.is_some() && call_sid == a.customer_call_sid.as_deref());
    match event {
        "participant-join" if a.status.closed() => {
            // A late join of a closed attempt must not leave anyone in a conference of its name.
            crate::control::end_conference(state, cf).await?;
        }
        "participant-join" if customer => {
            let to = Status::Connected;
            if store::transition(&state.db, attempt, &[Status::Dialing], to, None).await? {
                let e = AgentEvent::OutboundConnected {
                    attempt: a.attempt.clone(),
                    conference_sid: cf.to_owned(),
                };
                push(state, &a, e).await?;
            }
        }
        "participant-join" => agent_joined(state, &a, cf).await?,
        "conference-end" => {
            let done = [Status::Init, Status::Dialing, Status::Connected];
            let reason = reason.unwrap_or("conference-ended");
            if store::transition(&state.db, attempt, &done, Status::Ended, Some(reason)).await? {
                // Ended before the answer (the agent's leg left): a participant still ringing is not in the
                // conference, so its end does not stop the customer's phone.
                if let (false, Some(call)) = (
                    a.status == Status::Connected,
                    a.customer_call_sid.as_deref(),
                ) {
                    cancel_customer(state, &a.attempt, call).await;
                }
                let e = AgentEvent::OutboundEnded {
                    attempt: a.attempt.clone(),
                    reason: reason.to_owned(),
                };
                push(state, &a, e).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The agent is in: add the customer by ConferenceSid (never by name).
async fn agent_joined(state: &AppState, a: &Attempt, cf: &str) -> Result<(), ApiError> {
    store::set(&state.db, &a.attempt, store::Column::Conference, cf).await?;
    if !store::transition(
        &state.db,
        &a.attempt,
        &[Status::Init],
        Status::Dialing,
        None,
    )
    .await?
    {
        return Ok(());
    }
    let mut a = a.clone();
    a.conference_sid = Some(cf.to_owned());
    let form = legs::form(
        state,
        &legs::Leg {
            to: &a.to_number,
            label: "customer",
            end_conference_on_exit: true,
            timeout_secs: state.config.twilio.outbound_ring_timeout_secs,
            attempt: &a.attempt,
            role: "customer",
        },
    );
    match state.rest.create_participant(cf, &legs::refs(&form)).await {
        Ok(call) => {
            store::set(&state.db, &a.attempt, store::Column::Customer, &call).await?;
            // Hung up (or swept) while the customer was being added: that hang-up did not know this leg yet.
            if store::get(&state.db, &a.attempt)
                .await?
                .is_none_or(|now| now.status.closed())
            {
                cancel_customer(state, &a.attempt, &call).await;
                return Ok(());
            }
        }
        Err(e) => {
            tracing::warn!(attempt = %a.attempt, error = %e, "could not add the customer");
            return fail(state, &a, "failed").await;
        }
    }
    let e = AgentEvent::OutboundDialing {
        attempt: a.attempt.clone(),
        conference_sid: cf.to_owned(),
    };
    push(state, &a, e).await
}

/// Stops the customer's leg of an attempt ended before the answer: Twilio's `Status=canceled` stops a queued or
/// ringing call (ending the conference does not: a participant still ringing is not in it yet) and leaves an
/// answered one alone (ending the conference ends that). Best effort: a failure is logged, the caller goes on.
async fn cancel_customer(state: &AppState, attempt: &str, call: &str) {
    if let Err(e) = state
        .rest
        .update_call(call, &[("Status", "canceled")])
        .await
    {
        tracing::warn!(attempt, error = %e, "could not cancel the customer's leg");
    }
}

/// Fails an attempt ended by this side (hang-up, sweep): its customer leg, if any, stops ringing first.
async fn abandon(state: &AppState, a: &Attempt, reason: &str) -> Result<(), ApiError> {
    if let Some(call) = a.customer_call_sid.as_deref() {
        cancel_customer(state, &a.attempt, call).await;
    }
    fail(state, a, reason).await
}

/// The customer leg's status callback.
pub async fn on_customer_status(
    state: &AppState,
    attempt: &str,
    status: &str,
) -> Result<(), ApiError> {
    let Some(a) = store::get(&state.db, attempt).await? else {
        return Ok(());
    };
    if legs::failed(status) {
        fail(state, &a, status).await?;
    }
    Ok(())
}

/// Ends attempts still in setup after `outbound_stale_secs` and `init` conferences named `ob-…` that no live
/// attempt owns. Returns how many conferences or attempts it closed.
pub async fn sweep(state: &AppState, now: i64) -> Result<usize, ApiError> {
    let before = now - state.config.twilio.outbound_stale_secs as i64;
    let mut closed = 0;
    for a in store::stale(&state.db, before).await? {
        abandon(state, &a, "stale").await?;
        closed += 1;
    }
    for c in live_conferences(state, None).await? {
        if c.status != "init" || !c.friendly_name.starts_with("ob-") {
            continue;
        }
        let owner = store::by_name(&state.db, &c.friendly_name).await?;
        if owner.is_none_or(|a| a.status.closed() || a.created_at < before) {
            crate::control::end_conference(state, &c.sid).await?;
            closed += 1;
        }
    }
    Ok(closed)
}

/// The attempt behind a control id `ob-<attempt>`, if `agent` dialled it: 404 unknown, 403 someone else's.
pub async fn controlled(
    state: &AppState,
    agent: &crate::auth::Agent,
    id: &str,
) -> Result<Attempt, ApiError> {
    let unknown = ApiError::NotFound("unknown outbound call");
    if !legs::valid_key(id) {
        return Err(unknown);
    }
    let key = id.strip_prefix("ob-").unwrap_or(id);
    let found = match store::get(&state.db, key).await? {
        Some(a) => Some(a),
        None => store::get(&state.db, id).await?,
    };
    let a = found.ok_or(unknown)?;
    if a.agent_id != agent.id {
        return Err(ApiError::Forbidden(
            "only the agent who placed this call can control it",
        ));
    }
    Ok(a)
}

/// Holds (`on`) or resumes the customer of an outbound call; 409 until the customer answered or once it ended.
pub async fn hold(
    state: &AppState,
    agent: &crate::auth::Agent,
    id: &str,
    on: bool,
) -> Result<(), ApiError> {
    let a = controlled(state, agent, id).await?;
    if a.status.closed() {
        return Err(ApiError::conflict("CALL_ENDED", "the call has ended"));
    }
    let (Status::Connected, Some(cf), Some(customer)) = (
        a.status,
        a.conference_sid.as_deref(),
        a.customer_call_sid.as_deref(),
    ) else {
        return Err(crate::control::not_ready());
    };
    let form = crate::control::hold_form(on);
    state
        .rest
        .update_participant(cf, customer, &legs::refs(&form))
        .await?;
    Ok(())
}

/// Hangs up an outbound call: ends the conference of a connected call; a call still being set up fails as
/// `canceled` (the customer's ringing leg is canceled, its conference, if any, is ended; a late join of the agent
/// ends it too). Ended calls: done.
pub async fn hangup(
    state: &AppState,
    agent: &crate::auth::Agent,
    id: &str,
) -> Result<crate::control::Hangup, ApiError> {
    let a = controlled(state, agent, id).await?;
    match (a.status, a.conference_sid.as_deref()) {
        (s, _) if s.closed() => {}
        (Status::Connected, Some(cf)) => {
            crate::control::end_conference(state, cf).await?;
        }
        _ => abandon(state, &a, "canceled").await?,
    }
    Ok(crate::control::Hangup::Done)
}

/// Stores the wrap-up notes of an outbound call (there is no task to complete).
pub async fn complete(
    state: &AppState,
    agent: &crate::auth::Agent,
    id: &str,
    notes: Option<&str>,
) -> Result<(), ApiError> {
    let a = controlled(state, agent, id).await?;
    if let Some(n) = notes {
        sqlx::query("UPDATE outbound_attempts SET notes = $1 WHERE attempt = $2")
            .bind(n)
            .bind(&a.attempt)
            .execute(&state.db.pool)
            .await?;
    }
    Ok(())
}
