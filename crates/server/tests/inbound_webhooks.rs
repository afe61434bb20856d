//! Inbound call webhooks: signature gate, `<Enqueue>` with CRM attributes (multibyte name intact), the
//! assignment callback's conference instruction, and idempotency (every webhook is sent twice).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::Value;
use tsunagi_twilio::twiml::{Verb, VoiceResponse};

fn inbound_params(from: &str) -> Vec<(&str, &str)> {
    vec![
        ("AccountSid", ACCOUNT),
        ("CallSid", CUSTOMER_CALL),
        ("From", from),
        ("To", "+81501234567"),
        ("Direction", "inbound"),
        ("CallStatus", "ringing"),
        ("CallerName", "田中 太郎"),
    ]
}

fn task_attributes(xml: &str) -> (Value, String) {
    let doc = VoiceResponse::parse(xml).expect("valid TwiML");
    let Some(Verb::Enqueue(e)) = doc.verbs.first() else {
        panic!("not an Enqueue: {xml}")
    };
    assert_eq!(
        e.workflow_sid.unwrap().as_str(),
        "WW66666666666666666666666666666666"
    );
    assert_eq!(
        e.wait_url.as_deref(),
        Some(&*format!("{PUBLIC}/twilio/voice/wait"))
    );
    let task = e.task.as_ref().expect("Task");
    assert_eq!(task.timeout, Some(600));
    (
        serde_json::from_str(&task.attributes).expect("JSON attributes"),
        task.attributes.clone(),
    )
}

