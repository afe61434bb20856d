//! The signature-checked Twilio webhook extractor. The URL Twilio signed is rebuilt from the configured public
//! base URL plus the raw path and query as received (never from `Host`), the raw body is kept, and the check is
//! `tsunagi_twilio::signature::verify_request` with the primary Auth Token (and the previous one during a
//! rotation). A missing header is 400, a bad signature 403; nothing is acted on in either case.

use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use tsunagi_twilio::signature::{self, SignatureError};

use crate::error::ApiError;
use crate::state::AppState;

/// A verified webhook: decoded form parameters and query parameters.
#[derive(Debug, Clone)]
pub struct TwilioWebhook {
    /// Decoded body parameters (empty for GET and JSON bodies).
    pub params: Vec<(String, String)>,
    /// Decoded query parameters of the callback URL (our own `task`, `res`, `attempt` keys).
    pub query: Vec<(String, String)>,
    /// The raw body (for JSON webhooks).
    pub body: Bytes,
}

impl TwilioWebhook {
    /// The first body parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parameter `name`, or a 400.
    pub fn require(&self, name: &'static str) -> Result<&str, ApiError> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::BadRequest(format!("missing {name}")))
    }

    /// The query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequest<AppState> for TwilioWebhook {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default();
        let query: Vec<(String, String)> =
            form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let header = req
            .headers()
            .get(signature::HEADER_NAME)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::PayloadTooLarge)?;
        let url = format!("{}{}", state.config.server.public_base_url, path_and_query);
        let secrets = &state.config.secrets;
        let mut result =
            signature::verify_request(secrets.auth_token.expose(), &url, &body, &header);
        if let (Err(SignatureError::Mismatch), Some(previous)) =
            (&result, &secrets.auth_token_previous)
        {
            result = signature::verify_request(previous.expose(), &url, &body, &header);
        }
        match result {
            Ok(params) => Ok(Self {
                params,
                query,
                body,
            }),
            Err(e) => {
                state
                    .metrics
                    .webhooks_rejected
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(path = %req_path(&path_and_query), error = %e, "webhook refused");
                Err(match e.http_status() {
                    400 => ApiError::BadRequest(e.to_string()),
                    413 => ApiError::PayloadTooLarge,
                    _ => ApiError::Forbidden("invalid X-Twilio-Signature"),
                })
            }
        }
    }
}

fn req_path(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or("")
}
