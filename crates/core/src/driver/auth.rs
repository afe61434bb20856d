//! The companion server's sign-in session (s14 contract §1): the session token that authorizes every agent
//! request, and the refresh token that renews it. Shared (it is `Clone`) by everything that talks to the server
//! for one agent: [`super::ServerTokens`], the `/v1/events` push and the shell's own requests.
//!
//! Contract kept here:
//! - A session from `POST /v1/login` or `POST /v1/session/refresh` keeps both tokens; every refresh rotates
//!   both (the old refresh token is spent). The refresh token to keep is published on [`ServerSession::subscribe`]
//!   after every rotation, so the shell can store it (and only it) in the OS keychain.
//! - The session token is renewed when it is within [`REFRESH_AHEAD_SECS`] of expiry ([`ServerSession::fresh`],
//!   [`ServerSession::maintain`]) and when a request answers 401 ([`ServerSession::renew_after_401`]). Renewals
//!   are single-flight: concurrent callers wait for the one running and get its token; a caller whose stale
//!   token was already replaced gets the replacement without another refresh.
//! - `401 REFRESH_INVALID` / `REFRESH_REUSED` (or a 401 for a session that has no refresh token, e.g. one
//!   remembered by an older version) end the session: [`AuthState::Ended`] says why; the agent signs in again.
//! - Tokens never reach a log (they are [`Pii`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;
use tsunagi_twilio::Pii;

/// Renew the session token when less than this is left (contract: 10 minutes).
pub const REFRESH_AHEAD_SECS: u64 = 600;
/// How long sign-out waits for `POST /v1/logout` (contract: 3 s, best effort).
pub const LOGOUT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest answer read from the session endpoints.
const MAX_BODY: usize = 64 * 1024;

/// The agent a sign-in or refresh names (`agent` in the login answer).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SignedInAgent {
    /// Opaque id, also the Twilio client identity.
    pub id: String,
    /// Name shown in the window.
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
}

/// Why a sign-in, refresh or session did not work out. Outcomes, not errors: the shell decides what to show.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// `POST /v1/login` refused the login and password.
    BadCredentials,
    /// The refresh token is unknown or expired (`401 REFRESH_INVALID`).
    RefreshInvalid,
    /// The refresh token was already spent: the server revoked the whole sign-in (`401 REFRESH_REUSED`).
    RefreshReused,
    /// The session token was refused and there is no refresh token to renew it (a session remembered by an
    /// older version, or the server revoked it).
    SessionExpired,
    /// This client version is below the server's minimum (426).
    UpgradeRequired,
    /// The server could not be reached (the detail has no URL and no token).
    Unreachable(String),
    /// Any other answer.
    Server(u16),
}

impl AuthFailure {
    /// Whether the agent must sign in again (as opposed to trying later).
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            AuthFailure::BadCredentials
                | AuthFailure::RefreshInvalid
                | AuthFailure::RefreshReused
                | AuthFailure::SessionExpired
        )
    }
}

/// Where the session stands, as [`ServerSession::subscribe`] publishes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthState {
    /// Signed in. `refresh` is the refresh token to remember (`None`: a session without one).
    Active {
        /// The current refresh token.
        refresh: Option<Pii<String>>,
    },
    /// Signed out by the agent ([`ServerSession::logout`]).
    SignedOut,
    /// The server ended the session; the agent must sign in again.
    Ended(AuthFailure),
}

/// Whether a session token expiring at `expires_at` (Unix s; `None` = unknown) is due for renewal at `now`.
pub fn refresh_due(expires_at: Option<u64>, now_unix: u64) -> bool {
    expires_at.is_some_and(|exp| exp.saturating_sub(now_unix) <= REFRESH_AHEAD_SECS)
}

/// The answer of `POST /v1/login` and `POST /v1/session/refresh`.
#[derive(Deserialize)]
struct SignInAnswer {
    session_token: String,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
    agent: SignedInAgent,
}

#[derive(Debug)]
struct Creds {
    session: Pii<String>,
    expires_at: Option<u64>,
    refresh: Option<Pii<String>>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base: String,
    client_version: String,
    creds: Mutex<Creds>,
    /// Held while a refresh runs: the single flight.
    refreshing: tokio::sync::Mutex<()>,
    state: watch::Sender<AuthState>,
}

