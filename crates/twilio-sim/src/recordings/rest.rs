//! Recordings REST (`/2010-04-01/Accounts/{AC}/…`), Basic auth as the rest of the API:
//!
//! - `GET Recordings.json` (`CallSid`, `ConferenceSid`, `DateCreatedAfter`/`DateCreated>`,
//!   `DateCreatedBefore`/`DateCreated<`, `DateCreated`), newest first;
//! - `GET Recordings/{RE}.json`; `DELETE Recordings/{RE}.json` (204, then 20404);
//! - `GET Recordings/{RE}` or `{RE}.wav`: the audio (mono unless `RequestedChannels=2`; 404 while in progress);
//! - `POST Calls/{CA}/Recordings.json` (`RecordingChannels=mono|dual`, `RecordingTrack=inbound|outbound|both`,
//!   `RecordingStatusCallback`, `…Event`, `…Method`), `GET Calls/{CA}/Recordings.json`,
//!   `GET|POST Calls/{CA}/Recordings/{RE}.json` (`Status=paused|in-progress|stopped`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tsunagi_twilio::sid::{AccountSid, CallSid, RecordingSid};

use super::{RecordingView, Request, Target};
use crate::calls::rest::{reply, request, rfc2822};
use crate::calls::Calls;
use crate::clock::UnixMillis;
use crate::conference::LegCallback;
use crate::error::ApiError;
use crate::http::rest::Req;
use crate::params::Params;

/// A recording as Twilio renders it.
pub fn recording_json(calls: &Calls, v: &RecordingView) -> Value {
    let base = format!(
        "/2010-04-01/Accounts/{}/Recordings/{}",
        v.account_sid, v.sid
    );
    json!({
        "sid": v.sid, "account_sid": v.account_sid, "call_sid": v.call_sid, "conference_sid": v.conference_sid,
        "status": v.status, "channels": v.channels, "source": v.source, "track": v.track,
        "duration": v.duration_s.to_string(), "start_time": rfc2822(UnixMillis(v.created_ms)),
        "date_created": rfc2822(UnixMillis(v.created_ms)), "date_updated": rfc2822(UnixMillis(v.updated_ms)),
        "api_version": "2010-04-01", "price": null, "price_unit": "USD", "error_code": null,
        "encryption_details": null, "media_url": super::media_url(calls, v), "uri": format!("{base}.json"),
        "subresource_uris": {
            "add_on_results": format!("{base}/AddOnResults.json"),
            "transcriptions": format!("{base}/Transcriptions.json"),
        },
    })
}

fn list_json(calls: &Calls, uri: String, items: Vec<RecordingView>) -> Value {
    let list: Vec<Value> = items
        .iter()
        .take(1000)
        .map(|v| recording_json(calls, v))
        .collect();
    json!({
        "recordings": list, "page": 0, "page_size": list.len(), "start": 0,
        "end": list.len().saturating_sub(1), "first_page_uri": uri, "uri": uri,
        "next_page_uri": null, "previous_page_uri": null,
    })
}

fn date(p: &Params, keys: &[&str]) -> Result<Option<u64>, ApiError> {
    for k in keys {
        if let Some(s) = p.str(k) {
            return UnixMillis::parse_iso8601(&s)
                .map(|t| Some(t.0))
                .ok_or_else(|| ApiError::invalid(format!("{k} must be an ISO 8601 date")));
        }
    }
    Ok(None)
}

fn list(calls: &Calls, account: &AccountSid, p: &Params) -> Result<Vec<RecordingView>, ApiError> {
    let call = p.str("CallSid");
    let conf = p.str("ConferenceSid");
    let after = date(p, &["DateCreatedAfter", "DateCreated>"])?;
    let before = date(p, &["DateCreatedBefore", "DateCreated<"])?;
    let on = date(p, &["DateCreated"])?;
    Ok(super::views(calls)
        .into_iter()
        .filter(|v| v.account_sid == *account)
        .filter(|v| {
            call.as_deref()
                .is_none_or(|c| v.call_sid.is_some_and(|x| x.as_str() == c))
        })
        .filter(|v| {
            conf.as_deref()
                .is_none_or(|c| v.conference_sid.is_some_and(|x| x.as_str() == c))
        })
        .filter(|v| after.is_none_or(|a| v.created_ms >= a))
        .filter(|v| before.is_none_or(|b| v.created_ms <= b))
        .filter(|v| on.is_none_or(|d| v.created_ms / 86_400_000 == d / 86_400_000))
        .collect())
}

fn owned(calls: &Calls, account: &AccountSid, key: &str) -> Result<RecordingView, ApiError> {
    key.parse::<RecordingSid>()
        .ok()
        .and_then(|sid| super::view(calls, &sid))
        .filter(|v| v.account_sid == *account)
        .ok_or_else(|| ApiError::not_found(format!("Recording {key}")))
}

/// `/2010-04-01/Accounts/{AC}/Recordings.json`.
pub async fn root(
    Extension(calls): Extension<Calls>,
    Path(ac): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = async {
        let (req, account) = request(&calls, &ac, method, &headers, q, &body).await?;
        if req.method != Method::GET {
            return Err(ApiError::new(405, 20004, "Method not allowed"));
        }
        let items = list(&calls, &account, &req.params)?;
        let uri = format!("/2010-04-01/Accounts/{account}/Recordings.json");
        Ok((StatusCode::OK, list_json(&calls, uri, items)))
    }
    .await;
    reply(r)
}

