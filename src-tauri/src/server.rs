//! The companion server's agent API as the shell uses it: call control, the supervisor's roster and
//! monitor / whisper / barge, the warm-transfer steps and the call report. Sign-in, the session token and its
//! renewal are the core's [`ServerSession`] (s14 contract §1): every request here carries its current token and,
//! on 401, is sent once more after the session renewed it. Replies pass through as typed JSON; nothing is
//! decided here.

use serde::{Deserialize, Serialize};
use tsunagi_core::driver::{AuthFailure, ServerSession, SignedInAgent};
use tsunagi_core::{
    ControlOp, ControlTarget, RestResult, RosterEntry, TaskSid, TransferMode, TransferTo,
};
use tsunagi_twilio::Pii;

use crate::error::AppError;

/// The signed-in agent, as the window shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Opaque id, also the Twilio client identity (`agent_1024`).
    pub id: String,
    /// Name shown in the window (may be Japanese).
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
}

impl From<SignedInAgent> for Profile {
    fn from(agent: SignedInAgent) -> Self {
        Profile {
            id: agent.id,
            display_name: agent.display_name,
            role: agent.role,
        }
    }
}

/// A client of one server.
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
}

static CLIENT_VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The `X-Client-Version` every request carries, so the server can answer 426 to outdated clients: the app's
/// version as Tauri knows it (`tauri.conf.json`, which a release build may set with `--config`; the updater
/// compares against the same one), set by [`set_client_version`] at start; the crate's version before that.
pub fn client_version() -> &'static str {
    CLIENT_VERSION
        .get()
        .map_or(env!("CARGO_PKG_VERSION"), String::as_str)
}

/// Sets [`client_version`] once, at start. Debug builds take `TSUNAGI_CLIENT_VERSION` in its place, so the
/// updater's end-to-end test can stand a debug binary in for a newer release.
pub fn set_client_version(app_version: String) {
    let version = cfg!(debug_assertions)
        .then(|| std::env::var("TSUNAGI_CLIENT_VERSION").ok())
        .flatten()
        .filter(|v| semver::Version::parse(v).is_ok())
        .unwrap_or(app_version);
    let _ = CLIENT_VERSION.set(version);
}

