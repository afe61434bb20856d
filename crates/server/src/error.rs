//! The one API error: a stable machine-readable `code`, a short human message, and an HTTP status.
//!
//! Client mistakes get their status and are not logged as errors. Internal and upstream failures send a generic
//! message; their detail goes to `tracing` inside the request span and never to the client (no SQL text, no Twilio
//! replies, no tokens).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// The body of a `426 CLIENT_UPGRADE_REQUIRED` answer (spec §8.5).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UpgradeRequired {
    /// Oldest client version still accepted.
    pub min_supported: String,
    /// Whether the client's version is explicitly blocked.
    pub blocked: bool,
    /// The client's update channel.
    pub channel: String,
    /// Where the client asks for its update.
    pub update_endpoint: String,
}

/// Every error an HTTP handler returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// Malformed or invalid input (400).
    #[error("{0}")]
    BadRequest(String),
    /// The body exceeds the configured limit (413).
    #[error("request body too large")]
    PayloadTooLarge,
    /// Missing or invalid credentials (401).
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated but not allowed (403).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Unknown resource (404).
    #[error("{0}")]
    NotFound(&'static str),
    /// State conflict (409), with a stable code.
    #[error("{message}")]
    Conflict {
        /// Stable code, e.g. `CONFERENCE_NOT_READY`.
        code: &'static str,
        /// Short message.
        message: String,
    },
    /// Well-formed but unusable input (422), with a stable code, e.g. `INVALID_TARGET`.
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Short message.
        message: String,
    },
    /// Too many attempts (429).
    #[error("{0}")]
    TooManyRequests(&'static str),
    /// The client is too old or blocked (426).
    #[error("client upgrade required")]
    UpgradeRequired(Box<UpgradeRequired>),
    /// Another delivery of this webhook is being handled right now (503 + `Retry-After`): nothing was acted on.
    #[error("webhook delivery in progress")]
    WebhookBusy {
        /// Seconds the sender should wait before retrying.
        retry_after_secs: u64,
    },
    /// Twilio (or the stand-in) failed; the detail is logged only.
    #[error("upstream failure: {0}")]
    Upstream(String),
    /// Anything else; the detail is logged only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::UpgradeRequired(_) => StatusCode::UPGRADE_REQUIRED,
            Self::WebhookBusy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "BAD_REQUEST",
            Self::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict { code, .. } | Self::Unprocessable { code, .. } => code,
            Self::TooManyRequests(_) => "TOO_MANY_REQUESTS",
            Self::UpgradeRequired(_) => "CLIENT_UPGRADE_REQUIRED",
            Self::WebhookBusy { .. } => "WEBHOOK_IN_PROGRESS",
            Self::Upstream(_) => "UPSTREAM_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match &self {
            Self::UpgradeRequired(u) => json!({
                "code": self.code(),
                "message": "this client version is no longer supported; update required",
                "min_supported": u.min_supported,
                "blocked": u.blocked,
                "channel": u.channel,
                "update_endpoint": u.update_endpoint,
            }),
            Self::Upstream(detail) => {
                tracing::error!(%detail, "upstream failure");
                json!({"code": self.code(), "message": "telephony provider unavailable"})
            }
            Self::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                json!({"code": self.code(), "message": "internal server error"})
            }
            Self::WebhookBusy { retry_after_secs } => {
                let body = json!({"code": self.code(), "message": self.to_string()});
                let retry = [(
                    axum::http::header::RETRY_AFTER,
                    retry_after_secs.to_string(),
                )];
                return (status, retry, Json(body)).into_response();
            }
            other => json!({"code": other.code(), "message": other.to_string()}),
        };
        (status, Json(body)).into_response()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

impl From<crate::twilio_rest::RestError> for ApiError {
    fn from(e: crate::twilio_rest::RestError) -> Self {
        Self::Upstream(e.to_string())
    }
}

impl ApiError {
    /// A 409 with `code`.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    /// A 422 with `code`.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::BadRequest(e.body_text())
    }
}

/// `Json` whose rejections use the API's error shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct AppJson<T>(pub T);
