//! TwiML applications for outgoing client calls (`[[applications]]`, `POST /_sim/applications`).
//!
//! A Voice SDK `device.connect({params})` whose token's grant names a known application (`outgoing.application_sid`)
//! becomes a call of this engine with the SID the SDK already has: its Voice URL is fetched (signed like every
//! webhook) with Twilio's parameters (`CallSid`, `AccountSid`, `ApplicationSid`, `From=client:<identity>`,
//! `Caller`, `To`, `Direction=inbound`, `CallStatus=ringing`, then the grant's and the SDK's custom parameters as
//! form fields) and the returned TwiML runs as for any call; the SDK gets `answer` when the TwiML answers (for
//! example on `<Dial><Conference>`), and its audio flows through the conference mixer. The SDK's hang-up and DTMF
//! reach the driver; the driver's end hangs up the SDK's call. Calls whose grant names no known application keep
//! the Voice edge's number behaviour.

use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tsunagi_twilio::sid::{ApplicationSid, CallSid};

use super::driver::{self, Source, LEG_POLL_MS};
use super::{CallStatus, Calls, Cmd, StatusCallback};
use crate::error::ApiError;
use crate::voice::{AppCall, CallState};

/// Applications kept (config plus `/_sim`).
pub const MAX_APPLICATIONS: usize = 256;

/// A TwiML application (`[[applications]]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationConfig {
    /// `AP…`.
    pub sid: String,
    /// Voice webhook.
    pub voice_url: String,
    /// `POST` (default) or `GET`.
    #[serde(default = "post")]
    pub voice_method: String,
    /// Fetched when the Voice webhook fails or returns bad TwiML.
    #[serde(default)]
    pub voice_fallback_url: Option<String>,
    /// Call status callback (`completed`).
    #[serde(default)]
    pub status_callback: Option<String>,
}

fn post() -> String {
    "POST".into()
}

impl ApplicationConfig {
    /// Checks the SID, URL and method.
    pub fn validate(&self) -> Result<ApplicationSid, ApiError> {
        let sid = self
            .sid
            .parse::<ApplicationSid>()
            .map_err(|_| ApiError::invalid(format!("{:?} is not an AP SID", self.sid)))?;
        let url_ok =
            |u: &str| (u.starts_with("http://") || u.starts_with("https://")) && u.len() <= 2_048;
        if !url_ok(&self.voice_url)
            || !self.voice_fallback_url.as_deref().is_none_or(url_ok)
            || !self.status_callback.as_deref().is_none_or(url_ok)
        {
            return Err(ApiError::new(400, 21502, "Invalid URL"));
        }
        if !matches!(self.voice_method.as_str(), "GET" | "POST") {
            return Err(ApiError::invalid("voice_method must be GET or POST"));
        }
        Ok(sid)
    }
}

/// Adds or replaces an application.
pub fn set(calls: &Calls, app: ApplicationConfig) -> Result<(), ApiError> {
    let sid = app.validate()?;
    let mut st = calls.state();
    if st.applications.len() >= MAX_APPLICATIONS && !st.applications.contains_key(&sid) {
        return Err(ApiError::new(429, 20429, "Too many applications"));
    }
    st.applications.insert(sid, app);
    Ok(())
}

/// Takes an outgoing client call for its application (see the module docs); `false` if the application is unknown.
pub fn route(calls: &Calls, c: &AppCall) -> bool {
    let Some(app) = calls.state().applications.get(&c.application).cloned() else {
        return false;
    };
    let to = c
        .params
        .iter()
        .rev()
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let status_callback = app.status_callback.clone().map(|url| StatusCallback {
        url,
        method: "POST".into(),
        events: vec!["completed".into()],
    });
    let from = format!("client:{}", c.identity);
    let rx = match calls.adopt(c.sid, c.account, &from, &to, status_callback) {
        Ok(rx) => rx,
        Err(e) => {
            calls.log(
                "call.application_failed",
                json!({ "call": c.sid, "code": e.code }),
            );
            let _ = calls.voice().hangup(&c.sid);
            return true;
        }
    };
    calls.set_status(&c.sid, CallStatus::Ringing);
    let mut extra = vec![("ApplicationSid".into(), c.application.to_string())];
    extra.extend(c.params.iter().filter(|(k, _)| k != "To").cloned());
    calls.log(
        "call.application",
        json!({ "call": c.sid, "application": c.application }),
    );
    driver::spawn(
        calls.clone(),
        c.sid,
        rx,
        Source::Fetch {
            url: app.voice_url,
            method: app.voice_method,
            extra,
        },
        app.voice_fallback_url,
    );
    tokio::spawn(follow_client(calls.clone(), c.sid));
    true
}

/// Forwards the SDK's side of an application call to its driver: DTMF, and the hang-up.
async fn follow_client(calls: Calls, sid: CallSid) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(LEG_POLL_MS)).await;
        if !calls.view(&sid).is_some_and(|v| v.status.is_live()) {
            return;
        }
        let Some(edge) = calls.voice().call(&sid) else {
            calls.send(&sid, Cmd::Hangup(CallStatus::Completed));
            return;
        };
        if let Some(digits) = edge.dtmf.get(seen..).filter(|d| !d.is_empty()) {
            calls.send(&sid, Cmd::Dtmf(digits.to_owned()));
            seen = edge.dtmf.len();
        }
        if !edge.state.is_live() {
            let status = match edge.state {
                CallState::Canceled => CallStatus::Canceled,
                _ => CallStatus::Completed,
            };
            calls.send(&sid, Cmd::Hangup(status));
            return;
        }
    }
}

/// `GET /_sim/applications`.
pub async fn list(Extension(calls): Extension<Calls>) -> Json<Vec<ApplicationConfig>> {
    Json(calls.state().applications.values().cloned().collect())
}

/// `POST /_sim/applications` `{sid, voice_url, voice_method?, voice_fallback_url?, status_callback?}`.
pub async fn create(
    Extension(calls): Extension<Calls>,
    b: Result<Json<ApplicationConfig>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(app) = b.map_err(|e| ApiError::invalid(e.body_text()))?;
    set(&calls, app)?;
    Ok(Json(json!({ "ok": true })))
}
