//! Calls REST (`/2010-04-01/Accounts/{AC}/Calls…`): Basic auth, form in, Twilio JSON out.
//!
//! - `GET Calls.json` (`To`, `From`, `Status`, `ParentCallSid`), `GET Calls/{CA}.json`.
//! - `POST Calls.json`: `To` (a simulated PSTN number; its outcome is set with `POST /_sim/calls/numbers`),
//!   `From`, `Url`+`Method` or `Twiml`, `Timeout`, `StatusCallback`+`StatusCallbackEvent`+`StatusCallbackMethod`.
//! - `POST Calls/{CA}.json`: `Status=completed|canceled` (idempotent: an ended call answers 200 as it is), `Url`
//!   (+`Method`) or `Twiml` to redirect a live call (21220 when it is not live; 12100 for bad TwiML).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};
use tsunagi_twilio::sid::{AccountSid, CallSid};
use tsunagi_twilio::twiml::VoiceResponse;

use super::driver::{self, Source};
use super::{Answer, CallStatus, CallView, Calls, Cmd, StatusCallback};
use crate::clock::UnixMillis;
use crate::error::ApiError;
use crate::http::rest::{faults, parse, Req};
use crate::shared::lock;

/// Authenticates and checks the path account.
pub(crate) async fn request(
    calls: &Calls,
    ac: &str,
    method: Method,
    headers: &HeaderMap,
    q: Option<String>,
    body: &Bytes,
) -> Result<(Req, AccountSid), ApiError> {
    if let Some(e) = faults(calls.shared()).await {
        return Err(e);
    }
    let req = parse(calls.shared(), method, "", headers, q, body)?;
    let account: AccountSid = ac
        .parse()
        .map_err(|_| ApiError::not_found(format!("Account {ac}")))?;
    if !lock(&calls.shared().accounts).can_access(&req.principal, &account) {
        return Err(ApiError::new(403, 20003, "Authenticate"));
    }
    Ok((req, account))
}

fn date(ms: Option<u64>) -> Value {
    ms.map_or(Value::Null, |m| Value::String(rfc2822(UnixMillis(m))))
}

/// RFC 2822 in UTC (`Thu, 26 Nov 2026 08:53:57 +0000`), as the 2010-04-01 API writes dates.
pub fn rfc2822(t: UnixMillis) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `iso8601` is `YYYY-MM-DDTHH:MM:SSZ`; reuse its calendar arithmetic.
    let iso = t.iso8601();
    let (date, time) = iso.split_once('T').unwrap_or((&iso, "00:00:00Z"));
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next().unwrap_or("1970"),
        parts
            .next()
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(1),
        parts.next().unwrap_or("01"),
    );
    let weekday = DAYS
        .get(((t.secs() / 86_400) % 7) as usize)
        .copied()
        .unwrap_or("Thu");
    let month = MONTHS.get(m.saturating_sub(1)).copied().unwrap_or("Jan");
    format!(
        "{weekday}, {d} {month} {y} {} +0000",
        time.trim_end_matches('Z')
    )
}

/// A call as Twilio renders it.
pub fn call_json(v: &CallView) -> Value {
    let duration = match (v.answered_ms, v.ended_ms) {
        (Some(a), Some(e)) => Value::String((e.saturating_sub(a) / 1000).to_string()),
        _ => Value::Null,
    };
    json!({
        "sid": v.sid, "account_sid": v.account_sid, "to": v.to, "to_formatted": v.to, "from": v.from,
        "from_formatted": v.from, "status": v.status.as_str(), "direction": v.direction,
        "parent_call_sid": v.parent_call_sid, "date_created": date(Some(v.created_ms)),
        "date_updated": date(v.ended_ms.or(v.answered_ms).or(Some(v.created_ms))),
        "start_time": date(v.answered_ms), "end_time": date(v.ended_ms), "duration": duration,
        "api_version": "2010-04-01", "answered_by": null, "price": null, "price_unit": "USD",
        "queue_time": "0", "caller_name": null, "forwarded_from": null, "group_sid": null, "trunk_sid": null,
        "phone_number_sid": null, "annotation": null,
        "uri": format!("/2010-04-01/Accounts/{}/Calls/{}.json", v.account_sid, v.sid),
        "subresource_uris": {},
    })
}

