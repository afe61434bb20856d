//! HTTP routes grouped by area. Handlers stay a few lines: extract, call the layer below, map the error.

pub mod calls;
pub mod events;
pub mod health;
pub mod legs;
pub mod outbound;
pub mod recordings;
pub mod session;
pub mod token;
pub mod twilio;
pub mod updates;
pub mod webhook;
