//! Outbound calls (spec §5.7, scenario 8): the TwiML application's webhook answers `<Dial><Conference>` of a
//! fresh `ob-<uuid>` per attempt (a retried webhook gets the same one, a closed attempt none); through the
//! stand-in, a busy customer ends the conference and pushes `outbound.failed`, and the redial gets its own
//! conference: never a duplicate FriendlyName. The sweeper closes setups that went stale.
//!
//! One test goes the whole way: the agent's Device `connect({To, TsunagiAttempt})` reaches the TwiML application
//! (the server's webhook) through the stand-in. Another joins the agent the way Twilio executes the returned
//! TwiML (a `client:` participant of the named conference with the TwiML's settings), to check the room by name.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const CUSTOMER: &str = "+81398765432";

fn webhook(
    public: &str,
    call: &str,
    attempt: &str,
    to: &str,
) -> axum::http::Request<axum::body::Body> {
    signed_form_for(
        public,
        "/twilio/voice/outbound",
        &[
            ("CallSid", call),
            ("AccountSid", ACCOUNT),
            ("From", "client:agent_1024"),
            ("Caller", "client:agent_1024"),
            ("To", to),
            ("Direction", "inbound"),
            ("TsunagiAttempt", attempt),
        ],
    )
}

/// The conference name in the TwiML, if it joins one.
fn room(twiml: &str) -> Option<String> {
    let start = twiml.find(">ob-")? + 1;
    let end = start + twiml[start..].find("</Conference>")?;
    Some(twiml[start..end].to_owned())
}