/// A handler's result as Twilio's JSON response.
pub(crate) fn reply(r: Result<(StatusCode, Value), ApiError>) -> Response {
    match r {
        Ok((s, v)) => (s, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `/2010-04-01/Accounts/{AC}/Calls.json`.
pub async fn calls_root(
    Extension(calls): Extension<Calls>,
    Path(ac): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(root(&calls, &ac, method, &headers, q, &body).await)
}

async fn root(
    calls: &Calls,
    ac: &str,
    method: Method,
    headers: &HeaderMap,
    q: Option<String>,
    body: &Bytes,
) -> Result<(StatusCode, Value), ApiError> {
    let (req, account) = request(calls, ac, method, headers, q, body).await?;
    let p = &req.params;
    match req.method {
        Method::GET => {
            let list: Vec<Value> = calls
                .views()
                .iter()
                .rev()
                .filter(|v| v.account_sid == account)
                .filter(|v| p.str("To").is_none_or(|t| t == v.to))
                .filter(|v| p.str("From").is_none_or(|f| f == v.from))
                .filter(|v| p.str("Status").is_none_or(|s| s == v.status.as_str()))
                .filter(|v| {
                    p.str("ParentCallSid")
                        .is_none_or(|s| v.parent_call_sid.is_some_and(|x| x.as_str() == s))
                })
                .take(1000)
                .map(call_json)
                .collect();
            Ok((
                StatusCode::OK,
                json!({ "calls": list, "page": 0, "page_size": list.len(), "next_page_uri": null }),
            ))
        }
        Method::POST => create(calls, account, &req).map(|v| (StatusCode::CREATED, call_json(&v))),
        _ => Err(ApiError::new(405, 20004, "Method not allowed")),
    }
}

fn create(calls: &Calls, account: AccountSid, req: &Req) -> Result<CallView, ApiError> {
    let p = &req.params;
    let to = p
        .str("To")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::new(400, 21201, "No 'To' number is specified"))?;
    let from = p
        .str("From")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| ApiError::new(400, 21213, "No 'From' number is specified"))?;
    if to.starts_with("client:") || to.starts_with("sip:") {
        return Err(ApiError::new(
            400,
            21211,
            "the stand-in's Calls create dials simulated phone numbers; add client legs as conference participants",
        ));
    }
    let source = match (p.str("Url"), p.str("Twiml")) {
        (Some(url), _) if !url.is_empty() => Source::Fetch {
            url,
            method: p.str("Method").unwrap_or_else(|| "POST".into()),
            extra: Vec::new(),
        },
        (_, Some(xml)) => {
            VoiceResponse::parse(&xml)
                .map_err(|e| ApiError::new(400, 12100, format!("Twiml is invalid: {e}")))?;
            Source::Inline(xml)
        }
        _ => return Err(ApiError::new(400, 21205, "Url or Twiml is required")),
    };
    let timeout = p.u64("Timeout")?.unwrap_or(60).clamp(1, 600);
    let callback = p
        .str("StatusCallback")
        .filter(|u| !u.is_empty())
        .map(|url| StatusCallback {
            url,
            method: p
                .str("StatusCallbackMethod")
                .unwrap_or_else(|| "POST".into()),
            events: p
                .str("StatusCallbackEvent")
                .map(|e| crate::conference::parse_events(&e))
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| vec!["completed".into()]),
        });
    let fallback = p.str("FallbackUrl");
    let (sid, rx) = calls.create(account, "outbound-api", &from, &to, None, None, callback)?;
    calls.set_status(&sid, CallStatus::Queued);
    let me = calls.clone();
    tokio::spawn(
        async move { ring_number(me, sid, rx, to, timeout * 1000, source, fallback).await },
    );
    calls.view(&sid).ok_or_else(|| ApiError::not_found(sid))
}

/// Rings a simulated PSTN number, then runs the call's TwiML once it answers.
pub(crate) async fn ring_number(
    calls: Calls,
    sid: CallSid,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Cmd>,
    to: String,
    timeout_ms: u64,
    source: Source,
    fallback: Option<String>,
) {
    calls.set_status(&sid, CallStatus::Ringing);
    let (answer, script) = calls.answer_of(&to);
    let (ring_ms, result) = match answer {
        Answer::Answer => (super::RING_MS, None),
        Answer::Busy => (super::RING_MS, Some(CallStatus::Busy)),
        Answer::NoAnswer => (timeout_ms, Some(CallStatus::NoAnswer)),
        Answer::Failed => (0, Some(CallStatus::Failed)),
    };
    let shared = calls.shared().clone();
    let ring = shared.sleep(ring_ms.min(timeout_ms));
    tokio::pin!(ring);
    loop {
        tokio::select! {
            () = &mut ring => break,
            cmd = rx.recv() => match cmd {
                Some(Cmd::Hangup(_)) | None => {
                    calls.set_status(&sid, CallStatus::Canceled);
                    return;
                }
                Some(_) => {}
            }
        }
    }
    if let Some(status) = result {
        calls.set_status(&sid, status);
        return;
    }
    driver::spawn(calls.clone(), sid, rx, source, fallback);
    calls.run_script(sid, script);
}

