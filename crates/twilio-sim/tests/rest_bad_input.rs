//! Malformed REST and proxy requests get Twilio's error shape and change nothing; the stand-in keeps serving.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_requests_change_nothing() {
    let sim = start(None).await;
    let ws = format!("/v1/Workspaces/{WS}");
    let (_, before) = rest(&sim, Method::GET, &format!("{ws}/Workers/{ALICE}"), &[]).await;
    type Case<'a> = (Method, String, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case> = vec![
        (Method::POST, format!("{ws}/Workers/{ALICE}"), vec![("Attributes", "{not json")], 400),
        (Method::POST, format!("{ws}/Workers/{ALICE}"), vec![("ActivitySid", "WA00000000000000000000000000000fff")], 404),
        (Method::POST, format!("{ws}/Workers/{ALICE}"), vec![("ActivitySid", "nonsense")], 404),
        (Method::POST, format!("{ws}/Tasks"), vec![("Attributes", "[1]")], 400),
        (Method::POST, format!("{ws}/Tasks"), vec![("Priority", "high")], 400),
        (Method::POST, format!("{ws}/Workflows"), vec![("FriendlyName", "x"), ("Configuration", "{\"task_routing\":{\"filters\":[{\"expression\":\"a ==\",\"targets\":[{\"queue\":\"All\"}]}]}}")], 400),
        (Method::POST, format!("{ws}/Workflows"), vec![("FriendlyName", "x"), ("Configuration", "{\"task_routing\":{\"default_filter\":{\"queue\":\"Nope\"}}}")], 400),
        (Method::GET, format!("{ws}/Tasks/WT00000000000000000000000000000000"), vec![], 404),
        (Method::GET, "/v1/Workspaces/WSnot-a-sid".to_string(), vec![], 404),
        (Method::GET, format!("{ws}/Nope"), vec![], 404),
        (Method::DELETE, format!("{ws}/Workers/{ALICE}"), vec![], 204),
    ];
    for (m, path, form, want) in cases {
        let (st, body) = rest(&sim, m.clone(), &path, &form).await;
        assert_eq!(st, want, "{m} {path}: {body}");
        if st >= 400 {
            assert!(
                body["code"].as_u64().is_some()
                    && body["message"].is_string()
                    && body["status"] == st,
                "Twilio error shape: {body}"
            );
        }
    }
    // Alice was Offline, so the delete above succeeded; Bob is made Available and then cannot be deleted.
    let (_, acts) = rest(&sim, Method::GET, &format!("{ws}/Activities"), &[]).await;
    let avail = acts["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["available"] == true)
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, _) = rest(
        &sim,
        Method::POST,
        &format!("{ws}/Workers/{BOB}"),
        &[("ActivitySid", &avail)],
    )
    .await;
    assert_eq!(st, 200);
    let (st, body) = rest(&sim, Method::DELETE, &format!("{ws}/Workers/{BOB}"), &[]).await;
    assert_eq!((st, body["code"].as_u64()), (400, Some(20001)));
    assert_eq!(before["sid"], ALICE);

    let c = reqwest::Client::new();
    for body in ["", "{", "[]", "{\"url\":1}", &"x".repeat(300 * 1024)] {
        let r = c
            .post(format!("{}/v1/wschannels", sim.base_url()))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = r.status();
        assert!(status.is_client_error(), "{status}");
        let err: serde_json::Value = r
            .json()
            .await
            .expect("Twilio error JSON, even for an over-limit body");
        assert_eq!(err["status"], status.as_u16());
        assert!(err["code"].is_u64());
    }
    let t = worker_token(BOB, 3600);
    let (st, body) = proxy(
        &sim,
        &t,
        "GET",
        "Workspaces/WS00000000000000000000000000000009/Workers",
        json!({}),
        "v1",
    )
    .await;
    assert_eq!((st, body["code"].as_u64()), (403, Some(20403)));
    let (st, _) = proxy(
        &sim,
        &t,
        "POST",
        &format!("Workspaces/{WS}/Workers/{ALICE}"),
        json!({"Attributes": {}}),
        "v1",
    )
    .await;
    assert_eq!(st, 403, "a worker token cannot change another worker");
    let (st, _) = proxy(
        &sim,
        &t,
        "POST",
        &format!("Workspaces/{WS}/Workers/{BOB}"),
        json!({"Attributes": {"a": 1}}),
        "v1",
    )
    .await;
    assert_eq!(st, 200, "still serving");
    for path in ["/_sim/clock/advance", "/_sim/faults", "/_sim/sockets/drop"] {
        let r = c
            .post(format!("{}{path}", sim.base_url()))
            .body("{nope")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
}
