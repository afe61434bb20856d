//! The server's Twilio REST client: Voice (Conferences, Participants, Calls) and TaskRouter (Workers, Tasks,
//! Reservations), form-encoded in, JSON out, HTTP Basic with the API key.
//!
//! Base URLs come from configuration, so the same code talks to the real Twilio or to the local stand-in.
//! Only the fields the server needs are read from the replies.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{Config, Secret};

/// A REST failure. The detail is logged by [`crate::error::ApiError`], never sent to clients.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// Transport failure or timeout.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// Twilio answered with an error status.
    #[error("{method} {path}: HTTP {status}, Twilio code {code:?}")]
    Status {
        /// Method.
        method: &'static str,
        /// Path without host.
        path: String,
        /// HTTP status.
        status: u16,
        /// Twilio error code, if the body had one.
        code: Option<i64>,
    },
    /// A media download exceeded the configured limit.
    #[error("download larger than {0} bytes")]
    TooLarge(u64),
    /// The reply lacked an expected field.
    #[error("unexpected reply from {0}")]
    Shape(String),
}

impl RestError {
    /// The Twilio error code, if any.
    pub fn twilio_code(&self) -> Option<i64> {
        match self {
            Self::Status { code, .. } => *code,
            _ => None,
        }
    }
    /// The HTTP status, if Twilio answered.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    api_base: String,
    taskrouter_base: String,
    account_sid: String,
    workspace_sid: String,
    key_sid: String,
    key_secret: Secret,
}

/// A cheap-to-clone REST client.
#[derive(Debug, Clone)]
pub struct TwilioRest(Arc<Inner>);

type Form<'a> = &'a [(&'a str, &'a str)];

impl TwilioRest {
    /// Builds the client from configuration.
    pub fn new(config: &Config) -> Result<Self, RestError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self(Arc::new(Inner {
            http,
            api_base: config.twilio.api_base.trim_end_matches('/').to_owned(),
            taskrouter_base: config
                .twilio
                .taskrouter_base
                .trim_end_matches('/')
                .to_owned(),
            account_sid: config.twilio.account_sid.to_string(),
            workspace_sid: config.twilio.workspace_sid.to_string(),
            key_sid: config.twilio.api_key_sid.to_string(),
            key_secret: config.secrets.api_key_secret.clone(),
        })))
    }

    fn voice(&self, rest: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{rest}",
            self.0.api_base, self.0.account_sid
        )
    }

    fn taskrouter(&self, rest: &str) -> String {
        let base = format!(
            "{}/v1/Workspaces/{}",
            self.0.taskrouter_base, self.0.workspace_sid
        );
        if rest.is_empty() {
            base
        } else {
            format!("{base}/{rest}")
        }
    }

    async fn send(
        &self,
        method: &'static str,
        url: String,
        form: Option<Form<'_>>,
        timeout: Option<Duration>,
    ) -> Result<serde_json::Value, RestError> {
        let m = match method {
            "GET" => reqwest::Method::GET,
            "DELETE" => reqwest::Method::DELETE,
            _ => reqwest::Method::POST,
        };
        let mut req = self
            .0
            .http
            .request(m, &url)
            .basic_auth(&self.0.key_sid, Some(self.0.key_secret.expose()));
        if let Some(form) = form {
            req = req.form(form);
        }
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            let path = url
                .split_once("//")
                .and_then(|(_, r)| r.split_once('/'))
                .map(|(_, p)| p)
                .unwrap_or("");
            return Err(RestError::Status {
                method,
                path: format!("/{}", path.split('?').next().unwrap_or("")),
                status: status.as_u16(),
                code: body.get("code").and_then(serde_json::Value::as_i64),
            });
        }
        Ok(body)
    }

    /// `GET Workers/{WK}` → the activity's `available` flag, within `budget`.
    pub async fn worker_available(
        &self,
        worker_sid: &str,
        budget: Duration,
    ) -> Result<bool, RestError> {
        let body = self
            .send(
                "GET",
                self.taskrouter(&format!("Workers/{worker_sid}")),
                None,
                Some(budget),
            )
            .await?;
        body.get("available")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| RestError::Shape("worker".into()))
    }

    /// `POST Tasks/{WT}/Reservations/{WR}` with `form`.
    pub async fn update_reservation(
        &self,
        task: &str,
        res: &str,
        form: Form<'_>,
    ) -> Result<(), RestError> {
        self.send(
            "POST",
            self.taskrouter(&format!("Tasks/{task}/Reservations/{res}")),
            Some(form),
            None,
        )
        .await?;
        Ok(())
    }

    /// `POST Tasks/{WT}` with `form`.
    pub async fn update_task(&self, task: &str, form: Form<'_>) -> Result<(), RestError> {
        self.send(
            "POST",
            self.taskrouter(&format!("Tasks/{task}")),
            Some(form),
            None,
        )
        .await?;
        Ok(())
    }

    /// `POST Conferences/{CF}.json` with `form`.
    pub async fn update_conference(
        &self,
        conference: &str,
        form: Form<'_>,
    ) -> Result<(), RestError> {
        self.send(
            "POST",
            self.voice(&format!("Conferences/{conference}.json")),
            Some(form),
            None,
        )
        .await?;
        Ok(())
    }

    /// `POST Conferences/{CF}/Participants/{CA}.json` with `form`.
    pub async fn update_participant(
        &self,
        conference: &str,
        call: &str,
        form: Form<'_>,
    ) -> Result<(), RestError> {
        let url = self.voice(&format!(
            "Conferences/{conference}/Participants/{call}.json"
        ));
        self.send("POST", url, Some(form), None).await?;
        Ok(())
    }

    /// `POST Conferences/{CF or name}/Participants.json`; returns the new leg's CallSid.
    pub async fn create_participant(
        &self,
        conference: &str,
        form: Form<'_>,
    ) -> Result<String, RestError> {
        let url = self.voice(&format!("Conferences/{conference}/Participants.json"));
        let body = self.send("POST", url, Some(form), None).await?;
        body.get("call_sid")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| RestError::Shape("participant".into()))
    }

    /// `DELETE Conferences/{CF}/Participants/{CA}.json`.
    pub async fn delete_participant(&self, conference: &str, call: &str) -> Result<(), RestError> {
        let url = self.voice(&format!(
            "Conferences/{conference}/Participants/{call}.json"
        ));
        self.send("DELETE", url, None, None).await?;
        Ok(())
    }

    /// `POST Calls/{CA}.json` with `form`.
    pub async fn update_call(&self, call: &str, form: Form<'_>) -> Result<(), RestError> {
        self.send(
            "POST",
            self.voice(&format!("Calls/{call}.json")),
            Some(form),
            None,
        )
        .await?;
        Ok(())
    }
}

