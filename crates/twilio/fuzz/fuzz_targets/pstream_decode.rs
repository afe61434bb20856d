//! Fuzz the PStream frame decoders (both directions): any input yields a frame or a typed error, never a panic,
//! and every decoded message survives an encode → decode round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi_twilio::pstream::{ClientMessage, Frame, ServerMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(Frame::Message(m)) = ClientMessage::decode(data) {
        let again = ClientMessage::decode(m.encode().as_bytes());
        assert!(matches!(again, Ok(Frame::Message(ref n)) if *n == m), "client round trip");
    }
    if let Ok(Frame::Message(m)) = ServerMessage::decode(data) {
        let again = ServerMessage::decode(m.encode().as_bytes());
        assert!(matches!(again, Ok(Frame::Message(ref n)) if *n == m), "server round trip");
    }
});