impl ServerClient {
    /// A client of the server at `base` (no trailing slash).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        ServerClient {
            http,
            base: base.to_owned(),
        }
    }

    /// `POST /v1/login`: a session with its refresh token.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
    ) -> Result<(ServerSession, Profile), AppError> {
        let (session, agent) = ServerSession::login(&self.base, client_version(), login, password)
            .await
            .map_err(|f| self.auth_error(f))?;
        Ok((session, agent.into()))
    }

    /// `POST /v1/session/refresh` with a remembered refresh token (at start).
    pub async fn resume(
        &self,
        refresh: &Pii<String>,
    ) -> Result<(ServerSession, Profile), AppError> {
        let (session, agent) = ServerSession::resume(&self.base, client_version(), refresh)
            .await
            .map_err(|f| self.auth_error(f))?;
        Ok((session, agent.into()))
    }

    /// A session token remembered by an older version (no refresh token): `GET /v1/me` confirms it; it is used
    /// until the server refuses it.
    pub async fn resume_legacy(
        &self,
        token: Pii<String>,
    ) -> Result<(ServerSession, Profile), AppError> {
        let session = ServerSession::from_session_token(&self.base, client_version(), token);
        let agent = session.me().await.map_err(|f| self.auth_error(f))?;
        Ok((session, agent.into()))
    }

    /// The shell's words for why a sign-in or session did not work.
    pub fn auth_error(&self, failure: AuthFailure) -> AppError {
        AppError::from_auth(failure, &self.base)
    }

    /// Sends `request` with the session's current token; on 401 renews the session once and sends it again.
    /// Any status comes back.
    async fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        session: &ServerSession,
    ) -> Result<reqwest::Response, AppError> {
        let retry = request.try_clone();
        let token = session.fresh().await;
        let sent = self.with_token(request, &token).await?;
        if sent.status().as_u16() != 401 {
            return Ok(sent);
        }
        match (retry, session.renew_after_401(&token).await) {
            (Some(retry), Some(renewed)) => self.with_token(retry, &renewed).await,
            _ => Ok(sent),
        }
    }

    async fn with_token(
        &self,
        request: reqwest::RequestBuilder,
        token: &Pii<String>,
    ) -> Result<reqwest::Response, AppError> {
        request
            .bearer_auth(token.expose())
            .header("X-Client-Version", client_version())
            .send()
            .await
            .map_err(|e| self.unreachable(e))
    }

    /// `POST /v1/calls/{id}/{op}`: hold, unhold, hang-up or transfer through the server (the client never learns the
    /// ConferenceSid); `id` is the task (`WT…`) or an outgoing call's attempt (`ob-<uuid>`). Returns how the
    /// server answered (status and error `code`), classified for the core.
    pub async fn call_control(
        &self,
        session: &ServerSession,
        target: &ControlTarget,
        op: &ControlOp,
    ) -> Result<RestResult, AppError> {
        let (path, body) = match op {
            ControlOp::Hold => ("hold", serde_json::json!({})),
            ControlOp::Unhold => ("unhold", serde_json::json!({})),
            ControlOp::Hangup => ("hangup", serde_json::json!({})),
            ControlOp::Transfer { to, mode } => ("transfer", transfer_body(to, *mode)),
        };
        let url = format!("{}/v1/calls/{}/{}", self.base, target, path);
        let sent = self
            .authorized(self.http.post(url).json(&body), session)
            .await?;
        let status = sent.status().as_u16();
        // Only a refusal's body matters (its `code`, e.g. CONFERENCE_NOT_READY); it is small and never logged.
        let code = if status >= 400 {
            sent.json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.get("code")?.as_str().map(str::to_owned))
        } else {
            None
        };
        Ok(RestResult::from_server(Some(status), code.as_deref()))
    }
}

#[derive(Deserialize)]
struct RosterReply {
    agents: Vec<RosterEntry>,
}

/// How a supervisor joins a call (`POST /v1/supervise/{task}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SuperviseMode {
    /// Listen only.
    Monitor,
    /// Whisper to the agent (the customer does not hear).
    Coach,
    /// Talk to both.
    Barge,
}

/// The second step of a warm transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferStep {
    /// Hand the customer over: this agent leaves, the customer is taken off hold.
    Complete,
    /// Give up: the consulted party leaves, the customer is taken off hold.
    Cancel,
}

/// One interaction of `GET /v1/reports/calls` (the server's `CallLine`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLine {
    /// `WT…`.
    #[serde(alias = "task_sid")]
    pub task_sid: String,
    /// Creation time (RFC 3339 UTC).
    #[serde(alias = "created_at")]
    pub created_at: String,
    /// CRM id of the customer.
    #[serde(default, alias = "customer_id")]
    pub customer_id: Option<String>,
    /// The agent who had it last.
    #[serde(default, alias = "agent_id")]
    pub agent_id: Option<String>,
    /// `queued|reserved|connected|ended|completed|abandoned`.
    pub status: String,
    /// The customer reached an agent.
    pub answered: bool,
    /// Customer join → conference end, seconds.
    #[serde(default, alias = "handle_secs")]
    pub handle_secs: Option<i64>,
    /// The wrap-up notes, when the agent wrote some (contract §4).
    #[serde(default)]
    pub notes: Option<String>,
}

/// One page of `GET /v1/calls/history` (contract §3): the signed-in agent's calls, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    /// The calls.
    pub calls: Vec<CallLine>,
    /// Pass as `before` for the next (older) page; `null` when there is none.
    #[serde(default, alias = "next_before")]
    pub next_before: Option<i64>,
}

