//! The fuzz targets' bodies, one function per parser that reads the network, shared by the cargo-fuzz binaries
//! in `fuzz_targets/` (libFuzzer, coverage-guided, nightly or `RUSTC_BOOTSTRAP=1`) and by the stable smoke
//! runner `tsunagi-fuzz` of `crates/bench` (seeds + corpus + mutations, for CI), which includes this file as a
//! module. Each function takes any bytes and must return without panicking; the round-trip assertions are the
//! oracles (a failed one is a finding).
//!
//! | target | parser (who reads it from the network) |
//! |---|---|
//! | `token_decode` | Access Token decode + verify (`tsunagi_twilio::token`; the stand-in, the server) |
//! | `form_parse` | webhook forms and signatures (`tsunagi_twilio::signature`; the server's webhooks) |
//! | `twiml_parse` | TwiML (`tsunagi_twilio::twiml`; the stand-in's call driver), write/parse round trip |
//! | `pstream_decode` | Voice signaling frames, both directions, encode/decode round trip |
//! | `eventbridge_frame` | EventBridge frames (`tsunagi_twilio::eventbridge::parse_frame`) and what the core makes of them (`tsunagi_core::taskrouter::frame_input`), text round trip |
//! | `twilsock_frame` | Twilsock frames (`tsunagi_twilio::twilsock::decode`), encode/decode round trip |
//! | `update_check` | the update channel's inputs (`current_version` path segment, version lists) and the server's decision (`tsunagi_server::releases::decide`): never offers a version the policy refuses |

use tsunagi_twilio::pstream::{ClientMessage, Frame as PFrame, ServerMessage};
use tsunagi_twilio::{eventbridge, signature, token, twilsock, AccountSid, VoiceResponse};

/// A target's body.
pub type Target = fn(&[u8]);

/// Every target by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("token_decode", token_decode),
    ("form_parse", form_parse),
    ("twiml_parse", twiml_parse),
    ("pstream_decode", pstream_decode),
    ("eventbridge_frame", eventbridge_frame),
    ("twilsock_frame", twilsock_frame),
    ("update_check", update_check),
];

/// Access Token decoder and verifier: a value or a typed error, never a panic.
pub fn token_decode(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = token::decode_unverified(s);
    let account = AccountSid::from_u128(0);
    let _ = token::verify(s, "secret", &account, 1_700_000_000, 30);
}

/// Webhook verification: the first line is the URL, the rest the raw body (form or JSON).
pub fn form_parse(data: &[u8]) {
    let _ = signature::parse_form(data);
    let (url, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let url = String::from_utf8_lossy(url);
    let sig = signature::compute::<&str, &str>("12345", &url, &[]);
    let _ = signature::verify_request("12345", &url, body, &sig);
    let _ = signature::verify_json("12345", &url, body, "garbage");
}

/// TwiML: whatever parses survives a write/parse round trip unchanged.
pub fn twiml_parse(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = VoiceResponse::parse(s) {
        assert_eq!(VoiceResponse::parse(&r.to_xml()), Ok(r));
    }
}

/// PStream frames in both directions: a frame or a typed error; every message survives encode → decode.
pub fn pstream_decode(data: &[u8]) {
    if let Ok(PFrame::Message(m)) = ClientMessage::decode(data) {
        let again = ClientMessage::decode(m.encode().as_bytes());
        assert!(
            matches!(again, Ok(PFrame::Message(ref n)) if *n == m),
            "client round trip"
        );
    }
    if let Ok(PFrame::Message(m)) = ServerMessage::decode(data) {
        let again = ServerMessage::decode(m.encode().as_bytes());
        assert!(
            matches!(again, Ok(PFrame::Message(ref n)) if *n == m),
            "server round trip"
        );
    }
}

/// EventBridge text frames: parsed or refused; a parsed frame survives `to_text` → `parse_frame`, and the core
/// maps it to an input (or ignores it) without panicking, with and without a known activity list.
pub fn eventbridge_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(Some(frame)) = eventbridge::parse_frame(text) else {
        return;
    };
    let again = eventbridge::parse_frame(&frame.to_text());
    assert!(
        matches!(again, Ok(Some(ref f)) if *f == frame),
        "eventbridge round trip"
    );
    let activities = tsunagi_core::taskrouter::ActivityMap::from_activities(&[]);
    let _ = tsunagi_core::taskrouter::frame_input(frame.clone(), &activities);
    if let Ok(list) = serde_json::from_value::<Vec<eventbridge::Activity>>(frame.payload.clone()) {
        let known = tsunagi_core::taskrouter::ActivityMap::from_activities(&list);
        let _ = tsunagi_core::taskrouter::frame_input(frame, &known);
    }
}

