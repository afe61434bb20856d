//! # tsunagi-bench: the whole system under load
//!
//! Hundreds of headless agents in one process, each running the real `tsunagi-core` [`Driver`] exactly as the
//! desktop app hosts it (a session token from the companion server's `POST /v1/login`, tokens from
//! `POST /v1/token`, EventBridge and the REST proxy of the stand-in), against the local Twilio stand-in and the
//! companion server, both started in-process on `127.0.0.1:0` ([`stack`]).
//!
//! There is no webview: a [`agent::LoadAgent`] answers the core's Device actions itself (the agent leg is
//! simulated as accepted, since these scenarios carry no voice) and plays an agent: answer after a delay, talk,
//! wrap up. What every agent sees is written to one [`recorder::Recorder`], and the [`scenarios`] turn it into
//! figures and invariant counters. A scenario whose invariants fail makes the binary exit non-zero.
//!
//! [`Driver`]: tsunagi_core::driver::Driver

pub mod agent;
pub mod balancer;
pub mod cluster;
pub mod device;
pub mod error;
pub mod machine;
pub mod recorder;
pub mod report;
pub mod scenarios;
pub mod stack;
pub mod stats;

pub use error::BenchError;
