//! The TaskRouter stand-in: expression language, workflow documents, state model and the routing engine.
//! HTTP and WebSocket handling live in `crate::http`.

pub mod engine;
pub mod expr;
pub mod model;
pub mod workflow;

pub use engine::{Effect, EventRecord, TaskRouter, Webhook, WebhookKind};

#[cfg(test)]
mod engine_tests;
