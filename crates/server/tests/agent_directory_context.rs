//! The agent directory (s14 contract §2): every agent but the caller, department then name, presence from the
//! TaskRouter workspace events (`Unknown`/unavailable before the first one), behind the version gate. And the
//! customer's owner and department in the active-call snapshot (§8), `null` when the CRM has none.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{json, Value};
use tsunagi_server::auth::{self, NewAgent, Role};

const SATO_WORKER: &str = "WK55555555555555555555555555555555";
const SUZUKI_WORKER: &str = "WK66666666666666666666666666666666";

async fn agent(
    t: &TestApp,
    id: &str,
    login: &str,
    name: &str,
    worker: Option<&str>,
    dept: Option<&str>,
) {
    auth::create_agent(
        &t.state.db,
        NewAgent {
            id,
            login,
            display_name: name,
            password: None, // sessions are opened directly (Argon2 in debug builds is slow)
            worker_sid: worker,
            department_id: dept,
            role: Role::Agent,
        },
    )
    .await
    .expect("agent");
}

async fn activity(t: &TestApp, worker: &str, name: &str, at_ms: i64) {
    let at = at_ms.to_string();
    let sid = format!("EV{worker}{at_ms}");
    let params = [
        ("EventType", "worker.activity.update"),
        ("WorkerSid", worker),
        ("WorkerActivityName", name),
        ("TimestampMs", at.as_str()),
        ("Sid", sid.as_str()),
    ];
    let (status, _, _) = t
        .send(signed_form("/twilio/taskrouter/events", &params))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

async fn login(t: &TestApp, id: &str) -> String {
    auth::create_session(&t.state.db, id, 3600)
        .await
        .expect("session")
        .0
}

async fn directory(t: &TestApp, session: &str) -> Vec<Value> {
    let (status, body) = t
        .json(authed(
            "GET",
            "/v1/agents/directory",
            session,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["agents"].as_array().expect("agents").clone()
}

#[tokio::test]
async fn directory_lists_everyone_else_sorted_with_presence() {
    let t = test_app().await;
    t.seed_crm().await; // agent_1024 田中 太郎, department d12, worker WK4…
    t.exec("INSERT INTO departments (id, name) VALUES ('d01', '営業一課')")
        .await;
    agent(
        &t,
        "agent_2048",
        "sato",
        "佐藤 花子",
        Some(SATO_WORKER),
        Some("d12"),
    )
    .await;
    agent(
        &t,
        "agent_3072",
        "suzuki",
        "鈴木 一郎",
        Some(SUZUKI_WORKER),
        Some("d01"),
    )
    .await;
    agent(&t, "agent_4096", "aoki", "青木", None, None).await;
    let session = login(&t, "agent_1024").await;

    let before = directory(&t, &session).await;
    let ids: Vec<&str> = before
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["agent_3072", "agent_2048", "agent_4096"],
        "department, then name; the caller excluded"
    );
    assert_eq!(
        before[1],
        json!({"agent_id": "agent_2048", "display_name": "佐藤 花子", "department_id": "d12",
               "worker_sid": SATO_WORKER, "activity": "Unknown", "available": false})
    );
    assert_eq!(before[2]["worker_sid"], Value::Null);
    assert_eq!(before[2]["department_id"], Value::Null);

    // Presence from the workspace events; a late, older event changes nothing.
    activity(&t, SATO_WORKER, "Available", 2_000).await;
    activity(&t, SUZUKI_WORKER, "Break", 2_000).await;
    activity(&t, SATO_WORKER, "Offline", 1_000).await;
    let after = directory(&t, &session).await;
    let of = |id: &str| after.iter().find(|a| a["agent_id"] == id).unwrap().clone();
    assert_eq!(
        (
            of("agent_2048")["activity"].clone(),
            of("agent_2048")["available"].clone()
        ),
        (json!("Available"), json!(true))
    );
    assert_eq!(
        (
            of("agent_3072")["activity"].clone(),
            of("agent_3072")["available"].clone()
        ),
        (json!("Break"), json!(false))
    );
    activity(&t, SATO_WORKER, "Away", 3_000).await;
    let later = directory(&t, &session).await;
    assert_eq!(
        later
            .iter()
            .find(|a| a["agent_id"] == "agent_2048")
            .unwrap()["available"],
        false
    );

    // Another agent sees tanaka, not themselves.
    let sato = login(&t, "agent_2048").await;
    let ids: Vec<String> = directory(&t, &sato)
        .await
        .iter()
        .map(|a| a["agent_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.contains(&"agent_1024".to_owned()) && !ids.contains(&"agent_2048".to_owned()),
        "{ids:?}"
    );

    // Version gate and session auth.
    let (status, body) = t
        .json(authed("GET", "/v1/agents/directory", &session, None))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UPGRADE_REQUIRED,
            Some("CLIENT_UPGRADE_REQUIRED")
        )
    );
    let (status, _) = t
        .json(authed("GET", "/v1/agents/directory", "nope", Some("1.0.0")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn snapshot(t: &TestApp, session: &str) -> Value {
    let (status, body) = t
        .json(authed(
            "GET",
            "/v1/agents/me/active-call",
            session,
            Some("1.0.0"),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn the_active_call_snapshot_carries_the_owner_and_department() {
    let t = test_app().await;
    t.seed_crm().await;
    agent(
        &t,
        "agent_2048",
        "sato",
        "佐藤 花子",
        Some(SATO_WORKER),
        Some("d12"),
    )
    .await;
    t.exec(
        "INSERT INTO customers (id, phone, name) VALUES ('C-000999', '+81399999999', '無所属 様')",
    )
    .await;
    // sato answers a call from tanaka's customer.
    t.exec(&format!(
        "INSERT INTO calls (task_sid, customer_id, agent_id, conference_sid, status, created_at, updated_at) \
         VALUES ('{TASK}', 'C-000123', 'agent_2048', '{CONF}', 'connected', 1, 1)"
    ))
    .await;
    let sato = login(&t, "agent_2048").await;
    let snap = snapshot(&t, &sato).await;
    assert_eq!(
        snap["customer"],
        json!({"id": "C-000123", "name": "山田 花子",
               "owner": {"agent_id": "agent_1024", "display_name": "田中 太郎"},
               "department": {"id": "d12", "name": "法人営業"}})
    );
    // A customer without owner or department: both null (present, not missing).
    t.exec("UPDATE calls SET customer_id = 'C-000999'").await;
    let snap = snapshot(&t, &sato).await;
    let customer = snap["customer"].as_object().unwrap();
    assert_eq!(customer["name"], "無所属 様");
    assert_eq!(
        (customer.get("owner"), customer.get("department")),
        (Some(&Value::Null), Some(&Value::Null))
    );
}
