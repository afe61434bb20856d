//! A worker's full cycle over real sockets: WebSocket `init`, proxy bootstrap, going Available, a task created over
//! public REST routed to the owner, accept, complete — asserting every frame the SDK would see.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn worker_cycle_over_eventbridge_and_rest() {
    let sim = start(None).await;
    let token = worker_token(ALICE, 3600);
    let mut ws = connect(&sim, &token, false).await;

    let init = next_event(&mut ws).await.unwrap();
    assert_eq!(init["event_type"], "init");
    assert_eq!(init["payload"]["channel_id"], ALICE);
    assert_eq!(init["payload"]["workspace_sid"], WS);
    assert_eq!(init["payload"]["account_sid"], SUB);
    let lifetime = init["payload"]["token_lifetime"].as_i64().unwrap();
    assert!(
        (3_590_000..=3_600_000).contains(&lifetime),
        "token_lifetime is ms until exp: {lifetime}"
    );

    let base = format!("Workspaces/{WS}/Workers/{ALICE}");
    let (st, w) = proxy(&sim, &token, "GET", &base, json!({}), "v1").await;
    assert_eq!(st, 200);
    assert_eq!(w["payload"]["activity_name"], "Offline");
    for key in [
        "account_sid",
        "activity_name",
        "activity_sid",
        "attributes",
        "available",
        "date_created",
        "date_status_changed",
        "date_updated",
        "friendly_name",
        "sid",
        "workspace_sid",
        "version",
    ] {
        assert!(w["payload"].get(key).is_some(), "worker lacks {key}");
    }
    let (_, acts) = proxy(
        &sim,
        &token,
        "GET",
        &format!("Workspaces/{WS}/Activities"),
        json!({"PageSize": 1000}),
        "v1",
    )
    .await;
    let available = acts["payload"]["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["friendly_name"] == "Available")
        .unwrap()["sid"]
        .clone();
    let (_, chans) = proxy(
        &sim,
        &token,
        "GET",
        &format!("{base}/WorkerChannels"),
        json!({"PageSize": 1000}),
        "v1",
    )
    .await;
    assert_eq!(chans["payload"]["contents"].as_array().unwrap().len(), 1);
    let (_, res) = proxy(
        &sim,
        &token,
        "GET",
        &format!("{base}/Reservations"),
        json!({"Active": "true", "PageSize": 1000}),
        "v2",
    )
    .await;
    assert_eq!(res["payload"]["contents"], json!([]));

    let (st, upd) = proxy(
        &sim,
        &token,
        "POST",
        &base,
        json!({"ActivitySid": available}),
        "v1",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(upd["payload"]["available"], true);
    let pushed = wait_for(&mut ws, "worker.activity.update").await;
    assert_eq!(pushed["payload"]["activity_name"], "Available");

    let attrs =
        json!({"owner_email": "alice@example.jp", "customer_name": "山田 花子"}).to_string();
    let (st, task) = rest(
        &sim,
        Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks"),
        &[("Attributes", &attrs)],
    )
    .await;
    assert_eq!(st, 201, "{task}");
    let created = wait_for(&mut ws, "reservation.created").await;
    let rsid = created["payload"]["sid"].as_str().unwrap().to_owned();
    assert_eq!(created["payload"]["task"]["sid"], task["sid"]);
    assert!(created["payload"].get("task_transfer").is_none());
    let task_attrs: serde_json::Value =
        serde_json::from_str(created["payload"]["task"]["attributes"].as_str().unwrap()).unwrap();
    assert_eq!(task_attrs["customer_name"], "山田 花子");

    let (st, acc) = proxy(
        &sim,
        &token,
        "POST",
        &format!("{base}/Reservations/{rsid}"),
        json!({"ReservationStatus": "accepted"}),
        "v1",
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(acc["payload"]["reservation_status"], "accepted");
    let accepted = wait_for(&mut ws, "reservation.accepted").await;
    assert_eq!(accepted["payload"]["task"]["assignment_status"], "assigned");

    let tsid = task["sid"].as_str().unwrap();
    let (st, _) = proxy(
        &sim,
        &token,
        "POST",
        &format!("Workspaces/{WS}/Tasks/{tsid}"),
        json!({"AssignmentStatus": "completed", "Reason": "done"}),
        "v1",
    )
    .await;
    assert_eq!(st, 200);
    let done = wait_for(&mut ws, "task.completed").await;
    assert_eq!(done["payload"]["reason"], "done");
    let rdone = wait_for(&mut ws, "reservation.completed").await;
    assert_eq!(rdone["payload"]["sid"], rsid.as_str());

    let (_, stats) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Workers/{ALICE}/Statistics"),
        &[],
    )
    .await;
    assert_eq!(stats["cumulative"]["reservations_accepted"], 1);
}
