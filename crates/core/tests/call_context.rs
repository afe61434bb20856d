//! Call context from the server (conference, customer) joins the ring or the call it belongs to, and nothing else.

mod common;

use common::*;
use tsunagi_core::{CallContext, ConferenceSid, Crm, Event, Input, Target};

fn ctx(n: u128, name: &str, conference: Option<u128>) -> Input {
    Input::CallContext(Box::new(CallContext {
        task: task(n),
        reservation: Some(res(n)),
        conference: conference.map(ConferenceSid::from_u128),
        agent_call: None,
        customer_call: None,
        crm: Some(Crm {
            customer_id: Some("C-1".into()),
            customer_name: Some(name.into()),
            ..Crm::default()
        }),
        seq: Some(1),
    }))
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
                customer_name: Some("山田 花子".into()),
                ..Crm::default()
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
    let other = Input::CallContext(Box::new(CallContext {
        reservation: Some(res(2)),
        ..match ctx(1, "y", Some(1)) {
            Input::CallContext(c) => *c,
            _ => unreachable!(),
        }
    }));
    assert!(t.input(other).is_empty(), "another reservation's context");
    assert_eq!(t.session.reconciler().offers().count(), 1);
}

#[test]
fn owner_and_department_join_the_ring_and_a_later_reading_never_erases_them() {
    let mut t = TestSession::logged_in();
    t.reservation_created(2);
    let with_owner = Crm {
        customer_id: Some("C-2".into()),
        owner_id: Some("agent_7".into()),
        owner_name: Some("田中 太郎".into()),
        department_id: Some("sales-1".into()),
        department_name: Some("営業一課".into()),
        ..Crm::default()
    };
    let push = |crm: Crm| {
        Input::CallContext(Box::new(CallContext {
            task: task(2),
            reservation: Some(res(2)),
            conference: None,
            agent_call: None,
            customer_call: None,
            crm: Some(crm),
            seq: None,
        }))
    };
    let a = t.input(push(with_owner.clone()));
    assert!(matches!(
        events(&a)[..],
        [Event::RingUpdated { crm: Some(c), .. }]
            if c.owner_name.as_deref() == Some("田中 太郎") && c.department_name.as_deref() == Some("営業一課")
    ));
    // A reading that knows only the customer's name adds it and keeps the owner and department.
    let a = t.input(push(Crm {
        customer_name: Some("山田 花子".into()),
        ..Crm::default()
    }));
    let [Event::RingUpdated { crm: Some(c), .. }] = events(&a)[..] else {
        panic!("one RingUpdated: {a:?}");
    };
    assert_eq!(
        c,
        &Crm {
            customer_name: Some("山田 花子".into()),
            ..with_owner.clone()
        }
    );
    // The same reading again changes nothing and shows nothing.
    let a = t.input(push(with_owner));
    assert!(events(&a).is_empty(), "{a:?}");
}

#[test]
fn a_roster_push_is_shown_as_it_is() {
    let mut t = TestSession::logged_in();
    let agents: Vec<tsunagi_core::RosterEntry> = serde_json::from_value(serde_json::json!([
        {"agent_id": "a1", "display_name": "田中", "department_id": null, "activity": "Available", "since_ms": 5}
    ]))
    .unwrap();
    let a = t.input(Input::Roster(agents.clone()));
    assert_eq!(events(&a), [&Event::Roster { agents }]);
    let json = serde_json::to_value(events(&a)[0]).unwrap();
    assert_eq!(json["type"], "roster");
    assert_eq!(json["agents"][0]["displayName"], "田中");
}
