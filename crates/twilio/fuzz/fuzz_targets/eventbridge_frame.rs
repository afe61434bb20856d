//! Fuzz EventBridge frames and the core's reading of them (text round trip); the body is `tsunagi_twilio_fuzz::eventbridge_frame` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::eventbridge_frame(data));