/// One agent of `GET /v1/agents/directory` (contract §2): a transfer target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAgent {
    /// Agent id.
    #[serde(alias = "agent_id")]
    pub agent_id: String,
    /// Display name.
    #[serde(alias = "display_name")]
    pub display_name: String,
    /// Department, if any.
    #[serde(default, alias = "department_id")]
    pub department_id: Option<String>,
    /// The agent's TaskRouter worker (a transfer needs it).
    #[serde(default, alias = "worker_sid")]
    pub worker_sid: Option<String>,
    /// TaskRouter activity name (`Unknown` before the first event).
    pub activity: String,
    /// Takes calls now.
    pub available: bool,
}

#[derive(Deserialize)]
struct DirectoryReply {
    agents: Vec<DirectoryAgent>,
}

/// The longest wrap-up note the server keeps, in Unicode scalar values (contract §4).
pub const MAX_NOTES_CHARS: usize = 2000;

#[derive(Deserialize)]
struct ReportReply {
    calls: Vec<CallLine>,
}

impl ServerClient {
    fn unreachable(&self, e: reqwest::Error) -> AppError {
        AppError::ServerUnreachable(self.base.clone(), e.without_url().to_string())
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        session: &ServerSession,
    ) -> Result<reqwest::Response, AppError> {
        let sent = self.authorized(request, session).await?;
        match sent.status().as_u16() {
            200..=299 => Ok(sent),
            401 => Err(AppError::NotSignedIn),
            403 => Err(AppError::Forbidden),
            426 => Err(AppError::UpdateRequired),
            status => Err(AppError::Server(status)),
        }
    }

    /// `GET /v1/roster` (supervisors): every agent with their current activity.
    pub async fn roster(&self, session: &ServerSession) -> Result<Vec<RosterEntry>, AppError> {
        let sent = self
            .send(self.http.get(format!("{}/v1/roster", self.base)), session)
            .await?;
        let reply: RosterReply = sent.json().await.map_err(|_| AppError::Server(200))?;
        Ok(reply.agents)
    }

    /// `POST /v1/supervise/{task}` `{"mode": …}`: the supervisor's Device is called into the conference.
    pub async fn supervise(
        &self,
        session: &ServerSession,
        task: &TaskSid,
        mode: SuperviseMode,
    ) -> Result<(), AppError> {
        let url = format!("{}/v1/supervise/{}", self.base, task);
        let body = serde_json::json!({ "mode": mode });
        self.send(self.http.post(url).json(&body), session).await?;
        Ok(())
    }

    /// `POST /v1/calls/{task}/transfer/{complete|cancel}`: the second step of a warm transfer.
    pub async fn transfer_step(
        &self,
        session: &ServerSession,
        task: &TaskSid,
        step: TransferStep,
    ) -> Result<(), AppError> {
        let step = match step {
            TransferStep::Complete => "complete",
            TransferStep::Cancel => "cancel",
        };
        let url = format!("{}/v1/calls/{}/transfer/{}", self.base, task, step);
        let body = serde_json::json!({});
        self.send(self.http.post(url).json(&body), session).await?;
        Ok(())
    }

    /// `GET /v1/reports/calls?from&to` (Unix seconds): the interactions created in `[from, to)`.
    pub async fn call_report(
        &self,
        session: &ServerSession,
        from: i64,
        to: i64,
    ) -> Result<Vec<CallLine>, AppError> {
        let url = format!("{}/v1/reports/calls?from={from}&to={to}", self.base);
        let sent = self.send(self.http.get(url), session).await?;
        let reply: ReportReply = sent.json().await.map_err(|_| AppError::Server(200))?;
        Ok(reply.calls)
    }
}

/// Agent-scoped endpoints of contract §2-§4: the transfer directory, the agent's own history and wrap-up notes.
impl ServerClient {
    /// `GET /v1/agents/directory`: every other agent, sorted by department then name.
    pub async fn directory(
        &self,
        session: &ServerSession,
    ) -> Result<Vec<DirectoryAgent>, AppError> {
        let url = format!("{}/v1/agents/directory", self.base);
        let sent = self.send(self.http.get(url), session).await?;
        let reply: DirectoryReply = sent.json().await.map_err(|_| AppError::Server(200))?;
        Ok(reply.agents)
    }

