//! Agent-scoped call history (s14 contract §3), wrap-up notes (§4) and recording access (§6).
//!
//! One fixture: tanaka answered WT…1 (reserved, conference up) and transferred it to sato (taken); suzuki was
//! offered it and missed (a leg that never answered is no leg); sato also dialled an outbound call. History,
//! recordings and notes all follow "had a leg in the call".

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};
use tsunagi_server::auth::{self, NewAgent, Role};

const T1: &str = "WT00000000000000000000000000000001";
const OB_ATTEMPT: &str = "5f0c2a7e-3b1d-4c2e-9a8b-7c6d5e4f3a21";
const OB_ROOM: &str = "ob-11111111-2222-4333-8444-555555555555";
const OB_CONF: &str = "CF00000000000000000000000000000002";
const OB_CUSTOMER: &str = "CA00000000000000000000000000000003";

struct Fixture {
    t: TestApp,
    tanaka: String,
    sato: String,
    suzuki: String,
    sup: String,
}

async fn fixture() -> Fixture {
    let t = test_app().await;
    t.seed_crm().await;
    for (id, login, worker, role) in [
        (
            "agent_2048",
            "sato",
            Some("WK55555555555555555555555555555555"),
            Role::Agent,
        ),
        (
            "agent_3072",
            "suzuki",
            Some("WK66666666666666666666666666666666"),
            Role::Agent,
        ),
        ("agent_9001", "yamamoto", None, Role::Supervisor),
    ] {
        // No password: sessions are opened directly below (Argon2 in debug builds is slow).
        let a = NewAgent {
            id,
            login,
            display_name: login,
            password: None,
            worker_sid: worker,
            department_id: None,
            role,
        };
        auth::create_agent(&t.state.db, a).await.expect("agent");
    }
    t.exec(&format!(
        "INSERT INTO calls (task_sid, customer_call_sid, customer_id, agent_id, conference_sid, status, created_at, \
         updated_at) VALUES ('{T1}', '{CUSTOMER_CALL}', 'C-000123', 'agent_1024', '{CONF}', 'ended', 1000, 1000)"
    ))
    .await;
    for (key, agent, status, call) in [
        (
            "k1",
            "agent_3072",
            "ringing",
            "CA00000000000000000000000000000011",
        ),
        (
            "k2",
            "agent_3072",
            "no-answer",
            "CA00000000000000000000000000000011",
        ),
        ("k3", "agent_1024", "in-progress", AGENT_CALL),
    ] {
        t.exec(&format!(
            "INSERT INTO call_events (dedup_key, task_sid, call_sid, kind, status, at, agent_id) \
             VALUES ('{key}', '{T1}', '{call}', 'agent-leg', '{status}', 1001, '{agent}')"
        ))
        .await;
    }
    for (key, event, call, at) in [
        ("c1", "participant-join", CUSTOMER_CALL, 1010),
        ("c2", "conference-end", "", 1130),
    ] {
        t.exec(&format!(
            "INSERT INTO call_events (dedup_key, task_sid, call_sid, conference_sid, kind, status, at) \
             VALUES ('{key}', '{T1}', NULLIF('{call}', ''), '{CONF}', 'conference', '{event}', {at})"
        ))
        .await;
    }
    t.exec(&format!(
        "INSERT INTO transfers (id, task_sid, conference_sid, from_agent_id, from_call_sid, mode, target_kind, target, \
         status, created_at, updated_at) VALUES ('tr1', '{T1}', '{CONF}', 'agent_1024', '{AGENT_CALL}', 'cold', \
         'agent', 'agent_2048', 'completed', 1050, 1050)"
    ))
    .await;
    t.exec(&format!(
        "INSERT INTO outbound_attempts (attempt, agent_id, conf_name, to_number, agent_call_sid, conference_sid, \
         customer_call_sid, status, created_at, updated_at) VALUES ('{OB_ATTEMPT}', 'agent_2048', '{OB_ROOM}', \
         '+81312345678', 'CA00000000000000000000000000000004', '{OB_CONF}', '{OB_CUSTOMER}', 'ended', 2000, 2000)"
    ))
    .await;
    for (key, event, call, at) in [
        ("o1", "participant-join", OB_CUSTOMER, 2005),
        ("o2", "conference-end", "", 2065),
    ] {
        t.exec(&format!(
            "INSERT INTO call_events (dedup_key, call_sid, conference_sid, kind, status, at) \
             VALUES ('{key}', NULLIF('{call}', ''), '{OB_CONF}', 'outbound-conference', '{event}', {at})"
        ))
        .await;
    }
    let session = |id: &'static str| {
        let db = t.state.db.clone();
        async move {
            auth::create_session(&db, id, 3600)
                .await
                .expect("session")
                .0
        }
    };
    let tanaka = session("agent_1024").await;
    let sato = session("agent_2048").await;
    let suzuki = session("agent_3072").await;
    let sup = session("agent_9001").await;
    Fixture {
        t,
        tanaka,
        sato,
        suzuki,
        sup,
    }
}

