//! Fuzz webhook forms and signatures (first line URL, rest body); the body is `tsunagi_twilio_fuzz::form_parse` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::form_parse(data));
