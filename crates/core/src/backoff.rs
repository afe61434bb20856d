//! Retry delays without a global random source: a seeded xorshift generator owned by each machine, and the
//! full-jitter backoff formula (`delay = uniform(0, min(cap, base · 2^attempt))`).
//!
//! The seed is an input (the driver passes one from the OS when it builds the session; tests pass a constant),
//! so a machine's behaviour is a pure function of its inputs.

use std::time::Duration;

/// A tiny xorshift64* generator. Not cryptographic: it only spreads reconnects in time.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (any value; 0 is replaced by a fixed odd constant).
    pub fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..=max`.
    pub fn up_to(&mut self, max: u64) -> u64 {
        match max.checked_add(1) {
            Some(n) => self.next_u64() % n,
            None => self.next_u64(),
        }
    }
}

/// Full-jitter exponential backoff parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry.
    pub base: Duration,
    /// The largest ceiling.
    pub cap: Duration,
}

impl Backoff {
    /// The ceiling for retry number `attempt` (0-based): `min(cap, base · 2^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A full-jitter delay for retry number `attempt`, never below `floor`.
    pub fn delay(&self, attempt: u32, floor: Duration, rng: &mut XorShift) -> Duration {
        let ceiling = u64::try_from(self.ceiling(attempt).as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rng.up_to(ceiling)).max(floor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_stay_within_the_ceiling_and_grow() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(30),
        };
        let mut rng = XorShift::new(7);
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(3), Duration::from_secs(8));
        assert_eq!(b.ceiling(40), Duration::from_secs(30));
        for attempt in 0..50 {
            let d = b.delay(attempt, Duration::ZERO, &mut rng);
            assert!(d <= b.ceiling(attempt));
        }
        let floor = Duration::from_secs(5);
        assert!(b.delay(0, floor, &mut rng) >= floor);
    }

    #[test]
    fn jitter_spreads_values() {
        let b = Backoff {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(30),
        };
        let mut rng = XorShift::new(1);
        let values: std::collections::BTreeSet<_> = (0..100)
            .map(|_| b.delay(0, Duration::ZERO, &mut rng))
            .collect();
        assert!(
            values.len() > 90,
            "full jitter must spread a reconnect storm"
        );
    }
}
