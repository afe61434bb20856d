//! Engine tests: routing owner → department → anyone on a fake clock, reservation timeouts, rejects, instructions,
//! disconnect grace, and "a failing call changes nothing".

use serde_json::{json, Value};
use tsunagi_twilio::sid::{TaskSid, WorkerSid, WorkspaceSid};

use super::engine::{Effect, TaskRouter, WebhookKind};
use super::model::{ResStatus, TaskStatus};
use crate::clock::UnixMillis;
use crate::config::Config;
use crate::params::Params;

const CONFIG: &str = r#"
seed = 9
[[accounts]]
sid = "AC00000000000000000000000000000001"
auth_token = "tok"
[[workspaces]]
account = "AC00000000000000000000000000000001"
sid = "WS00000000000000000000000000000001"
friendly_name = "Support"
activities = [{ name = "Offline", available = false }, { name = "Available", available = true }, { name = "Break", available = false }]
queues = [{ name = "All", target_workers = "1==1" }]
workers = [
  { sid = "WK00000000000000000000000000000001", name = "owner", attributes = { email = "owner@x.jp", department_id = "d1" }, activity = "Available" },
  { sid = "WK00000000000000000000000000000002", name = "colleague", attributes = { email = "col@x.jp", department_id = "d1" }, activity = "Available" },
  { sid = "WK00000000000000000000000000000003", name = "other", attributes = { email = "oth@x.jp", department_id = "d2" }, activity = "Available" },
]
[[workspaces.workflows]]
name = "inbound"
assignment_callback_url = "http://127.0.0.1:9/assign"
task_reservation_timeout = 25
configuration = '''{"task_routing":{"filters":[
 {"filter_friendly_name":"owner","expression":"type == 'inbound_call'",
  "targets":[
   {"queue":"All","expression":"worker.email == task.owner_email","timeout":10},
   {"queue":"All","expression":"worker.department_id == task.department_id","timeout":30},
   {"queue":"All"}]}],
 "default_filter":{"queue":"All"}}}'''
"#;

const WS: &str = "WS00000000000000000000000000000001";
const OWNER: &str = "WK00000000000000000000000000000001";
const COLLEAGUE: &str = "WK00000000000000000000000000000002";
const OTHER: &str = "WK00000000000000000000000000000003";

fn setup() -> (TaskRouter, WorkspaceSid, UnixMillis) {
    let cfg = Config::from_toml(CONFIG).unwrap();
    let now = UnixMillis(1_800_000_000_000);
    let mut tr = TaskRouter::new(cfg.seed, 5_000);
    let ws = tr.add_workspace(&cfg.workspaces[0], now).unwrap();
    assert_eq!(ws.as_str(), WS);
    (tr, ws, now)
}

fn params(v: Value) -> Params {
    Params::from_json(v)
}

fn activity(tr: &TaskRouter, ws: &WorkspaceSid, name: &str) -> String {
    tr.activities_of(ws)
        .find(|a| a.name == name)
        .unwrap()
        .sid
        .to_string()
}

fn set_activity(tr: &mut TaskRouter, ws: &WorkspaceSid, worker: &str, name: &str, now: UnixMillis) {
    let a = activity(tr, ws, name);
    tr.update_worker(ws, worker, &params(json!({"ActivitySid": a})), None, now)
        .unwrap();
}

fn new_task(tr: &mut TaskRouter, ws: &WorkspaceSid, now: UnixMillis) -> TaskSid {
    let t = new_task_unrouted(tr, ws, now);
    assert_eq!(
        tr.tasks[&t].status,
        TaskStatus::Pending,
        "routing is asynchronous"
    );
    assert_eq!(tr.next_deadline(), Some(UnixMillis(0)));
    tr.handle_timeout(now);
    t
}

fn new_task_unrouted(tr: &mut TaskRouter, ws: &WorkspaceSid, now: UnixMillis) -> TaskSid {
    tr.create_task(ws, &params(json!({"Attributes": {"type": "inbound_call", "owner_email": "owner@x.jp", "department_id": "d1", "name": "山田 花子"}})), now).unwrap()
}

fn pending_for(tr: &TaskRouter, t: &TaskSid) -> Option<WorkerSid> {
    tr.reservations
        .values()
        .find(|r| &r.task == t && r.status == ResStatus::Pending)
        .map(|r| r.worker)
}

#[test]
fn owner_gets_the_task_first() {
    let (mut tr, ws, now) = setup();
    let t = new_task(&mut tr, &ws, now);
    assert_eq!(pending_for(&tr, &t).unwrap().as_str(), OWNER);
    let fx = tr.drain_effects();
    let push = fx.iter().find_map(|e| match e {
        Effect::Push { worker, frame } if frame.event_type == "reservation.created" => {
            Some((worker, frame))
        }
        _ => None,
    });
    let (w, frame) = push.expect("reservation.created pushed");
    assert_eq!(w.as_str(), OWNER);
    assert_eq!(frame.payload["task"]["assignment_status"], "reserved");
    let attrs: Value =
        serde_json::from_str(frame.payload["task"]["attributes"].as_str().unwrap()).unwrap();
    assert_eq!(attrs["name"], "山田 花子");
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Webhook(w) if matches!(w.kind, WebhookKind::Assignment(_)))));
}

