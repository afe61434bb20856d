//! Twilsock over a real socket: `init` with a Sync token, a tunnelled document create + subscription, a REST
//! write fanned out as a `notification`, and a malformed frame answered with `close` 406 (no panic, socket ends).

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::sid::{AccountSid, ApiKeySid};
use tsunagi_twilio::token::{AccessToken, SyncGrant};
use tsunagi_twilio::twilsock;

fn sync_token() -> String {
    let mut t = AccessToken::new(
        SUB.parse::<AccountSid>().unwrap(),
        SUB_KEY.parse::<ApiKeySid>().unwrap(),
        "alice",
    );
    t.data_sync = Some(SyncGrant {
        service_sid: Some(IS.parse().unwrap()),
        endpoint_id: Some("alice-desktop".into()),
    });
    t.to_jwt(SUB_SECRET, now_secs()).unwrap()
}

fn frame(method: &str, id: &str, extra: Value, body: Option<Value>) -> Message {
    let mut h: Map<String, Value> = extra.as_object().cloned().unwrap_or_default();
    h.insert("method".into(), method.into());
    h.insert("id".into(), id.into());
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    Message::Binary(twilsock::encode(h, payload.as_bytes()).unwrap().into())
}

async fn next(ws: &mut Ws, want: impl Fn(&twilsock::Frame) -> bool) -> twilsock::Frame {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("frame in time")
            .expect("open")
            .expect("ok");
        if let Message::Binary(b) = msg {
            let f = twilsock::decode(&b).expect("valid frame");
            if want(&f) {
                return f;
            }
        }
    }
}

#[tokio::test]
async fn init_subscribe_and_rest_fanout() {
    let sim = start(None).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/v3/wsconnect", sim.ws_url()))
        .await
        .unwrap();
    ws.send(frame(
        "init",
        "TM1",
        json!({"token": sync_token(), "capabilities": ["client_update"]}),
        None,
    ))
    .await
    .unwrap();
    let init = next(&mut ws, |f| f.id() == "TM1").await;
    assert_eq!(init.header["status"]["code"], 200);
    assert_eq!(
        init.header["account_descriptor"]["instance_sids"]["data_sync"],
        IS
    );

    let req = |id: &str, method: &str, path: &str, body: Value| {
        frame(
            "message",
            id,
            json!({"active_grant": "data_sync", "payload_type": "application/json", "http_request": {"host": "cds.us1.twilio.com", "path": path, "method": method, "params": {}, "headers": {}}}),
            Some(body),
        )
    };
    ws.send(req(
        "TM2",
        "POST",
        "/v3/Documents",
        json!({"unique_name": "agent.alice.active", "data": {"s": "idle"}}),
    ))
    .await
    .unwrap();
    let created = next(&mut ws, |f| f.id() == "TM2").await;
    assert_eq!(created.header["http_status"]["code"], 201);
    let sid = created.payload_json()["sid"].as_str().unwrap().to_owned();
    ws.send(req("TM3", "POST", "/v4/Subscriptions", json!({"event_protocol_version": 4, "action": "establish", "correlation_id": 77, "requests": [{"object_sid": sid, "object_type": "document", "last_event_id": 0}]}))).await.unwrap();
    assert_eq!(
        next(&mut ws, |f| f.id() == "TM3").await.header["http_status"]["code"],
        202
    );
    let est = next(&mut ws, |f| f.method() == "notification").await;
    assert_eq!(est.payload_json()["event_type"], "subscription_established");
    assert_eq!(est.payload_json()["correlation_id"], 77);

    let (st, _) = rest_sync(
        &sim,
        &format!("/v1/Services/{IS}/Documents/agent.alice.active"),
        &[("Data", r#"{"s":"on-call","name":"山田"}"#)],
    )
    .await;
    assert_eq!(st, 200);
    let n = next(&mut ws, |f| f.method() == "notification").await;
    assert_eq!(n.header["message_type"], "com.twilio.rtd.cds.document");
    let ev = n.payload_json();
    assert_eq!(ev["event_type"], "document_updated");
    assert_eq!(ev["event"]["document_data"]["name"], "山田");

    ws.send(Message::Binary(b"TWILSOCK V3.0 999\r\n{}".to_vec().into()))
        .await
        .unwrap();
    let close = next(&mut ws, |f| f.method() == "close").await;
    assert_eq!(close.header["status"]["code"], 406);
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(m)) = ws.next().await {
            if matches!(m, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the socket ends after a malformed frame");
    let (st, _) = rest_sync(
        &sim,
        &format!("/v1/Services/{IS}/Documents/agent.alice.active"),
        &[],
    )
    .await;
    assert_eq!(st, 200, "still serving");
}

async fn rest_sync(
    sim: &tsunagi_twilio_sim::Sim,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let c = reqwest::Client::new();
    let url = format!("{}{path}", sim.base_url());
    let req = if form.is_empty() {
        c.get(url)
    } else {
        c.post(url).form(form)
    };
    let r = req
        .basic_auth(SUB_KEY, Some(SUB_SECRET))
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}
