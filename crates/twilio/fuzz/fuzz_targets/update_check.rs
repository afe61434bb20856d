//! Fuzz the update check's inputs and the server's decision (never offers a refused version); the body is `tsunagi_twilio_fuzz::update_check` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::update_check(data));