#[tokio::test]
async fn unsigned_and_badly_signed_webhooks_are_refused_and_change_nothing() {
    let t = test_app().await;
    t.seed_crm().await;
    let mut unsigned = signed_form("/twilio/voice/inbound", &inbound_params("+81312345678"));
    unsigned.headers_mut().remove("x-twilio-signature");
    let (status, _) = t.json(unsigned).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut forged = signed_form(
        "/twilio/taskrouter/assignment",
        &[
            ("TaskSid", TASK),
            ("ReservationSid", RES),
            ("WorkerSid", OWNER_WORKER),
        ],
    );
    forged.headers_mut().insert(
        "x-twilio-signature",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".parse().unwrap(),
    );
    let (status, body) = t.json(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "FORBIDDEN");

    // Signed for another URL (query altered after signing).
    let req = signed_form(
        &format!("/twilio/conference/status?task={TASK}"),
        &[
            ("ConferenceSid", CONF),
            ("StatusCallbackEvent", "conference-end"),
        ],
    );
    let (parts, body) = req.into_parts();
    let mut req = Request::from_parts(parts, body);
    *req.uri_mut() = format!(
        "/twilio/conference/status?task={}",
        "WT00000000000000000000000000000000"
    )
    .parse()
    .unwrap();
    let (status, _) = t.json(req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert_eq!(t.count("SELECT COUNT(*) FROM calls").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM call_events").await, 0);
    assert_eq!(t.count("SELECT COUNT(*) FROM webhook_receipts").await, 0);
}

#[tokio::test]
async fn known_caller_is_enqueued_with_ascii_routing_keys_and_the_encoded_japanese_name() {
    let t = test_app().await;
    t.seed_crm().await;
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, body, headers) = t
            .send(signed_form(
                "/twilio/voice/inbound",
                &inbound_params("+81312345678"),
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml"));
        answers.push(String::from_utf8(body).unwrap());
    }
    assert_eq!(
        answers[0], answers[1],
        "a retried webhook gets the same TwiML"
    );
    let (attrs, raw) = task_attributes(&answers[0]);
    assert_eq!(attrs["type"], "inbound_call");
    assert_eq!(attrs["call_sid"], CUSTOMER_CALL);
    assert_eq!(attrs["customer_id"], "C-000123");
    assert_eq!(attrs["department_id"], "d12");
    assert_eq!(attrs["owner_worker_sid"], OWNER_WORKER);
    // The owner's availability could not be confirmed (no Twilio reachable here), so the owner is skipped.
    assert_eq!(attrs["route_owner"], false);
    assert_eq!(
        attrs["customer_name_enc"],
        "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90"
    );
    assert!(raw.is_ascii(), "task attributes stay ASCII: {raw}");
    assert_eq!(t.count("SELECT COUNT(*) FROM call_events").await, 1);
}

#[tokio::test]
async fn unknown_caller_is_enqueued_without_crm_keys() {
    let t = test_app().await;
    t.seed_crm().await;
    let (status, body, _) = t
        .send(signed_form(
            "/twilio/voice/inbound",
            &inbound_params("+819000000000"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (attrs, _) = task_attributes(&String::from_utf8(body).unwrap());
    assert_eq!(attrs["route_owner"], false);
    assert!(attrs.get("customer_id").is_none() && attrs.get("owner_worker_sid").is_none());
}

#[tokio::test]
async fn malformed_webhook_input_is_a_clear_400() {
    let t = test_app().await;
    let (status, body) = t
        .json(signed_form(
            "/twilio/voice/inbound",
            &[("CallSid", "not-a-sid")],
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"].as_str().unwrap().contains("CallSid"),
        "{body}"
    );
    let (status, _) = t
        .json(signed_form(
            "/twilio/taskrouter/assignment",
            &[
                ("TaskSid", TASK),
                ("ReservationSid", RES),
                ("WorkerSid", OWNER_WORKER),
                ("TaskAttributes", "{broken"),
            ],
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = t
        .json(signed_form(
            "/twilio/taskrouter/agent-leg?task=WTnope&res=WRnope",
            &[("CallSid", AGENT_CALL)],
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn assignment_answers_a_jp1_conference_instruction_with_the_task_in_the_agent_leg() {
    let t = test_app().await;
    t.seed_crm().await;
    let task_attrs = serde_json::json!({"type": "inbound_call", "call_sid": CUSTOMER_CALL, "from": "+81312345678", "customer_id": "C-000123"}).to_string();
    let params = [
        ("AccountSid", ACCOUNT),
        ("WorkspaceSid", WORKSPACE),
        ("TaskSid", TASK),
        ("ReservationSid", RES),
        ("WorkerSid", OWNER_WORKER),
        ("TaskAttributes", task_attrs.as_str()),
        (
            "WorkerAttributes",
            r#"{"contact_uri":"client:agent_1024","department_id":"d12"}"#,
        ),
    ];
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, body, headers) = t
            .send(signed_form("/twilio/taskrouter/assignment", &params))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "application/json");
        answers.push(serde_json::from_slice::<Value>(&body).unwrap());
    }
    assert_eq!(answers[0], answers[1]);
    let i = &answers[0];
    assert_eq!(i["instruction"], "conference");
    assert_eq!(i["region"], "jp1");
    assert_eq!(
        i["to"],
        format!("client:agent_1024?TaskSid={TASK}&ReservationSid={RES}")
    );
    assert_eq!(i["from"], "+81312345678");
    assert_eq!(i["timeout"], 20);
    assert_eq!(i["end_conference_on_exit"], true);
    assert_eq!(i["end_conference_on_customer_exit"], true);
    assert_eq!(
        i["post_work_activity_sid"],
        "WA77777777777777777777777777777777"
    );
    assert_eq!(
        i["status_callback"],
        format!("{PUBLIC}/twilio/taskrouter/agent-leg?task={TASK}&res={RES}")
    );
    assert_eq!(
        i["conference_status_callback"],
        format!("{PUBLIC}/twilio/conference/status?task={TASK}")
    );
    assert_eq!(i["conference_record"], "record-from-start");
    assert_eq!(t.count(&format!("SELECT COUNT(*) FROM calls WHERE task_sid = '{TASK}' AND reservation_sid = '{RES}' AND agent_id = 'agent_1024' AND status = 'reserved'")).await, 1);
}

#[tokio::test]
async fn a_worker_that_is_not_an_agent_and_has_no_contact_uri_is_rejected() {
    let t = test_app().await;
    let params = [
        ("TaskSid", TASK),
        ("ReservationSid", RES),
        ("WorkerSid", "WK00000000000000000000000000000001"),
    ];
    let (status, body) = t
        .json(signed_form("/twilio/taskrouter/assignment", &params))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["instruction"], "reject");
}

#[tokio::test]
async fn wait_url_is_a_signed_get_with_a_loop() {
    let t = test_app().await;
    let url = format!("{PUBLIC}/twilio/voice/wait");
    let sig = tsunagi_twilio::signature::compute::<&str, &str>(AUTH_TOKEN, &url, &[]);
    let req = Request::get("/twilio/voice/wait")
        .header("x-twilio-signature", sig)
        .body(Body::empty())
        .unwrap();
    let (status, body, _) = t.send(req).await;
    assert_eq!(status, StatusCode::OK);
    let doc = VoiceResponse::parse(std::str::from_utf8(&body).unwrap()).unwrap();
    assert!(matches!(doc.verbs.last(), Some(Verb::Redirect(r)) if r.url == url));
}