async fn history(t: &TestApp, session: &str, query: &str) -> Value {
    let (status, body) = t
        .json(authed(
            "GET",
            &format!("/v1/calls/history{query}"),
            session,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn ids(page: &Value) -> Vec<String> {
    page["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["task_sid"].as_str().unwrap().to_owned())
        .collect()
}

fn complete(id: &str, session: &str, body: Option<String>) -> Request<Body> {
    authed_post(
        &format!("/v1/calls/{id}/complete"),
        session,
        body.as_deref(),
    )
}

#[tokio::test]
async fn history_lists_only_the_calls_the_agent_had_a_leg_in() {
    let f = fixture().await;
    let t = &f.t;
    let tanaka = history(t, &f.tanaka, "").await;
    assert_eq!(ids(&tanaka), [T1]);
    let line = &tanaka["calls"][0];
    assert_eq!(line["direction"], "inbound");
    assert_eq!(
        (line["answered"].clone(), line["handle_secs"].clone()),
        (json!(true), json!(120))
    );
    assert_eq!(
        (
            line["agent_attempts"].clone(),
            line["missed_attempts"].clone()
        ),
        (json!(2), json!(1))
    );
    assert_eq!(line["notes"], Value::Null);
    assert_eq!(tanaka["next_before"], Value::Null);

    // sato: the transferred call and the outbound one, newest first.
    let sato = history(t, &f.sato, "").await;
    assert_eq!(ids(&sato), [format!("ob-{OB_ATTEMPT}"), T1.to_owned()]);
    let ob = &sato["calls"][0];
    assert_eq!(ob["direction"], "outbound");
    assert_eq!(
        ob["customer_id"], "C-000123",
        "the dialled number's CRM customer"
    );
    assert_eq!(
        (ob["answered"].clone(), ob["handle_secs"].clone()),
        (json!(true), json!(60))
    );

    // suzuki only missed a ring; the supervisor was on no call: their own history is empty.
    assert_eq!(ids(&history(t, &f.suzuki, "").await), Vec::<String>::new());
    assert_eq!(ids(&history(t, &f.sup, "").await), Vec::<String>::new());

    // Bounds and the gate.
    for q in ["?limit=0", "?limit=201", "?limit=x", "?before=soon"] {
        let (status, _) = t
            .json(authed(
                "GET",
                &format!("/v1/calls/history{q}"),
                &f.tanaka,
                Some("1.0.0"),
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
    }
    let (status, _) = t
        .json(authed("GET", "/v1/calls/history", &f.tanaka, None))
        .await;
    assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
}

#[tokio::test]
async fn history_pages_never_skip_or_repeat_calls_sharing_a_second() {
    let f = fixture().await;
    let t = &f.t;
    // tanaka's calls at 1000 (T1), 1200, 1200, 1300, 1400.
    for (n, at) in [(2, 1200), (3, 1200), (4, 1300), (5, 1400)] {
        t.exec(&format!(
            "INSERT INTO calls (task_sid, agent_id, conference_sid, status, created_at, updated_at) VALUES \
             ('WT0000000000000000000000000000000{n}', 'agent_1024', '{CONF}', 'completed', {at}, {at})"
        ))
        .await;
    }
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut pages = 0;
    loop {
        let page = history(t, &f.tanaka, &query).await;
        let got = ids(&page);
        assert!(got.len() <= 3, "{got:?}");
        seen.extend(got);
        pages += 1;
        match page["next_before"].as_i64() {
            Some(before) => query = format!("?limit=3&before={before}"),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(
        seen,
        [
            "WT00000000000000000000000000000005",
            "WT00000000000000000000000000000004",
            "WT00000000000000000000000000000003",
            "WT00000000000000000000000000000002",
            T1,
        ],
        "newest first, each once"
    );
    // A page that falls wholly inside one second returns that second whole rather than splitting it.
    let one = history(t, &f.tanaka, "?limit=1&before=1300000").await;
    assert_eq!(ids(&one).len(), 2, "{one}");
    assert_eq!(one["next_before"], 1_200_000);
    // `before` is exclusive, in milliseconds.
    assert_eq!(
        ids(&history(t, &f.tanaka, "?before=1300000").await).len(),
        3
    );
    assert_eq!(
        ids(&history(t, &f.tanaka, "?before=1300001").await).len(),
        4
    );
}

#[tokio::test]
async fn notes_are_checked_stored_and_reported_intact() {
    let f = fixture().await;
    let t = &f.t;
    // 2,001 characters (multibyte): 422 before anything else happens (Twilio is unreachable here, and the
    // call is not completed yet, so getting past the check would be a 502).
    let long = json!({"notes": "あ".repeat(2001)}).to_string();
    let (status, body) = t.json(complete(T1, &f.tanaka, Some(long))).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("NOTES_TOO_LONG"))
    );
    assert_eq!(
        t.count("SELECT COUNT(*) FROM calls WHERE notes IS NOT NULL")
            .await,
        0
    );
    let (status, _) = t
        .json(complete(T1, &f.tanaka, Some("{\"notes\": 5}".into())))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another agent may not write notes on tanaka's task (nor on sato's outbound call).
    let (status, _) = t
        .json(complete(
            T1,
            &f.suzuki,
            Some(json!({"notes": "x"}).to_string()),
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = t
        .json(complete(
            &format!("ob-{OB_ATTEMPT}"),
            &f.tanaka,
            Some(json!({"notes": "x"}).to_string()),
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Exactly 2,000 characters is accepted (a completed task: no Twilio call needed).
    t.exec("UPDATE calls SET status = 'completed'").await;
    let max = "あ".repeat(2000);
    let (status, body) = t
        .json(complete(
            T1,
            &f.tanaka,
            Some(json!({"notes": max}).to_string()),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(
        t.count("SELECT COUNT(*) FROM calls WHERE notes IS NOT NULL")
            .await,
        1
    );

    // Replaced by the final notes: multibyte, a comma, quotes, a newline, a leading '='.
    let notes = "=折り返し希望, \"至急\"\n担当: 田中 🙏";
    let (status, _) = t
        .json(complete(
            T1,
            &f.tanaka,
            Some(json!({"notes": notes}).to_string()),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // An empty body still completes and keeps the notes.
    let (status, _) = t.json(complete(T1, &f.tanaka, None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // The outbound call's notes, by its dialler.
    let (status, _) = t
        .json(complete(
            &format!("ob-{OB_ATTEMPT}"),
            &f.sato,
            Some(json!({"notes": "見積送付済み"}).to_string()),
        ))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // History (both agents), reports JSON, reports CSV.
    assert_eq!(history(t, &f.tanaka, "").await["calls"][0]["notes"], notes);
    let sato = history(t, &f.sato, "").await;
    assert_eq!(
        (
            sato["calls"][0]["notes"].as_str(),
            sato["calls"][1]["notes"].as_str()
        ),
        (Some("見積送付済み"), Some(notes))
    );
    let (status, report) = t
        .json(authed(
            "GET",
            "/v1/reports/calls?from=0&to=100000",
            &f.sup,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["calls"][0]["notes"], notes);
    let (status, csv, headers) = t
        .send(authed(
            "GET",
            "/v1/reports/calls?from=0&to=100000&format=csv",
            &f.sup,
            None,
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    let csv = String::from_utf8(csv).expect("UTF-8 intact");
    let (header, rows) = csv.split_once("\r\n").unwrap();
    assert!(header.ends_with(",handle_secs,notes"), "{header}");
    assert_eq!(
        rows,
        format!("{T1},1970-01-01T00:16:40Z,C-000123,agent_1024,completed,true,2,1,120,\"'=折り返し希望, \"\"至急\"\"\n担当: 田中 🙏\"\r\n"),
    );
}

async fn get(t: &TestApp, path: &str, session: &str) -> (StatusCode, Value) {
    t.json(authed("GET", path, session, Some("1.0.0"))).await
}

#[tokio::test]
async fn recordings_are_for_agents_with_a_leg_and_supervisors() {
    let f = fixture().await;
    let t = &f.t;
    for (re, owner, agent) in [
        ("RE00000000000000000000000000000001", T1, "agent_1024"),
        ("RE00000000000000000000000000000002", OB_ROOM, "agent_2048"),
    ] {
        t.exec(&format!(
            "INSERT INTO recordings (recording_sid, owner, agent_id, object_key, state, next_attempt_at, created_at, \
             updated_at) VALUES ('{re}', '{owner}', '{agent}', 'k/{re}.wav', 'pending', 0, 1, 1)"
        ))
        .await;
    }
    let inbound = "/v1/recordings/RE00000000000000000000000000000001";
    let outbound = "/v1/recordings/RE00000000000000000000000000000002";
    let inbound_list = format!("/v1/calls/{T1}/recordings");
    let outbound_list = format!("/v1/calls/ob-{OB_ATTEMPT}/recordings");
    // Allowed: past the check, the recording is not archived yet (409) / the list.
    let allowed = [
        (&f.tanaka, inbound),
        (&f.sato, inbound),
        (&f.sup, inbound),
        (&f.sato, outbound),
        (&f.sup, outbound),
    ];
    for (session, path) in allowed {
        let (status, body) = get(t, path, session).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::CONFLICT, Some("RECORDING_NOT_ARCHIVED")),
            "{path}"
        );
    }
    for (session, path) in [
        (&f.tanaka, &inbound_list),
        (&f.sato, &inbound_list),
        (&f.sato, &outbound_list),
        (&f.sup, &outbound_list),
    ] {
        let (status, body) = get(t, path, session).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body.as_array().unwrap().len(), 1);
    }
    // Forbidden: a missed ring is no leg; tanaka was not on sato's outbound call.
    for (session, path) in [
        (&f.suzuki, inbound),
        (&f.suzuki, inbound_list.as_str()),
        (&f.tanaka, outbound),
        (&f.tanaka, outbound_list.as_str()),
        (&f.suzuki, outbound),
    ] {
        let (status, body) = get(t, path, session).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("FORBIDDEN")),
            "{path}"
        );
    }
    let (status, _) = get(
        t,
        "/v1/calls/WT0000000000000000000000000000dead/recordings",
        &f.sup,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = get(t, "/v1/calls/ob-unknown/recordings", &f.sup).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
