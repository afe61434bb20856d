//! Fuzz webhook verification: the first line is the URL, the rest the raw body (form or JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tsunagi_twilio::signature;

fuzz_target!(|data: &[u8]| {
    let _ = signature::parse_form(data);
    let (url, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let url = String::from_utf8_lossy(url);
    let sig = signature::compute::<&str, &str>("12345", &url, &[]);
    let _ = signature::verify_request("12345", &url, body, &sig);
    let _ = signature::verify_json("12345", &url, body, "garbage");
});
