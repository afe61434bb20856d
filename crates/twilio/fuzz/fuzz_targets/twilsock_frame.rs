//! Fuzz Twilsock frames (encode/decode round trip); the body is `tsunagi_twilio_fuzz::twilsock_frame` (shared with the stable smoke runner).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tsunagi_twilio_fuzz::twilsock_frame(data));
