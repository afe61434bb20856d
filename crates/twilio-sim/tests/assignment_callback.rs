//! The assignment callback: a signed form POST to the workflow's URL (retried after a 5xx), whose JSON reply
//! (`{"instruction": "conference", …}`) accepts the reservation; the worker sees `reservation.accepted`.

mod common;

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use common::*;
use reqwest::Method;
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

async fn hook(
    State(seen): State<Seen>,
    headers: HeaderMap,
    body: String,
) -> (axum::http::StatusCode, String) {
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let sig = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let n = {
        let mut g = seen.lock().unwrap();
        g.push((sig, params));
        g.len()
    };
    if n == 1 {
        return (axum::http::StatusCode::BAD_GATEWAY, String::new());
    }
    (axum::http::StatusCode::OK, json!({"instruction": "conference", "from": "+81312345678", "end_conference_on_exit": true}).to_string())
}

#[tokio::test]
async fn signed_callback_with_retry_and_conference_instruction() {
    let seen: Seen = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/assign", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/assign", post(hook))
        .with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = start(Some(&url)).await;
    let token = worker_token(ALICE, 3600);
    let mut ws = connect(&sim, &token, false).await;
    wait_for(&mut ws, "init").await;
    let (_, acts) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Activities"),
        &[],
    )
    .await;
    let avail = acts["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["available"] == true)
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    rest(
        &sim,
        Method::POST,
        &format!("/v1/Workspaces/{WS}/Workers/{ALICE}"),
        &[("ActivitySid", &avail)],
    )
    .await;
    let attrs = json!({"owner_email": "alice@example.jp"}).to_string();
    let (st, _) = rest(
        &sim,
        Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks"),
        &[("Attributes", &attrs)],
    )
    .await;
    assert_eq!(st, 201);
    wait_for(&mut ws, "reservation.created").await;
    let accepted = wait_for(&mut ws, "reservation.accepted").await;
    assert_eq!(accepted["payload"]["worker_sid"], ALICE);

    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one 502, then a retry");
    for (sig, params) in &calls {
        assert_eq!(
            sig,
            &tsunagi_twilio_sim::webhook::sign("sub-auth-token", &url, params),
            "signed with the workspace account's Auth Token"
        );
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        assert_eq!(get("WorkerSid").as_deref(), Some(ALICE));
        assert!(get("ReservationSid").unwrap().starts_with("WR"));
        assert!(get("TaskAttributes").unwrap().contains("alice@example.jp"));
    }
    let rsid = accepted["payload"]["sid"].as_str().unwrap();
    let tsid = accepted["payload"]["task_sid"].as_str().unwrap();
    let (_, r) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{tsid}/Reservations/{rsid}"),
        &[],
    )
    .await;
    assert_eq!(r["instruction"]["instruction"], "conference");
    assert_eq!(r["reservation_status"], "accepted");
}
