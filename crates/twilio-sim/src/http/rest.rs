//! The shell shared by the public REST surfaces (TaskRouter `/v1/Workspaces…`, Sync `/v1/Services…`, and the
//! 2010-04-01 API's handlers): injected faults, Basic auth and form/query parsing into a [`Req`], and the Twilio
//! JSON response (204 without a body).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use tsunagi_twilio::sid::AccountSid;

use crate::error::ApiError;
use crate::params::Params;
use crate::shared::{lock, Shared};

/// A parsed REST request.
pub struct Req {
    /// HTTP method.
    pub method: Method,
    /// Path segments after `/v1/`.
    pub segs: Vec<String>,
    /// Query or form parameters.
    pub params: Params,
    /// `If-Match` header.
    pub if_match: Option<String>,
    /// `http://host` for building URLs.
    pub base: String,
    /// Authenticated account.
    pub principal: AccountSid,
}

/// Applies injected faults; `Some(response)` short-circuits the request.
pub async fn faults(s: &Shared) -> Option<ApiError> {
    let (delay, fail) = {
        let mut f = lock(&s.faults);
        let fail = f.rest_fail_next > 0;
        if fail {
            f.rest_fail_next -= 1;
        }
        (f.rest_delay_ms, fail)
    };
    if delay > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    }
    fail.then(|| {
        ApiError::new(
            500,
            20500,
            "Internal Server Error (injected by /_sim/faults)",
        )
    })
}

/// Authenticates and parses a REST request.
pub fn parse(
    s: &Shared,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    query: Option<String>,
    body: &Bytes,
) -> Result<Req, ApiError> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let principal = lock(&s.accounts).basic(auth)?;
    let mut params = Params::from_form(query.as_deref().unwrap_or("").as_bytes());
    if method != Method::GET && method != Method::DELETE {
        let form = Params::from_form(body);
        params.0.extend(form.0);
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    Ok(Req {
        method,
        segs: path
            .trim_matches('/')
            .split('/')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect(),
        params,
        if_match: headers
            .get("if-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        base: format!("http://{host}"),
        principal,
    })
}

/// A surface's router: one parsed request in, status and JSON out.
pub type Route = fn(&Arc<Shared>, &Req) -> Result<(StatusCode, Value), ApiError>;

/// Applies faults, authenticates and parses `path` (segments after `/v1/`), runs `route`, renders the result.
pub async fn serve(
    s: Arc<Shared>,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    q: Option<String>,
    body: &Bytes,
    route: Route,
) -> Response {
    if let Some(e) = faults(&s).await {
        return e.into_response();
    }
    match parse(&s, method, path, headers, q, body).and_then(|req| route(&s, &req)) {
        Ok((StatusCode::NO_CONTENT, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, v)) => (status, Json(v)).into_response(),
        Err(e) => e.into_response(),
    }
}
