//! Conferences REST (`/2010-04-01/Accounts/{AC}/Conferences…`), spec §5 / §9:
//!
//! - `GET Conferences.json` (`FriendlyName`, `Status`), `GET Conferences/{CF}.json`;
//! - `POST Conferences/{CF}.json` `Status=completed` (reason `conference-ended-via-api`; idempotent);
//! - `GET Conferences/{CF|FriendlyName}/Participants.json`, `POST …/Participants.json` (create: `To` a
//!   `client:` URI or a simulated number, `From`, `Label`, `StartConferenceOnEnter`, `EndConferenceOnExit`,
//!   `Muted`, `Coaching`/`CallSidToCoach`, `Timeout`, `StatusCallback*`, `ConferenceStatusCallback*`; creating by
//!   FriendlyName creates the conference if none is active);
//! - `GET|POST|DELETE …/Participants/{CallSid|Label}.json` (`Hold`, `Muted`, `EndConferenceOnExit`, `Coaching`,
//!   `CallSidToCoach`, `Label`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use tsunagi_twilio::sid::{AccountSid, ConferenceSid};
use tsunagi_twilio::twiml::{Conference, Dial, VoiceResponse};

use super::{ClientLeg, ConferenceView, LegCallback, Participant};
use crate::calls::driver::Source;
use crate::calls::rest::{reply, request, rfc2822};
use crate::calls::{Calls, StatusCallback};
use crate::clock::UnixMillis;
use crate::error::ApiError;
use crate::http::rest::Req;

/// A conference as Twilio renders it.
pub fn conference_json(c: &ConferenceView) -> Value {
    json!({
        "sid": c.sid, "account_sid": c.account_sid, "friendly_name": c.friendly_name, "status": c.status,
        "region": c.region, "reason_conference_ended": c.reason_conference_ended,
        "call_sid_ending_conference": c.call_sid_ending_conference,
        "date_created": rfc2822(UnixMillis(c.created_ms)), "date_updated": rfc2822(UnixMillis(c.updated_ms)),
        "api_version": "2010-04-01",
        "uri": format!("/2010-04-01/Accounts/{}/Conferences/{}.json", c.account_sid, c.sid),
        "subresource_uris": {
            "participants": format!("/2010-04-01/Accounts/{}/Conferences/{}/Participants.json", c.account_sid, c.sid),
        },
    })
}

/// A participant as Twilio renders it.
pub fn participant_json(c: &ConferenceView, p: &Participant) -> Value {
    json!({
        "account_sid": c.account_sid, "conference_sid": c.sid, "call_sid": p.call_sid, "label": p.label,
        "muted": p.muted, "hold": p.hold, "coaching": p.coaching, "call_sid_to_coach": p.call_sid_to_coach,
        "end_conference_on_exit": p.end_conference_on_exit,
        "start_conference_on_enter": p.start_conference_on_enter, "status": p.status,
        "uri": format!("/2010-04-01/Accounts/{}/Conferences/{}/Participants/{}.json", c.account_sid, c.sid, p.call_sid),
    })
}

/// `/2010-04-01/Accounts/{AC}/Conferences.json`.
pub async fn root(
    Extension(calls): Extension<Calls>,
    Path(ac): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(async {
        let (req, account) = request(&calls, &ac, method, &headers, q, &body).await?;
        if req.method != Method::GET {
            return Err(ApiError::new(405, 20004, "Method not allowed"));
        }
        let p = &req.params;
        let list: Vec<Value> = super::views(&calls)
            .iter()
            .rev()
            .filter(|c| c.account_sid == account)
            .filter(|c| p.str("FriendlyName").is_none_or(|f| f == c.friendly_name))
            .filter(|c| p.str("Status").is_none_or(|s| s == c.status))
            .take(1000)
            .map(conference_json)
            .collect();
        Ok((StatusCode::OK, json!({ "conferences": list, "page": 0, "page_size": list.len(), "next_page_uri": null })))
    }
    .await)
}

