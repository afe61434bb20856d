//! A customer's phone call end to end against the local Twilio stand-in, with nothing simulated on the server side:
//! a scripted PSTN caller dials the stand-in number → the stand-in POSTs the server's signed Voice webhook →
//! the server's `<Enqueue>` creates the TaskRouter task → reservation → the server's assignment callback answers
//! the `conference` instruction → the agent's registered Voice client (token issued by the server) rings with
//! `TaskSid`/`ReservationSid` → answers → caller and agent are in one conference, the server learns the
//! conference from its status callbacks → the server's hang-up ends it → the task wraps and completes.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;
use tsunagi_twilio::pstream::{
    decode_params, ClientAnswer, ClientMessage, Frame, Listen, Register, RegisterMedia,
    ServerMessage, HEARTBEAT,
};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg};
use tsunagi_twilio_sim::{Config as SimConfig, Sim};

const NUMBER: &str = "+81501234567";
const CUSTOMER_PHONE: &str = "+81312345678";
const AVAILABLE: &str = "WA00000000000000000000000000000002";
const WORKFLOW: &str = "WW66666666666666666666666666666666";

fn sim_config(public: &str) -> String {
    format!(
        r#"
seed = 11
webhook_retry_delays_ms = [50, 50]
[[accounts]]
sid = "{ACCOUNT}"
auth_token = "{AUTH_TOKEN}"
api_keys = [{{ sid = "SK11111111111111111111111111111111", secret = "{KEY_SECRET}" }}]
[[numbers]]
number = "{NUMBER}"
account = "{ACCOUNT}"
voice_url = "{public}/twilio/voice/inbound"
[[workspaces]]
account = "{ACCOUNT}"
sid = "{WORKSPACE}"
friendly_name = "Tsunagi e2e"
event_callback_url = "{public}/twilio/taskrouter/events"
activities = [
  {{ sid = "WA00000000000000000000000000000001", name = "Offline", available = false }},
  {{ sid = "{AVAILABLE}", name = "Available", available = true }},
  {{ sid = "WA77777777777777777777777777777777", name = "WrapUp", available = false }},
]
default_activity = "Offline"
queues = [{{ sid = "WQ99999999999999999999999999999999", name = "All" }}]
workers = [{{ sid = "{OWNER_WORKER}", name = "agent_1024", attributes = {{ contact_uri = "client:agent_1024", department_id = "d12" }} }}]
[[workspaces.workflows]]
sid = "{WORKFLOW}"
name = "inbound"
task_reservation_timeout = 25
assignment_callback_url = "{public}/twilio/taskrouter/assignment"
configuration = '{{"task_routing":{{"filters":[],"default_filter":{{"queue":"All"}}}}}}'
"#
    )
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, m: &ClientMessage) {
    ws.send(Message::Text(m.encode().into()))
        .await
        .expect("send");
}

/// The next PStream message (heartbeats echoed, as the SDK does).
async fn recv(ws: &mut Ws) -> ServerMessage {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a frame within 10 s")
            .expect("socket open")
            .expect("frame");
        let Message::Text(text) = msg else { continue };
        match ServerMessage::decode(text.as_bytes()).expect("decodable") {
            Frame::Heartbeat => ws
                .send(Message::Text(HEARTBEAT.into()))
                .await
                .expect("echo"),
            Frame::Message(m) => return m,
        }
    }
}

