//! Deterministic SID minting.
//!
//! Every SID the stand-in creates is `prefix + 32 hex digits` of `seed << 64 | counter`, where the counter starts
//! at 1 and grows by one per minted SID, shared by all SID types. The same config and the same sequence of
//! requests therefore yield the same SIDs, which keeps logs and golden files stable.

/// A seeded SID counter.
#[derive(Debug, Clone)]
pub struct SidMint {
    seed: u64,
    counter: u64,
}

impl SidMint {
    /// A mint whose SIDs all carry `seed` in their upper 64 bits.
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// The next raw value; feed it to `XxSid::from_u128`.
    pub fn next_raw(&mut self) -> u128 {
        self.counter += 1;
        (u128::from(self.seed) << 64) | u128::from(self.counter)
    }

    /// Mints the next SID with the given two-letter prefix as a string (for SID types `tsunagi-twilio` lacks).
    pub fn next_str(&mut self, prefix: &str) -> String {
        format!("{prefix}{:032x}", self.next_raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsunagi_twilio::sid::TaskSid;

    #[test]
    fn same_seed_same_sids() {
        let mut a = SidMint::new(7);
        let mut b = SidMint::new(7);
        let x = TaskSid::from_u128(a.next_raw());
        assert_eq!(x, TaskSid::from_u128(b.next_raw()));
        assert_eq!(x.as_str(), "WT00000000000000070000000000000001");
        assert_eq!(a.next_str("ZZ"), "ZZ00000000000000070000000000000002");
    }
}
