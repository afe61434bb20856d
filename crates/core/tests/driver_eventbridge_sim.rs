//! The tokio driver against the local Twilio stand-in, over real sockets on 127.0.0.1: sign in (token, EventBridge
//! `init`, resync, Available), a task routed to the worker rings once, Answer accepts the reservation through the
//! REST proxy before the call, wrap-up completes the task; and a canceled task stops the ring.
//!
//! The webview's side (the Voice SDK `Device`) is played by the test: it answers the driver's Device actions.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc;
use tsunagi_core::backoff::Backoff;
use tsunagi_core::driver::{Driver, DriverConfig, DriverIo, TokenReply, TokenSource};
use tsunagi_core::{
    Action, CallParams, CallPhase, CallSid, Command, ConnectionState, DeviceEvent, Event, Input,
    PresenceState, RingStopReason, SessionConfig, SocketKind, SupervisorConfig, Target, TaskSid,
};
use tsunagi_twilio::token::{AccessToken, TaskRouterGrant};
use tsunagi_twilio::Pii;
use tsunagi_twilio_sim::{Config, Sim};

const MASTER: &str = "AC00000000000000000000000000000001";
const SUB: &str = "AC00000000000000000000000000000002";
const SUB_KEY: &str = "SK00000000000000000000000000000002";
const SUB_SECRET: &str = "sub-key-secret";
const WS: &str = "WS00000000000000000000000000000001";
const ALICE: &str = "WK00000000000000000000000000000001";

fn config() -> Config {
    let text = format!(
        r#"
seed = 5
heartbeat_ms = 500
disconnect_grace_ms = 60000
webhook_retry_delays_ms = [50]
[[accounts]]
sid = "{MASTER}"
auth_token = "master-auth-token"
api_keys = [{{ sid = "SK00000000000000000000000000000001", secret = "master-key-secret" }}]
[[accounts]]
sid = "{SUB}"
parent = "{MASTER}"
auth_token = "sub-auth-token"
api_keys = [{{ sid = "{SUB_KEY}", secret = "{SUB_SECRET}" }}]
[[workspaces]]
account = "{SUB}"
sid = "{WS}"
friendly_name = "Support"
activities = [{{ name = "Offline", available = false }}, {{ name = "Available", available = true }}, {{ name = "Break", available = false }}]
queues = [{{ name = "All" }}]
workers = [{{ sid = "{ALICE}", name = "alice", attributes = {{ email = "alice@example.jp" }} }}]
[[workspaces.workflows]]
name = "inbound"
configuration = '{{"task_routing":{{"filters":[{{"expression":"1==1","targets":[{{"queue":"All"}}]}}]}}}}'
"#
    );
    Config::from_toml(&text).expect("sim config")
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Mints worker tokens the way the companion server does (subaccount API key, task_router grant).
struct MintedTokens;

impl TokenSource for MintedTokens {
    async fn fetch(&self) -> TokenReply {
        let mut t = AccessToken::new(SUB.parse().unwrap(), SUB_KEY.parse().unwrap(), "alice");
        t.ttl_secs = 3600;
        t.task_router = Some(TaskRouterGrant::worker(
            WS.parse().unwrap(),
            ALICE.parse().unwrap(),
        ));
        let now = now_unix();
        match t.to_jwt(SUB_SECRET, now) {
            Ok(jwt) => TokenReply::Issued {
                token: Pii(jwt),
                expires_unix: now + 3600,
            },
            Err(_) => TokenReply::Failed,
        }
    }
}

async fn rest(sim: &Sim, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .basic_auth(SUB_KEY, Some(SUB_SECRET))
        .form(form)
        .send()
        .await
        .expect("sim REST")
        .json()
        .await
        .unwrap_or(Value::Null)
}

/// Waits (≤ 10 s) for the first action matching `pred`, skipping others.
async fn wait_for(
    actions: &mut mpsc::UnboundedReceiver<Action>,
    what: &str,
    pred: impl Fn(&Action) -> bool,
) -> Action {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, actions.recv()).await {
            Ok(Some(a)) if pred(&a) => return a,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("driver stopped before {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

async fn wait_until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn signed_in() -> (Sim, DriverIo) {
    signed_in_with(SessionConfig::default()).await
}

async fn signed_in_with(session: SessionConfig) -> (Sim, DriverIo) {
    let sim = Sim::start_on(config(), "127.0.0.1:0").await.expect("sim");
    let (driver, mut io) = Driver::new(
        DriverConfig {
            eventbridge_ws: format!("{}/v1/wschannels", sim.ws_url()),
            eventbridge_rest: format!("{}/v1/wschannels", sim.base_url()),
            session,
        },
        MintedTokens,
    );
    tokio::spawn(driver.run());
    io.inputs
        .send(Input::Command(Command::Login))
        .await
        .unwrap();
    wait_for(&mut io.actions, "connected", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                state: ConnectionState::Connected,
                ..
            })
        )
    })
    .await;
    let path = format!("/v1/Workspaces/{WS}/Workers/{ALICE}");
    wait_until("worker Available in TaskRouter", async || {
        rest(&sim, reqwest::Method::GET, &path, &[]).await["activity_name"] == "Available"
    })
    .await;
    (sim, io)
}

