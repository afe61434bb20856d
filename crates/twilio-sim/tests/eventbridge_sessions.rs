//! EventBridge session rules over real sockets: `"\n"` keepalives, one `init` per socket,
//! `closeExistingSessions=true` closing the worker's older socket with 4409, and a token that expires while the
//! socket is open getting an `error` frame with 20104 and a close.

mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn keepalive_close_existing_and_expiry() {
    let sim = start(None).await;
    let token = worker_token(ALICE, 3600);
    let mut first = connect(&sim, &token, false).await;
    assert_eq!(next_event(&mut first).await.unwrap()["event_type"], "init");
    let mut keepalives = 0;
    let mut inits = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1000);
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, first.next()).await {
        match m {
            Message::Text(t) if t.as_str() == "\n" => keepalives += 1,
            Message::Text(t) if t.contains("\"init\"") => inits += 1,
            _ => {}
        }
    }
    assert!(
        keepalives >= 2,
        "heartbeat_ms = 300 gives a keepalive text frame every 300 ms ({keepalives})"
    );
    assert_eq!(inits, 0, "exactly one init per socket");

    let mut second = connect(&sim, &token, true).await;
    assert_eq!(next_event(&mut second).await.unwrap()["event_type"], "init");
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), first.next())
            .await
            .expect("close in time")
        {
            Some(Ok(Message::Close(Some(c)))) => break c,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(closed.code), 4409);
    assert_eq!(closed.reason.as_str(), "closeExistingSessions");

    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/_sim/tokens/expire", sim.base_url()))
        .body(json!({"token": token}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let err = next_event(&mut second)
        .await
        .expect("error frame before close");
    assert_eq!(err["event_type"], "error");
    assert_eq!(err["payload"]["code"], 20104);
    assert!(
        next_event(&mut second).await.is_none(),
        "then the socket closes"
    );
    let mut open = usize::MAX;
    for _ in 0..40 {
        let sockets: serde_json::Value = c
            .get(format!("{}/_sim/sockets", sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        open = sockets["sockets"].as_array().map_or(usize::MAX, Vec::len);
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open, 0, "both sockets are gone from /_sim/sockets");
}
