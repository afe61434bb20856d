//! The stand-in's injectable clock.
//!
//! The engines never read time themselves: every entry point takes a [`UnixMillis`]. The shell reads it from one
//! [`SimClock`], which is either the system clock or a frozen start time, plus an offset that tests move forward
//! through `/_sim/clock/advance`. Moving the clock never moves it backwards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, in simulated time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// Whole seconds since the epoch (what Twilio's EventBridge payloads carry).
    pub fn secs(self) -> u64 {
        self.0 / 1000
    }

    /// This instant plus `ms` milliseconds (saturating).
    pub fn plus_ms(self, ms: u64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// This instant plus `s` seconds (saturating).
    pub fn plus_secs(self, s: u64) -> Self {
        self.plus_ms(s.saturating_mul(1000))
    }

    /// ISO 8601 / RFC 3339 in UTC with second precision, as Twilio's public REST API writes dates.
    pub fn iso8601(self) -> String {
        let secs = self.secs();
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

impl UnixMillis {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS[.fff]Z` (UTC), as Twilio's date filters take them.
    pub fn parse_iso8601(s: &str) -> Option<Self> {
        let s = s.trim();
        let (date, time) = match s.split_once('T') {
            Some((d, t)) => (d, Some(t.strip_suffix('Z').unwrap_or(t))),
            None => (s, None),
        };
        let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
        let (y, m, day) = (d.next()??, d.next()??, d.next()??);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
            return None;
        }
        let mut secs = days_from_civil(y, m, day).checked_mul(86_400)?;
        if let Some(t) = time {
            let t = t.split('.').next().unwrap_or(t);
            let mut hms = t.splitn(3, ':').map(|p| p.parse::<i64>().ok());
            let (h, mi, se) = (hms.next()??, hms.next()??, hms.next().unwrap_or(Some(0))?);
            if !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0..61).contains(&se) {
                return None;
            }
            secs += h * 3600 + mi * 60 + se;
        }
        u64::try_from(secs).ok().map(|s| Self(s * 1000))
    }
}

/// Howard Hinnant's civil-to-days algorithm (inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Where simulated time starts from.
#[derive(Debug, Clone, Copy)]
enum Base {
    System,
    Frozen(u64),
}

/// The shell's clock: system or frozen time plus a monotonically growing offset.
#[derive(Debug)]
pub struct SimClock {
    base: Base,
    offset_ms: AtomicU64,
}

impl SimClock {
    /// A clock that follows the system clock (plus any offset added later).
    pub fn system() -> Self {
        Self {
            base: Base::System,
            offset_ms: AtomicU64::new(0),
        }
    }

    /// A clock frozen at `start`; it moves only through [`SimClock::advance`].
    pub fn frozen(start: UnixMillis) -> Self {
        Self {
            base: Base::Frozen(start.0),
            offset_ms: AtomicU64::new(0),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> UnixMillis {
        let base = match self.base {
            Base::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            Base::Frozen(ms) => ms,
        };
        UnixMillis(base.saturating_add(self.offset_ms.load(Ordering::SeqCst)))
    }

    /// Moves simulated time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    /// Whether the clock is frozen (tests) rather than following the system clock.
    pub fn is_frozen(&self) -> bool {
        matches!(self.base, Base::Frozen(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_matches_known_instants() {
        assert_eq!(UnixMillis(0).iso8601(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UnixMillis(1_700_000_000_000).iso8601(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            UnixMillis(951_782_400_000).iso8601(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn iso8601_parses_back() {
        for ms in [0, 1_700_000_000_000, 951_782_400_000, 1_795_000_123_000] {
            let t = UnixMillis(ms);
            assert_eq!(UnixMillis::parse_iso8601(&t.iso8601()), Some(t));
        }
        assert_eq!(
            UnixMillis::parse_iso8601("2000-02-29"),
            Some(UnixMillis(951_782_400_000))
        );
        for bad in ["", "2000-13-01", "x", "2000-01-01T25:00:00Z", "1969-12-31"] {
            assert_eq!(UnixMillis::parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn frozen_clock_moves_only_when_advanced() {
        let c = SimClock::frozen(UnixMillis(1000));
        assert_eq!(c.now(), UnixMillis(1000));
        c.advance(2500);
        assert_eq!(c.now(), UnixMillis(3500));
        assert!(c.is_frozen());
    }
}