impl TwilioRest {
    /// `GET Tasks/{WT}` → `assignment_status`.
    pub async fn task_status(&self, task: &str) -> Result<Option<String>, RestError> {
        let body = self
            .send("GET", self.taskrouter(&format!("Tasks/{task}")), None, None)
            .await?;
        Ok(body
            .get("assignment_status")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned))
    }
}

impl TwilioRest {
    /// `POST` to a workspace resource (`""` = the workspace itself, `Workflows/WW…`, …).
    pub async fn post_taskrouter(
        &self,
        rest: &str,
        form: Form<'_>,
    ) -> Result<serde_json::Value, RestError> {
        self.send("POST", self.taskrouter(rest), Some(form), None)
            .await
    }
}

/// A conference as listed by `GET Conferences.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConferenceInfo {
    /// `CF…`.
    pub sid: String,
    /// FriendlyName.
    pub friendly_name: String,
    /// `init`, `in-progress`, `completed`.
    pub status: String,
}

impl TwilioRest {
    /// `GET Conferences.json` with `query` filters (`Status`, `FriendlyName`), first page.
    pub async fn conferences(&self, query: Form<'_>) -> Result<Vec<ConferenceInfo>, RestError> {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let body = self
            .send(
                "GET",
                self.voice(&format!("Conferences.json?{q}")),
                None,
                None,
            )
            .await?;
        let list = body
            .get("conferences")
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| RestError::Shape("conferences".into()))?;
        let text = |c: &serde_json::Value, k: &str| {
            c.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(list
            .iter()
            .map(|c| ConferenceInfo {
                sid: text(c, "sid"),
                friendly_name: text(c, "friendly_name"),
                status: text(c, "status"),
            })
            .filter(|c| !c.sid.is_empty())
            .collect())
    }
}

/// A Twilio time as Unix seconds: RFC 2822 as in REST replies and callbacks (`Tue, 01 Sep 2026 15:15:41
/// +0000`), or RFC 3339 as in newer APIs. `None` for anything else.
pub fn twilio_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc2822(text)
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|t| t.timestamp())
}

