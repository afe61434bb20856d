//! The server's `outbound.*` pushes reach an outgoing call through the driver: after the dial the customer's side
//! is `ringing`; the real companion server's `AgentEvent::OutboundConnected` for the call's attempt, over its
//! `/v1/events` socket on 127.0.0.1, turns it `answered` (what lets the screen offer Hold).

#[path = "stand_in/stack.rs"]
mod stack;
mod stand_in;

use stack::*;
use stand_in::{wait_connected, wait_for, wait_phase};
use tsunagi_core::{
    Action, CallPhase, CallSid, Caller, Command, DeviceEvent, Event, Input, OutgoingStage, Target,
};
use tsunagi_server::events::AgentEvent;

fn outgoing_stage(a: &Action) -> Option<OutgoingStage> {
    match a {
        Action::Emit(Event::Outgoing { stage, .. }) => Some(*stage),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_outbound_connected_marks_the_customer_answered() {
    let stack = Stack::start(3600).await;
    let mut io = stack.agent_driver().await;
    wait_connected(&mut io.actions, 2).await;

    io.inputs
        .send(Input::Command(Command::Dial {
            to: Caller::new("+81312345678"),
        }))
        .await
        .unwrap();
    let a = wait_for(&mut io.actions, "ringing", |a| outgoing_stage(a).is_some()).await;
    assert_eq!(outgoing_stage(&a), Some(OutgoingStage::Ringing));
    let Action::ConnectCall { attempt, .. } = wait_for(&mut io.actions, "connect", |a| {
        matches!(a, Action::ConnectCall { .. })
    })
    .await
    else {
        unreachable!()
    };
    // The webview's Device: the agent's leg gets its CallSid and joins the conference.
    let call = CallSid::from_u128(31);
    for ev in [
        DeviceEvent::Outgoing { call, attempt },
        DeviceEvent::Accepted { call },
    ] {
        io.inputs.send(Input::Device(ev)).await.unwrap();
    }
    wait_phase(&mut io.actions, CallPhase::Connected).await;

    let publish = |event: AgentEvent| {
        let hub = stack.state.hub.clone();
        async move { hub.publish(AGENT, &event).await.expect("publish") }
    };
    // Another attempt's answer is not this call's.
    publish(AgentEvent::OutboundConnected {
        attempt: "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f".into(),
        conference_sid: "CF00000000000000000000000000000001".into(),
    })
    .await;
    publish(AgentEvent::OutboundConnected {
        attempt: attempt.to_string(),
        conference_sid: "CF00000000000000000000000000000002".into(),
    })
    .await;
    let a = wait_for(&mut io.actions, "answered", |a| outgoing_stage(a).is_some()).await;
    assert_eq!(
        a,
        Action::Emit(Event::Outgoing {
            target: Target::Outgoing(attempt),
            stage: OutgoingStage::Answered,
        })
    );
}
