//! Twilio SID newtypes and the [`Pii`] log-redaction wrapper.
//!
//! A SID is two uppercase ASCII letters (the type prefix, e.g. `CA` for a call) followed by exactly 32 hex digits.
//! Each SID type here is a distinct `Copy` newtype, validated once at the edge ([`FromStr`], [`TryFrom<String>`],
//! `TryFrom<&str>`, serde `Deserialize`); past that point the type system carries the guarantee.
//!
//! - Hex digits are accepted in upper and lower case (Twilio emits lowercase) and are kept **as given**: parsing
//!   never rewrites a SID, so it can be echoed back byte for byte (signature URLs, REST paths). Equality is
//!   therefore byte-wise.
//! - `from_u128(n)` mints a deterministic SID (`prefix` + 32 lowercase hex digits), for the local stand-in and tests.
//! - `Hash`/`Eq`/`Ord` agree with those of `str`, and every SID type is `Borrow<str>`, so a
//!   `HashMap<TaskSid, _>` can be looked up with a `&str`.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Length of every SID in bytes: 2-letter prefix + 32 hex digits.
pub const SID_LEN: usize = 34;

/// Why a string is not a valid SID of the requested type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SidError {
    /// The input is not exactly [`SID_LEN`] bytes long.
    #[error("{kind}: expected {SID_LEN} characters, got {actual}")]
    WrongLength {
        /// Rust type name of the SID that was requested (e.g. `"CallSid"`).
        kind: &'static str,
        /// Length of the input in bytes.
        actual: usize,
    },
    /// The first two characters are not this type's prefix. The offending prefix is not echoed (it may be PII).
    #[error("{kind}: expected prefix {expected}")]
    WrongPrefix {
        /// Rust type name of the SID that was requested.
        kind: &'static str,
        /// The required prefix, e.g. `"CA"`.
        expected: &'static str,
    },
    /// A character after the prefix is not an ASCII hex digit.
    #[error("{kind}: non-hex character at byte {position}")]
    InvalidHex {
        /// Rust type name of the SID that was requested.
        kind: &'static str,
        /// Byte offset of the first offending character.
        position: usize,
    },
}

/// Validates `s` as a SID with `prefix` and returns its bytes. Shared by every SID type.
fn validate(kind: &'static str, prefix: &'static str, s: &str) -> Result<[u8; SID_LEN], SidError> {
    let bytes = s.as_bytes();
    let Ok(arr) = <[u8; SID_LEN]>::try_from(bytes) else {
        return Err(SidError::WrongLength {
            kind,
            actual: bytes.len(),
        });
    };
    if &arr[..2] != prefix.as_bytes() {
        return Err(SidError::WrongPrefix {
            kind,
            expected: prefix,
        });
    }
    if let Some(i) = arr[2..].iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(SidError::InvalidHex {
            kind,
            position: i + 2,
        });
    }
    Ok(arr)
}

/// Builds `prefix` + 32 lowercase hex digits of `n`.
fn mint(prefix: &'static str, n: u128) -> [u8; SID_LEN] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; SID_LEN];
    out[..2].copy_from_slice(prefix.as_bytes());
    for (i, slot) in out[2..].iter_mut().enumerate() {
        let shift = 4 * (31 - i);
        *slot = HEX[((n >> shift) & 0xf) as usize];
    }
    out
}

/// Views validated SID bytes as `&str`.
fn as_str(bytes: &[u8; SID_LEN]) -> &str {
    // Invariant: the bytes were produced by `validate` or `mint`, so they are ASCII and therefore UTF-8.
    std::str::from_utf8(bytes).expect("SID bytes are ASCII by construction")
}

