//! Fuzz the TwiML parser (write/parse round trip); the body is `tsunagi_twilio_fuzz::twiml_parse` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::twiml_parse(data));
