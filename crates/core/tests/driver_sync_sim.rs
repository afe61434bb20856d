//! The driver's Sync side against the stand-in's Twilsock (real sockets on 127.0.0.1): the agent's presence
//! Document follows the presence and is written on change only; call context the server puts in the agent's
//! inbox Document reaches the ring and the call; after a dropped socket the subscription is re-established with
//! the last event id and the server replays what was missed, once; short tokens expire under a call and are
//! refreshed ahead of time while the call, the Twilsock session and the TaskRouter worker carry on.

mod stand_in;

use std::time::Duration;

use serde_json::{json, Value};
use stand_in::*;
use tsunagi_core::backoff::Backoff;
use tsunagi_core::driver::DriverIo;
use tsunagi_core::{
    Action, Activity, CallPhase, CallSid, Command, ConferenceSid, ConnectionState, Event, Input,
    SessionConfig, SocketKind, SupervisorConfig, Target, TaskSid,
};
use tsunagi_twilio_sim::Sim;

async fn signed_in_sync(session: SessionConfig, tokens: MintedTokens) -> (Sim, DriverIo) {
    signed_in(session, tokens, true).await
}

async fn document(sim: &Sim, name: &str) -> Value {
    rest(
        sim,
        reqwest::Method::GET,
        &format!("/v1/Services/{IS}/Documents/{name}"),
        &[],
    )
    .await
}

/// The server's side: puts call context in alice's inbox (as backend spec §4.6 describes for Sync).
async fn push_inbox(sim: &Sim, data: &Value) {
    let v = rest(
        sim,
        reqwest::Method::POST,
        &format!("/v1/Services/{IS}/Documents/agent.alice.inbox"),
        &[("Data", &data.to_string())],
    )
    .await;
    assert!(v.get("sid").is_some(), "inbox write failed: {v}");
}

async fn inbound_task(sim: &Sim) -> TaskSid {
    let attrs = json!({"type": "inbound_call", "from": "+81312345678", "customer_id": "C-000123"});
    create_task(sim, &attrs).await
}

