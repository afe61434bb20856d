//! `GET /v1/reports/calls`: the webhook log assembled per interaction, as JSON and CSV, for supervisors only.

mod common;

use axum::http::StatusCode;
use common::*;

const RES2: &str = "WR88888888888888888888888888888889";
const AGENT_CALL2: &str = "CAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";

#[tokio::test]
async fn a_missed_then_answered_call_is_reported_once_in_json_and_csv() {
    let t = test_app().await;
    t.seed_crm().await;
    t.add_colleague().await;
    t.add_supervisor().await;
    let attrs =
        serde_json::json!({"call_sid": CUSTOMER_CALL, "customer_id": "C-000123"}).to_string();
    let assign = |res: &'static str, worker: &'static str| {
        vec![
            ("TaskSid", TASK),
            ("ReservationSid", res),
            ("WorkerSid", worker),
            ("TaskAttributes", attrs.clone().leak() as &str),
        ]
    };
    let leg = |res: &str| format!("/twilio/taskrouter/agent-leg?task={TASK}&res={res}");
    let conf = format!("/twilio/conference/status?task={TASK}");
    let steps: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/twilio/taskrouter/events".into(),
            vec![
                ("EventType", "task.created"),
                ("Sid", "EV1"),
                ("TaskSid", TASK),
                ("TaskAttributes", attrs.as_str()),
            ],
        ),
        (
            "/twilio/taskrouter/assignment".into(),
            assign(RES, OWNER_WORKER),
        ),
        (
            leg(RES),
            vec![
                ("CallSid", AGENT_CALL),
                ("CallStatus", "initiated"),
                ("To", "client:agent_1024?TaskSid=x"),
            ],
        ),
        (
            leg(RES),
            vec![
                ("CallSid", AGENT_CALL),
                ("CallStatus", "no-answer"),
                ("To", "client:agent_1024"),
            ],
        ),
        (
            "/twilio/taskrouter/assignment".into(),
            assign(RES2, "WK55555555555555555555555555555555"),
        ),
        (
            leg(RES2),
            vec![
                ("CallSid", AGENT_CALL2),
                ("CallStatus", "initiated"),
                ("To", "client:agent_2048"),
            ],
        ),
        (
            conf.clone(),
            vec![
                ("ConferenceSid", CONF),
                ("StatusCallbackEvent", "participant-join"),
                ("CallSid", AGENT_CALL2),
                ("SequenceNumber", "1"),
            ],
        ),
        (
            conf.clone(),
            vec![
                ("ConferenceSid", CONF),
                ("StatusCallbackEvent", "participant-join"),
                ("CallSid", CUSTOMER_CALL),
                ("SequenceNumber", "2"),
            ],
        ),
        (
            conf.clone(),
            vec![
                ("ConferenceSid", CONF),
                ("StatusCallbackEvent", "conference-end"),
                ("SequenceNumber", "3"),
            ],
        ),
    ];
    for (path, params) in &steps {
        for _ in 0..2 {
            let (status, body, _) = t.send(signed_form(path, params)).await;
            // The no-answer reject reaches no Twilio here (closed port): it is refused with 502 so Twilio retries.
            if params.contains(&("CallStatus", "no-answer")) {
                assert_eq!(
                    status,
                    StatusCode::BAD_GATEWAY,
                    "{}",
                    String::from_utf8_lossy(&body)
                );
            } else {
                assert!(
                    status.is_success(),
                    "{path}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
    }
    // The failed reject is retried by Twilio; the leg itself is already in the log (appending is idempotent).

    let sup = t.login("yamamoto", "pw9").await;
    let now = tsunagi_server::db::now_unix();
    let uri = format!("/v1/reports/calls?from={}&to={}", now - 3600, now + 3600);
    let (status, r) = t.json(authed("GET", &uri, &sup, None)).await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["interactions"], 1);
    assert_eq!(r["answered"], 1);
    assert_eq!(r["abandoned"], 0);
    assert_eq!(r["missed_per_agent"]["agent_1024"], 1);
    let line = &r["calls"][0];
    assert_eq!(line["task_sid"], TASK);
    assert_eq!(line["agent_id"], "agent_2048");
    assert_eq!(line["agent_attempts"], 2);
    assert_eq!(line["missed_attempts"], 1);
    assert!(line["handle_secs"].as_i64().is_some());

    let (status, csv, headers) = t
        .send(authed("GET", &format!("{uri}&format=csv"), &sup, None))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with(&format!("{TASK},")));

    let agent = t.login("tanaka", "pw").await;
    assert_eq!(
        t.json(authed("GET", &uri, &agent, None)).await.0,
        StatusCode::FORBIDDEN
    );
    for bad in [
        "/v1/reports/calls?from=x&to=1",
        "/v1/reports/calls?from=10&to=5",
        "/v1/reports/calls",
        &format!("{uri}&format=xml"),
    ] {
        assert_eq!(
            t.json(authed("GET", bad, &sup, None)).await.0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}
