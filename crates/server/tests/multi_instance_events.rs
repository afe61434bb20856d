//! Two server instances on one PostgreSQL database: an event published by instance A reaches the sockets of
//! instance B through LISTEN/NOTIFY. On SQLite (single instance) the hub delivers in-process.

mod common;

use std::time::Duration;

use common::*;
use tsunagi_server::db::Backend;
use tsunagi_server::events::AgentEvent;
use tsunagi_server::{AppState, Db};

#[tokio::test]
async fn an_event_published_on_one_instance_reaches_the_other() {
    let a = test_app().await;
    let event = AgentEvent::CallEnded {
        task_sid: TASK.into(),
        reason: Some("x".into()),
    };
    if a.state.db.backend == Backend::Sqlite {
        a.state
            .hub
            .listen_postgres()
            .await
            .expect("no-op on SQLite");
        let mut rx = a.state.hub.subscribe();
        a.state.hub.publish("agent_1024", &event).await.unwrap();
        let d = rx.recv().await.unwrap();
        assert_eq!(d.agent_id, "agent_1024");
        return;
    }
    let db_b = Db::connect(a.state.db.url(), 2)
        .await
        .expect("second instance");
    let b = AppState::new(config("http://127.0.0.1:9"), db_b).unwrap();
    a.state.hub.listen_postgres().await.unwrap();
    b.hub.listen_postgres().await.unwrap();
    let mut rx_b = b.hub.subscribe();
    let mut rx_a = a.state.hub.subscribe();
    a.state.hub.publish("agent_1024", &event).await.unwrap();
    // Safety net only: NOTIFY arrives in milliseconds.
    let d = tokio::time::timeout(Duration::from_secs(10), rx_b.recv())
        .await
        .expect("delivered to B")
        .unwrap();
    assert_eq!(d.agent_id, "agent_1024");
    let v: serde_json::Value = serde_json::from_str(&d.payload).unwrap();
    assert_eq!(v["type"], "call.ended");
    assert_eq!(v["task_sid"], TASK);
    // The publishing instance hears its own notification exactly like the others.
    let d = tokio::time::timeout(Duration::from_secs(10), rx_a.recv())
        .await
        .expect("delivered to A")
        .unwrap();
    assert_eq!(d.agent_id, "agent_1024");
}