fn context(task: TaskSid, name: &str, conference: Option<ConferenceSid>) -> Value {
    json!({"type": "call.context", "task_sid": task, "conference_sid": conference,
           "customer": {"id": "C-000123", "name": name}, "seq": 1})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_document_is_written_on_change_only() {
    let (sim, mut io) = signed_in_sync(SessionConfig::default(), MintedTokens::default()).await;
    wait_until("presence Document written", async || {
        document(&sim, "presence.alice").await["data"]
            == json!({"state": "available", "selected": "available"})
    })
    .await;
    let before = document(&sim, "presence.alice").await["revision"].clone();

    io.inputs
        .send(Input::Command(Command::SetPresence {
            activity: Activity::Break,
        }))
        .await
        .unwrap();
    wait_until("Break written", async || {
        document(&sim, "presence.alice").await["data"]["state"] == "break"
    })
    .await;
    let after = document(&sim, "presence.alice").await["revision"].clone();
    assert_ne!(before, after);

    // Choosing the same activity again changes nothing, so nothing is written.
    io.inputs
        .send(Input::Command(Command::SetPresence {
            activity: Activity::Break,
        }))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let doc = document(&sim, "presence.alice").await;
    assert_eq!(doc["revision"], after, "no write without a change: {doc}");
    while let Ok(a) = io.actions.try_recv() {
        assert!(
            !matches!(a, Action::Emit(Event::Error(_))),
            "no error: {a:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_context_reaches_the_ring_and_is_replayed_after_a_drop() {
    // A slow first Sync retry leaves a gap in which the server writes to the inbox (an own seed is kept by the
    // driver, so the first retry is deterministic; the gap is asserted below).
    let mut session = SessionConfig {
        seed: 0x5eed_0001,
        ..SessionConfig::default()
    };
    let mut sync = SupervisorConfig::for_socket(SocketKind::Sync);
    sync.backoff = Backoff {
        base: Duration::from_secs(2),
        cap: Duration::from_secs(2),
    };
    session.sockets = vec![
        (
            SocketKind::TaskRouter,
            SupervisorConfig::for_socket(SocketKind::TaskRouter),
        ),
        (SocketKind::Sync, sync),
    ];
    let (sim, mut io) = signed_in_sync(session, MintedTokens::default()).await;
    wait_until("inbox created", async || {
        document(&sim, "agent.alice.inbox")
            .await
            .get("sid")
            .is_some()
    })
    .await;

    let task = inbound_task(&sim).await;
    let target = Target::Task(task);
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    push_inbox(&sim, &context(task, "山田 花子", None)).await;
    let updated = wait_for(&mut io.actions, "ring updated", |a| {
        matches!(a, Action::Emit(Event::RingUpdated { .. }))
    })
    .await;
    let Action::Emit(Event::RingUpdated { crm, .. }) = updated else {
        unreachable!()
    };
    assert_eq!(crm.unwrap().customer_name.as_deref(), Some("山田 花子"));

    // Answer it (the test plays the webview's Device).
    let call = CallSid::from_u128(77);
    answer(&mut io, task, call).await;
    accepted(&mut io, call).await;

    // The Sync socket drops; the conference becomes known while it is down.
    let dropped = control(&sim, "/_sim/sockets/drop", json!({"kind": "twilsock"})).await;
    assert_eq!(dropped["dropped"], 1, "{dropped}");
    let Action::Emit(Event::Connection {
        state: ConnectionState::Reconnecting { retry_in_ms, .. },
        ..
    }) = wait_for(&mut io.actions, "Sync reconnecting", |a| {
        matches!(
            a,
            Action::Emit(Event::Connection {
                socket: SocketKind::Sync,
                state: ConnectionState::Reconnecting { .. }
            })
        )
    })
    .await
    else {
        unreachable!()
    };
    assert!(
        retry_in_ms >= 300,
        "the seeded retry leaves a gap: {retry_in_ms} ms"
    );
    let conference = ConferenceSid::from_u128(9);
    push_inbox(&sim, &context(task, "山田 花子", Some(conference))).await;

    // Back up: re-established with the last event id, the server replays the write once.
    let mut reconnected = false;
    let mut contexts = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, io.actions.recv()).await {
        match a {
            Action::Emit(Event::Connection {
                socket: SocketKind::Sync,
                state: ConnectionState::Connected,
            }) => reconnected = true,
            Action::Emit(Event::CallContext {
                target: t,
                conference: c,
                ..
            }) => {
                assert!(
                    reconnected,
                    "no socket, no push: the context comes from the replay"
                );
                assert_eq!(t, target);
                contexts.push(c);
                tokio::time::sleep(Duration::from_millis(500)).await;
                while let Ok(a) = io.actions.try_recv() {
                    if let Action::Emit(Event::CallContext { conference, .. }) = a {
                        contexts.push(conference);
                    }
                }
                break;
            }
            _ => {}
        }
    }
    assert_eq!(contexts, [Some(conference)], "replayed exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expiring_during_a_call_are_refreshed_ahead_and_nothing_drops() {
    // 6 s tokens: refreshed at half-life; the stand-in closes EventBridge sockets at their token's expiry and
    // Twilsock ones unless `update` came in time.
    let tokens = MintedTokens {
        ttl_secs: 6,
        ..MintedTokens::default()
    };
    let (sim, mut io) = signed_in_sync(SessionConfig::default(), tokens.clone()).await;
    let task = inbound_task(&sim).await;
    wait_for(&mut io.actions, "ringing", |a| {
        matches!(a, Action::Emit(Event::Ringing { .. }))
    })
    .await;
    let call = CallSid::from_u128(78);
    answer(&mut io, task, call).await;
    accepted(&mut io, call).await;

    // Talk across two token lifetimes.
    let fetched_before = tokens.fetched();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(13);
    let mut taskrouter_reconnects = 0;
    while let Ok(Some(a)) = tokio::time::timeout_at(deadline, io.actions.recv()).await {
        match a {
            Action::Emit(Event::Error(e)) => panic!("no error expected: {e:?}"),
            Action::Emit(Event::CallState { phase, .. }) => {
                assert_eq!(phase, CallPhase::Connected, "the call goes on")
            }
            Action::Emit(Event::RingStopped { .. }) | Action::DisconnectCall { .. } => {
                panic!("the call goes on: {a:?}")
            }
            Action::Emit(Event::Connection {
                socket: SocketKind::Sync,
                state,
            }) => panic!("the Twilsock session is updated in place, never dropped: {state:?}"),
            Action::Emit(Event::Connection {
                socket: SocketKind::TaskRouter,
                state,
            }) => {
                assert!(
                    !matches!(state, ConnectionState::Stopped { .. }),
                    "never parked for want of a token: {state:?}"
                );
                if state == ConnectionState::Connected {
                    taskrouter_reconnects += 1;
                }
            }
            _ => {}
        }
    }
    let fetched = tokens.fetched() - fetched_before;
    assert!(
        (3..=8).contains(&fetched),
        "refreshed ahead of each expiry (every ~3 s), never in a loop on the stand-in's early warnings: {fetched} fetches"
    );
    assert!(
        taskrouter_reconnects >= 1,
        "EventBridge came back with the fresh token after its old one expired"
    );

    // The call ends normally; wrap-up completes through the REST proxy with the current token.
    hang_up_and_wrap_up(&mut io, task, call).await;
    wait_task_completed(&sim, task).await;
}
