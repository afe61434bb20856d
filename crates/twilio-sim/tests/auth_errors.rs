//! Access Token and Basic-auth failures get Twilio's codes: bad, expired, over-24h and master-vs-subaccount tokens
//! on the EventBridge socket and proxy; wrong credentials and cross-account access on REST.

mod common;

use common::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

async fn refused(sim: &tsunagi_twilio_sim::Sim, token: &str) -> (u64, String) {
    let mut ws = connect(sim, token, false).await;
    let f = next_event(&mut ws).await.expect("error frame");
    assert_eq!(f["event_type"], "error");
    let code = f["payload"]["code"].as_u64().unwrap();
    let reason = loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(c)))) => break c.reason.to_string(),
            Some(Ok(_)) => continue,
            _ => panic!("expected a close frame"),
        }
    };
    assert!(
        reason.starts_with(&code.to_string()),
        "close reason carries the code: {reason}"
    );
    (code, reason)
}

#[tokio::test]
async fn socket_token_failures_have_twilio_codes() {
    let sim = start(None).await;
    assert_eq!(refused(&sim, "x.y.z").await.0, 20101);
    // Change the signature's last character to another one that still decodes (it carries only 4 bits): pushing a
    // fixed 'A' left the token valid whenever its signature already ended in 'A' (1 run in 16).
    let mut forged = worker_token(ALICE, 3600);
    let last = forged.pop();
    forged.push(if last == Some('A') { 'E' } else { 'A' });
    let code = refused(&sim, &forged).await.0;
    assert!(code == 20107 || code == 20101, "{code}");
    let iat = now_secs();
    let long = raw_token(
        json!({"jti": format!("{SUB_KEY}-{iat}"), "grants": {"identity": "agent", "task_router": {"workspace_sid": WS, "worker_sid": ALICE, "role": "worker"}},
               "iat": iat, "exp": iat + 2 * 86_400, "iss": SUB_KEY, "sub": SUB}),
        SUB_SECRET,
    );
    assert_eq!(refused(&sim, &long).await.0, 20157);
    // The seeds' failure: the master account's key minting a token whose sub is the subaccount.
    let (code, reason) = refused(
        &sim,
        &token_with(SUB, MASTER_KEY, MASTER_SECRET, ALICE, 3600),
    )
    .await;
    assert_eq!(code, 20103);
    assert!(reason.contains("issuer/subject"), "{reason}");
    // The master's own token cannot reach the subaccount's workspace either.
    assert_eq!(
        refused(
            &sim,
            &token_with(MASTER, MASTER_KEY, MASTER_SECRET, ALICE, 3600)
        )
        .await
        .0,
        20103
    );
    // A valid token that is force-expired gets 20104.
    let t = worker_token(ALICE, 3600);
    let c = reqwest::Client::new()
        .post(format!("{}/_sim/tokens/expire", sim.base_url()))
        .body(json!({"token": t}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(c.status(), 200);
    assert_eq!(refused(&sim, &t).await.0, 20104);
    let (st, body) = proxy(
        &sim,
        &t,
        "GET",
        &format!("Workspaces/{WS}/Workers/{ALICE}"),
        json!({}),
        "v1",
    )
    .await;
    assert_eq!((st, body["code"].as_u64()), (401, Some(20104)));
}

#[tokio::test]
async fn rest_auth_failures() {
    let sim = start(None).await;
    let c = reqwest::Client::new();
    let url = format!("{}/v1/Workspaces/{WS}/Workers", sim.base_url());
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], 20003);
    assert_eq!(
        body["more_info"],
        "https://www.twilio.com/docs/errors/20003"
    );
    assert_eq!(
        c.get(&url)
            .basic_auth(SUB_KEY, Some("wrong"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // The parent account may act on its subaccount's workspace; the subaccount sees it too.
    assert_eq!(
        c.get(&url)
            .basic_auth(MASTER, Some(MASTER_TOKEN))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (st, list) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Workers"),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(list["meta"]["key"], "workers");
    assert_eq!(list["workers"].as_array().unwrap().len(), 2);
}
