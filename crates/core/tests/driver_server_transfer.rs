//! The server's `transfer.*` pushes reach the call through the driver: the real companion server (in-process,
//! SQLite) publishes its own `AgentEvent::TransferConnected` / `TransferFailed` on `/v1/events`, and the core
//! turns them into [`Event::Transfer`] for the call's banner: a failed warm transfer ends the consultation with
//! its reason, over real sockets on 127.0.0.1.

#[path = "stand_in/stack.rs"]
mod stack;
mod stand_in;

use serde_json::json;
use stack::*;
use stand_in::{accepted, answer, wait_connected, wait_for};
use tsunagi_core::{
    Action, ActionResult, CallSid, Command, ControlOp, ControlTarget, Event, Input, RestResult,
    Target, TaskSid, TransferFailure, TransferMode, TransferStage, TransferTo, WorkerSid,
};
use tsunagi_server::events::AgentEvent;

fn transfer_stage(a: &Action) -> Option<(TransferStage, Option<TransferFailure>)> {
    match a {
        Action::Emit(Event::Transfer { stage, reason, .. }) => Some((*stage, *reason)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_warm_transfer_pushed_by_the_server_ends_the_consultation() {
    let stack = Stack::start(3600).await;
    let mut io = stack.agent_driver().await;
    wait_connected(&mut io.actions, 2).await;
    let task = stack
        .create_task(&json!({"type": "inbound_call", "from": "+81312345678"}))
        .await;
    let task_sid = TaskSid::parse(&task).unwrap();
    let target = Target::Task(task_sid);
    let call = CallSid::from_u128(21);
    answer(&mut io, task_sid, call).await;
    accepted(&mut io, call).await;

    // The agent asks for a warm transfer; the shell's POST …/transfer is played here (202 from the server).
    let to = TransferTo::Worker {
        worker: WorkerSid::from_u128(2),
    };
    io.inputs
        .send(Input::Command(Command::Transfer {
            target,
            to: to.clone(),
            mode: TransferMode::Warm,
        }))
        .await
        .unwrap();
    let Action::CallControl { target: ct, op } =
        wait_for(&mut io.actions, "transfer request", |a| {
            matches!(
                a,
                Action::CallControl {
                    op: ControlOp::Transfer { .. },
                    ..
                }
            )
        })
        .await
    else {
        unreachable!()
    };
    assert_eq!(ct, ControlTarget::Task(task_sid));
    io.inputs
        .send(Input::Result(ActionResult::CallControl {
            target: ct,
            op,
            result: RestResult::Ok,
        }))
        .await
        .unwrap();
    let a = wait_for(&mut io.actions, "dialing", |a| transfer_stage(a).is_some()).await;
    assert_eq!(transfer_stage(&a), Some((TransferStage::Dialing, None)));

    // The server's own pushes, over its socket.
    let publish = |event: AgentEvent| {
        let hub = stack.state.hub.clone();
        async move { hub.publish(AGENT, &event).await.expect("publish") }
    };
    publish(AgentEvent::TransferConnected {
        task_sid: task.clone(),
        transfer_id: "t1".into(),
    })
    .await;
    let a = wait_for(&mut io.actions, "connected", |a| {
        transfer_stage(a).is_some()
    })
    .await;
    assert_eq!(transfer_stage(&a), Some((TransferStage::Connected, None)));
    publish(AgentEvent::TransferFailed {
        task_sid: task.clone(),
        transfer_id: "t1".into(),
        reason: "target-left".into(),
    })
    .await;
    let a = wait_for(&mut io.actions, "failed", |a| transfer_stage(a).is_some()).await;
    assert_eq!(
        a,
        Action::Emit(Event::Transfer {
            target,
            mode: TransferMode::Warm,
            stage: TransferStage::Failed,
            reason: Some(TransferFailure::TargetLeft),
        })
    );

    // The call is still the agent's: a push for another task changes nothing, hold still goes to the server.
    publish(AgentEvent::TransferFailed {
        task_sid: "WT0000000000000000000000000000ffff".into(),
        transfer_id: "t2".into(),
        reason: "busy".into(),
    })
    .await;
    io.inputs
        .send(Input::Command(Command::Hold { target }))
        .await
        .unwrap();
    let next = wait_for(&mut io.actions, "hold or a stray transfer event", |a| {
        transfer_stage(a).is_some() || matches!(a, Action::CallControl { .. })
    })
    .await;
    assert!(
        matches!(
            next,
            Action::CallControl {
                op: ControlOp::Hold,
                ..
            }
        ),
        "{next:?}"
    );
}
