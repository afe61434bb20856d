//! Where Access Tokens come from: the [`TokenSource`] seam, and [`ServerTokens`], the companion server's
//! `POST /v1/token` (which answers `426 CLIENT_UPGRADE_REQUIRED` to outdated versions).

use std::future::Future;

use serde_json::Value;
use tsunagi_twilio::Pii;

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
/// `X-Client-Version`.
#[derive(Clone, Debug)]
pub struct ServerTokens {
    http: reqwest::Client,
    url: String,
    session: Pii<String>,
    client_version: String,
}

impl ServerTokens {
    /// Tokens from the server at `base_url` for the signed-in `session` bearer token.
    pub fn new(base_url: &str, session: String, client_version: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            url: format!("{}/v1/token", base_url.trim_end_matches('/')),
            session: Pii(session),
            client_version: client_version.into(),
        }
    }
}

/// Largest token response accepted.
const MAX_BODY: usize = 64 * 1024;

impl TokenSource for ServerTokens {
    async fn fetch(&self) -> TokenReply {
        let sent = self
            .http
            .post(&self.url)
            .bearer_auth(self.session.expose())
            .header("X-Client-Version", &self.client_version)
            .send()
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