/// `/2010-04-01/Accounts/{AC}/Conferences/{*rest}`.
pub async fn one(
    Extension(calls): Extension<Calls>,
    Path((ac, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(
        async {
            let (req, account) = request(&calls, &ac, method, &headers, q, &body).await?;
            let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
            match (&req.method, segs.as_slice()) {
                (&Method::GET, [cf]) => {
                    Ok((StatusCode::OK, conference_json(&get(&calls, &account, cf)?)))
                }
                (&Method::POST, [cf]) => update_conference(&calls, &account, cf, &req),
                (&Method::GET, [cf, "Participants.json"]) => {
                    let c = get(&calls, &account, cf)?;
                    let list: Vec<Value> = c
                        .participants
                        .iter()
                        .map(|p| participant_json(&c, p))
                        .collect();
                    Ok((
                        StatusCode::OK,
                        json!({ "participants": list, "page": 0, "page_size": list.len() }),
                    ))
                }
                (&Method::POST, [cf, "Participants.json"]) => create(&calls, account, cf, &req),
                (m, [cf, "Participants", key]) => {
                    let c = get(&calls, &account, cf)?;
                    let key = key.strip_suffix(".json").unwrap_or(key);
                    let missing = || ApiError::not_found(format!("Participant {key}"));
                    match *m {
                        Method::GET => {
                            let p = super::participant(&calls, &c.sid, key).ok_or_else(missing)?;
                            Ok((StatusCode::OK, participant_json(&c, &p)))
                        }
                        Method::POST => {
                            let p = super::update(&calls, &c.sid, key, &req.params)?;
                            Ok((StatusCode::OK, participant_json(&c, &p)))
                        }
                        Method::DELETE => {
                            let p = super::participant(&calls, &c.sid, key).ok_or_else(missing)?;
                            super::remove(
                                &calls,
                                &c.sid,
                                &p.call_sid,
                                "participant_kicked",
                                "completed",
                            );
                            Ok((StatusCode::NO_CONTENT, Value::Null))
                        }
                        _ => Err(ApiError::new(405, 20004, "Method not allowed")),
                    }
                }
                _ => Err(ApiError::not_found(format!(
                    "/2010-04-01/Accounts/{ac}/Conferences/{rest}"
                ))),
            }
        }
        .await,
    )
}

fn get(calls: &Calls, account: &AccountSid, key: &str) -> Result<ConferenceView, ApiError> {
    let key = key.strip_suffix(".json").unwrap_or(key);
    super::find(calls, account, key)
        .ok_or_else(|| ApiError::new(404, 20404, format!("Conference {key} was not found")))
}

fn update_conference(
    calls: &Calls,
    account: &AccountSid,
    cf: &str,
    req: &Req,
) -> Result<(StatusCode, Value), ApiError> {
    let c = get(calls, account, cf)?;
    match req.params.str("Status").as_deref() {
        Some("completed") => super::end(calls, &c.sid, "conference-ended-via-api", None),
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "Status {other:?} must be completed"
            )))
        }
        None if req.params.has("AnnounceUrl") => {}
        None => return Err(ApiError::invalid("Status or AnnounceUrl is required")),
    }
    Ok((
        StatusCode::OK,
        conference_json(&get(calls, account, c.sid.as_str())?),
    ))
}

