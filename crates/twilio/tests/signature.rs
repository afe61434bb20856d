//! X-Twilio-Signature: the six backend-spec §3.4 vectors and the rejection paths.

use proptest::prelude::*;
use tsunagi_twilio::signature::{self, SignatureError};

const TOKEN2: &str = "test-auth-token-0123456789abcdef";

fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn vector1() -> (&'static str, Vec<(String, String)>) {
    (
        "https://mycompany.com/myapp.php?foo=1&bar=2",
        p(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]),
    )
}

#[test]
fn vector_1_twilio_docs() {
    let (url, params) = vector1();
    assert_eq!(
        signature::compute("12345", url, &params),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    );
    signature::verify_form("12345", url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=").unwrap();
}

#[test]
fn vector_2_inbound_call() {
    let url = "https://softphone-api.example.co.jp/twilio/voice/inbound";
    let ac = format!("AC{}", "0".repeat(32));
    let ca = format!("CA{}", "9".repeat(32));
    let params = p(&[
        ("AccountSid", &ac),
        ("CallSid", &ca),
        ("From", "+81312345678"),
        ("To", "+81501234567"),
        ("Direction", "inbound"),
        ("CallStatus", "ringing"),
        ("ApiVersion", "2010-04-01"),
    ]);
    assert_eq!(
        signature::compute(TOKEN2, url, &params),
        "JnV91V45mIKXjNb+MtyOE4BXJc0="
    );
    // Order of the input pairs does not matter.
    let mut reversed = params.clone();
    reversed.reverse();
    signature::verify_form(TOKEN2, url, &reversed, "JnV91V45mIKXjNb+MtyOE4BXJc0=").unwrap();
}

#[test]
fn vector_3_query_string_and_default_port() {
    let url = format!(
        "https://softphone-api.example.co.jp/twilio/taskrouter/agent-leg?task=WT{}&res=WR{}",
        "7".repeat(32),
        "8".repeat(32)
    );
    let ca = format!("CA{}", "a".repeat(32));
    let params = p(&[
        ("CallSid", &ca),
        ("CallStatus", "no-answer"),
        ("Direction", "outbound-api"),
        ("To", "client:agent_1024"),
    ]);
    let sig = "etGmR3F+6jZhzKEC/t8gMfko11g=";
    assert_eq!(signature::compute(TOKEN2, &url, &params), sig);
    signature::verify_form(TOKEN2, &url, &params, sig).unwrap();
    let with_port = url.replace(".co.jp/", ".co.jp:443/");
    signature::verify_form(TOKEN2, &with_port, &params, sig).unwrap();
    // twilio-node's candidate 1 strips any port, so a port Twilio did not sign is tolerated (same as twilio-node).
    let other_port = url.replace(".co.jp/", ".co.jp:8443/");
    signature::verify_form(TOKEN2, &other_port, &params, sig).unwrap();
    // But the host itself is signed.
    let other_host = url.replace("softphone-api.", "softphone-apj.");
    assert_eq!(
        signature::verify_form(TOKEN2, &other_host, &params, sig),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn vector_4_json_body() {
    let url = "https://softphone-api.example.co.jp/twilio/json-hook?bodySHA256=cde16e49530ddac60839022f37456940c777fe1206e736a9e03953f469874441";
    let body = br#"{"event":"x","sid":"EV1"}"#;
    let sig = "2LyBS0NRczKH08UKNhKS9/H60pU=";
    assert_eq!(signature::compute::<&str, &str>(TOKEN2, url, &[]), sig);
    assert_eq!(
        signature::append_body_sha256("https://softphone-api.example.co.jp/twilio/json-hook", body),
        url
    );
    signature::verify_json(TOKEN2, url, body, sig).unwrap();
    assert_eq!(
        signature::verify_request(TOKEN2, url, body, sig).unwrap(),
        Vec::<(String, String)>::new()
    );
    // Same signature, altered body: the hash check catches it.
    let err =
        signature::verify_json(TOKEN2, url, br#"{"event":"y","sid":"EV1"}"#, sig).unwrap_err();
    assert_eq!(err, SignatureError::BodyHashMismatch);
    assert_eq!(err.http_status(), 403);
    // Re-serialized JSON (whitespace) is a different body.
    assert_eq!(
        signature::verify_json(TOKEN2, url, br#"{"event": "x", "sid": "EV1"}"#, sig),
        Err(SignatureError::BodyHashMismatch)
    );
}

#[test]
fn vector_5_multibyte_value() {
    let params = p(&[("CallSid", "CA1"), ("CallerName", "田中 太郎")]);
    let sig = "56zufpO12YUVoFcQGJ+nIhB8vWA=";
    assert_eq!(
        signature::compute("12345", "https://example.jp/voice", &params),
        sig
    );
    // Through the form parser: the body carries the percent-encoded UTF-8 and `+` for space.
    let body = b"CallSid=CA1&CallerName=%E7%94%B0%E4%B8%AD+%E5%A4%AA%E9%83%8E";
    let parsed = signature::verify_request("12345", "https://example.jp/voice", body, sig).unwrap();
    assert_eq!(parsed, params);
}

#[test]
fn vector_6_repeated_key_distinct_sorted() {
    let params = p(&[
        ("StatusCallbackEvent", "b"),
        ("X", "1"),
        ("StatusCallbackEvent", "a"),
        ("StatusCallbackEvent", "a"),
    ]);
    let sig = "Qhx8kFRvSzlaVFLyfCywY02/lac=";
    assert_eq!(
        signature::compute("12345", "https://example.jp/cb", &params),
        sig
    );
    let body = b"StatusCallbackEvent=b&StatusCallbackEvent=a&StatusCallbackEvent=a&X=1";
    signature::verify_request("12345", "https://example.jp/cb", body, sig).unwrap();
}

#[test]
fn missing_and_garbled_header() {
    let (url, params) = vector1();
    let err = signature::verify_form("12345", url, &params, "").unwrap_err();
    assert_eq!(err, SignatureError::MissingHeader);
    assert_eq!(err.http_status(), 400);
    assert_eq!(
        signature::verify_form("12345", url, &params, "   "),
        Err(SignatureError::MissingHeader)
    );
    for garbled in [
        "not base64!",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ==",
        "0/KCTR6DLpKmkAf8muzZqo1nDgR=",
    ] {
        assert_eq!(
            signature::verify_form("12345", url, &params, garbled),
            Err(SignatureError::Mismatch),
            "{garbled}"
        );
    }
}

#[test]
fn wrong_token_tampered_param_or_url() {
    let (url, params) = vector1();
    let sig = "0/KCTR6DLpKmkAf8muzZqo1nDgQ=";
    assert_eq!(
        signature::verify_form("54321", url, &params, sig),
        Err(SignatureError::Mismatch)
    );
    let mut tampered = params.clone();
    tampered[2].1 = "9999".into();
    assert_eq!(
        signature::verify_form("12345", url, &tampered, sig),
        Err(SignatureError::Mismatch)
    );
    let mut extra = params.clone();
    extra.push(("Extra".into(), "1".into()));
    assert_eq!(
        signature::verify_form("12345", url, &extra, sig),
        Err(SignatureError::Mismatch)
    );
    let http = url.replace("https://", "http://");
    assert_eq!(
        signature::verify_form("12345", &http, &params, sig),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        signature::verify_form("12345", &url.replace("foo=1", "foo=2"), &params, sig),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn json_without_body_hash_or_bad_signature() {
    let url = "https://example.jp/json";
    let sig = signature::compute::<&str, &str>("12345", url, &[]);
    assert_eq!(
        signature::verify_json("12345", url, b"{}", &sig),
        Err(SignatureError::MissingBodyHash)
    );
    let signed_url = signature::append_body_sha256(url, b"{}");
    assert_eq!(
        signature::verify_json("12345", &signed_url, b"{}", &sig),
        Err(SignatureError::Mismatch)
    );
    let good = signature::compute::<&str, &str>("12345", &signed_url, &[]);
    signature::verify_json("12345", &signed_url, b"{}", &good).unwrap();
    assert_eq!(
        signature::verify_json("12345", &signed_url, b"{}", ""),
        Err(SignatureError::MissingHeader)
    );
}

#[test]
fn oversized_form_body() {
    let body = vec![b'a'; signature::MAX_FORM_BODY + 1];
    let err = signature::parse_form(&body).unwrap_err();
    assert!(matches!(err, SignatureError::BodyTooLarge { .. }));
    assert_eq!(err.http_status(), 413);
}

#[test]
fn form_parser_keeps_order_and_repeats() {
    let parsed = signature::parse_form(b"b=2&a=1&b=3&empty=&novalue&%ZZ=%FF").unwrap();
    assert_eq!(parsed[0], ("b".into(), "2".into()));
    assert_eq!(parsed[2], ("b".into(), "3".into()));
    assert_eq!(parsed[3], ("empty".into(), String::new()));
    assert_eq!(parsed[4], ("novalue".into(), String::new()));
    assert_eq!(parsed[5], ("%ZZ".into(), "\u{fffd}".into()));
}

proptest! {
    #[test]
    fn never_panics(url in ".{0,120}", body in proptest::collection::vec(any::<u8>(), 0..300), header in ".{0,40}") {
        let _ = signature::verify_request("12345", &url, &body, &header);
        let _ = signature::verify_json("12345", &url, &body, &header);
    }

    #[test]
    fn compute_verify_round_trip(
        url in "https://[a-z]{1,10}\\.jp(:443)?/[a-z/]{0,20}",
        params in proptest::collection::vec(("[A-Za-z]{1,8}", ".{0,16}"), 0..8),
    ) {
        let sig = signature::compute("tok", &url, &params);
        prop_assert!(signature::verify_form("tok", &url, &params, &sig).is_ok());
        prop_assert!(signature::verify_form("tok2", &url, &params, &sig).is_err());
    }
}