#[test]
fn unavailable_owner_falls_to_department_after_target_timeout_then_anyone() {
    let (mut tr, ws, now) = setup();
    set_activity(&mut tr, &ws, OWNER, "Offline", now);
    set_activity(&mut tr, &ws, COLLEAGUE, "Break", now);
    let t = new_task(&mut tr, &ws, now);
    assert_eq!(
        pending_for(&tr, &t),
        None,
        "owner step waits for its 10 s timeout"
    );
    assert_eq!(tr.next_deadline(), Some(now.plus_secs(10)));
    tr.handle_timeout(now.plus_secs(10));
    assert_eq!(
        pending_for(&tr, &t),
        None,
        "department step: colleague on break, other is in d2"
    );
    set_activity(&mut tr, &ws, COLLEAGUE, "Available", now.plus_secs(12));
    assert_eq!(pending_for(&tr, &t).unwrap().as_str(), COLLEAGUE);
    let r = tr.reservations.values().find(|r| r.task == t).unwrap().sid;
    tr.update_reservation(
        &ws,
        r.as_str(),
        None,
        &params(json!({"ReservationStatus": "rejected"})),
        None,
        now.plus_secs(13),
    )
    .unwrap();
    assert_eq!(
        pending_for(&tr, &t),
        None,
        "a worker who rejected is not offered the task again"
    );
    tr.handle_timeout(now.plus_secs(42));
    assert_eq!(
        pending_for(&tr, &t).unwrap().as_str(),
        OTHER,
        "last step: anyone"
    );
}

#[test]
fn reservation_timeout_moves_worker_to_timeout_activity_and_reroutes() {
    let (mut tr, ws, now) = setup();
    let t = new_task(&mut tr, &ws, now);
    tr.drain_effects();
    tr.handle_timeout(now.plus_secs(24));
    assert_eq!(pending_for(&tr, &t).unwrap().as_str(), OWNER);
    tr.handle_timeout(now.plus_secs(25));
    let owner = tr.worker(&ws, OWNER).unwrap();
    assert_eq!(tr.activities[&owner.activity].name, "Offline");
    assert!(tr
        .reservations
        .values()
        .any(|r| r.task == t && r.status == ResStatus::Timeout));
    assert_eq!(pending_for(&tr, &t).unwrap().as_str(), COLLEAGUE);
    let fx = tr.drain_effects();
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Push { frame, .. } if frame.event_type == "reservation.timeout")
    ));
}

#[test]
fn conference_instruction_accepts_and_complete_frees_the_worker() {
    let (mut tr, ws, now) = setup();
    let t = new_task(&mut tr, &ws, now);
    let r = tr.reservations.values().find(|r| r.task == t).unwrap().sid;
    tr.assignment_reply(&r, &json!({"instruction": "conference", "from": "+81312345678", "post_work_activity_sid": activity(&tr, &ws, "Available"), "end_conference_on_exit": true}), now).unwrap();
    assert_eq!(tr.reservations[&r].status, ResStatus::Accepted);
    assert_eq!(
        tr.reservations[&r].instruction.as_ref().unwrap()["EndConferenceOnExit"],
        true
    );
    assert_eq!(tr.tasks[&t].status, TaskStatus::Assigned);
    let again = tr.update_reservation(
        &ws,
        r.as_str(),
        None,
        &params(json!({"Instruction": "conference"})),
        None,
        now,
    );
    assert_eq!(again.unwrap_err().code, 40136);
    tr.update_task(
        &ws,
        t.as_str(),
        &params(json!({"AssignmentStatus": "wrapping"})),
        None,
        now,
    )
    .unwrap();
    tr.update_task(
        &ws,
        t.as_str(),
        &params(json!({"AssignmentStatus": "completed", "Reason": "done"})),
        None,
        now,
    )
    .unwrap();
    assert_eq!(tr.reservations[&r].status, ResStatus::Completed);
    let owner: WorkerSid = OWNER.parse().unwrap();
    assert!(!tr.is_busy(&owner));
}

#[test]
fn failing_calls_change_nothing() {
    let (mut tr, ws, now) = setup();
    let t = new_task(&mut tr, &ws, now);
    tr.drain_effects();
    let before = (tr.tasks[&t].version, tr.tasks[&t].attributes.clone());
    let bad = [
        json!({"Attributes": "not json"}),
        json!({"Attributes": "[1,2]"}),
        json!({"AssignmentStatus": "completed"}),
        json!({"AssignmentStatus": "bogus"}),
        json!({"Priority": "high"}),
        json!({"Attributes": {"ok": 1}, "AssignmentStatus": "assigned"}),
    ];
    for b in bad {
        assert!(
            tr.update_task(&ws, t.as_str(), &params(b.clone()), None, now)
                .is_err(),
            "{b}"
        );
    }
    assert!(
        tr.update_task(
            &ws,
            t.as_str(),
            &params(json!({"Attributes": {"x": 1}})),
            Some("999"),
            now
        )
        .unwrap_err()
        .status
            == 412
    );
    assert_eq!(
        (tr.tasks[&t].version, tr.tasks[&t].attributes.clone()),
        before
    );
    assert!(tr.drain_effects().is_empty());
    assert!(
        tr.delete_worker(&ws, COLLEAGUE, now).is_err(),
        "delete refused while available"
    );
    assert!(tr
        .update_worker(
            &ws,
            OWNER,
            &params(json!({"ActivitySid": "WA00000000000000000000000000000999"})),
            None,
            now
        )
        .is_err());
}