async fn create_task(sim: &Sim) -> TaskSid {
    let attrs = json!({
        "type": "inbound_call",
        "from": "+81312345678",
        "customer_id": "C-000123",
        "customer_name_enc": "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90",
    })
    .to_string();
    let task = rest(
        sim,
        reqwest::Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks"),
        &[("Attributes", &attrs)],
    )
    .await;
    task["sid"]
        .as_str()
        .and_then(|s| TaskSid::parse(s).ok())
        .unwrap_or_else(|| panic!("task not created: {task}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routed_call_rings_answers_in_order_and_completes() {
    let (sim, mut io) = signed_in().await;
    let task = create_task(&sim).await;
    let target = Target::Task(task);

    let ring = wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    let Action::Emit(Event::Ringing { crm, caller, .. }) = ring else {
        unreachable!()
    };
    assert_eq!(caller.unwrap().expose(), "+81312345678");
    assert_eq!(crm.unwrap().customer_name.as_deref(), Some("山田 花子"));

    // The webview forwards Device.incoming with the TaskSid custom parameter, then the agent answers.
    let call = CallSid::from_u128(77);
    let params = CallParams {
        task: Some(task),
        reservation: None,
        caller: None,
    };
    io.inputs
        .send(Input::Device(DeviceEvent::Incoming { call, params }))
        .await
        .unwrap();
    io.inputs
        .send(Input::Command(Command::Answer { target }))
        .await
        .unwrap();
    wait_for(&mut io.actions, "accept call", |a| {
        *a == Action::AcceptCall { call }
    })
    .await;
    // The reservation was accepted (through the proxy) before the driver asked the Device to accept the call.
    let t = rest(
        &sim,
        reqwest::Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[],
    )
    .await;
    assert_eq!(t["assignment_status"], "assigned", "{t}");

    io.inputs
        .send(Input::Device(DeviceEvent::Accepted { call }))
        .await
        .unwrap();
    wait_for(&mut io.actions, "connected", |a| {
        matches!(
            a,
            Action::Emit(Event::CallState {
                phase: CallPhase::Connected,
                ..
            })
        )
    })
    .await;
    io.inputs
        .send(Input::Device(DeviceEvent::Disconnected { call }))
        .await
        .unwrap();
    wait_for(&mut io.actions, "wrap-up", |a| {
        matches!(
            a,
            Action::Emit(Event::CallState {
                phase: CallPhase::WrapUp,
                ..
            })
        )
    })
    .await;
    io.inputs
        .send(Input::Command(Command::CompleteWrapup { task }))
        .await
        .unwrap();
    wait_for(&mut io.actions, "ended", |a| {
        matches!(
            a,
            Action::Emit(Event::CallState {
                phase: CallPhase::Ended,
                ..
            })
        )
    })
    .await;
    let path = format!("/v1/Workspaces/{WS}/Tasks/{task}");
    wait_until("task completed in TaskRouter", async || {
        rest(&sim, reqwest::Method::GET, &path, &[]).await["assignment_status"] == "completed"
    })
    .await;
    wait_for(&mut io.actions, "presence restored", |a| {
        matches!(
            a,
            Action::Emit(Event::Presence {
                state: PresenceState::Available,
                ..
            })
        )
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canceled_task_stops_the_ring() {
    let (sim, mut io) = signed_in().await;
    let task = create_task(&sim).await;
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    rest(
        &sim,
        reqwest::Method::POST,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[("AssignmentStatus", "canceled"), ("Reason", "caller left")],
    )
    .await;
    let stopped = wait_for(&mut io.actions, "ring stopped", |a| {
        matches!(a, Action::Emit(Event::RingStopped { .. }))
    })
    .await;
    assert_eq!(
        stopped,
        Action::Emit(Event::RingStopped {
            target: Target::Task(task),
            reason: RingStopReason::Canceled
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_socket_reconnects_and_the_resync_recovers_a_missed_reservation() {
    // A slow, deterministic (seeded) first retry leaves a gap in which TaskRouter pushes to nobody.
    let mut session = SessionConfig::default();
    let mut tr = SupervisorConfig::for_socket(SocketKind::TaskRouter);
    tr.backoff = Backoff {
        base: Duration::from_secs(3),
        cap: Duration::from_secs(3),
    };
    session.sockets = vec![(SocketKind::TaskRouter, tr)];
    session.seed = 0x7475_6e61_676a; // an own seed is kept by the driver (the default one is replaced)
    let (sim, mut io) = signed_in_with(session).await;

    reqwest::Client::new()
        .post(format!("{}/_sim/sockets/drop", sim.base_url()))
        .json(&json!({}))
        .send()
        .await
        .expect("drop");
    let Action::Emit(Event::Connection {
        state: ConnectionState::Reconnecting { retry_in_ms, .. },
        ..
    }) = wait_for(&mut io.actions, "reconnecting", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                state: ConnectionState::Reconnecting { .. },
                ..
            })
        )
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        retry_in_ms >= 500,
        "the seeded retry leaves a gap: {retry_in_ms} ms"
    );

    // Routed while the socket is down: reservation.created goes nowhere.
    let task = create_task(&sim).await;
    let mut rings = 0;
    let mut reconnected = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, io.actions.recv()).await {
        match a {
            Action::Emit(Event::Ringing { target, .. }) => {
                assert!(
                    reconnected,
                    "no socket, no push: the ring comes from the resync"
                );
                assert_eq!(target, Target::Task(task));
                rings += 1;
            }
            Action::Emit(Event::Connection {
                state: ConnectionState::Connected,
                ..
            }) => reconnected = true,
            _ => {}
        }
        if rings == 1 {
            // Let any duplicate (a replayed push) show up before concluding.
            tokio::time::sleep(Duration::from_millis(300)).await;
            while let Ok(a) = io.actions.try_recv() {
                assert!(
                    !matches!(a, Action::Emit(Event::Ringing { .. })),
                    "one ring per task"
                );
            }
            break;
        }
    }
    assert_eq!(
        rings, 1,
        "the missed reservation rings once after the resync"
    );
}
