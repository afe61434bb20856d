//! The companion server's agent API as the shell uses it: sign-in and call control. Tokens are fetched by the
//! core's driver (`ServerTokens`) with the session token obtained here.

use serde::{Deserialize, Serialize};
use tsunagi_core::{ControlOp, TaskSid, TransferMode, TransferTo};
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

/// A signed-in session.
pub struct SignedIn {
    /// Bearer token for the agent endpoints (never logged).
    pub session_token: Pii<String>,
    /// Who signed in.
    pub profile: Profile,
}

#[derive(Deserialize)]
struct LoginReply {
    session_token: String,
    agent: LoginAgent,
}

#[derive(Deserialize)]
struct LoginAgent {
    id: String,
    display_name: String,
    role: String,
}

/// A client of one server.
#[derive(Clone)]
pub struct ServerClient {
    http: reqwest::Client,
    base: String,
}

/// The `X-Client-Version` every request carries, so the server can answer 426 to outdated clients.
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

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

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `POST /v1/login`.
    pub async fn login(&self, login: &str, password: &str) -> Result<SignedIn, AppError> {
        let sent = self
            .http
            .post(format!("{}/v1/login", self.base))
            .header("X-Client-Version", CLIENT_VERSION)
            .json(&serde_json::json!({ "login": login, "password": password }))
            .send()
            .await
            .map_err(|e| {
                AppError::ServerUnreachable(self.base.clone(), e.without_url().to_string())
            })?;
        match sent.status().as_u16() {
            200 => {}
            401 | 403 => return Err(AppError::BadCredentials),
            426 => return Err(AppError::UpdateRequired),
            status => return Err(AppError::Server(status)),
        }
        let reply: LoginReply = sent.json().await.map_err(|_| AppError::Server(200))?;
        Ok(SignedIn {
            session_token: Pii(reply.session_token),
            profile: Profile {
                id: reply.agent.id,
                display_name: reply.agent.display_name,
                role: reply.agent.role,
            },
        })
    }

    /// `POST /v1/calls/{task}/{op}`: hold, unhold or transfer through the server (the client never learns the
    /// ConferenceSid). Returns the HTTP status so the core can tell success, refusal and failure apart.
    pub async fn call_control(
        &self,
        session: &Pii<String>,
        task: &TaskSid,
        op: &ControlOp,
    ) -> Result<u16, AppError> {
        let (path, body) = match op {
            ControlOp::Hold => ("hold", serde_json::json!({})),
            ControlOp::Unhold => ("unhold", serde_json::json!({})),
            ControlOp::Transfer { to, mode } => ("transfer", transfer_body(to, *mode)),
        };
        let sent = self
            .http
            .post(format!("{}/v1/calls/{}/{}", self.base, task, path))
            .bearer_auth(session.expose())
            .header("X-Client-Version", CLIENT_VERSION)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                AppError::ServerUnreachable(self.base.clone(), e.without_url().to_string())
            })?;
        Ok(sent.status().as_u16())
    }
}

fn transfer_body(to: &TransferTo, mode: TransferMode) -> serde_json::Value {
    serde_json::json!({ "to": to, "mode": mode })
}