/// Twilsock binary frames: decoded or refused; a decoded frame re-encodes (with its `payload_size`) and decodes
/// to the same header and payload.
pub fn twilsock_frame(data: &[u8]) {
    let Ok(f) = twilsock::decode(data) else {
        return;
    };
    let _ = (f.method(), f.id(), f.payload_json());
    if let Ok(bytes) = twilsock::encode(f.header.clone(), &f.payload) {
        let g = twilsock::decode(&bytes).expect("an encoded frame decodes");
        assert_eq!(g.payload, f.payload, "twilsock payload round trip");
        assert_eq!(g.method(), f.method(), "twilsock method round trip");
    }
}

/// The update check: the input is split on `|` into the `current_version` path segment, the install id, and
/// the channel's and policy's versions (comma lists). Whatever they are, the decision never offers a version
/// below the floor or blocked, never offers the current version, and offers a lower one only as a rollback.
pub fn update_check(data: &[u8]) {
    use tsunagi_server::policy::{parse_list, ClientPolicy};
    use tsunagi_server::releases::{bucket, decide, is_rfc3339, Channel, Decision};

    let text = String::from_utf8_lossy(data);
    let _ = is_rfc3339(&text);
    let mut parts = text.split('|');
    let mut next = || parts.next().unwrap_or("");
    let current_raw = next();
    let install = next();
    let (target, fallback, rollback_from, rollback_to) = (next(), next(), next(), next());
    let (floor, blocked, rollout) = (next(), next(), next());
    let Ok(current) = semver::Version::parse(current_raw.trim_start_matches('v')) else {
        return;
    };
    let first = |s: &str| parse_list(s).into_iter().next();
    let channel = Channel {
        name: "stable".into(),
        target: first(target),
        rollout_bp: rollout.trim().parse::<u32>().unwrap_or(0) % 10_001,
        fallback: first(fallback),
        rollback_from: parse_list(rollback_from),
        rollback_to: first(rollback_to),
        paused: data.first().is_some_and(|b| b & 1 == 1),
    };
    let policy = ClientPolicy {
        min_supported: first(floor).unwrap_or_else(|| semver::Version::new(0, 0, 0)),
        blocked: parse_list(blocked),
    };
    if let Some(t) = &channel.target {
        assert!(bucket("stable", t, install) < 10_000);
    }
    let install = (!install.is_empty()).then_some(install);
    if let Decision::Offer {
        version, rollback, ..
    } = decide(&channel, &policy, &current, install)
    {
        assert!(version >= policy.min_supported, "offered below the floor");
        assert!(
            !policy.blocked.contains(&version),
            "offered a blocked version"
        );
        assert_ne!(version, current, "offered the current version");
        assert_eq!(
            rollback,
            version < current,
            "a lower version only as a rollback"
        );
    }
}

