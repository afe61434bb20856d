//! Fuzz the Access Token decoder and verifier: any input must yield a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi_twilio::{token, AccountSid};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = token::decode_unverified(s);
    let account = AccountSid::from_u128(0);
    let _ = token::verify(s, "secret", &account, 1_700_000_000, 30);
});
