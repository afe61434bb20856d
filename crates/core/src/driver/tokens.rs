//! Where Access Tokens come from: the [`TokenSource`] seam, and [`ServerTokens`], the companion server's
//! `POST /v1/token` (which answers `426 CLIENT_UPGRADE_REQUIRED` to outdated versions), authorized by the
//! agent's [`ServerSession`] (renewed ahead of expiry and on 401).

use std::future::Future;

use serde_json::Value;
use tsunagi_twilio::Pii;

use super::auth::ServerSession;

/// The outcome of one token fetch. Failures are outcomes, not errors: the session decides what follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenReply {
    /// A token and its `exp` (Unix seconds).
    Issued {
        /// The JWT (redacted in logs).
        token: Pii<String>,
        /// Its expiry, Unix seconds.
        expires_unix: u64,
    },
    /// The server refuses this client version.
    UpgradeRequired {
        /// `min_supported` from the answer.
        min_supported: Option<String>,
    },
    /// Anything else (network, 5xx, 401); retried by the session.
    Failed,
}

/// A source of Access Tokens.
pub trait TokenSource: Send + Sync + 'static {
    /// Fetches a fresh token.
    fn fetch(&self) -> impl Future<Output = TokenReply> + Send;
}

/// Tokens from the companion server: `POST {base}/v1/token` with the session's bearer token and
/// `X-Client-Version`; a 401 renews the session once and asks again.
#[derive(Clone, Debug)]
pub struct ServerTokens {
    session: ServerSession,
}

impl ServerTokens {
    /// Tokens from the server at `base_url` for a bare `session` bearer token (no refresh token).
    pub fn new(base_url: &str, session: String, client_version: impl Into<String>) -> Self {
        let version: String = client_version.into();
        Self::for_session(ServerSession::from_session_token(
            base_url,
            &version,
            Pii(session),
        ))
    }

    /// Tokens for a signed-in [`ServerSession`] (renewed ahead of expiry and on 401).
    pub fn for_session(session: ServerSession) -> Self {
        Self { session }
    }

    /// The session these tokens are fetched with.
    pub fn session(&self) -> &ServerSession {
        &self.session
    }
}

/// Largest token response accepted.
const MAX_BODY: usize = 64 * 1024;

impl TokenSource for ServerTokens {
    async fn fetch(&self) -> TokenReply {
        let sent = self
            .session
            .send(|http, base| http.post(format!("{base}/v1/token")))
            .await;
        let Ok(resp) = sent else {
            return TokenReply::Failed;
        };
        let status = resp.status().as_u16();
        let body = match resp.bytes().await {
            Ok(b) if b.len() <= MAX_BODY => {
                serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        match status {
            200..=299 => {
                let token = body.get("token").and_then(Value::as_str);
                let exp = body.get("expires_at").and_then(Value::as_u64);
                match (token, exp) {
                    (Some(t), Some(expires_unix)) => TokenReply::Issued {
                        token: Pii(t.to_owned()),
                        expires_unix,
                    },
                    _ => TokenReply::Failed,
                }
            }
            426 => TokenReply::UpgradeRequired {
                min_supported: body
                    .get("min_supported")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            _ => TokenReply::Failed,
        }
    }
}
