//! Access Token mint/verify: the backend-spec §2.2 vector bit for bit, and every rejection path.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use proptest::prelude::*;
use tsunagi_twilio::token::{self, Segment};
use tsunagi_twilio::{
    AccessToken, AccountSid, ApiKeySid, ApplicationSid, SyncGrant, SyncServiceSid, TaskRouterGrant,
    TokenError, VoiceGrant, WorkerSid, WorkspaceSid,
};

const SECRET: &str = "test-api-key-secret-do-not-use";
const NOW: u64 = 1_700_000_000;

fn account() -> AccountSid {
    "AC00000000000000000000000000000000".parse().unwrap()
}

fn vector_token() -> AccessToken {
    let mut t = AccessToken::new(
        account(),
        "SK11111111111111111111111111111111"
            .parse::<ApiKeySid>()
            .unwrap(),
        "agent.tanaka@example.co.jp",
    );
    t.voice = Some(
        VoiceGrant::incoming().with_outgoing(
            "AP22222222222222222222222222222222"
                .parse::<ApplicationSid>()
                .unwrap(),
            vec![("agent".into(), "tanaka".into())],
        ),
    );
    t.task_router = Some(TaskRouterGrant::worker(
        "WS33333333333333333333333333333333"
            .parse::<WorkspaceSid>()
            .unwrap(),
        "WK44444444444444444444444444444444"
            .parse::<WorkerSid>()
            .unwrap(),
    ));
    t.data_sync = Some(SyncGrant {
        service_sid: Some(
            "IS55555555555555555555555555555555"
                .parse::<SyncServiceSid>()
                .unwrap(),
        ),
        endpoint_id: Some("softphone:agent.tanaka@example.co.jp:desktop".into()),
    });
    t
}

const VECTOR_CLAIMS: &str = concat!(
    r#"{"jti":"SK11111111111111111111111111111111-1700000000","#,
    r#""grants":{"identity":"agent.tanaka@example.co.jp","#,
    r#""voice":{"incoming":{"allow":true},"outgoing":{"application_sid":"AP22222222222222222222222222222222","params":{"agent":"tanaka"}}},"#,
    r#""task_router":{"workspace_sid":"WS33333333333333333333333333333333","worker_sid":"WK44444444444444444444444444444444","role":"worker"},"#,
    r#""data_sync":{"service_sid":"IS55555555555555555555555555555555","endpoint_id":"softphone:agent.tanaka@example.co.jp:desktop"}},"#,
    r#""iat":1700000000,"exp":1700003600,"#,
    r#""iss":"SK11111111111111111111111111111111","sub":"AC00000000000000000000000000000000"}"#
);

/// Re-signs `header.payload` with `secret`, for building hostile-but-signed tokens.
fn sign(header_json: &str, payload_json: &str, secret: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header_json),
        URL_SAFE_NO_PAD.encode(payload_json)
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

const HEADER: &str = r#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}"#;

#[test]
fn spec_vector_bit_for_bit() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let expected = format!(
        "{}.{}.UbpKwJ3A2i4jgAtLhWMBBExxZhEF1kV8KfDa6l9fP0k",
        URL_SAFE_NO_PAD.encode(HEADER),
        URL_SAFE_NO_PAD.encode(VECTOR_CLAIMS)
    );
    assert_eq!(jwt, expected);
    assert!(jwt.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImN0eSI6InR3aWxpby1mcGE7dj0xIn0."));
}

#[test]
fn round_trip() {
    let t = vector_token();
    let jwt = t.to_jwt(SECRET, NOW).unwrap();
    let claims = token::verify(&jwt, SECRET, &account(), NOW + 10, 0).unwrap();
    assert_eq!(claims, t.claims(NOW));
    assert!(claims.grants.voice.as_ref().unwrap().allows_incoming());
    let (header, unverified) = token::decode_unverified(&jwt).unwrap();
    assert_eq!(header.twr, None);
    assert_eq!(unverified, claims);
    assert_eq!(
        unverified.iss.as_str(),
        "SK11111111111111111111111111111111"
    );
}