async fn dial(app: &TestApp, public: &str, call: &str, attempt: &str, to: &str) -> String {
    let (status, body, headers) = app.send(webhook(public, call, attempt, to)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/xml"));
    String::from_utf8(body).unwrap()
}

#[tokio::test]
async fn the_webhook_answers_one_conference_per_attempt() {
    let t = test_app().await;
    t.seed_crm().await;
    let p = PUBLIC;
    let a1 = "0b7c2f3e-1d2a-4f5b-9c8d-7e6f5a4b3c2d";
    let twiml = dial(&t, p, "CA00000000000000000000000000000a01", a1, CUSTOMER).await;
    let name = room(&twiml).expect("joins a conference");
    assert!(name.starts_with("ob-") && name.len() == 39, "{name}");
    for attr in [
        r#"startConferenceOnEnter="true""#,
        r#"endConferenceOnExit="true""#,
        r#"beep="false""#,
        r#"region="jp1""#,
        r#"statusCallbackEvent="start end join leave""#,
        r#"record="record-from-start""#,
        "/twilio/outbound/conference?attempt=0b7c2f3e",
    ] {
        assert!(twiml.contains(attr), "{attr} in {twiml}");
    }
    // Twilio retries the webhook: same conference.
    let again = dial(&t, p, "CA00000000000000000000000000000a01", a1, CUSTOMER).await;
    assert_eq!(room(&again).as_deref(), Some(name.as_str()));
    // A second attempt while the first is being set up is refused; bad input is refused, never joined.
    let other = dial(
        &t,
        p,
        "CA00000000000000000000000000000a02",
        "second-attempt",
        CUSTOMER,
    )
    .await;
    assert!(
        room(&other).is_none() && other.contains("<Hangup"),
        "{other}"
    );
    for (attempt, to) in [("", CUSTOMER), ("x&y", CUSTOMER), ("third", "0312345678")] {
        let refused = dial(&t, p, "CA00000000000000000000000000000a03", attempt, to).await;
        assert!(room(&refused).is_none(), "{attempt} {to}: {refused}");
    }
    // Unsigned: 403.
    let mut req = webhook(p, "CA00000000000000000000000000000a01", a1, CUSTOMER);
    req.headers_mut()
        .insert("x-twilio-signature", "bad".parse().unwrap());
    assert_eq!(t.send(req).await.0, StatusCode::FORBIDDEN);
    assert_eq!(t.count("SELECT COUNT(*) FROM outbound_attempts").await, 1);
}

/// Does what Twilio does with the `<Dial><Conference>`: the agent's client leg joins the named conference with
/// the TwiML's settings and status callback.
async fn agent_joins(s: &Stack, name: &str, attempt: &str) {
    let cb = format!("{}/twilio/outbound/conference?attempt={attempt}", s.public);
    let (status, body) = s
        .voice(
            Method::POST,
            &format!("Conferences/{name}/Participants.json"),
            &[
                ("From", COMPANY_NUMBER),
                ("To", "client:agent_1024"),
                ("Label", "agent"),
                ("StartConferenceOnEnter", "true"),
                ("EndConferenceOnExit", "true"),
                ("Beep", "false"),
                ("Region", "jp1"),
                ("ConferenceStatusCallback", &cb),
                ("ConferenceStatusCallbackEvent", "start end join leave"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn conferences_named(s: &Stack, name: &str) -> Vec<Value> {
    let (_, list) = s
        .voice(
            Method::GET,
            &format!("Conferences.json?FriendlyName={name}"),
            &[],
        )
        .await;
    list["conferences"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_then_redial_makes_two_conferences_and_never_a_duplicate_name() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;
    let busy = json!({"number": CUSTOMER, "answer": "busy"});
    assert_eq!(s.control("/_sim/calls/numbers", busy).await.0, 200);

    // First attempt: the customer is busy.
    let a1 = "attempt-1";
    let name1 = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000b01",
            a1,
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    agent_joins(&s, &name1, a1).await;
    let invite = device.invite().await;
    device.answer(&invite).await;
    let dialing = event_of(&mut events, "outbound.dialing").await;
    assert_eq!(dialing["attempt"], a1);
    let cf1 = dialing["conference_sid"].as_str().unwrap().to_owned();
    let failed = event_of(&mut events, "outbound.failed").await;
    assert_eq!(
        (failed["attempt"].as_str(), failed["reason"].as_str()),
        (Some(a1), Some("busy"))
    );
    let (_, c1) = s
        .voice(Method::GET, &format!("Conferences/{cf1}.json"), &[])
        .await;
    assert_eq!(
        c1["status"], "completed",
        "the agent is not left alone in it"
    );
    // A late retry of the first webhook joins nothing.
    let late = dial(
        &s.app,
        &s.public,
        "CA00000000000000000000000000000b01",
        a1,
        CUSTOMER,
    )
    .await;
    assert!(room(&late).is_none(), "{late}");

    // Redial: a new attempt, a new conference; the customer answers.
    let answer = json!({"number": CUSTOMER, "answer": "answer"});
    assert_eq!(s.control("/_sim/calls/numbers", answer).await.0, 200);
    let a2 = "attempt-2";
    let name2 = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000b02",
            a2,
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    assert_ne!(name1, name2);
    let retried = dial(
        &s.app,
        &s.public,
        "CA00000000000000000000000000000b02",
        a2,
        CUSTOMER,
    )
    .await;
    assert_eq!(
        room(&retried).as_deref(),
        Some(name2.as_str()),
        "a retried webhook gets the same room"
    );
    agent_joins(&s, &name2, a2).await;
    let invite = device.invite().await;
    device.answer(&invite).await;
    let connected = event_of(&mut events, "outbound.connected").await;
    assert_eq!(connected["attempt"], a2);
    let cf2 = connected["conference_sid"].as_str().unwrap().to_owned();
    assert_ne!(cf1, cf2);
    let (_, parts) = s
        .voice(
            Method::GET,
            &format!("Conferences/{cf2}/Participants.json"),
            &[],
        )
        .await;
    let labels: Vec<&str> = parts["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["label"].as_str())
        .collect();
    assert_eq!(labels.len(), 2, "{parts}");
    assert!(
        labels.contains(&"customer") && labels.contains(&"agent"),
        "{labels:?}"
    );
    // One conference per name, ever.
    assert_eq!(conferences_named(&s, &name1).await.len(), 1);
    let second = conferences_named(&s, &name2).await;
    assert_eq!(second.len(), 1);
    assert_eq!(second[0]["status"], "in-progress");

    // The agent hangs up (the agent ends the conference on exit): the attempt ends.
    assert_eq!(
        s.voice(
            Method::POST,
            &format!("Conferences/{cf2}.json"),
            &[("Status", "completed")]
        )
        .await
        .0,
        200
    );
    let ended = event_of(&mut events, "outbound.ended").await;
    assert_eq!(ended["attempt"], a2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_ends_stale_setups_and_orphan_ob_conferences() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let session = s.app.login("tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;
    // An attempt whose agent leg never joined.
    let name = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000c01",
            "stuck",
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    // An `ob-` conference nobody owns, left in `init` (its only participant does not start it).
    let orphan = "ob-00000000-0000-4000-8000-000000000000";
    assert_eq!(
        s.control(
            "/_sim/calls/numbers",
            json!({"number": CUSTOMER, "answer": "answer"})
        )
        .await
        .0,
        200
    );
    let (status, body) = s
        .voice(
            Method::POST,
            &format!("Conferences/{orphan}/Participants.json"),
            &[
                ("From", COMPANY_NUMBER),
                ("To", CUSTOMER),
                ("StartConferenceOnEnter", "false"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    s.eventually("the orphan conference to exist", || async {
        let c = conferences_named(&s, orphan).await;
        (c.len() == 1 && c[0]["status"] == "init").then_some(())
    })
    .await;

    // Nothing is stale yet.
    let now = tsunagi_server::db::now_unix();
    assert_eq!(
        tsunagi_server::outbound::sweep(&s.app.state, now)
            .await
            .unwrap(),
        1,
        "only the orphan"
    );
    let c = conferences_named(&s, orphan).await;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["status"], "completed", "{c:?}");
    let a = tsunagi_server::outbound::store::get(&s.app.state.db, "stuck")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.status, tsunagi_server::outbound::Status::Init);

    // Past outbound_stale_secs the stuck attempt is closed and the agent told.
    let later = now + 121;
    assert_eq!(
        tsunagi_server::outbound::sweep(&s.app.state, later)
            .await
            .unwrap(),
        1
    );
    let failed = event_of(&mut events, "outbound.failed").await;
    assert_eq!(
        (failed["attempt"].as_str(), failed["reason"].as_str()),
        (Some("stuck"), Some("stale"))
    );
    let late = dial(
        &s.app,
        &s.public,
        "CA00000000000000000000000000000c01",
        "stuck",
        CUSTOMER,
    )
    .await;
    assert!(room(&late).is_none(), "a swept attempt never joins {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voice_sdk_connect_busy_then_redial_through_the_twiml_application() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;
    let busy = json!({"number": CUSTOMER, "answer": "busy"});
    assert_eq!(s.control("/_sim/calls/numbers", busy).await.0, 200);

    // The dialer's press: device.connect({To, TsunagiAttempt}) → the application → <Dial><Conference>ob-…
    let agent_leg = device
        .connect("To=%2B81398765432&TsunagiAttempt=sdk-attempt-1")
        .await;
    let dialing = event_of(&mut events, "outbound.dialing").await;
    assert_eq!(dialing["attempt"], "sdk-attempt-1");
    let cf1 = dialing["conference_sid"].as_str().unwrap().to_owned();
    let failed = event_of(&mut events, "outbound.failed").await;
    assert_eq!(failed["reason"], "busy");
    device.hung_up().await;
    let a1 = tsunagi_server::outbound::store::get(&s.app.state.db, "sdk-attempt-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a1.agent_call_sid.as_deref(), Some(agent_leg.as_str()));

    // Redial: a new attempt, a new room, the customer answers.
    let answer = json!({"number": CUSTOMER, "answer": "answer"});
    assert_eq!(s.control("/_sim/calls/numbers", answer).await.0, 200);
    device
        .connect("To=%2B81398765432&TsunagiAttempt=sdk-attempt-2")
        .await;
    let connected = event_of(&mut events, "outbound.connected").await;
    assert_eq!(connected["attempt"], "sdk-attempt-2");
    let cf2 = connected["conference_sid"].as_str().unwrap().to_owned();
    assert_ne!(cf1, cf2);
    let a2 = tsunagi_server::outbound::store::get(&s.app.state.db, "sdk-attempt-2")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a1.conf_name, a2.conf_name);
    assert_eq!(conferences_named(&s, &a1.conf_name).await.len(), 1);
    assert_eq!(conferences_named(&s, &a2.conf_name).await.len(), 1);
    let (_, c2) = s
        .voice(Method::GET, &format!("Conferences/{cf2}.json"), &[])
        .await;
    assert_eq!(
        (c2["status"].as_str(), c2["region"].as_str()),
        (Some("in-progress"), Some("jp1"))
    );
}

/// `POST /v1/calls/ob-<attempt>/{op}` as `session`.
async fn control(s: &Stack, session: &str, id: &str, op: &str) -> (StatusCode, Value) {
    let req = axum::http::Request::post(format!("/v1/calls/{id}/{op}"))
        .header("authorization", format!("Bearer {session}"))
        .header("x-client-version", "1.0.0")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            r#"{"to":{"kind":"number","number":"+81398765432"},"mode":"cold"}"#,
        ))
        .unwrap();
    s.app.json(req).await
}

/// s14 contract §5: hold / unhold / hang-up of an outbound call by its `ob-<attempt>` id, for the dialling agent
/// only; transfer answers 409; a hang-up while the customer still rings cancels the attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialling_agent_holds_and_hangs_up_an_outbound_call() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.app.add_colleague().await;
    s.app.add_supervisor().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let sato = s.app.login("sato", "pw2").await;
    let sup = s.app.login("yamamoto", "pw9").await;
    let mut events = events_socket(&s, &session).await;
    let answer = json!({"number": CUSTOMER, "answer": "answer"});
    assert_eq!(s.control("/_sim/calls/numbers", answer).await.0, 200);

    let attempt = "9a0e8c1b-2d3f-4a5b-8c7d-6e5f4a3b2c1d";
    let id = format!("ob-{attempt}");
    let name = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000d01",
            attempt,
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    agent_joins(&s, &name, attempt).await;
    let invite = device.invite().await;
    device.answer(&invite).await;
    let connected = event_of(&mut events, "outbound.connected").await;
    let cf = connected["conference_sid"].as_str().unwrap().to_owned();
    let customer = s
        .app
        .count("SELECT COUNT(*) FROM outbound_attempts WHERE customer_call_sid IS NOT NULL")
        .await;
    assert_eq!(customer, 1);

    // Nobody else may control it, not even a supervisor; unknown ids are 404; transfers are not supported.
    for who in [&sato, &sup] {
        let (status, body) = control(&s, who, &id, "hold").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("FORBIDDEN"))
        );
        assert_eq!(
            control(&s, who, &id, "hangup").await.0,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        control(&s, &session, "ob-nope", "hold").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        control(&s, &session, "ob-a&b", "hold").await.0,
        StatusCode::NOT_FOUND
    );
    for op in ["transfer", "transfer/complete", "transfer/cancel"] {
        let (status, body) = control(&s, &session, &id, op).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("NOT_SUPPORTED_FOR_OUTBOUND")),
            "{op}"
        );
    }

    // Hold and resume the customer, as the stand-in's conference shows.
    let customer_hold = || async {
        let (_, parts) = s
            .voice(
                Method::GET,
                &format!("Conferences/{cf}/Participants.json"),
                &[],
            )
            .await;
        parts["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["label"] == "customer")
            .map(|p| p["hold"].clone())
            .expect("the customer is in the conference")
    };
    for (op, held) in [("hold", true), ("unhold", false)] {
        let (status, body) = control(&s, &session, &id, op).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{op}: {body}");
        assert_eq!(customer_hold().await, held, "{op}");
    }

    // Hang-up ends the conference; afterwards hold is 409 and hang-up stays a success.
    let (status, body) = control(&s, &session, &id, "hangup").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let ended = event_of(&mut events, "outbound.ended").await;
    assert_eq!(ended["attempt"], attempt);
    let (_, conf) = s
        .voice(Method::GET, &format!("Conferences/{cf}.json"), &[])
        .await;
    assert_eq!(conf["status"], "completed");
    let (status, body) = control(&s, &session, &id, "hold").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("CALL_ENDED"))
    );
    assert_eq!(
        control(&s, &session, &id, "hangup").await.0,
        StatusCode::NO_CONTENT
    );

    // A second call hung up before the agent's leg even joined: the attempt is canceled, and the late join of
    // its room is ended at once.
    let second = "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f";
    let name2 = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000d02",
            second,
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    let (status, body) = control(&s, &session, &format!("ob-{second}"), "hold").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("CONFERENCE_NOT_READY")),
        "nothing to hold yet: the app words this code as 'the customer has not answered yet'"
    );
    assert_eq!(
        control(&s, &session, &format!("ob-{second}"), "hangup")
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let failed = event_of(&mut events, "outbound.failed").await;
    assert_eq!(
        (failed["attempt"].as_str(), failed["reason"].as_str()),
        (Some(second), Some("canceled"))
    );
    let late = dial(
        &s.app,
        &s.public,
        "CA00000000000000000000000000000d02",
        second,
        CUSTOMER,
    )
    .await;
    assert!(room(&late).is_none(), "{name2}: {late}");
}

/// The status of call `sid` at the stand-in.
async fn call_status(s: &Stack, sid: &str) -> String {
    let (_, call) = s
        .voice(Method::GET, &format!("Calls/{sid}.json"), &[])
        .await;
    call["status"].as_str().unwrap_or("").to_owned()
}

/// Issue #8: the app hangs an outbound call up through the server as it does a routed one. Even when the agent's
/// Voice SDK leg is already gone and the conference kept the customer (they would hear silence), the server's
/// hang-up ends the customer's leg at the stand-in; asking again (the app's Device leg dropping too) is a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_an_outbound_call_ends_the_customer_leg_even_after_the_agent_leg_dropped() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;
    let answer = json!({"number": CUSTOMER, "answer": "answer"});
    assert_eq!(s.control("/_sim/calls/numbers", answer).await.0, 200);
    let attempt = "3b4c5d6e-7f80-4a1b-9c2d-3e4f5a6b7c8d";
    let id = format!("ob-{attempt}");
    let name = room(
        &dial(
            &s.app,
            &s.public,
            "CA00000000000000000000000000000d03",
            attempt,
            CUSTOMER,
        )
        .await,
    )
    .unwrap();
    agent_joins(&s, &name, attempt).await;
    let invite = device.invite().await;
    device.answer(&invite).await;
    let connected = event_of(&mut events, "outbound.connected").await;
    let cf = connected["conference_sid"].as_str().unwrap().to_owned();
    let customer: String =
        sqlx::query_scalar("SELECT customer_call_sid FROM outbound_attempts WHERE attempt = $1")
            .bind(attempt)
            .fetch_one(&s.app.state.db.pool)
            .await
            .unwrap();
    let participants = || async {
        let (_, parts) = s
            .voice(
                Method::GET,
                &format!("Conferences/{cf}/Participants.json"),
                &[],
            )
            .await;
        parts["participants"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };

    // The agent's leg drops out of the conference without ending it (as a Voice SDK leg lost on the network
    // can): the customer is left alone in it, still connected.
    let agent = participants()
        .await
        .into_iter()
        .find(|p| p["label"] == "agent")
        .expect("the agent is in the conference");
    let agent_leg = agent["call_sid"].as_str().unwrap().to_owned();
    let (status, body) = s
        .voice(
            Method::POST,
            &format!("Conferences/{cf}/Participants/{agent_leg}.json"),
            &[("EndConferenceOnExit", "false")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = s
        .voice(
            Method::DELETE,
            &format!("Conferences/{cf}/Participants/{agent_leg}.json"),
            &[],
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let left = participants().await;
    assert_eq!(left.len(), 1, "only the customer is left: {left:?}");
    assert_eq!(left[0]["call_sid"], customer.as_str());
    assert_eq!(call_status(&s, &customer).await, "in-progress");

    // The app's hang-up (POST /v1/calls/ob-<attempt>/hangup) ends the customer's leg.
    let (status, body) = control(&s, &session, &id, "hangup").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let ended = event_of(&mut events, "outbound.ended").await;
    assert_eq!(ended["attempt"], attempt);
    s.eventually("the customer's leg ended", || async {
        (call_status(&s, &customer).await == "completed").then_some(())
    })
    .await;
    let (_, conf) = s
        .voice(Method::GET, &format!("Conferences/{cf}.json"), &[])
        .await;
    assert_eq!(conf["status"], "completed");
    assert_eq!(
        control(&s, &session, &id, "hangup").await.0,
        StatusCode::NO_CONTENT,
        "the second request (the Device leg's own end) is a success too"
    );
}
