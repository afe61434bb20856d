//! The diagnostics screen's facts: one timed request to each service the app depends on (the companion server,
//! TaskRouter's EventBridge, the Voice signaling edge; Sync is not used by this version) and what the current
//! Access Token says (account, API key, identity, grants), so the account/number mismatch class of failures the
//! agents' seeds describe ("only a HANGUP", 20103) can be named instead of guessed. It measures and reports; the
//! UI words the findings.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::ClientConfig;

/// A service the app talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Service {
    /// The companion server (`/healthz`).
    Server,
    /// TaskRouter's EventBridge (REST base).
    TaskRouter,
    /// Twilio Sync (not used by this version).
    Sync,
    /// The Voice SDK's signaling edge.
    Voice,
}

/// How one probe went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Outcome {
    /// An HTTP answer came back (any status proves the route and TLS work).
    Reached {
        /// Request to answer, milliseconds.
        latency_ms: u64,
        /// The HTTP status.
        status: u16,
    },
    /// No answer: the error, without the URL.
    Failed {
        /// What failed (connect refused, DNS, TLS, timeout).
        error: String,
    },
    /// This version does not connect to the service.
    NotUsed,
}

/// One probe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Which service.
    pub service: Service,
    /// What was asked (scheme, host and path; no secrets).
    pub url: Option<String>,
    /// How it went.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What the current Access Token says (decoded, not verified: the services verify it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenFacts {
    /// `sub`: the account the token acts for.
    pub account: String,
    /// `iss`: the API key that signed it (it must belong to `account`).
    pub api_key: String,
    /// The client identity.
    pub identity: Option<String>,
    /// Expiry, Unix seconds.
    pub expires_unix: u64,
    /// The Voice grant lets the Device receive calls.
    pub voice_incoming: bool,
    /// The TwiML application for outgoing calls, if granted.
    pub outgoing_application: Option<String>,
    /// The TaskRouter workspace, if granted.
    pub workspace: Option<String>,
    /// The TaskRouter worker, if granted.
    pub worker: Option<String>,
}

/// Everything the diagnostics screen shows from the Rust side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnosis {
    /// One probe per service.
    pub checks: Vec<Check>,
    /// The current token, when signed in and decodable.
    pub token: Option<TokenFacts>,
}

/// The URL the Voice SDK signals to: the configured replacement, else Twilio's edge.
fn voice_url(config: &ClientConfig) -> String {
    let ws = config.voice.signaling.clone().unwrap_or_else(|| {
        format!(
            "wss://chunderw-vpc-gll-{}.twilio.com/signal",
            config.voice.edge
        )
    });
    // The probe is a plain HTTP request to the same host and path (the upgrade itself needs a token).
    ws.replacen("wss://", "https://", 1)
        .replacen("ws://", "http://", 1)
}

async fn probe(http: reqwest::Client, service: Service, url: String) -> Check {
    let started = Instant::now();
    let outcome = match http.get(&url).send().await {
        Ok(reply) => Outcome::Reached {
            latency_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            status: reply.status().as_u16(),
        },
        Err(e) => Outcome::Failed {
            error: e.without_url().to_string(),
        },
    };
    Check {
        service,
        url: Some(url),
        outcome,
    }
}

/// Probes every service at once (each bounded by `timeout`) and decodes `token`.
pub async fn run(config: &ClientConfig, token: Option<&str>, timeout: Duration) -> Diagnosis {
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .unwrap_or_default();
    let targets = [
        (Service::Server, format!("{}/healthz", config.server_url)),
        (Service::TaskRouter, config.eventbridge_rest.clone()),
        (Service::Voice, voice_url(config)),
    ];
    let handles: Vec<_> = targets
        .into_iter()
        .map(|(service, url)| tauri::async_runtime::spawn(probe(http.clone(), service, url)))
        .collect();
    let mut checks = Vec::with_capacity(4);
    for handle in handles {
        if let Ok(check) = handle.await {
            checks.push(check);
        }
    }
    checks.push(Check {
        service: Service::Sync,
        url: None,
        outcome: Outcome::NotUsed,
    });
    Diagnosis {
        checks,
        token: token.and_then(token_facts),
    }
}

/// The claims of `jwt`, read with `tsunagi-twilio`'s decoder (no signature check).
pub fn token_facts(jwt: &str) -> Option<TokenFacts> {
    let (_, claims) = tsunagi_twilio::token::decode_unverified(jwt).ok()?;
    let voice = claims.grants.voice.as_ref();
    let task_router = claims.grants.task_router.as_ref();
    Some(TokenFacts {
        account: claims.sub.to_string(),
        api_key: claims.iss.to_string(),
        identity: Some(claims.grants.identity.clone()).filter(|i| !i.is_empty()),
        expires_unix: claims.exp,
        voice_incoming: voice
            .and_then(|v| v.incoming.as_ref())
            .is_some_and(|i| i.allow),
        outgoing_application: voice
            .and_then(|v| v.outgoing.as_ref())
            .map(|o| o.application_sid.to_string()),
        workspace: task_router.and_then(|t| t.workspace_sid.map(|w| w.to_string())),
        worker: task_router.and_then(|t| t.worker_sid.map(|w| w.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsunagi_twilio::token::{AccessToken, TaskRouterGrant, VoiceGrant};

    #[test]
    fn voice_probe_follows_the_signaling_setting() {
        let mut config = ClientConfig::from_env();
        config.voice.signaling = Some("ws://127.0.0.1:8090/signal".into());
        assert_eq!(voice_url(&config), "http://127.0.0.1:8090/signal");
        config.voice.signaling = None;
        config.voice.edge = "tokyo".into();
        assert_eq!(
            voice_url(&config),
            "https://chunderw-vpc-gll-tokyo.twilio.com/signal"
        );
    }

    #[test]
    fn token_facts_name_account_key_and_grants() {
        let mut token = AccessToken::new(
            "AC00000000000000000000000000000001".parse().unwrap(),
            "SK00000000000000000000000000000002".parse().unwrap(),
            "agent_1024",
        );
        token.voice = Some(VoiceGrant::incoming());
        token.task_router = Some(TaskRouterGrant {
            workspace_sid: Some("WS00000000000000000000000000000003".parse().unwrap()),
            worker_sid: Some("WK00000000000000000000000000000004".parse().unwrap()),
            role: None,
        });
        let jwt = token.to_jwt("secret", 1_800_000_000).unwrap();
        let facts = token_facts(&jwt).unwrap();
        assert_eq!(facts.account, "AC00000000000000000000000000000001");
        assert_eq!(facts.api_key, "SK00000000000000000000000000000002");
        assert_eq!(facts.identity.as_deref(), Some("agent_1024"));
        assert!(facts.voice_incoming);
        assert_eq!(facts.outgoing_application, None);
        assert_eq!(
            facts.worker.as_deref(),
            Some("WK00000000000000000000000000000004")
        );
        assert_eq!(token_facts("not.a.jwt"), None);
    }
}