macro_rules! sid_types {
    ($( $(#[$doc:meta])* $name:ident = $prefix:literal; )+) => {$(
        $(#[$doc])*
        #[doc = concat!("\n\nFormat: `", $prefix, "` followed by 32 hex digits.")]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub struct $name([u8; SID_LEN]);

        impl $name {
            /// The two-letter prefix of this SID type.
            pub const PREFIX: &'static str = $prefix;

            /// Parses and validates a SID of this type (case of the hex digits is kept as given).
            pub fn parse(s: &str) -> Result<Self, SidError> {
                validate(stringify!($name), $prefix, s).map(Self)
            }

            /// Mints a deterministic SID: the prefix followed by `n` as 32 lowercase hex digits.
            pub fn from_u128(n: u128) -> Self {
                Self(mint($prefix, n))
            }

            /// The SID as a string slice, e.g. `"CA0123…"`.
            pub fn as_str(&self) -> &str {
                as_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = SidError;
            fn from_str(s: &str) -> Result<Self, SidError> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = SidError;
            fn try_from(s: &str) -> Result<Self, SidError> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = SidError;
            fn try_from(s: String) -> Result<Self, SidError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(sid: $name) -> String {
                sid.as_str().to_owned()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl Hash for $name {
            fn hash<H: Hasher>(&self, state: &mut H) {
                // Must agree with `str`'s Hash because of `Borrow<str>`.
                self.as_str().hash(state)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "a {} string ({} + 32 hex digits)", stringify!($name), $prefix)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        $name::parse(v).map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    )+};
}

sid_types! {
    /// An account (or subaccount) SID.
    AccountSid = "AC";
    /// An API key SID; the `iss` of an Access Token.
    ApiKeySid = "SK";
    /// A TwiML application SID (`outgoing.application_sid` of a voice grant).
    ApplicationSid = "AP";
    /// A TaskRouter workspace SID.
    WorkspaceSid = "WS";
    /// A TaskRouter worker SID.
    WorkerSid = "WK";
    /// A TaskRouter activity SID.
    ActivitySid = "WA";
    /// A TaskRouter task queue SID.
    TaskQueueSid = "WQ";
    /// A TaskRouter workflow SID.
    WorkflowSid = "WW";
    /// A TaskRouter task SID.
    TaskSid = "WT";
    /// A TaskRouter reservation SID.
    ReservationSid = "WR";
    /// A call (leg) SID.
    CallSid = "CA";
    /// A conference SID.
    ConferenceSid = "CF";
    /// A recording SID.
    RecordingSid = "RE";
    /// A Sync service SID.
    SyncServiceSid = "IS";
    /// A Sync document SID.
    SyncDocumentSid = "ET";
    /// A Sync map SID.
    SyncMapSid = "MP";
    /// A Sync list SID.
    SyncListSid = "ES";
    /// A Sync stream SID.
    SyncStreamSid = "TO";
    /// A TaskRouter event SID.
    EventSid = "EV";
}

/// Wraps a value whose contents must not reach logs (phone numbers, tokens, secrets).
///
/// `Display` and `Debug` redact: a value that looks like an E.164 phone number (`+` then 6 or more digits) keeps
/// its `+`, its first two digits and its last two digits (`+81********78`); anything else prints `<redacted>`.
/// Use [`Pii::expose`] or [`Pii::into_inner`] to get the value itself, deliberately.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pii<T>(pub T);

impl<T> Pii<T> {
    /// The wrapped value, unredacted.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: AsRef<str>> fmt::Display for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_ref();
        let digits = s
            .strip_prefix('+')
            .filter(|d| d.len() >= 6 && d.bytes().all(|b| b.is_ascii_digit()));
        match digits {
            Some(d) => {
                // All ASCII digits, so byte slicing is on char boundaries.
                let (head, rest) = d.split_at(2);
                let tail = &rest[rest.len() - 2..];
                write!(f, "+{head}")?;
                for _ in 0..rest.len() - 2 {
                    f.write_str("*")?;
                }
                f.write_str(tail)
            }
            None => f.write_str("<redacted>"),
        }
    }
}

impl<T: AsRef<str>> fmt::Debug for Pii<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pii({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const CA: &str = "CA0123456789abcdef0123456789ABCDEF";

    #[test]
    fn parses_valid_and_keeps_case() {
        let sid: CallSid = CA.parse().unwrap();
        assert_eq!(sid.as_str(), CA);
        assert_eq!(sid.to_string(), CA);
        assert_eq!(format!("{sid:?}"), format!("CallSid({CA})"));
        assert_eq!(CallSid::try_from(CA.to_owned()).unwrap(), sid);
        assert_eq!(sid, CA);
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(
            CallSid::parse(""),
            Err(SidError::WrongLength {
                kind: "CallSid",
                actual: 0
            })
        );
        assert_eq!(
            CallSid::parse("CA1234567890ABCDE"),
            Err(SidError::WrongLength {
                kind: "CallSid",
                actual: 17
            })
        );
        let wt = CA.replacen("CA", "WT", 1);
        assert_eq!(
            CallSid::parse(&wt),
            Err(SidError::WrongPrefix {
                kind: "CallSid",
                expected: "CA"
            })
        );
        assert!(TaskSid::parse(&wt).is_ok());
        let lower = CA.replacen("CA", "ca", 1);
        assert!(matches!(
            CallSid::parse(&lower),
            Err(SidError::WrongPrefix { .. })
        ));
        let bad = format!("CA{}g", &CA[2..33]);
        assert_eq!(
            CallSid::parse(&bad),
            Err(SidError::InvalidHex {
                kind: "CallSid",
                position: 33
            })
        );
        // 34 bytes but multibyte: must not panic.
        let multi = format!("CAé{}", "0".repeat(30));
        assert_eq!(multi.len(), 34);
        assert!(matches!(
            CallSid::parse(&multi),
            Err(SidError::InvalidHex { position: 2, .. })
        ));
    }

    #[test]
    fn mints_deterministic_lowercase() {
        assert_eq!(
            TaskSid::from_u128(0).as_str(),
            "WT00000000000000000000000000000000"
        );
        assert_eq!(
            TaskSid::from_u128(0xabc).as_str(),
            "WT00000000000000000000000000000abc"
        );
        assert_eq!(
            AccountSid::from_u128(u128::MAX).as_str(),
            format!("AC{}", "f".repeat(32))
        );
        let s = WorkerSid::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788);
        assert_eq!(s.as_str(), "WK123456789abcdef01122334455667788");
        assert_eq!(WorkerSid::parse(s.as_str()).unwrap(), s);
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let sid = ReservationSid::from_u128(7);
        let json = serde_json::to_string(&sid).unwrap();
        assert_eq!(json, "\"WR00000000000000000000000000000007\"");
        assert_eq!(serde_json::from_str::<ReservationSid>(&json).unwrap(), sid);
        assert!(serde_json::from_str::<TaskSid>(&json).is_err());
        assert!(serde_json::from_str::<TaskSid>("42").is_err());
        let owned: String = serde_json::from_str(&json).unwrap();
        assert!(serde_json::from_value::<ReservationSid>(serde_json::Value::String(owned)).is_ok());
    }

    #[test]
    fn borrow_str_lookup_and_order() {
        let a = TaskSid::from_u128(1);
        let b = TaskSid::from_u128(2);
        assert!(a < b);
        let mut m = HashMap::new();
        m.insert(a, 1);
        assert_eq!(m.get("WT00000000000000000000000000000001"), Some(&1));
    }

    #[test]
    fn pii_redacts() {
        assert_eq!(Pii("+81312345678").to_string(), "+81*******78");
        assert_eq!(format!("{:?}", Pii("+81312345678")), "Pii(+81*******78)");
        assert_eq!(Pii("+123456").to_string(), "+12**56");
        assert_eq!(Pii("+12345").to_string(), "<redacted>");
        assert_eq!(
            Pii("eyJhbGciOi.secret".to_owned()).to_string(),
            "<redacted>"
        );
        assert_eq!(Pii("client:agent_1024").to_string(), "<redacted>");
        assert_eq!(Pii("+8１２３４５６").to_string(), "<redacted>");
        assert_eq!(*Pii("x").expose(), "x");
    }
}