#[test]
fn region_and_nbf_are_emitted_only_when_set() {
    let mut t = AccessToken::new(account(), ApiKeySid::from_u128(1), "agent_1024");
    t.region = Some("jp1".into());
    t.nbf = Some(NOW - 5);
    let jwt = t.to_jwt(SECRET, NOW).unwrap();
    let mut segs = jwt.split('.');
    let h = URL_SAFE_NO_PAD.decode(segs.next().unwrap()).unwrap();
    assert_eq!(
        std::str::from_utf8(&h).unwrap(),
        r#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1","twr":"jp1"}"#
    );
    let p = URL_SAFE_NO_PAD.decode(segs.next().unwrap()).unwrap();
    let p = String::from_utf8(p).unwrap();
    assert!(p.starts_with(r#"{"jti":"SK00000000000000000000000000000001-1700000000","grants":{"identity":"agent_1024"},"nbf":1699999995,"iat":"#), "{p}");
    let claims = token::verify(&jwt, SECRET, &account(), NOW, 0).unwrap();
    assert_eq!(claims.nbf, Some(NOW - 5));
}

#[test]
fn wrong_key_is_20107() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let err = token::verify(&jwt, "another-secret", &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::InvalidSignature));
    assert_eq!(err.twilio_code(), 20107);
}

#[test]
fn expiry_and_leeway() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let exp = NOW + 3600;
    assert!(token::verify(&jwt, SECRET, &account(), exp - 1, 0).is_ok());
    let err = token::verify(&jwt, SECRET, &account(), exp, 0).unwrap_err();
    assert!(matches!(err, TokenError::Expired { exp: e, now } if e == exp && now == exp));
    assert_eq!(err.twilio_code(), 20104);
    assert!(token::verify(&jwt, SECRET, &account(), exp + 29, 30).is_ok());
    assert!(token::verify(&jwt, SECRET, &account(), exp + 30, 30).is_err());
}

#[test]
fn not_yet_valid_is_20105() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let err = token::verify(&jwt, SECRET, &account(), NOW - 10, 0).unwrap_err();
    assert!(matches!(err, TokenError::NotYetValid { valid_from: NOW, now } if now == NOW - 10));
    assert_eq!(err.twilio_code(), 20105);
    assert!(token::verify(&jwt, SECRET, &account(), NOW - 10, 10).is_ok());

    let mut t = vector_token();
    t.nbf = Some(NOW + 100);
    let jwt = t.to_jwt(SECRET, NOW).unwrap();
    let err = token::verify(&jwt, SECRET, &account(), NOW + 50, 0).unwrap_err();
    assert!(matches!(err, TokenError::NotYetValid { valid_from, .. } if valid_from == NOW + 100));
}

#[test]
fn ttl_over_24h_is_20157() {
    let mut t = vector_token();
    t.ttl_secs = 86_400;
    assert!(t.to_jwt(SECRET, NOW).is_ok());
    t.ttl_secs = 86_401;
    let err = t.to_jwt(SECRET, NOW).unwrap_err();
    assert!(matches!(
        err,
        TokenError::TtlTooLong {
            ttl_secs: 86_401,
            max: 86_400
        }
    ));
    assert_eq!(err.twilio_code(), 20157);

    // A token minted elsewhere with a 25 h lifetime.
    let payload = format!(
        r#"{{"jti":"x","grants":{{"identity":"a"}},"iat":{NOW},"exp":{},"iss":"SK11111111111111111111111111111111","sub":"AC00000000000000000000000000000000"}}"#,
        NOW + 25 * 3600
    );
    let err =
        token::verify(&sign(HEADER, &payload, SECRET), SECRET, &account(), NOW, 0).unwrap_err();
    assert_eq!(err.twilio_code(), 20157);
}

#[test]
fn exp_before_iat_is_20104() {
    let payload = format!(
        r#"{{"jti":"x","grants":{{"identity":"a"}},"iat":{NOW},"exp":{NOW},"iss":"SK11111111111111111111111111111111","sub":"AC00000000000000000000000000000000"}}"#
    );
    let err =
        token::verify(&sign(HEADER, &payload, SECRET), SECRET, &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::ExpiryBeforeIssue { .. }));
    assert_eq!(err.twilio_code(), 20104);
}

#[test]
fn wrong_account_is_20103() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let err = token::verify(&jwt, SECRET, &AccountSid::from_u128(9), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::AccountMismatch));
    assert_eq!(err.twilio_code(), 20103);
}

