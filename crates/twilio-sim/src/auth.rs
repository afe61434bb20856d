//! Accounts and credentials: REST Basic auth, Access Token verification for the SDK sockets, and the Auth Tokens
//! that sign outgoing webhooks.
//!
//! - Basic auth accepts `AC…:auth_token` and `SK…:secret`. A parent account's credentials may act on its
//!   subaccounts' resources (as on Twilio); a subaccount's never on its parent's.
//! - Access Tokens are verified with `tsunagi_twilio::token::verify` against the secret of the key named in `iss`,
//!   **and the key's owning account must be the token's `sub`**: a key of the master account minting a token for
//!   a subaccount (the seeds' "only a HANGUP" failure) is refused with 20103 and a message that says so.
//! - Tokens can be force-expired (one token, or every token with a `jti`) through `/_sim/tokens/expire`; they
//!   fail with 20104 afterwards.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use tsunagi_twilio::sid::{AccountSid, ApiKeySid};
use tsunagi_twilio::token::{self, Claims, TokenError};

use crate::config::Config;
use crate::error::ApiError;

/// Seconds of clock skew tolerated on `iat`/`nbf`/`exp`.
pub const LEEWAY_SECS: u64 = 0;

#[derive(Debug, Clone)]
struct Account {
    auth_token: String,
    parent: Option<AccountSid>,
}

#[derive(Debug, Clone)]
struct ApiKey {
    secret: String,
    owner: AccountSid,
}

/// All configured accounts and keys.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    accounts: BTreeMap<AccountSid, Account>,
    keys: BTreeMap<ApiKeySid, ApiKey>,
    /// Force-expired tokens: `jti:<jti>` or `sig:<signature segment>`.
    expired: BTreeSet<String>,
}

impl Accounts {
    /// From validated config.
    pub fn from_config(cfg: &Config) -> Self {
        let mut out = Self::default();
        for a in &cfg.accounts {
            let Ok(sid) = a.sid.parse::<AccountSid>() else {
                continue;
            };
            let parent = a.parent.as_deref().and_then(|p| p.parse().ok());
            out.accounts.insert(
                sid,
                Account {
                    auth_token: a.auth_token.clone(),
                    parent,
                },
            );
            for k in &a.api_keys {
                if let Ok(ks) = k.sid.parse::<ApiKeySid>() {
                    out.keys.insert(
                        ks,
                        ApiKey {
                            secret: k.secret.clone(),
                            owner: sid,
                        },
                    );
                }
            }
        }
        out
    }

    /// The Auth Token of an account (webhook signing key).
    pub fn auth_token(&self, account: &AccountSid) -> Option<&str> {
        self.accounts.get(account).map(|a| a.auth_token.as_str())
    }

    /// Authenticates an `Authorization: Basic …` header; returns the account the credentials belong to.
    pub fn basic(&self, header: Option<&str>) -> Result<AccountSid, ApiError> {
        let raw = header
            .and_then(|h| h.strip_prefix("Basic "))
            .ok_or_else(ApiError::authenticate)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(raw.trim())
            .map_err(|_| ApiError::authenticate())?;
        let text = String::from_utf8(decoded).map_err(|_| ApiError::authenticate())?;
        let (user, pass) = text.split_once(':').ok_or_else(ApiError::authenticate)?;
        if let Ok(ac) = user.parse::<AccountSid>() {
            let a = self.accounts.get(&ac).ok_or_else(ApiError::authenticate)?;
            if ct_eq(a.auth_token.as_bytes(), pass.as_bytes()) {
                return Ok(ac);
            }
        } else if let Ok(sk) = user.parse::<ApiKeySid>() {
            let k = self.keys.get(&sk).ok_or_else(ApiError::authenticate)?;
            if ct_eq(k.secret.as_bytes(), pass.as_bytes()) {
                return Ok(k.owner);
            }
        }
        Err(ApiError::authenticate())
    }

    /// Whether `principal` may act on resources of `owner` (same account, or its parent).
    pub fn can_access(&self, principal: &AccountSid, owner: &AccountSid) -> bool {
        principal == owner
            || self.accounts.get(owner).and_then(|a| a.parent.as_ref()) == Some(principal)
    }

    /// Verifies an Access Token at `now_secs`; errors carry Twilio's status and code.
    pub fn verify_token(&self, jwt: &str, now_secs: u64) -> Result<Claims, ApiError> {
        let fail = |e: TokenError| ApiError::new(401, e.twilio_code(), token_message(&e));
        let (_, unverified) = token::decode_unverified(jwt).map_err(fail)?;
        let key = self.keys.get(&unverified.iss).ok_or_else(|| {
            ApiError::new(
                401,
                20103,
                format!(
                    "Invalid Access Token issuer/subject: API key {} is unknown",
                    unverified.iss
                ),
            )
        })?;
        let claims = token::verify(jwt, &key.secret, &key.owner, now_secs, LEEWAY_SECS).map_err(|e| match e {
            TokenError::AccountMismatch => ApiError::new(
                401,
                20103,
                format!(
                    "Invalid Access Token issuer/subject: API key {} belongs to account {}, but the token's sub is {}",
                    unverified.iss, key.owner, unverified.sub
                ),
            ),
            other => fail(other),
        })?;
        if self.is_expired(jwt, &claims.jti) {
            return Err(ApiError::new(
                401,
                20104,
                "Access Token expired or expiration date invalid",
            ));
        }
        Ok(claims)
    }

    /// Marks every token with this `jti` as expired (note: twilio-node's `jti` is `<key>-<iat>`, so every token
    /// that key minted in that second).
    pub fn expire_jti(&mut self, jti: &str) {
        self.expired.insert(format!("jti:{jti}"));
    }

    /// Marks exactly this token as expired.
    pub fn expire_token(&mut self, jwt: &str) {
        self.expired
            .insert(format!("sig:{}", signature_segment(jwt)));
    }

    /// Whether this token (or its `jti`) was force-expired.
    pub fn is_expired(&self, jwt: &str, jti: &str) -> bool {
        !self.expired.is_empty()
            && (self.expired.contains(&format!("jti:{jti}"))
                || self
                    .expired
                    .contains(&format!("sig:{}", signature_segment(jwt))))
    }
}

fn signature_segment(jwt: &str) -> &str {
    jwt.rsplit('.').next().unwrap_or("")
}

fn token_message(e: &TokenError) -> String {
    let what = match e.twilio_code() {
        20101 => "Invalid Access Token",
        20102 => "Invalid Access Token header",
        20103 => "Invalid Access Token issuer/subject",
        20104 => "Access Token expired or expiration date invalid",
        20105 => "Access Token not yet valid",
        20106 => "Invalid Access Token grants",
        20107 => "Invalid Access Token signature",
        20157 => "Expiration Time exceeds maximum time allowed",
        _ => "Invalid Access Token",
    };
    format!("{what}: {e}")
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
