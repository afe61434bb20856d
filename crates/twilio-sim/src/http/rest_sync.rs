//! Sync public REST (`/v1/Services/…`): authenticate, parse, call `crate::sync::rest`, dispatch the fanout.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::rest_tr::{faults, parse};
use super::twilsock::dispatch_sync;
use crate::error::ApiError;
use crate::shared::{lock, Shared};

/// `/v1/Services` (list).
pub async fn handle_root(
    State(s): State<Arc<Shared>>,
    method: Method,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(s, method, String::new(), headers, q, body).await
}

/// `/v1/Services/{*rest}`.
pub async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    Path(rest): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    run(s, method, rest, headers, q, body).await
}

async fn run(
    s: Arc<Shared>,
    method: Method,
    rest: String,
    headers: HeaderMap,
    q: Option<String>,
    body: Bytes,
) -> Response {
    if let Some(e) = faults(&s).await {
        return e.into_response();
    }
    let result = (|| {
        let req = parse(&s, method.clone(), &rest, &headers, q, &body)?;
        let segs: Vec<&str> = req.segs.iter().map(String::as_str).collect();
        let Some((service, tail)) = segs.split_first() else {
            let sync = lock(&s.sync);
            let accounts = lock(&s.accounts);
            let items: Vec<Value> = sync
                .services
                .values()
                .filter(|x| accounts.can_access(&req.principal, &x.account))
                .map(|x| serde_json::json!({"sid": x.sid, "account_sid": x.account.to_string(), "friendly_name": x.name, "url": format!("{}/v1/Services/{}", req.base, x.sid)}))
                .collect();
            return Ok((
                200,
                super::render::list(&req.base, "/v1/Services", "services", items, 0, 1000),
            ));
        };
        let owner = lock(&s.sync).service(service)?.account;
        if !lock(&s.accounts).can_access(&req.principal, &owner) {
            return Err(ApiError::new(
                404,
                20404,
                format!("The requested resource /Services/{service} was not found"),
            ));
        }
        let now = s.now();
        let (r, effects) = {
            let mut sync = lock(&s.sync);
            let r = crate::sync::rest::route(
                &mut sync,
                service,
                req.method.as_str(),
                tail,
                &req.params,
                req.if_match.as_deref(),
                &req.base,
                now,
            );
            (r, sync.drain_effects())
        };
        dispatch_sync(&s, effects);
        r
    })();
    match result {
        Ok((204, _)) => StatusCode::NO_CONTENT.into_response(),
        Ok((status, v)) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            Json(v),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}