/// `/2010-04-01/Accounts/{AC}/Recordings/{RE}[.json|.wav]`.
pub async fn one(
    Extension(calls): Extension<Calls>,
    Path((ac, file)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let r = async {
        let (req, account) = request(&calls, &ac, method, &headers, q, &body).await?;
        let (key, ext) = file.split_once('.').unwrap_or((&file, "wav"));
        let v = owned(&calls, &account, key)?;
        match (&req.method, ext) {
            (&Method::GET, "json") => Ok(Json(recording_json(&calls, &v)).into_response()),
            (&Method::DELETE, "json") => {
                super::delete(&calls, &v.sid);
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            (&Method::GET, "wav") => {
                let channels = match req.params.u64("RequestedChannels")? {
                    None | Some(1) => 1,
                    Some(2) => 2,
                    Some(_) => return Err(ApiError::invalid("RequestedChannels must be 1 or 2")),
                };
                let wav = super::media(&calls, &v.sid, channels).ok_or_else(|| {
                    ApiError::not_found(format!("Recording {} media (still in progress)", v.sid))
                })?;
                Ok(([("content-type", "audio/x-wav")], wav).into_response())
            }
            (&Method::GET, "mp3") => Err(ApiError::new(
                415,
                20001,
                "the stand-in serves recordings as .wav only",
            )),
            (&Method::GET | &Method::DELETE, _) => {
                Err(ApiError::not_found(format!("Recording {file}")))
            }
            _ => Err(ApiError::new(405, 20004, "Method not allowed")),
        }
    }
    .await;
    r.unwrap_or_else(IntoResponse::into_response)
}

/// `Calls/{CA}/Recordings…` (`rest` is what follows `Recordings`): create, list, fetch, update.
pub fn for_call(
    calls: &Calls,
    account: AccountSid,
    call: &str,
    rest: &[&str],
    req: &Req,
) -> Result<(StatusCode, Value), ApiError> {
    let sid: CallSid = call
        .parse()
        .map_err(|_| ApiError::not_found(format!("Call {call}")))?;
    let known = calls
        .view(&sid)
        .map(|v| (v.account_sid == account, v.status.is_live()));
    let live = match known {
        Some((true, live)) => live,
        Some((false, _)) => return Err(ApiError::not_found(format!("Call {call}"))),
        // A Voice-edge leg (an agent's Device) is a call of the account too.
        None => calls
            .voice()
            .call(&sid)
            .map(|v| v.state == crate::voice::CallState::InProgress)
            .ok_or_else(|| ApiError::not_found(format!("Call {call}")))?,
    };
    let p = &req.params;
    match (&req.method, rest) {
        (&Method::POST, ["Recordings.json"]) => {
            let answered = calls
                .view(&sid)
                .map_or(live, |v| v.status == crate::calls::CallStatus::InProgress);
            if !answered {
                return Err(ApiError::new(
                    400,
                    21220,
                    "Call is not in-progress. Cannot create recording.",
                ));
            }
            let channels = match p.str("RecordingChannels").as_deref() {
                None | Some("mono") => 1,
                Some("dual") => 2,
                Some(o) => {
                    return Err(ApiError::invalid(format!(
                        "RecordingChannels {o:?} must be mono or dual"
                    )))
                }
            };
            let track = match p.str("RecordingTrack").as_deref() {
                None | Some("both") => "both",
                Some("inbound") => "inbound",
                Some("outbound") => "outbound",
                Some(o) => {
                    return Err(ApiError::invalid(format!(
                        "RecordingTrack {o:?} must be inbound, outbound or both"
                    )))
                }
            };
            let v = super::start(
                calls,
                Request {
                    account,
                    target: Target::Call(sid),
                    channels,
                    track,
                    callback: LegCallback::from_params(p, "Recording"),
                },
            );
            Ok((StatusCode::CREATED, recording_json(calls, &v)))
        }
        (&Method::GET, ["Recordings.json"]) => {
            let items: Vec<RecordingView> = super::views(calls)
                .into_iter()
                .filter(|v| v.call_sid == Some(sid) && v.conference_sid.is_none())
                .collect();
            Ok((
                StatusCode::OK,
                list_json(
                    calls,
                    format!("/2010-04-01/Accounts/{account}/Calls/{sid}/Recordings.json"),
                    items,
                ),
            ))
        }
        (m, ["Recordings", file]) if *m == Method::GET || *m == Method::POST => {
            let key = file.strip_suffix(".json").unwrap_or(file);
            let v = owned(calls, &account, key).and_then(|v| {
                if v.call_sid == Some(sid) {
                    Ok(v)
                } else {
                    Err(ApiError::not_found(format!("Recording {key}")))
                }
            })?;
            if *m == Method::GET {
                return Ok((StatusCode::OK, recording_json(calls, &v)));
            }
            let status = p
                .str("Status")
                .ok_or_else(|| ApiError::invalid("Status is required"))?;
            let v = super::set_status(calls, &v.sid, &status)?;
            Ok((StatusCode::OK, recording_json(calls, &v)))
        }
        _ => Err(ApiError::not_found(format!("Calls/{call}/Recordings"))),
    }
}
