//! The Access Token lifecycle: fetch at sign-in, refresh **ahead** of expiry (an expired token stops the SDKs'
//! own reconnects, so one must never expire), retry failed fetches with backoff, and stop for good on 426.
//!
//! The token itself never enters this machine (the driver keeps it); only its expiry does. Wall-clock time
//! enters once per token: `exp − now_unix` becomes a monotonic deadline at the instant it arrives.

use std::time::{Duration, Instant};

use crate::backoff::{Backoff, XorShift};
use crate::input::Action;

/// Tunables of the token lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    /// Refresh this share of the lifetime ahead of expiry (in percent)…
    pub refresh_ahead_percent: u32,
    /// …but at least this long ahead (never more than half the lifetime).
    pub refresh_ahead_min: Duration,
    /// Retry delays for failed fetches.
    pub retry: Backoff,
}

impl Default for TokenConfig {
    fn default() -> Self {
        Self {
            refresh_ahead_percent: 10,
            refresh_ahead_min: Duration::from_secs(60),
            retry: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(30),
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No token wanted (signed out).
    Off,
    /// A fetch is in flight.
    Fetching,
    /// A valid token; refresh at `refresh_at`.
    Valid { refresh_at: Instant },
    /// The last fetch failed; retry at `at`.
    Retrying { at: Instant },
    /// 426: no token will be issued to this version.
    Blocked,
}

/// What a token tick means for the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOutcome {
    /// Nothing new.
    None,
    /// The current token just expired without a replacement.
    Expired,
}

/// The token lifecycle machine.
#[derive(Clone, Debug)]
pub struct TokenLifecycle {
    cfg: TokenConfig,
    state: State,
    expires_at: Option<Instant>,
    /// Half-life of the current token: a server's "about to expire" before it is ignored.
    half_life_at: Option<Instant>,
    failures: u32,
    rng: XorShift,
}

impl TokenLifecycle {
    /// Signed out; `seed` drives the retry jitter.
    pub fn new(cfg: TokenConfig, seed: u64) -> Self {
        Self {
            cfg,
            state: State::Off,
            expires_at: None,
            half_life_at: None,
            failures: 0,
            rng: XorShift::new(seed.rotate_left(17) ^ 0x5151),
        }
    }

    /// A token is held and has not expired.
    pub fn is_valid(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|e| now < e)
    }

    /// Fetches a token now unless a fetch is already in flight or the version is blocked.
    pub fn request(&mut self, out: &mut Vec<Action>) {
        if matches!(self.state, State::Fetching | State::Blocked) {
            return;
        }
        self.state = State::Fetching;
        out.push(Action::FetchToken);
    }

    /// Signed out: forget the token and stop refreshing.
    pub fn stop(&mut self) {
        if self.state != State::Blocked {
            self.state = State::Off;
        }
        self.expires_at = None;
        self.failures = 0;
    }

    /// 426: never fetch again.
    pub fn block(&mut self) {
        self.state = State::Blocked;
    }

    /// A new token with `exp = expires_unix` arrived at wall-clock `now_unix` (monotonic `now`).
    /// Returns `false` if it is already expired (treated as a failed fetch).
    pub fn issued(
        &mut self,
        expires_unix: u64,
        now_unix: u64,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
        if matches!(self.state, State::Off | State::Blocked) {
            return true; // not wanted any more; harmless
        }
        let ttl = Duration::from_secs(expires_unix.saturating_sub(now_unix));
        if ttl.is_zero() {
            self.failed(now, out);
            return false;
        }
        let ahead = (ttl * self.cfg.refresh_ahead_percent / 100)
            .max(self.cfg.refresh_ahead_min)
            .min(ttl / 2);
        self.expires_at = Some(now + ttl);
        self.half_life_at = Some(now + ttl / 2);
        self.state = State::Valid {
            refresh_at: now + ttl - ahead,
        };
        self.failures = 0;
        true
    }

    /// A fetch failed; returns `true` on the first failure of a series (worth telling the agent).
    pub fn failed(&mut self, now: Instant, _out: &mut Vec<Action>) -> bool {
        if matches!(self.state, State::Off | State::Blocked) {
            return false;
        }
        let delay = self
            .cfg
            .retry
            .delay(self.failures, Duration::from_millis(200), &mut self.rng);
        self.failures = self.failures.saturating_add(1);
        self.state = State::Retrying { at: now + delay };
        self.failures == 1
    }

    /// A server warned the token is about to expire: refresh now, unless the token is in the first half of its
    /// life (a token shorter than the server's warning lead is "about to expire" from birth; refreshing it on
    /// every warning would fetch in a loop — the own timer refreshes it ahead of expiry).
    pub fn about_to_expire(&mut self, now: Instant, out: &mut Vec<Action>) {
        let young = self.half_life_at.is_some_and(|h| now < h);
        if matches!(self.state, State::Valid { .. }) && !young {
            self.request(out);
        }
    }

    /// When [`TokenLifecycle::tick`] has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let own = match self.state {
            State::Valid { refresh_at } => Some(refresh_at),
            State::Retrying { at } => Some(at),
            _ => None,
        };
        match (own, self.expires_at) {
            (Some(a), Some(e)) => Some(a.min(e)),
            (a, e) => a.or(e),
        }
    }

    /// Refreshes and retries that are due; reports expiry.
    pub fn tick(&mut self, now: Instant, out: &mut Vec<Action>) -> TokenOutcome {
        match self.state {
            State::Valid { refresh_at } if now >= refresh_at => self.request(out),
            State::Retrying { at } if now >= at => {
                self.state = State::Off; // let `request` run
                self.request(out);
            }
            _ => {}
        }
        match self.expires_at {
            Some(e) if now >= e => {
                self.expires_at = None;
                TokenOutcome::Expired
            }
            _ => TokenOutcome::None,
        }
    }
}