    /// `GET /v1/calls/history?limit&before`: one page of the agent's calls, older than `before` (Unix ms).
    pub async fn history(
        &self,
        session: &ServerSession,
        limit: u32,
        before: Option<i64>,
    ) -> Result<HistoryPage, AppError> {
        let mut url = format!(
            "{}/v1/calls/history?limit={}",
            self.base,
            limit.clamp(1, 200)
        );
        if let Some(before) = before {
            url.push_str(&format!("&before={before}"));
        }
        let sent = self.send(self.http.get(url), session).await?;
        sent.json().await.map_err(|_| AppError::Server(200))
    }

    /// `POST /v1/calls/{task}/complete` `{"notes": …}`: finishes wrap-up at the server with the agent's notes.
    /// Too long for the server (422 `NOTES_TOO_LONG`) is [`AppError::NotesTooLong`]; the notes are never logged.
    pub async fn complete_with_notes(
        &self,
        session: &ServerSession,
        task: &TaskSid,
        notes: &str,
    ) -> Result<(), AppError> {
        let url = format!("{}/v1/calls/{}/complete", self.base, task);
        let body = serde_json::json!({ "notes": notes });
        match self.send(self.http.post(url).json(&body), session).await {
            Err(AppError::Server(422)) => Err(AppError::NotesTooLong(MAX_NOTES_CHARS)),
            other => other.map(|_| ()),
        }
    }
}

fn transfer_body(to: &TransferTo, mode: TransferMode) -> serde_json::Value {
    serde_json::json!({ "to": to, "mode": mode })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_and_report_lines_read_the_servers_snake_case_and_speak_camel_case() {
        let agent: RosterEntry = serde_json::from_value(serde_json::json!({
            "agent_id": "agent_1024", "display_name": "田中 太郎", "department_id": "sales",
            "activity": "Available", "since_ms": 5
        }))
        .unwrap();
        assert_eq!(agent.worker_sid, None);
        let json = serde_json::to_value(&agent).unwrap();
        assert_eq!(json["displayName"], "田中 太郎");
        assert_eq!(json["departmentId"], "sales");
        let line: CallLine = serde_json::from_value(serde_json::json!({
            "task_sid": "WT1", "created_at": "2026-11-26T10:00:00Z", "customer_id": null, "agent_id": "agent_1024",
            "status": "completed", "answered": true, "agent_attempts": 1, "missed_attempts": 0, "handle_secs": 42
        }))
        .unwrap();
        assert_eq!(serde_json::to_value(&line).unwrap()["handleSecs"], 42);
    }

    #[test]
    fn directory_and_history_read_the_contract_shapes() {
        let reply: DirectoryReply = serde_json::from_value(serde_json::json!({"agents": [
            {"agent_id": "a2", "display_name": "佐藤", "department_id": null, "worker_sid": "WK1",
             "activity": "Available", "available": true}
        ]}))
        .unwrap();
        assert!(reply.agents[0].available);
        assert_eq!(
            serde_json::to_value(&reply.agents[0]).unwrap()["workerSid"],
            "WK1"
        );
        let page: HistoryPage = serde_json::from_value(serde_json::json!({"calls": [
            {"task_sid": "WT1", "created_at": "2026-11-26T10:00:00Z", "status": "completed", "answered": true,
             "notes": "折り返し希望"}
        ], "next_before": 1764150000000_i64}))
        .unwrap();
        assert_eq!(page.calls[0].notes.as_deref(), Some("折り返し希望"));
        assert_eq!(page.next_before, Some(1_764_150_000_000));
        let last: HistoryPage =
            serde_json::from_value(serde_json::json!({"calls": [], "next_before": null})).unwrap();
        assert_eq!(last.next_before, None);
    }

    #[test]
    fn transfer_body_is_the_contract_shape() {
        let to = TransferTo::Number {
            number: tsunagi_core::Caller::new("+81312345678"),
        };
        let body = transfer_body(&to, TransferMode::Warm);
        assert_eq!(
            body,
            serde_json::json!({"to": {"kind": "number", "number": "+81312345678"}, "mode": "warm"})
        );
    }
}