async fn eventually<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_call_reaches_the_agent_device_through_the_server() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let public = format!("http://{}", listener.local_addr().expect("addr"));
    let sim = Sim::start_on(
        SimConfig::from_toml(&sim_config(&public)).expect("sim config"),
        "127.0.0.1:0",
    )
    .await
    .expect("sim");
    let app = test_app_from(config_with(&sim.base_url(), &public)).await;
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });
    app.seed_crm().await;
    let http = reqwest::Client::new();
    let tr = |path: &str| format!("{}/v1/Workspaces/{WORKSPACE}/{path}", sim.base_url());
    let r = http
        .post(tr(&format!("Workers/{OWNER_WORKER}")))
        .basic_auth("SK11111111111111111111111111111111", Some(KEY_SECRET))
        .form(&[("ActivitySid", AVAILABLE)])
        .send()
        .await
        .expect("sim");
    assert_eq!(r.status().as_u16(), 200);

    // The agent signs in to the server and registers its Voice client with the server-issued token.
    let session = app.login("tanaka", "pw").await;
    let (status, issued) = app
        .json(authed("POST", "/v1/token", &session, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let (mut device, _) = tokio_tungstenite::connect_async(format!("{}/signal", sim.ws_url()))
        .await
        .expect("signal");
    send(
        &mut device,
        &ClientMessage::Listen(Listen {
            token: issued["token"].as_str().expect("token").into(),
            browserinfo: Default::default(),
            reconnect_timeout: 0,
        }),
    )
    .await;
    assert!(matches!(
        recv(&mut device).await,
        ServerMessage::Connected(_)
    ));
    send(
        &mut device,
        &ClientMessage::Register(Register {
            media: RegisterMedia { audio: true },
        }),
    )
    .await;
    assert!(matches!(recv(&mut device).await, ServerMessage::Ready(_)));

    // The customer calls.
    let r = http
        .post(format!("{}/_sim/calls", sim.base_url()))
        .json(&json!({"from": CUSTOMER_PHONE, "to": NUMBER, "tone_hz": 440.0}))
        .send()
        .await
        .expect("sim");
    assert_eq!(r.status().as_u16(), 200);
    let customer: Value = r.json().await.expect("json");
    let customer_call = customer["sid"].as_str().expect("sid").to_owned();

    // The agent's Device rings with the reconciler's join keys.
    let ServerMessage::Invite(inv) = recv(&mut device).await else {
        panic!("expected invite")
    };
    let params = decode_params(&inv.parameters.params);
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (task, reservation) = (param("TaskSid"), param("ReservationSid"));
    assert!(
        task.starts_with("WT") && reservation.starts_with("WR"),
        "{params:?}"
    );
    assert_eq!(
        inv.parameters.from, CUSTOMER_PHONE,
        "caller id is the customer's number"
    );
    assert_eq!(inv.parameters.to, "client:agent_1024");
    let agent_call = inv.parameters.call_sid.to_string();

    // The task carries the server's CRM attributes (the multibyte name only percent-encoded).
    let t: Value = http
        .get(tr(&format!("Tasks/{task}")))
        .basic_auth("SK11111111111111111111111111111111", Some(KEY_SECRET))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let attrs: Value =
        serde_json::from_str(t["attributes"].as_str().expect("attributes")).expect("json");
    assert_eq!(attrs["call_sid"], customer_call.as_str());
    assert_eq!(attrs["customer_id"], "C-000123");
    assert_eq!(
        attrs["customer_name_enc"],
        "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90"
    );

    let (_leg, answer) = MediaLeg::answer(
        &MediaConfig::default(),
        &inv.sdp,
        LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        },
    )
    .expect("answer");
    send(
        &mut device,
        &ClientMessage::Answer(ClientAnswer {
            callsid: inv.callsid.into(),
            sdp: answer,
        }),
    )
    .await;

    // The server learns the whole tuple from the stand-in's callbacks.
    let active = eventually("the server's active call with its conference", async || {
        let (status, v) = app
            .json(authed(
                "GET",
                "/v1/agents/me/active-call",
                &session,
                Some("1.0.0"),
            ))
            .await;
        (status == StatusCode::OK
            && v["conference_sid"].is_string()
            && v["agent_call_sid"].is_string())
        .then_some(v)
    })
    .await;
    assert_eq!(active["task_sid"], task.as_str());
    assert_eq!(active["reservation_sid"], reservation.as_str());
    assert_eq!(active["customer_call_sid"], customer_call.as_str());
    assert_eq!(active["agent_call_sid"], agent_call.as_str());
    assert_eq!(active["customer"]["name"], "山田 花子");
    let cf = active["conference_sid"].as_str().expect("cf").to_owned();
    let conf: Value = http
        .get(format!("{}/_sim/conferences", sim.base_url()))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let room = conf
        .as_array()
        .and_then(|a| a.iter().find(|c| c["sid"] == cf.as_str()))
        .expect("conference");
    assert_eq!(room["friendly_name"], task.as_str());
    assert_eq!(room["region"], "jp1");
    assert_eq!(room["participants"].as_array().map(Vec::len), Some(2));

    // The agent hangs up through the server: the conference ends, the Device gets `hangup`, the caller's call
    // completes, the task wraps; finishing wrap-up completes it.
    let (status, body) = app
        .json(authed(
            "POST",
            &format!("/v1/calls/{task}/hangup"),
            &session,
            Some("1.0.0"),
        ))
        .await;
    assert!(status.is_success(), "{status} {body}");
    assert!(matches!(recv(&mut device).await, ServerMessage::Hangup(_)));
    eventually("the task to wrap", async || {
        let t: Value = http
            .get(tr(&format!("Tasks/{task}")))
            .basic_auth("SK11111111111111111111111111111111", Some(KEY_SECRET))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (t["assignment_status"] == "wrapping").then_some(())
    })
    .await;
    let c = eventually("the customer's call to complete", async || {
        let c: Value = http
            .get(format!("{}/_sim/calls/{customer_call}", sim.base_url()))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        (c["status"] == "completed").then_some(c)
    })
    .await;
    // Every webhook the call fetched (inbound, wait URL by GET, Enqueue action) passed the server's signature check.
    assert_eq!(c["errors"], json!([]), "{c}");
    assert_eq!(
        c["heard"][0]["detail"], "ja-JP:ただいま電話が混み合っております。このままお待ちください。",
        "{c}"
    );
    let (status, body) = app
        .json(authed(
            "POST",
            &format!("/v1/calls/{task}/complete"),
            &session,
            Some("1.0.0"),
        ))
        .await;
    assert!(status.is_success(), "{status} {body}");
}