fn create(
    calls: &Calls,
    account: AccountSid,
    key: &str,
    req: &Req,
) -> Result<(StatusCode, Value), ApiError> {
    let p = &req.params;
    let key = key.strip_suffix(".json").unwrap_or(key);
    let to = p
        .str("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(400, 21201, "No 'To' number is specified"))?;
    let from = p
        .str("From")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::new(400, 21213, "No 'From' number is specified"))?;
    let coach = p
        .str("CallSidToCoach")
        .map(|c| c.parse())
        .transpose()
        .map_err(|_| ApiError::invalid("CallSidToCoach is not a CallSid"))?;
    let coaching = p.bool("Coaching")?.unwrap_or(coach.is_some());
    if coaching && coach.is_none() {
        return Err(ApiError::new(
            400,
            16000,
            "CallSidToCoach is required when Coaching is true",
        ));
    }
    let conf_cb = super::Callback::from_params(p);
    let cf: ConferenceSid = match key.parse::<ConferenceSid>() {
        Ok(_) => get(calls, &account, key)?.sid,
        Err(_) => super::find_or_create(calls, account, key, p.str("Region"), conf_cb)?,
    };
    if super::wants_record(p.str("ConferenceRecord").as_deref()) {
        super::set_record(
            calls,
            &cf,
            LegCallback::from_params(p, "ConferenceRecording"),
        );
    }
    let conf = get(calls, &account, cf.as_str())?;
    if conf.status == "completed" {
        return Err(ApiError::new(
            400,
            16003,
            format!("Conference {cf} is already completed"),
        ));
    }
    let participant = Participant {
        call_sid: tsunagi_twilio::sid::CallSid::from_u128(0), // set once the leg exists
        kind: "client",
        label: p.str("Label"),
        muted: p.bool("Muted")?.unwrap_or(false),
        hold: false,
        end_conference_on_exit: p.bool("EndConferenceOnExit")?.unwrap_or(false),
        start_conference_on_enter: p.bool("StartConferenceOnEnter")?.unwrap_or(true),
        coaching,
        call_sid_to_coach: coach,
        status: "connected",
    };
    let timeout_ms = p.u64("Timeout")?.unwrap_or(60).clamp(1, 600) * 1000;
    let callback = LegCallback::from_params(p, "");
    let (uri, params) = super::split_uri(&to);
    let sid = if uri.starts_with("client:") {
        super::ring_client(
            calls,
            ClientLeg {
                account,
                conference: cf,
                to: uri,
                params,
                from,
                timeout_ms,
                participant: participant.clone(),
                callback,
                bridge: None,
                reservation: None,
            },
        )?
    } else {
        // A simulated phone: an outbound call whose TwiML is `<Dial><Conference>` with the participant's settings.
        let mut room = Conference::new(conf.friendly_name.clone());
        room.participant_label = participant.label.clone();
        room.muted = Some(participant.muted);
        room.end_conference_on_exit = Some(participant.end_conference_on_exit);
        room.start_conference_on_enter = Some(participant.start_conference_on_enter);
        let xml = VoiceResponse::new().verb(Dial::new(room)).to_xml();
        let status_callback = p
            .str("StatusCallback")
            .filter(|u| !u.is_empty())
            .map(|url| StatusCallback {
                url,
                method: p
                    .str("StatusCallbackMethod")
                    .unwrap_or_else(|| "POST".into()),
                events: p
                    .str("StatusCallbackEvent")
                    .map(|e| super::parse_events(&e))
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| vec!["completed".into()]),
            });
        let (sid, rx) = calls.create(
            account,
            "outbound-api",
            &from,
            &to,
            None,
            None,
            status_callback,
        )?;
        calls.set_status(&sid, crate::calls::CallStatus::Queued);
        if let Some(coached) = participant
            .call_sid_to_coach
            .filter(|_| participant.coaching)
        {
            let mut s = super::st(calls);
            if s.pending_coach.len() < super::MAX_PARTICIPANTS * 4 {
                s.pending_coach.insert(sid, coached);
            }
        }
        let me = calls.clone();
        let to2 = to.clone();
        tokio::spawn(async move {
            crate::calls::rest::ring_number(
                me,
                sid,
                rx,
                to2,
                timeout_ms,
                Source::Inline(xml),
                None,
            )
            .await;
        });
        sid
    };
    let mut shown = participant;
    shown.call_sid = sid;
    shown.status = "queued";
    Ok((StatusCode::CREATED, participant_json(&conf, &shown)))
}
