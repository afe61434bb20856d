//! Fuzz the TwiML parser; whatever parses must survive a write/parse round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi_twilio::VoiceResponse;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = VoiceResponse::parse(s) {
        assert_eq!(VoiceResponse::parse(&r.to_xml()), Ok(r));
    }
});
