//! Twilio's error shape, as the stand-in returns it on every failing REST, proxy and control request.
//!
//! `{"code": 20404, "message": "…", "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}`.
//! A request that fails changes nothing: handlers validate everything before they mutate state.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A Twilio API error: HTTP status, Twilio error code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Twilio error code (see twilio.com/docs/api/errors).
    pub code: u32,
    /// Message; never contains secrets.
    pub message: String,
}

/// The JSON body Twilio sends with an error.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: u32,
    message: &'a str,
    more_info: String,
    status: u16,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404 / 20404: the resource does not exist.
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            404,
            20404,
            format!("The requested resource {what} was not found"),
        )
    }

    /// 400 / 20001: a parameter is missing or invalid.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, 20001, message)
    }

    /// 401 / 20003: missing or wrong credentials.
    pub fn authenticate() -> Self {
        Self::new(401, 20003, "Authenticate")
    }

    /// 412 / 20001-style If-Match mismatch.
    pub fn precondition(if_match: &str, current: u64) -> Self {
        Self::new(
            412,
            20001,
            format!("If-Match {if_match} does not match current version {current}"),
        )
    }

    /// The JSON body as a `serde_json::Value` (for tunnelled responses).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "more_info": format!("https://www.twilio.com/docs/errors/{}", self.code),
            "status": self.status,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = ErrorBody {
            code: self.code,
            message: &self.message,
            more_info: format!("https://www.twilio.com/docs/errors/{}", self.code),
            status: self.status,
        };
        (status, axum::Json(body)).into_response()
    }
}