#[test]
fn bad_issuer_or_subject_is_20103() {
    let payload = format!(
        r#"{{"grants":{{"identity":"a"}},"iat":{NOW},"exp":{},"iss":"AC11111111111111111111111111111111","sub":"AC00000000000000000000000000000000"}}"#,
        NOW + 60
    );
    let err =
        token::verify(&sign(HEADER, &payload, SECRET), SECRET, &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::InvalidIssuer(_)), "{err:?}");
    assert_eq!(err.twilio_code(), 20103);
    let payload = format!(
        r#"{{"grants":{{"identity":"a"}},"iat":{NOW},"exp":{},"iss":"SK11111111111111111111111111111111"}}"#,
        NOW + 60
    );
    let err =
        token::verify(&sign(HEADER, &payload, SECRET), SECRET, &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::InvalidSubject(_)), "{err:?}");
}

#[test]
fn missing_identity() {
    let mut t = vector_token();
    t.identity.clear();
    assert!(matches!(
        t.to_jwt(SECRET, NOW),
        Err(TokenError::MissingIdentity)
    ));
    let payload = format!(
        r#"{{"grants":{{}},"iat":{NOW},"exp":{},"iss":"SK11111111111111111111111111111111","sub":"AC00000000000000000000000000000000"}}"#,
        NOW + 60
    );
    let err =
        token::verify(&sign(HEADER, &payload, SECRET), SECRET, &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::MissingIdentity));
    assert_eq!(err.twilio_code(), 20106);
}

#[test]
fn tampered_payload_is_rejected() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let segs: Vec<&str> = jwt.split('.').collect();
    let forged = VECTOR_CLAIMS.replace("agent.tanaka", "agent.suzuki");
    let tampered = format!("{}.{}.{}", segs[0], URL_SAFE_NO_PAD.encode(forged), segs[2]);
    let err = token::verify(&tampered, SECRET, &account(), NOW, 0).unwrap_err();
    assert!(matches!(err, TokenError::InvalidSignature));
    // Flipping one signature character.
    let mut sig = segs[2].to_owned();
    sig.replace_range(0..1, if sig.starts_with('A') { "B" } else { "A" });
    let err = token::verify(
        &format!("{}.{}.{sig}", segs[0], segs[1]),
        SECRET,
        &account(),
        NOW,
        0,
    );
    assert!(matches!(err, Err(TokenError::InvalidSignature)));
    // Truncated signature.
    let short = &jwt[..jwt.len() - 4];
    assert!(token::verify(short, SECRET, &account(), NOW, 0).is_err());
}

