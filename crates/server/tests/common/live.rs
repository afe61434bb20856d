//! A live inbound call through the stand-in (customer → Voice webhook → task → owner's Device answered, context
//! pushed), plus its steps for tests that take them one by one: sign an agent in with a Device and an events
//! socket, the known customer dials, the agent is told the call's context.

use axum::http::StatusCode;
use futures_util::StreamExt as _;
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

use tsunagi_twilio::pstream::ServerInvite;

use super::device::{param, Device};
use super::sim::*;
use super::*;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON event on an `/v1/events` socket (60 s safety net for loaded CI machines).
pub async fn next_event(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
            .await
            .expect("an event in time");
        if let Message::Text(t) = frame.expect("open").expect("frame") {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The next event of `kind` (others are skipped).
pub async fn event_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let e = next_event(ws).await;
        if e["type"] == kind {
            return e;
        }
    }
}

/// Opens `{public}/v1/events` (a server really listening) for `session`, as client `version` if given.
pub async fn open_events(
    public: &str,
    session: &str,
    version: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("{}/v1/events", public.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    let headers = req.headers_mut();
    headers.insert(
        "authorization",
        format!("Bearer {session}").parse().unwrap(),
    );
    if let Some(v) = version {
        headers.insert("x-client-version", v.parse().unwrap());
    }
    Ok(tokio_tungstenite::connect_async(req).await?.0)
}

/// Opens `/v1/events` for `session` as client 1.0.0.
pub async fn events_socket(s: &Stack, session: &str) -> Ws {
    open_events(&s.public, session, Some("1.0.0"))
        .await
        .expect("events socket")
}

/// Logs `login` in and registers a Device with a token from the server.
pub async fn signed_in(s: &Stack, login: &str, password: &str) -> (String, Device) {
    let session = s.app.login(login, password).await;
    let (status, token) = s
        .app
        .json(authed("POST", "/v1/token", &session, Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::OK);
    let device = Device::register(&s.sim.ws_url(), token["token"].as_str().unwrap()).await;
    (session, device)
}

/// The seeded customer's number (山田 花子, owner agent_1024).
pub const CUSTOMER_PHONE: &str = "+81312345678";

/// The seeded customer dials the company number (a stand-in PSTN caller, sending `tone_hz` if given); returns
/// the customer's CallSid.
pub async fn customer_dials(s: &Stack, tone_hz: Option<f64>) -> String {
    let mut call = json!({"from": CUSTOMER_PHONE, "to": COMPANY_NUMBER});
    if let Some(hz) = tone_hz {
        call["tone_hz"] = json!(hz);
    }
    let (status, placed) = s.control("/_sim/calls", call).await;
    assert_eq!(status, 200, "{placed}");
    placed["sid"].as_str().expect("call sid").to_owned()
}

/// The `call.context` event of `customer`'s call on an events socket (others are skipped).
pub async fn context_for(events: &mut Ws, customer: &str) -> Value {
    loop {
        let e = next_event(events).await;
        if e["type"] == "call.context" && e["customer_call_sid"] == customer {
            return e;
        }
    }
}

pub struct Live {
    pub s: Stack,
    pub session: String,
    pub events: Ws,
    pub task: String,
    pub cf: String,
    pub customer: String,
    pub agent_leg: String,
    pub device: Device,
    /// The invite the owner's Device answered.
    pub invite: ServerInvite,
}

/// Brings a call from the customer to the owner's answered Device, with the context pushed.
pub async fn live_call() -> Live {
    live_call_on(stack(true).await).await
}

/// Like [`live_call`] on a given stack.
pub async fn live_call_on(s: Stack) -> Live {
    s.app.seed_crm().await;
    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    let (session, mut device) = signed_in(&s, "tanaka", "pw").await;
    let mut events = events_socket(&s, &session).await;

    // The customer (a known caller) dials the company number.
    let customer = customer_dials(&s, Some(440.0)).await;

    // The owner's Device rings with the join keys, and answers.
    let invite = device.invite().await;
    let task = param(&invite, "TaskSid");
    assert!(
        task.starts_with("WT") && param(&invite, "ReservationSid").starts_with("WR"),
        "{:?}",
        invite.parameters
    );
    device.answer(&invite).await;
    let agent_leg = invite.callsid.to_string();

    // The server tells the agent which conference and customer this is.
    let ctx = context_for(&mut events, &customer).await;
    assert_eq!(ctx["task_sid"], task.as_str());
    assert_eq!(ctx["agent_call_sid"], agent_leg.as_str());
    assert_eq!(ctx["customer"]["name"], "山田 花子");
    let cf = ctx["conference_sid"].as_str().unwrap().to_owned();
    let (_, conf) = s
        .voice(Method::GET, &format!("Conferences/{cf}.json"), &[])
        .await;
    assert_eq!(conf["friendly_name"], task.as_str());
    assert_eq!(conf["region"], "jp1");
    Live {
        s,
        session,
        events,
        task,
        cf,
        customer,
        agent_leg,
        device,
        invite,
    }
}

impl Live {
    /// Ends the call through the server and waits for its recording's archive job.
    pub async fn hang_up_and_get_job(&self) -> tsunagi_server::recordings::Job {
        let (status, body) = self.control(&self.session, "hangup", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let db = &self.s.app.state.db;
        self.s
            .eventually("the recording's archive job", || async {
                let jobs = tsunagi_server::recordings::store::for_owner(db, &self.task)
                    .await
                    .unwrap();
                jobs.into_iter().next()
            })
            .await
    }

    /// `GET /v1/recordings/{re}` as the call's agent: the archived WAV (asserted 200, `audio/wav`).
    pub async fn fetched_recording(&self, re: &str) -> Vec<u8> {
        let uri = format!("/v1/recordings/{re}");
        let req = authed("GET", &uri, &self.session, Some("1.0.0"));
        let (status, body, headers) = self.s.app.send(req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers["content-type"], "audio/wav");
        body
    }

    /// Waits until the archive job of recording `re` is `done`.
    pub async fn archived(&self, re: &str) -> tsunagi_server::recordings::Job {
        let db = &self.s.app.state.db;
        self.s
            .eventually("the archive to finish", || async {
                let j = tsunagi_server::recordings::store::get(db, re)
                    .await
                    .unwrap()
                    .unwrap();
                (j.state == tsunagi_server::recordings::State::Done).then_some(j)
            })
            .await
    }

    /// The conference's participants right now.
    pub async fn participants(&self) -> Vec<Value> {
        let (_, p) = self
            .s
            .voice(
                Method::GET,
                &format!("Conferences/{}/Participants.json", self.cf),
                &[],
            )
            .await;
        p["participants"].as_array().cloned().unwrap_or_default()
    }

    /// The customer's participant.
    pub async fn customer_participant(&self) -> Value {
        self.s
            .voice(
                Method::GET,
                &format!(
                    "Conferences/{}/Participants/{}.json",
                    self.cf, self.customer
                ),
                &[],
            )
            .await
            .1
    }

    /// `POST /v1/calls/{task}/{op}` as `session` with an optional JSON body.
    pub async fn control(
        &self,
        session: &str,
        op: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let uri = format!("/v1/calls/{}/{op}", self.task);
        let body = body.map(|v| v.to_string());
        let req = authed_post(&uri, session, body.as_deref());
        self.s.app.json(req).await
    }
}
