//! # tsunagi-server: the companion server
//!
//! Owns the Twilio secrets and REST API so agents never hold account credentials: issues Access Tokens, answers
//! Twilio webhooks (signature-checked, idempotent), orchestrates TaskRouter + Conference, pushes call context to
//! agents over `/v1/events`, and serves the desktop update channel. Storage is sqlx over SQLite (embedded
//! default) or PostgreSQL (several instances; events fanned out with LISTEN/NOTIFY).
//!
//! The library exposes [`app`]; `main.rs` only reads the configuration, binds and serves (plus admin
//! subcommands). Twilio is reached only through configured base URLs, so the same code runs against the real
//! Twilio and the local stand-in.

#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod background;
pub mod calls;
pub mod config;
pub mod control;
pub mod crm;
pub mod db;
pub mod directory;
pub mod error;
pub mod events;
pub mod history;
pub mod http;
pub mod inbound;
pub mod legs;
pub mod metrics;
pub mod outbound;
pub mod policy;
pub mod recordings;
pub mod refresh;
pub mod releases;
pub mod reports;
pub mod roster;
pub mod state;
pub mod tokens;
pub mod transfer;
pub mod twilio_rest;
pub mod twiml;
pub mod workflow;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use db::Db;
pub use error::ApiError;
pub use state::AppState;

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    use http::{
        calls, events, health, legs, outbound, recordings, session, token, twilio, updates,
    };
    let limit = state.config.server.max_body_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .route("/v1/login", post(session::login))
        .route("/v1/session/refresh", post(session::refresh))
        .route("/v1/logout", post(session::logout))
        .route("/v1/me", get(session::me))
        .route("/v1/token", post(token::issue))
        .route("/v1/tokens", post(token::issue))
        .route("/v1/events", get(events::events))
        .route("/v1/client/policy", get(updates::policy))
        .route("/v1/updates/{target}/{arch}/{current}", get(updates::check))
        .route(
            "/v1/updates/{channel}/{target}/{arch}/{current}",
            get(updates::check_channel),
        )
        .route("/v1/calls/{task}/complete", post(calls::complete))
        .route("/v1/calls/{task}/hold", post(calls::hold))
        .route("/v1/calls/{task}/unhold", post(calls::unhold))
        .route("/v1/calls/{task}/hangup", post(calls::hangup))
        .route("/v1/calls/{task}/transfer", post(calls::transfer))
        .route(
            "/v1/calls/{task}/transfer/complete",
            post(calls::transfer_complete),
        )
        .route(
            "/v1/calls/{task}/transfer/cancel",
            post(calls::transfer_cancel),
        )
        .route("/v1/calls/{task}/recordings", get(recordings::for_task))
        .route("/v1/recordings/{recording}", get(recordings::fetch))
        .route("/v1/supervise/{task}", post(calls::supervise))
        .route("/v1/roster", get(session::roster))
        .route("/v1/reports/calls", get(calls::report))
        .route("/v1/agents/me/active-call", get(session::active_call))
        .route("/v1/agents/directory", get(session::directory))
        .route("/v1/calls/history", get(calls::history))
        .route("/twilio/voice/inbound", post(twilio::voice_inbound))
        .route("/twilio/voice/wait", get(twilio::voice_wait))
        .route("/twilio/voice/enqueue-action", post(twilio::enqueue_action))
        .route("/twilio/taskrouter/assignment", post(twilio::assignment))
        .route("/twilio/taskrouter/agent-leg", post(twilio::agent_leg))
        .route("/twilio/taskrouter/events", post(twilio::taskrouter_events))
        .route("/twilio/conference/status", post(twilio::conference_status))
        .route("/twilio/participant/status", post(legs::participant_status))
        .route("/twilio/voice/outbound", post(outbound::voice))
        .route("/twilio/recording/status", post(recordings::status))
        .route("/twilio/outbound/conference", post(outbound::conference))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
