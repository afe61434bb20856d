//! Codec throughput: Access Token mint/verify, webhook signature verify, TwiML write/parse.
//!
//! Run: `cargo bench -p tsunagi-twilio --bench codec`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tsunagi_twilio::twiml::{Client, Conference, Dial, Enqueue, Say};
use tsunagi_twilio::{
    signature, token, AccessToken, AccountSid, ApiKeySid, ApplicationSid, SyncGrant,
    SyncServiceSid, TaskRouterGrant, VoiceGrant, VoiceResponse, WorkerSid, WorkflowSid,
    WorkspaceSid,
};

const SECRET: &str = "test-api-key-secret-do-not-use";
const NOW: u64 = 1_700_000_000;

fn access_token() -> AccessToken {
    let mut t = AccessToken::new(
        AccountSid::from_u128(0),
        ApiKeySid::from_u128(1),
        "agent.tanaka@example.co.jp",
    );
    t.voice = Some(VoiceGrant::incoming().with_outgoing(
        ApplicationSid::from_u128(2),
        vec![("agent".into(), "tanaka".into())],
    ));
    t.task_router = Some(TaskRouterGrant::worker(
        WorkspaceSid::from_u128(3),
        WorkerSid::from_u128(4),
    ));
    t.data_sync = Some(SyncGrant {
        service_sid: Some(SyncServiceSid::from_u128(5)),
        endpoint_id: Some("softphone:agent.tanaka@example.co.jp:desktop".into()),
    });
    t
}

fn tokens(c: &mut Criterion) {
    let t = access_token();
    let jwt = t.to_jwt(SECRET, NOW).unwrap();
    let account = AccountSid::from_u128(0);
    c.bench_function("token/mint", |b| {
        b.iter(|| t.to_jwt(black_box(SECRET), black_box(NOW)).unwrap())
    });
    c.bench_function("token/verify", |b| {
        b.iter(|| token::verify(black_box(&jwt), SECRET, &account, NOW, 0).unwrap())
    });
}

fn signatures(c: &mut Criterion) {
    let url = "https://softphone-api.example.co.jp/twilio/voice/inbound";
    let body =
        b"AccountSid=AC00000000000000000000000000000000&CallSid=CA99999999999999999999999999999999\
&From=%2B81312345678&To=%2B81501234567&Direction=inbound&CallStatus=ringing&ApiVersion=2010-04-01";
    let params = signature::parse_form(body).unwrap();
    let sig = signature::compute("test-auth-token-0123456789abcdef", url, &params);
    c.bench_function("signature/verify_form", |b| {
        b.iter(|| {
            signature::verify_form(
                "test-auth-token-0123456789abcdef",
                black_box(url),
                &params,
                &sig,
            )
            .unwrap()
        })
    });
    c.bench_function("signature/verify_request (parse + verify)", |b| {
        b.iter(|| {
            signature::verify_request(
                "test-auth-token-0123456789abcdef",
                url,
                black_box(body),
                &sig,
            )
            .unwrap()
        })
    });
}

fn twiml(c: &mut Criterion) {
    let r = VoiceResponse::new()
        .verb(Say::new("お電話ありがとうございます。").language("ja-JP"))
        .verb(Enqueue::workflow(
            WorkflowSid::from_u128(1),
            r#"{"type":"inbound","call_sid":"CA1"}"#,
        ))
        .verb(Dial::new(Conference {
            start_conference_on_enter: Some(true),
            end_conference_on_exit: Some(true),
            region: Some("jp1".into()),
            status_callback_event: vec![
                "start".into(),
                "end".into(),
                "join".into(),
                "leave".into(),
            ],
            ..Conference::new("WT00000000000000000000000000000001")
        }))
        .verb(Dial::new(
            Client::new("agent_1024").parameter("task", "WT1"),
        ));
    let xml = r.to_xml();
    c.bench_function("twiml/to_xml", |b| b.iter(|| black_box(&r).to_xml()));
    c.bench_function("twiml/parse", |b| {
        b.iter(|| VoiceResponse::parse(black_box(&xml)).unwrap())
    });
}

criterion_group!(benches, tokens, signatures, twiml);
criterion_main!(benches);