#[test]
fn malformed_tokens_are_20101_or_20102() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let segs: Vec<&str> = jwt.split('.').collect();
    let check = |input: &str| token::verify(input, SECRET, &account(), NOW, 0).unwrap_err();

    for (input, found) in [("", 1), ("abc", 1), ("a.b", 2), ("a.b.c.d", 4)] {
        let err = check(input);
        assert!(
            matches!(err, TokenError::WrongSegmentCount { found: f } if f == found),
            "{input}: {err:?}"
        );
        assert_eq!(err.twilio_code(), 20101);
    }
    let four = format!("{jwt}.{}", segs[2]);
    assert!(matches!(
        check(&four),
        TokenError::WrongSegmentCount { found: 4 }
    ));

    assert!(matches!(
        check(&format!("!!.{}.{}", segs[1], segs[2])),
        TokenError::InvalidBase64(Segment::Header)
    ));
    assert!(matches!(
        check(&format!("{}.{}.*", segs[0], segs[1])),
        TokenError::InvalidBase64(Segment::Signature)
    ));
    let padded = format!("{}=.{}.{}", segs[0], segs[1], segs[2]);
    assert!(matches!(
        check(&padded),
        TokenError::InvalidBase64(Segment::Header)
    ));

    let not_json = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode("not json"),
        segs[1],
        segs[2]
    );
    let err = check(&not_json);
    assert!(matches!(
        err,
        TokenError::InvalidJson {
            segment: Segment::Header,
            ..
        }
    ));
    assert_eq!(err.twilio_code(), 20101);

    let payload_not_json = sign(HEADER, "[1,2", SECRET);
    assert!(matches!(
        check(&payload_not_json),
        TokenError::InvalidJson {
            segment: Segment::Payload,
            ..
        }
    ));
    assert!(matches!(
        token::decode_unverified(&format!("{}.{}.x", segs[0], URL_SAFE_NO_PAD.encode("{}"))),
        Err(TokenError::InvalidJson {
            segment: Segment::Payload,
            ..
        })
    ));

    for (header, field) in [
        (
            r#"{"alg":"HS512","typ":"JWT","cty":"twilio-fpa;v=1"}"#,
            "alg",
        ),
        (
            r#"{"alg":"none","typ":"JWT","cty":"twilio-fpa;v=1"}"#,
            "alg",
        ),
        (r#"{"alg":"HS256","cty":"twilio-fpa;v=1"}"#, "typ"),
        (r#"{"alg":"HS256","typ":"JWT"}"#, "cty"),
        (
            r#"{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=2"}"#,
            "cty",
        ),
    ] {
        let err = check(&sign(header, VECTOR_CLAIMS, SECRET));
        assert!(
            matches!(err, TokenError::InvalidHeader { field: f } if f == field),
            "{header}: {err:?}"
        );
        assert_eq!(err.twilio_code(), 20102);
    }

    let huge = "a".repeat(token::MAX_TOKEN_LEN + 1);
    assert!(matches!(check(&huge), TokenError::TooLong { .. }));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_strings(s in ".{0,400}") {
        let _ = token::verify(&s, SECRET, &account(), NOW, 0);
        let _ = token::decode_unverified(&s);
    }

    #[test]
    fn never_panics_on_jwt_shaped_input(
        h in "[A-Za-z0-9_-]{0,80}", p in "[A-Za-z0-9_-]{0,200}", s in "[A-Za-z0-9_=-]{0,60}",
    ) {
        let jwt = format!("{h}.{p}.{s}");
        prop_assert!(token::verify(&jwt, SECRET, &account(), NOW, 0).is_err());
        let _ = token::decode_unverified(&jwt);
    }

    #[test]
    fn never_panics_on_signed_arbitrary_json(payload in ".{0,200}", now in any::<u64>(), leeway in any::<u64>()) {
        let jwt = sign(HEADER, &payload, SECRET);
        let _ = token::verify(&jwt, SECRET, &account(), now, leeway);
    }

    #[test]
    fn mint_verify_round_trip(identity in "[a-z0-9_.@]{1,40}", ttl in 1u64..=86_400, now in 0u64..4_000_000_000) {
        let mut t = AccessToken::new(account(), ApiKeySid::from_u128(5), identity);
        t.ttl_secs = ttl;
        let jwt = t.to_jwt(SECRET, now).unwrap();
        let claims = token::verify(&jwt, SECRET, &account(), now, 0).unwrap();
        prop_assert_eq!(claims, t.claims(now));
    }
}

#[test]
fn required_grants_per_sdk() {
    let jwt = vector_token().to_jwt(SECRET, NOW).unwrap();
    let claims = token::verify(&jwt, SECRET, &account(), NOW, 0).unwrap();
    let (ws, wk) = claims.require_task_router().unwrap();
    assert_eq!(
        (ws.as_str(), wk.as_str()),
        (
            "WS33333333333333333333333333333333",
            "WK44444444444444444444444444444444"
        )
    );
    assert!(claims.require_voice().unwrap().allows_incoming());
    assert_eq!(
        claims.require_sync().unwrap().as_str(),
        "IS55555555555555555555555555555555"
    );

    let mut t = AccessToken::new(account(), ApiKeySid::from_u128(1), "agent_1024");
    t.task_router = Some(TaskRouterGrant {
        workspace_sid: Some(WorkspaceSid::from_u128(3)),
        ..Default::default()
    });
    let claims =
        token::verify(&t.to_jwt(SECRET, NOW).unwrap(), SECRET, &account(), NOW, 0).unwrap();
    let err = claims.require_task_router().unwrap_err();
    assert!(matches!(
        err,
        TokenError::MissingGrant {
            grant: "grants.task_router.worker_sid"
        }
    ));
    assert_eq!(err.twilio_code(), 20106);
    assert!(matches!(
        claims.require_voice(),
        Err(TokenError::MissingGrant {
            grant: "grants.voice"
        })
    ));
    assert!(matches!(
        claims.require_sync(),
        Err(TokenError::MissingGrant {
            grant: "grants.data_sync"
        })
    ));
}
