//! Sync public REST (`/v1/Services/…`): authenticate, parse, call `crate::sync::rest`, dispatch the fanout.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::rest::{serve, Req};
use super::twilsock::dispatch_sync;
use crate::error::ApiError;
use crate::shared::{lock, Shared};

/// `/v1/Services` and `/v1/Services/{*rest}`.
pub async fn handle(
    State(s): State<Arc<Shared>>,
    method: Method,
    rest: Option<Path<String>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let path = rest.map(|Path(r)| r).unwrap_or_default();
    serve(s, method, &path, &headers, q, &body, route).await
}

fn route(s: &Arc<Shared>, req: &Req) -> Result<(StatusCode, Value), ApiError> {
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
            StatusCode::OK,
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
    dispatch_sync(s, effects);
    r.map(|(status, v)| (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), v))
}