#[test]
fn disconnect_grace_moves_worker_offline_unless_it_reconnects() {
    let (mut tr, ws, now) = setup();
    let owner: WorkerSid = OWNER.parse().unwrap();
    tr.socket_opened(&owner);
    tr.socket_closed(&owner, true, now);
    tr.socket_opened(&owner);
    tr.handle_timeout(now.plus_secs(10));
    assert_eq!(
        tr.activities[&tr.worker(&ws, OWNER).unwrap().activity].name,
        "Available"
    );
    tr.socket_closed(&owner, true, now.plus_secs(10));
    tr.handle_timeout(now.plus_secs(14));
    assert_eq!(
        tr.activities[&tr.worker(&ws, OWNER).unwrap().activity].name,
        "Available"
    );
    tr.handle_timeout(now.plus_secs(15));
    assert_eq!(
        tr.activities[&tr.worker(&ws, OWNER).unwrap().activity].name,
        "Offline"
    );
}

const SKIP_CONFIG: &str = r#"
[[accounts]]
sid = "AC00000000000000000000000000000001"
auth_token = "tok"
[[workspaces]]
account = "AC00000000000000000000000000000001"
friendly_name = "Skip"
activities = [{ name = "Offline", available = false }, { name = "Available", available = true }]
queues = [{ name = "Sales", target_workers = "department_id == 'sales'" }, { name = "All" }]
workers = [
  { sid = "WK00000000000000000000000000000011", name = "s1", attributes = { department_id = "sales", level = 1 }, activity = "Offline" },
  { sid = "WK00000000000000000000000000000012", name = "s2", attributes = { department_id = "sales", level = 5 }, activity = "Offline" },
  { sid = "WK00000000000000000000000000000013", name = "o1", attributes = { department_id = "support" }, activity = "Available" },
]
[[workspaces.workflows]]
name = "skip"
configuration = '''{"task_routing":{"filters":[{"expression":"1==1","targets":[
  {"queue":"Sales","skip_if":"workers.available == 0","timeout":60,"order_by":"worker.level DESC"},
  {"queue":"All"}]}]}}'''
"#;

#[test]
fn skip_if_is_queue_scoped_and_order_by_picks_the_highest_level() {
    let cfg = Config::from_toml(SKIP_CONFIG).unwrap();
    let now = UnixMillis(1_800_000_000_000);
    let mut tr = TaskRouter::new(1, 5_000);
    let ws = tr.add_workspace(&cfg.workspaces[0], now).unwrap();
    // No Sales worker available: the Sales step is skipped at once, without waiting for its 60 s timeout.
    let t1 = tr
        .create_task(&ws, &params(json!({"Attributes": {}})), now)
        .unwrap();
    tr.handle_timeout(now);
    assert_eq!(
        pending_for(&tr, &t1).unwrap().as_str(),
        "WK00000000000000000000000000000013"
    );
    // Both Sales workers available: order_by picks level 5 first.
    set_activity(
        &mut tr,
        &ws,
        "WK00000000000000000000000000000011",
        "Available",
        now,
    );
    set_activity(
        &mut tr,
        &ws,
        "WK00000000000000000000000000000012",
        "Available",
        now,
    );
    let t2 = tr
        .create_task(&ws, &params(json!({"Attributes": {}})), now)
        .unwrap();
    tr.handle_timeout(now);
    assert_eq!(
        pending_for(&tr, &t2).unwrap().as_str(),
        "WK00000000000000000000000000000012"
    );
    // One Sales worker busy, the other available: the next task goes to s1.
    let t3 = tr
        .create_task(&ws, &params(json!({"Attributes": {}})), now)
        .unwrap();
    tr.handle_timeout(now);
    assert_eq!(
        pending_for(&tr, &t3).unwrap().as_str(),
        "WK00000000000000000000000000000011"
    );
    // Sales workers available (so no skip) but all busy: the task waits in Sales, not in All.
    let t4 = tr
        .create_task(&ws, &params(json!({"Attributes": {}})), now)
        .unwrap();
    tr.handle_timeout(now);
    assert_eq!(pending_for(&tr, &t4), None);
    assert_eq!(
        tr.tasks[&t4]
            .queue
            .map(|q| tr.queues[&q].name.clone())
            .as_deref(),
        Some("Sales")
    );
    tr.handle_timeout(now.plus_secs(60));
    assert_eq!(
        tr.tasks[&t4]
            .queue
            .map(|q| tr.queues[&q].name.clone())
            .as_deref(),
        Some("All"),
        "after the 60 s timeout it moves on"
    );
}
