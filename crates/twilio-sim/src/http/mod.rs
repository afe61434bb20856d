//! The HTTP/WebSocket shell: one axum router on one port serving every surface.
//!
//! | path | what |
//! |---|---|
//! | `/v1/Workspaces/…` | TaskRouter public REST (Basic auth, form in, JSON out) |
//! | `/v1/wschannels` | EventBridge: `GET` WebSocket upgrade for workers, `POST` the SDK's REST proxy |
//! | `/v1/Services/…` | Sync public REST (Basic auth, form in, JSON out) |
//! | `/v3/wsconnect` | Twilsock v3 for the Sync SDK (CDS requests tunnelled inside) |
//! | `/_sim/…` | scenario control for tests (clock, sockets, tokens, faults, event log) |
//!
//! Routing ignores `Host`, so one base URL (`http://127.0.0.1:PORT`) serves everything. Bodies are capped at
//! [`crate::params::MAX_BODY`]; every failure answers with Twilio's error JSON.

pub mod control;
pub mod eventbridge;
pub mod render;
pub mod rest;
pub mod rest_sync;
pub mod rest_tr;
pub mod twilsock;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use axum::Router;

use crate::error::ApiError;
use crate::shared::Shared;

/// Builds the router.
pub fn app(shared: Arc<Shared>) -> Router {
    let voice = crate::voice::for_shared(&shared);
    let calls = crate::calls::Calls::install(&shared, voice.clone());
    Router::new()
        .route(
            "/v1/wschannels",
            get(eventbridge::ws)
                .post(eventbridge::proxy)
                .options(eventbridge::preflight),
        )
        .route("/v1/Workspaces", any(rest_tr::handle))
        .route("/v1/Workspaces/{*rest}", any(rest_tr::handle))
        .route("/v3/wsconnect", get(twilsock::ws))
        .route("/v1/Services", any(rest_sync::handle))
        .route("/v1/Services/{*rest}", any(rest_sync::handle))
        .route("/_sim/health", get(control::health))
        .route("/_sim/clock", get(control::clock))
        .route("/_sim/clock/advance", post(control::advance))
        .route("/_sim/sockets", get(control::sockets))
        .route("/_sim/sockets/drop", post(control::drop_sockets))
        .route("/_sim/tokens/expire", post(control::expire_token))
        .route(
            "/_sim/faults",
            get(control::get_faults).post(control::set_faults),
        )
        .route("/_sim/events", get(control::events))
        .route("/_sim/eventbridge/push", post(control::push_raw))
        .merge(crate::voice::router(voice))
        .merge(crate::calls::router(calls))
        .fallback(|| async { ApiError::not_found("path") })
        .layer(DefaultBodyLimit::max(crate::params::MAX_BODY))
        .layer(axum::middleware::map_response(twilio_shaped_rejections))
        .with_state(shared)
}

/// Extractor rejections (an over-limit body: 413, a bad upgrade, …) come back from axum as plain text; give them
/// Twilio's error JSON like every other failure. JSON responses pass through untouched.
async fn twilio_shaped_rejections(r: axum::response::Response) -> axum::response::Response {
    let is_json = r
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let status = r.status();
    if !status.is_client_error() || is_json || status == axum::http::StatusCode::NOT_FOUND {
        return r;
    }
    let message = status.canonical_reason().unwrap_or("Bad request");
    axum::response::IntoResponse::into_response(ApiError::new(status.as_u16(), 20001, message))
}
