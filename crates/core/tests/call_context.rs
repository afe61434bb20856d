//! Call context from the server (conference, customer) joins the ring or the call it belongs to, and nothing else.

mod common;

use common::*;
use tsunagi_core::{CallContext, ConferenceSid, Crm, Event, Input, Target};

fn ctx(n: u128, name: &str, conference: Option<u128>) -> Input {
    Input::CallContext(CallContext {
        task: task(n),
        reservation: Some(res(n)),
        conference: conference.map(ConferenceSid::from_u128),
        agent_call: None,
        customer_call: None,
        crm: Some(Crm {
            customer_id: Some("C-1".into()),
            customer_name: Some(name.into()),
        }),
        seq: Some(1),
    })
}

#[test]
fn context_updates_a_ring_then_the_call_and_is_shown_only_on_change() {
    let mut t = TestSession::logged_in();
    t.reservation_created(1);
    let a = t.input(ctx(1, "山田 花子", None));
    assert!(matches!(
        events(&a)[..],
        [Event::RingUpdated { crm: Some(c), .. }] if c.customer_name.as_deref() == Some("山田 花子")
    ));
    t.incoming(1);
    t.command(tsunagi_core::Command::Answer {
        target: Target::Task(task(1)),
    });
    t.accept_result(1, tsunagi_core::RestResult::Ok);
    t.device(tsunagi_core::DeviceEvent::Accepted { call: call(1) });
    let a = t.input(ctx(1, "山田 花子", Some(9)));
    assert_eq!(
        events(&a),
        [&Event::CallContext {
            target: Target::Task(task(1)),
            conference: Some(ConferenceSid::from_u128(9)),
            crm: Some(Crm {
                customer_id: Some("C-1".into()),
                customer_name: Some("山田 花子".into())
            }),
        }]
    );
    assert!(
        t.input(ctx(1, "山田 花子", Some(9))).is_empty(),
        "no change, no event"
    );
    let view = t.session.view(t.now);
    assert_eq!(view.calls[0].conference, Some(ConferenceSid::from_u128(9)));
}

#[test]
fn context_for_unknown_tasks_or_other_attempts_is_ignored() {
    let mut t = TestSession::logged_in();
    assert!(t.input(ctx(5, "x", Some(1))).is_empty());
    t.reservation_created(1);
    let other = Input::CallContext(CallContext {
        reservation: Some(res(2)),
        ..match ctx(1, "y", Some(1)) {
            Input::CallContext(c) => c,
            _ => unreachable!(),
        }
    });
    assert!(t.input(other).is_empty(), "another reservation's context");
    assert_eq!(t.session.reconciler().offers().count(), 1);
}