/// Inputs every target starts from (valid frames built with the crates' own encoders, plus edge cases), so
/// mutation starts close to what the network sends.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let s = |v: &[&str]| v.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
    match target {
        "token_decode" => s(&[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0.eyJqdGkiOiJTSzAwLTEiLCJpc3MiOiJTSzAwIiwic3ViIjoiQUMwMCIsImV4cCI6MTcwMDAwMDAwMCwiZ3JhbnRzIjp7ImlkZW50aXR5IjoiYWdlbnQifX0.c2ln",
            "a.b.c",
            "..",
            "",
        ]),
        "form_parse" => s(&[
            "https://example.com/twilio/voice/inbound?x=1\nCallSid=CA00000000000000000000000000000001&From=%2B8131&To=%2B8150",
            "https://example.com/hook?bodySHA256=abc\n{\"a\":1}",
            "\n%zz&=&a=%E3%81%82",
        ]),
        "twiml_parse" => s(&[
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ja-JP">こんにちは</Say><Enqueue workflowSid="WW00000000000000000000000000000001" waitUrl="/wait"><Task>{"type":"inbound_call"}</Task></Enqueue></Response>"#,
            r#"<Response><Dial timeout="20"><Conference startConferenceOnEnter="true">WT1</Conference></Dial><Hangup/></Response>"#,
            r#"<Response><Play loop="0">https://x/y.wav</Play><Redirect method="POST">/again</Redirect></Response>"#,
        ]),
        "pstream_decode" => s(&[
            r#"{"type":"listen","version":"1.6","payload":{"token":"t","browserinfo":{},"reconnect_timeout":0}}"#,
            r#"{"type":"invite","version":"1.6","payload":{"callsid":"CA00000000000000000000000000000001","sdp":"v=0\r\n","parameters":{"AccountSid":"AC00000000000000000000000000000001","CallSid":"CA00000000000000000000000000000001","From":"+8131","To":"client:a","Params":"TaskSid=WT1"}}}"#,
            r#"{"type":"hangup","version":"1.6","payload":{"callsid":"CA00000000000000000000000000000001","error":{"code":31000,"message":"x"}}}"#,
            r#"{"type":"answer","version":"1.6","payload":{"callsid":"TJSce9c1f4b","sdp":"v=0"}}"#,
            "\n",
        ]),
        "eventbridge_frame" => s(&[
            r#"{"event_type":"init","payload":{"account_sid":"AC00000000000000000000000000000001"}}"#,
            r#"{"event_type":"reservation.created","payload":{"sid":"WR00000000000000000000000000000001","task_sid":"WT00000000000000000000000000000001","worker_sid":"WK00000000000000000000000000000001","reservation_status":"pending","task":{"sid":"WT00000000000000000000000000000001","attributes":"{\"type\":\"inbound_call\"}","assignment_status":"reserved"}}}"#,
            r#"{"event_type":"worker.activity.update","payload":{"sid":"WK00000000000000000000000000000001","activity_sid":"WA00000000000000000000000000000002","activity_name":"Available","available":true}}"#,
            r#"{"event_type":"task.wrapup","payload":{"sid":"WT00000000000000000000000000000001"}}"#,
            " ",
        ]),
        "twilsock_frame" => {
            let mut out = Vec::new();
            for (method, payload) in [
                ("reply", &br#"{"status":{"code":200}}"#[..]),
                ("notification", &br#"{"message_type":"twilio.sync.event"}"#[..]),
                ("ping", &b""[..]),
            ] {
                let mut h = serde_json::Map::new();
                h.insert("method".into(), method.into());
                h.insert("id".into(), "TM1".into());
                if let Ok(b) = twilsock::encode(h, payload) {
                    out.push(b);
                }
            }
            out.push(b"TWILSOCK V3.0 12\r\n{\"method\":1}".to_vec());
            out
        }
        "update_check" => s(&[
            "1.2.3|install-1|1.3.0|1.2.0|1.2.3|1.1.0|1.0.0|1.2.1,1.2.2|5000",
            "v1.0.0||2.0.0|||||0|10000",
            "0.9.0|x|1.0.0|1.0.0|0.9.0|0.8.0|1.0.0|0.9.0|10000",
            "2026-11-26T08:00:00Z",
        ]),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seed_runs_clean() {
        for (name, f) in TARGETS {
            let seeds = seeds(name);
            assert!(!seeds.is_empty(), "{name} has seeds");
            for s in seeds {
                f(&s);
            }
        }
    }
}
