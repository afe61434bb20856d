//! The supervisor roster: TaskRouter `worker.activity.update` events from the stand-in update presence, and
//! supervisors (only) get the roster on connect and after changes, batched per interval.

mod common;

use axum::http::StatusCode;
use common::sim::*;
use common::*;
use futures_util::StreamExt as _;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;
use tsunagi_server::auth::Role;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(public: &str, session: &str) -> Ws {
    let mut req = format!("{}/v1/events", public.replace("http://", "ws://"))
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {session}").parse().unwrap(),
    );
    req.headers_mut()
        .insert("x-client-version", "1.0.0".parse().unwrap());
    tokio_tungstenite::connect_async(req)
        .await
        .expect("connect")
        .0
}

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), ws.next())
            .await
            .expect("a message in time");
        if let Message::Text(t) = frame.expect("open").expect("frame") {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

fn activity_of<'a>(roster: &'a Value, agent: &str) -> &'a str {
    roster["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agent_id"] == agent)
        .map_or("", |a| a["activity"].as_str().unwrap())
}

#[tokio::test]
async fn supervisors_get_the_roster_and_agents_do_not() {
    let s = stack(true).await;
    s.app.seed_crm().await;
    s.app
        .add_agent("agent_2048", "sato", "pw2", Some(DEPT_WORKER), Role::Agent)
        .await;
    s.app
        .add_agent("agent_9001", "yamamoto", "pw9", None, Role::Supervisor)
        .await;
    let sup = s.app.login("yamamoto", "pw9").await;
    let agent = s.app.login("tanaka", "pw").await;
    let mut sup_ws = connect(&s.public, &sup).await;
    let mut agent_ws = connect(&s.public, &agent).await;

    let first = next_json(&mut sup_ws).await;
    assert_eq!(first["type"], "roster");
    assert_eq!(
        first["agents"].as_array().unwrap().len(),
        2,
        "agents with a worker: {first}"
    );

    s.set_activity(OWNER_WORKER, AVAILABLE).await;
    s.set_activity(DEPT_WORKER, AVAILABLE).await;
    s.set_activity(OWNER_WORKER, "WA77777777777777777777777777777777")
        .await;
    let mut pushes = 0;
    loop {
        let r = next_json(&mut sup_ws).await;
        assert_eq!(r["type"], "roster");
        pushes += 1;
        if activity_of(&r, "agent_1024") == "WrapUp" && activity_of(&r, "agent_2048") == "Available"
        {
            break;
        }
        assert!(pushes <= 3, "more roster pushes than changes");
    }

    // A late, older event (a retry delivered out of order) does not move presence back.
    let stale = [
        ("EventType", "worker.activity.update"),
        ("Sid", "EV00000000000000000000000000000999"),
        ("WorkerSid", OWNER_WORKER),
        ("WorkerActivityName", "Offline"),
        ("TimestampMs", "1000"),
    ];
    for _ in 0..2 {
        assert_eq!(
            s.app
                .send(signed_form_for(
                    &s.public,
                    "/twilio/taskrouter/events",
                    &stale
                ))
                .await
                .0,
            StatusCode::NO_CONTENT
        );
    }
    let (status, roster) = s.app.json(authed("GET", "/v1/roster", &sup, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(activity_of(&roster, "agent_1024"), "WrapUp");
    let (status, _) = s.app.json(authed("GET", "/v1/roster", &agent, None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The agent's socket saw no roster: its first message is the one addressed to it.
    let ended = tsunagi_server::events::AgentEvent::CallEnded {
        task_sid: TASK.into(),
        reason: None,
    };
    s.app.state.hub.publish("agent_1024", &ended).await.unwrap();
    assert_eq!(next_json(&mut agent_ws).await["type"], "call.ended");
}