/// `/2010-04-01/Accounts/{AC}/Calls/{CA}.json`.
pub async fn calls_one(
    Extension(calls): Extension<Calls>,
    Path((ac, rest)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    reply(one(&calls, &ac, &rest, method, &headers, q, &body).await)
}

async fn one(
    calls: &Calls,
    ac: &str,
    rest: &str,
    method: Method,
    headers: &HeaderMap,
    q: Option<String>,
    body: &Bytes,
) -> Result<(StatusCode, Value), ApiError> {
    let (req, account) = request(calls, ac, method, headers, q, body).await?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    if let [call, sub @ ..] = segs.as_slice() {
        if sub.first().is_some_and(|s| s.starts_with("Recordings")) {
            return crate::recordings::rest::for_call(calls, account, call, sub, &req);
        }
    }
    let key = rest.strip_suffix(".json").unwrap_or(rest);
    let sid: CallSid = key
        .parse()
        .map_err(|_| ApiError::not_found(format!("Call {key}")))?;
    let view = calls
        .view(&sid)
        .filter(|v| v.account_sid == account)
        .ok_or_else(|| {
            ApiError::not_found(format!("/2010-04-01/Accounts/{ac}/Calls/{key}.json"))
        })?;
    match req.method {
        Method::GET => Ok((StatusCode::OK, call_json(&view))),
        Method::POST => update(calls, &view, &req)
            .await
            .map(|v| (StatusCode::OK, call_json(&v))),
        _ => Err(ApiError::new(405, 20004, "Method not allowed")),
    }
}

async fn update(calls: &Calls, view: &CallView, req: &Req) -> Result<CallView, ApiError> {
    let p = &req.params;
    let sid = view.sid;
    let cmd = match (p.str("Status"), p.str("Url"), p.str("Twiml")) {
        (Some(s), _, _) => match s.as_str() {
            "completed" => Some(Cmd::Hangup(CallStatus::Completed)),
            "canceled" if matches!(view.status, CallStatus::Queued | CallStatus::Ringing) => {
                Some(Cmd::Hangup(CallStatus::Canceled))
            }
            "canceled" => None,
            other => {
                return Err(ApiError::invalid(format!(
                    "Status {other:?} must be completed or canceled"
                )))
            }
        },
        (None, Some(url), _) if !url.is_empty() => Some(Cmd::Redirect(
            url,
            p.str("Method").unwrap_or_else(|| "POST".into()),
        )),
        (None, _, Some(xml)) => {
            VoiceResponse::parse(&xml)
                .map_err(|e| ApiError::new(400, 12100, format!("Twiml is invalid: {e}")))?;
            Some(Cmd::Twiml(xml))
        }
        _ => return Err(ApiError::invalid("Status, Url or Twiml is required")),
    };
    let Some(cmd) = cmd else {
        return Ok(view.clone());
    };
    let ending = matches!(cmd, Cmd::Hangup(_));
    if !view.status.is_live() {
        return if ending {
            Ok(view.clone())
        } else {
            Err(ApiError::new(
                400,
                21220,
                "Call is not in-progress. Cannot redirect.",
            ))
        };
    }
    if view.status != CallStatus::InProgress && !ending {
        return Err(ApiError::new(
            400,
            21220,
            "Call is not in-progress. Cannot redirect.",
        ));
    }
    calls.send(&sid, cmd);
    if ending {
        // Answer with the final state, as Twilio does for a hang-up.
        for _ in 0..40 {
            if calls.view(&sid).is_some_and(|v| !v.status.is_live()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    calls.view(&sid).ok_or_else(|| ApiError::not_found(sid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2822_dates() {
        assert_eq!(rfc2822(UnixMillis(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        // 2026-11-26T08:53:57Z
        assert_eq!(
            rfc2822(UnixMillis(1_795_683_237_000)),
            "Thu, 26 Nov 2026 08:53:57 +0000"
        );
        assert_eq!(
            rfc2822(UnixMillis(1_709_251_200_000)),
            "Fri, 01 Mar 2024 00:00:00 +0000"
        );
    }
}