/// One agent's session at the companion server. Cheap to clone; every clone shares the tokens.
#[derive(Clone, Debug)]
pub struct ServerSession {
    inner: Arc<Inner>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain data: usable after a panic elsewhere.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default()
}

fn unreachable(e: reqwest::Error) -> AuthFailure {
    AuthFailure::Unreachable(e.without_url().to_string())
}

/// Reads a bounded JSON body (`Null` when absent, too large or malformed).
async fn read_body(resp: reqwest::Response) -> Value {
    match resp.bytes().await {
        Ok(b) if b.len() <= MAX_BODY => serde_json::from_slice(&b).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

impl ServerSession {
    fn with(base: &str, client_version: &str, creds: Creds) -> Self {
        let state = AuthState::Active {
            refresh: creds.refresh.clone(),
        };
        ServerSession {
            inner: Arc::new(Inner {
                http: http_client(),
                base: base.trim_end_matches('/').to_owned(),
                client_version: client_version.to_owned(),
                creds: Mutex::new(creds),
                refreshing: tokio::sync::Mutex::new(()),
                state: watch::Sender::new(state),
            }),
        }
    }

    /// A session from a session token alone (no refresh token): it works until the server refuses it, then
    /// ends with [`AuthFailure::SessionExpired`]. For sessions remembered by older versions, benches and tests.
    pub fn from_session_token(base: &str, client_version: &str, session: Pii<String>) -> Self {
        Self::with(
            base,
            client_version,
            Creds {
                session,
                expires_at: None,
                refresh: None,
            },
        )
    }

    /// `POST {base}/v1/login`.
    pub async fn login(
        base: &str,
        client_version: &str,
        login: &str,
        password: &str,
    ) -> Result<(Self, SignedInAgent), AuthFailure> {
        let body = serde_json::json!({ "login": login, "password": password });
        Self::sign_in(base, client_version, "login", &body).await
    }

    /// `POST {base}/v1/session/refresh` with a remembered refresh token (at start): a new session and a new
    /// refresh token (the remembered one is spent).
    pub async fn resume(
        base: &str,
        client_version: &str,
        refresh: &Pii<String>,
    ) -> Result<(Self, SignedInAgent), AuthFailure> {
        let body = serde_json::json!({ "refresh_token": refresh.expose() });
        Self::sign_in(base, client_version, "session/refresh", &body).await
    }

    async fn sign_in(
        base: &str,
        client_version: &str,
        path: &str,
        body: &Value,
    ) -> Result<(Self, SignedInAgent), AuthFailure> {
        let base = base.trim_end_matches('/');
        let answer = post_sign_in(&http_client(), base, client_version, path, body).await?;
        let agent = answer.agent.clone();
        let session = Self::with(base, client_version, creds_of(answer));
        Ok((session, agent))
    }

    /// The server's base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// This client's version (`X-Client-Version`).
    pub fn client_version(&self) -> &str {
        &self.inner.client_version
    }

    /// The current session token (it may be due for renewal: prefer [`ServerSession::fresh`]).
    pub fn token(&self) -> Pii<String> {
        lock(&self.inner.creds).session.clone()
    }

    /// The current refresh token, if the session has one.
    pub fn refresh_token(&self) -> Option<Pii<String>> {
        lock(&self.inner.creds).refresh.clone()
    }

    /// When the session token expires (Unix s), if the server said.
    pub fn expires_at(&self) -> Option<u64> {
        lock(&self.inner.creds).expires_at
    }

    /// Where the session stands now and after every change (rotation, end).
    pub fn subscribe(&self) -> watch::Receiver<AuthState> {
        self.inner.state.subscribe()
    }

    /// Whether the session is still usable.
    pub fn is_active(&self) -> bool {
        matches!(*self.inner.state.borrow(), AuthState::Active { .. })
    }

    /// The session token, renewed first if it is within [`REFRESH_AHEAD_SECS`] of expiry. A failed renewal
    /// leaves the current token (a later 401 tries again, or the session has ended).
    pub async fn fresh(&self) -> Pii<String> {
        let (token, due) = {
            let creds = lock(&self.inner.creds);
            (
                creds.session.clone(),
                creds.refresh.is_some() && refresh_due(creds.expires_at, now_unix()),
            )
        };
        if !due || !self.is_active() {
            return token;
        }
        let _flight = self.inner.refreshing.lock().await;
        if lock(&self.inner.creds).session != token {
            return self.token(); // renewed while we waited
        }
        if let Err(failure) = self.refresh_now().await {
            tracing::warn!(?failure, "session renewal ahead of expiry failed");
        }
        self.token()
    }

    /// After a request with `stale` answered 401: renews the session (once, whoever else asks meanwhile) and
    /// returns the token to retry with, or `None` when the session cannot be renewed (then it may have ended:
    /// see [`ServerSession::subscribe`]).
    pub async fn renew_after_401(&self, stale: &Pii<String>) -> Option<Pii<String>> {
        let _flight = self.inner.refreshing.lock().await;
        let current = self.token();
        if current != *stale {
            return Some(current); // someone else renewed it already
        }
        if !self.is_active() {
            return None;
        }
        match self.refresh_now().await {
            Ok(()) => Some(self.token()),
            Err(failure) => {
                tracing::warn!(?failure, "session renewal after 401 failed");
                None
            }
        }
    }

    /// The refresh itself; the caller holds the single-flight lock.
    async fn refresh_now(&self) -> Result<(), AuthFailure> {
        let Some(refresh) = self.refresh_token() else {
            self.end(AuthFailure::SessionExpired);
            return Err(AuthFailure::SessionExpired);
        };
        let body = serde_json::json!({ "refresh_token": refresh.expose() });
        let inner = &self.inner;
        match post_sign_in(
            &inner.http,
            &inner.base,
            &inner.client_version,
            "session/refresh",
            &body,
        )
        .await
        {
            Ok(answer) => {
                let creds = creds_of(answer);
                let refresh = creds.refresh.clone();
                *lock(&inner.creds) = creds;
                tracing::info!("session renewed; refresh token rotated");
                inner.state.send_replace(AuthState::Active { refresh });
                Ok(())
            }
            Err(failure) => {
                if failure.ends_session() {
                    self.end(failure.clone());
                }
                Err(failure)
            }
        }
    }

    fn end(&self, why: AuthFailure) {
        tracing::info!(?why, "the server session has ended");
        self.inner.state.send_replace(AuthState::Ended(why));
    }

    /// Renews the session token ahead of expiry for as long as the session lives (spawn it; it returns when
    /// the session ends or is signed out). Renewal failures that do not end the session are retried a minute
    /// later.
    pub async fn maintain(self) {
        let mut state = self.subscribe();
        loop {
            if !self.is_active() {
                return;
            }
            let wait = match (self.refresh_token(), self.expires_at()) {
                (Some(_), Some(exp)) => {
                    let due = exp.saturating_sub(REFRESH_AHEAD_SECS);
                    Duration::from_secs(due.saturating_sub(now_unix()).max(60))
                }
                _ => return, // nothing to renew with, or no known expiry: 401s renew
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => { self.fresh().await; }
                changed = state.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Sends a request built by `build` (given the client and base URL) with the session's bearer and
    /// `X-Client-Version`; on 401 renews the session once and sends it again.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, AuthFailure> {
        let token = self.fresh().await;
        let resp = self.send_with(&build, &token).await?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        match self.renew_after_401(&token).await {
            Some(renewed) => self.send_with(&build, &renewed).await,
            None => Ok(resp),
        }
    }

    async fn send_with(
        &self,
        build: &impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
        token: &Pii<String>,
    ) -> Result<reqwest::Response, AuthFailure> {
        build(&self.inner.http, &self.inner.base)
            .bearer_auth(token.expose())
            .header("X-Client-Version", &self.inner.client_version)
            .send()
            .await
            .map_err(unreachable)
    }

    /// `GET /v1/me`: who this session belongs to (confirms a remembered session).
    pub async fn me(&self) -> Result<SignedInAgent, AuthFailure> {
        let resp = self
            .send(|http, base| http.get(format!("{base}/v1/me")))
            .await?;
        match resp.status().as_u16() {
            200 => {
                serde_json::from_value(read_body(resp).await).map_err(|_| AuthFailure::Server(200))
            }
            401 | 403 => {
                if self.is_active() {
                    self.end(AuthFailure::SessionExpired);
                }
                Err(AuthFailure::SessionExpired)
            }
            426 => Err(AuthFailure::UpgradeRequired),
            status => Err(AuthFailure::Server(status)),
        }
    }

    /// Signs out: `POST /v1/logout` (revokes the session and its refresh family), best effort within
    /// [`LOGOUT_TIMEOUT`]; the session is [`AuthState::SignedOut`] afterwards whatever the server said.
    /// Returns whether the server confirmed.
    pub async fn logout(&self) -> bool {
        let token = self.token();
        let sent = self
            .inner
            .http
            .post(format!("{}/v1/logout", self.inner.base))
            .bearer_auth(token.expose())
            .header("X-Client-Version", &self.inner.client_version)
            .timeout(LOGOUT_TIMEOUT)
            .send()
            .await;
        self.inner.state.send_replace(AuthState::SignedOut);
        match sent {
            Ok(resp) if resp.status().is_success() => true,
            Ok(resp) => {
                tracing::info!(status = resp.status().as_u16(), "logout not confirmed");
                false
            }
            Err(e) => {
                tracing::info!(error = %e.without_url(), "logout not sent");
                false
            }
        }
    }
}

fn creds_of(answer: SignInAnswer) -> Creds {
    Creds {
        session: Pii(answer.session_token),
        expires_at: answer.expires_at,
        refresh: answer.refresh_token.map(Pii),
    }
}

/// `POST {base}/v1/{path}` with `body` → the sign-in answer, or why not.
async fn post_sign_in(
    http: &reqwest::Client,
    base: &str,
    client_version: &str,
    path: &str,
    body: &Value,
) -> Result<SignInAnswer, AuthFailure> {
    let resp = http
        .post(format!("{base}/v1/{path}"))
        .header("X-Client-Version", client_version)
        .json(body)
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status().as_u16();
    let reply = read_body(resp).await;
    match status {
        200 => serde_json::from_value(reply).map_err(|_| AuthFailure::Server(200)),
        401 | 403 => Err(refusal(path, &reply)),
        426 => Err(AuthFailure::UpgradeRequired),
        status => Err(AuthFailure::Server(status)),
    }
}

/// What a 401/403 from `path` means.
fn refusal(path: &str, reply: &Value) -> AuthFailure {
    match reply.get("code").and_then(Value::as_str) {
        Some("REFRESH_REUSED") => AuthFailure::RefreshReused,
        Some("REFRESH_INVALID") => AuthFailure::RefreshInvalid,
        _ if path == "login" => AuthFailure::BadCredentials,
        _ => AuthFailure::RefreshInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_is_due_ten_minutes_ahead() {
        assert!(!refresh_due(None, 1_000), "unknown expiry: 401s renew");
        assert!(!refresh_due(Some(10_000), 10_000 - 601));
        assert!(refresh_due(Some(10_000), 10_000 - 600));
        assert!(refresh_due(Some(10_000), 20_000), "already expired");
    }

    #[test]
    fn refusals_are_told_apart() {
        let code = |c: &str| serde_json::json!({"code": c, "message": "m"});
        assert_eq!(
            refusal("session/refresh", &code("REFRESH_REUSED")),
            AuthFailure::RefreshReused
        );
        assert_eq!(
            refusal("session/refresh", &code("REFRESH_INVALID")),
            AuthFailure::RefreshInvalid
        );
        assert_eq!(
            refusal("session/refresh", &Value::Null),
            AuthFailure::RefreshInvalid
        );
        assert_eq!(
            refusal("login", &code("UNAUTHORIZED")),
            AuthFailure::BadCredentials
        );
        assert!(AuthFailure::RefreshReused.ends_session());
        assert!(!AuthFailure::Server(503).ends_session());
    }

    #[test]
    fn sign_in_answers_parse_with_and_without_a_refresh_token() {
        let new: SignInAnswer = serde_json::from_value(serde_json::json!({
            "session_token": "s", "expires_at": 5, "refresh_token": "r", "refresh_expires_at": 9,
            "agent": {"id": "a", "display_name": "田中", "role": "agent", "worker_sid": null}
        }))
        .unwrap();
        let creds = creds_of(new);
        assert_eq!(creds.refresh, Some(Pii("r".to_owned())));
        assert_eq!(creds.expires_at, Some(5));
        let old: SignInAnswer = serde_json::from_value(serde_json::json!({
            "session_token": "s", "agent": {"id": "a", "display_name": "x", "role": "agent"}
        }))
        .unwrap();
        assert_eq!(creds_of(old).refresh, None);
    }
}
