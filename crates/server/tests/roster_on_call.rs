//! The roster says who is on a call (issue #8: the Team view's badge lagged behind answers and hang-ups): a
//! supervisor's `/v1/events` roster push carries `on_call` (direction and task) once the agent answered a routed
//! call through the stand-in, `GET /v1/roster` too, and the next push clears it when the call ends. The field is
//! optional: present as `null` for agents not on a call.

mod common;

use axum::http::StatusCode;
use common::live::*;
use common::sim::*;
use common::*;
use serde_json::Value;

/// tanaka's line of a roster, if listed.
fn tanaka(roster: &Value) -> Option<Value> {
    roster["agents"]
        .as_array()?
        .iter()
        .find(|a| a["agent_id"] == "agent_1024")
        .cloned()
}

/// The next roster push whose line for tanaka satisfies `want`.
async fn roster_where(ws: &mut Ws, want: impl Fn(&Value) -> bool) -> Value {
    loop {
        let roster = event_of(ws, "roster").await;
        if let Some(line) = tanaka(&roster).filter(|l| want(l)) {
            return line;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_roster_push_says_who_is_on_a_call_and_clears_it_when_the_call_ends() {
    let s = stack(true).await;
    s.app.add_supervisor().await;
    let sup = s.app.login("yamamoto", "pw9").await;
    let mut roster = events_socket(&s, &sup).await;
    let first = event_of(&mut roster, "roster").await;
    for line in first["agents"].as_array().unwrap() {
        assert!(
            line.get("on_call").is_some_and(Value::is_null),
            "nobody is on a call yet: {line}"
        );
    }

    // tanaka answers a routed call (the stand-in's customer, tanaka's Device).
    let l = live_call_on(s).await;
    let line = roster_where(&mut roster, |l| !l["on_call"].is_null()).await;
    assert_eq!(line["on_call"]["direction"], "inbound");
    assert_eq!(line["on_call"]["task_sid"], l.task.as_str());
    let (status, listed) = l.s.app.json(authed("GET", "/v1/roster", &sup, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        tanaka(&listed).expect("tanaka listed")["on_call"]["task_sid"],
        l.task.as_str(),
        "the resync reading says it too"
    );

    // The call ends (hang-up through the server): the next push clears the badge.
    let (status, body) = l.control(&l.session, "hangup", None).await;
    assert!(status.is_success(), "{status} {body}");
    let line = roster_where(&mut roster, |l| l["on_call"].is_null()).await;
    assert!(line.get("on_call").is_some(), "the field stays, as null");
    let (_, listed) = l.s.app.json(authed("GET", "/v1/roster", &sup, None)).await;
    assert!(tanaka(&listed).unwrap()["on_call"].is_null());
}