/// A recording as listed by `GET Recordings.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    /// `RE…`.
    pub sid: String,
    /// `in-progress`, `paused`, `stopped`, `processing`, `completed`, `absent`, `deleted`.
    pub status: String,
    /// `CF…` of a conference recording.
    pub conference_sid: Option<String>,
    /// `CA…` of a call recording (or the conference's first leg).
    pub call_sid: Option<String>,
    /// Seconds.
    pub duration_secs: Option<i64>,
    /// 1 or 2.
    pub channels: Option<i64>,
    /// When Twilio created it (`date_created`, else `start_time`), Unix seconds.
    pub created_at: Option<i64>,
}

impl RecordingInfo {
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        let text = |k: &str| {
            v.get(k)
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let number = |k: &str| {
            let x = v.get(k)?;
            x.as_i64().or_else(|| x.as_str()?.parse().ok())
        };
        Some(Self {
            sid: text("sid")?,
            status: text("status").unwrap_or_default(),
            conference_sid: text("conference_sid"),
            call_sid: text("call_sid"),
            duration_secs: number("duration"),
            channels: number("channels"),
            created_at: text("date_created")
                .or_else(|| text("start_time"))
                .and_then(|t| twilio_time(&t)),
        })
    }
}

impl TwilioRest {
    /// `GET Recordings/{RE}.wav?RequestedChannels=2`: the dual-channel WAV, at most `max_bytes`.
    pub async fn recording_wav(
        &self,
        recording: &str,
        max_bytes: u64,
    ) -> Result<axum::body::Bytes, RestError> {
        let url = self.voice(&format!("Recordings/{recording}.wav?RequestedChannels=2"));
        let mut resp = self
            .0
            .http
            .get(&url)
            .basic_auth(&self.0.key_sid, Some(self.0.key_secret.expose()))
            .timeout(Duration::from_secs(300))
            .send()
            .await?;
        let status = resp.status();
        if !status.is_success() {
            return Err(RestError::Status {
                method: "GET",
                path: format!("/Recordings/{recording}.wav"),
                status: status.as_u16(),
                code: None,
            });
        }
        if resp.content_length().is_some_and(|n| n > max_bytes) {
            return Err(RestError::TooLarge(max_bytes));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await? {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(RestError::TooLarge(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }

    /// `GET Recordings.json` with `query` filters (`DateCreatedAfter`, `ConferenceSid`, `CallSid`), every page
    /// (`next_page_uri`) up to `max` recordings.
    pub async fn recordings(
        &self,
        query: Form<'_>,
        max: usize,
    ) -> Result<Vec<RecordingInfo>, RestError> {
        let q = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(query)
            .finish();
        let mut url = self.voice(&format!("Recordings.json?{q}"));
        let mut out = Vec::new();
        loop {
            let body = self.send("GET", url, None, None).await?;
            let list = body
                .get("recordings")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| RestError::Shape("recordings".into()))?;
            out.extend(list.iter().filter_map(RecordingInfo::from_json));
            let next = body
                .get("next_page_uri")
                .and_then(serde_json::Value::as_str);
            match next {
                Some(path) if path.starts_with('/') && out.len() < max => {
                    url = format!("{}{path}", self.0.api_base);
                }
                _ => break,
            }
        }
        out.truncate(max);
        Ok(out)
    }

    /// `DELETE Recordings/{RE}.json`.
    pub async fn delete_recording(&self, recording: &str) -> Result<(), RestError> {
        let url = self.voice(&format!("Recordings/{recording}.json"));
        self.send("DELETE", url, None, None).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_times_are_read_in_both_formats_and_garbage_is_none() {
        // 2026-11-26T23:59:59Z: the day a recording is filed under must not shift with the zone.
        assert_eq!(
            twilio_time("Thu, 26 Nov 2026 23:59:59 +0000"),
            Some(1_795_737_599)
        );
        assert_eq!(
            twilio_time("Fri, 27 Nov 2026 08:59:59 +0900"),
            Some(1_795_737_599)
        );
        assert_eq!(twilio_time("2026-11-26T23:59:59Z"), Some(1_795_737_599));
        assert_eq!(twilio_time(""), None);
        assert_eq!(twilio_time("yesterday"), None);
    }
}
