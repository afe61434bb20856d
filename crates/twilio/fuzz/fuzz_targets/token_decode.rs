//! Fuzz the Access Token decoder and verifier; the body is `tsunagi_twilio_fuzz::token_decode` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::token_decode(data));
