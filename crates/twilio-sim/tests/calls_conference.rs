//! The TaskRouter `conference` instruction end to end over real sockets: a PSTN caller is enqueued, the assignment
//! callback answers `conference`, the worker's Device rings with `TaskSid`/`ReservationSid`, answers, and caller
//! and agent meet in one conference (status callbacks signed, caller's tone heard by the agent); the caller's
//! hang-up ends the conference and the task goes to `wrapping`. An unanswered agent leg leaves the caller queued.

mod calls_support;
mod voice_support;

use calls_support::*;
use reqwest::Method;
use serde_json::{json, Value};
use tsunagi_twilio::pstream::{decode_params, ClientAnswer, ClientMessage, ServerMessage};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg};

const ACCOUNT: &str = voice_support::ACCOUNT;

fn setup(hooks: &Hooks, timeout: u32) {
    hooks.twiml(
        "/voice",
        &format!(
            r#"<Response><Enqueue workflowSid="{WF}"><Task timeout="600">{{"type":"inbound_call","customer_name_enc":"%E5%B1%B1%E7%94%B0"}}</Task></Enqueue></Response>"#
        ),
    );
    hooks.json(
        "/assign",
        json!({
            "instruction": "conference",
            "to": "client:{{WorkerName}}?TaskSid={{TaskSid}}&ReservationSid={{ReservationSid}}",
            "from": "+81312345678",
            "timeout": timeout,
            "status_callback": hooks.url("/leg"),
            "status_callback_event": "initiated,ringing,answered,completed",
            "end_conference_on_exit": true,
            "end_conference_on_customer_exit": true,
            "beep": "false",
            "conference_status_callback": hooks.url("/conf"),
            "conference_status_callback_event": "start,end,join,leave,mute,hold",
            "region": "jp1",
        }),
    );
}

fn events(hooks: &Hooks) -> Vec<(String, String)> {
    hooks
        .hits("/conf")
        .iter()
        .map(|h| {
            (
                h.get("StatusCallbackEvent").unwrap_or("").to_owned(),
                h.get("CallSid").unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conference_instruction_bridges_caller_and_agent_and_hangup_wraps_the_task() {
    let hooks = Hooks::start().await;
    setup(&hooks, 20);
    let sim = start_sim(&hooks, Some("/assign")).await;
    let mut device = registered(&sim, "agent_1").await;

    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER, "tone_hz": 440.0}),
    )
    .await;
    let customer = placed["sid"].as_str().unwrap().to_owned();

    // The agent's Device rings with the join keys as custom parameters.
    let ServerMessage::Invite(inv) = device.recv().await else {
        panic!("expected invite")
    };
    let params = decode_params(&inv.parameters.params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (task, reservation) = (get("TaskSid"), get("ReservationSid"));
    assert!(
        task.starts_with("WT") && reservation.starts_with("WR"),
        "{params:?}"
    );
    assert_eq!(inv.parameters.from, "+81312345678");
    assert_eq!(inv.parameters.to, "client:agent_1");
    let agent = inv.parameters.call_sid.to_string();
    let assign = hooks.hits("/assign");
    assert_eq!(assign[0].get("TaskSid"), Some(task.as_str()));
    assert!(
        assign[0].get("TaskAttributes").unwrap().contains(&customer),
        "the task names the caller's CallSid"
    );

    let (_, t) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[],
    )
    .await;
    assert_eq!(
        t["assignment_status"], "reserved",
        "the reservation waits for the agent to answer"
    );
    eventually("initiated + ringing for the agent leg", 5, async || {
        (hooks.hits("/leg").len() >= 2).then_some(())
    })
    .await;
    let (leg, answer) = MediaLeg::answer(
        &MediaConfig::default(),
        &inv.sdp,
        LegOptions {
            ice_lite: false,
            tone_hz: Some(1000.0),
        },
    )
    .unwrap();
    device
        .send(&ClientMessage::Answer(ClientAnswer {
            callsid: inv.callsid.into(),
            sdp: answer,
        }))
        .await;

    // One conference named after the task: start, then the agent joins, then the caller.
    let ev = eventually("start + two joins", 10, async || {
        let e = events(&hooks);
        (e.len() >= 3).then_some(e)
    })
    .await;
    assert_eq!(ev[0].0, "conference-start");
    assert_eq!(ev[1], ("participant-join".to_string(), agent.clone()));
    assert_eq!(ev[2], ("participant-join".to_string(), customer.clone()));
    let conf_hits = hooks.hits("/conf");
    assert!(conf_hits
        .iter()
        .all(|h| h.signature_ok && h.get("FriendlyName") == Some(task.as_str())));
    let cf = conf_hits[0].get("ConferenceSid").unwrap().to_owned();
    assert_eq!(conf_hits[1].get("ParticipantLabel"), Some("worker"));
    assert_eq!(conf_hits[2].get("ParticipantLabel"), Some("customer"));
    let legs: Vec<String> = hooks
        .hits("/leg")
        .iter()
        .filter_map(|h| h.get("CallStatus").map(str::to_owned))
        .collect();
    assert_eq!(legs, ["initiated", "ringing", "in-progress"]);
    assert_eq!(call(&sim, &customer).await["conference"], cf.as_str());
    let (_, t) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[],
    )
    .await;
    assert_eq!(
        t["assignment_status"], "assigned",
        "accepted when the agent answered"
    );

    // The agent hears the caller's tone through its leg.
    eventually("the agent hears 440 Hz", 10, async || {
        leg.report()
            .dominant_hz
            .filter(|h| (h - 440.0).abs() < 5.0)
            .map(|_| ())
    })
    .await;

    // Conference REST: lookup by FriendlyName, hold the customer by label.
    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences");
    let (st, list) = rest(
        &sim,
        Method::GET,
        &format!("{base}.json?FriendlyName={task}&Status=in-progress"),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(list["conferences"][0]["sid"], cf.as_str());
    assert_eq!(list["conferences"][0]["region"], "jp1");
    let (st, p) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{cf}/Participants/customer.json"),
        &[("Hold", "true")],
    )
    .await;
    assert_eq!((st, &p["hold"]), (200, &Value::Bool(true)), "{p}");
    let (_, ps) = rest(
        &sim,
        Method::GET,
        &format!("{base}/{cf}/Participants.json"),
        &[],
    )
    .await;
    assert_eq!(ps["participants"].as_array().map(Vec::len), Some(2));
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{cf}/Participants/nobody.json"),
        &[("Muted", "true")],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));
    let (st, e) = rest(
        &sim,
        Method::GET,
        &format!("{base}/CF0000000000000000000000000000dead.json"),
        &[],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));

    // The caller hangs up: customer leaves, the conference ends (customer had endConferenceOnExit), the agent's
    // Device gets `hangup`, the agent leg completes, the task wraps.
    post_json(&sim, &format!("/_sim/calls/{customer}/hangup"), json!({})).await;
    let ServerMessage::Hangup(h) = device.recv().await else {
        panic!("expected hangup")
    };
    assert_eq!(h.callsid.to_string(), agent);
    let ev = eventually("conference-end", 10, async || {
        let e = events(&hooks);
        e.iter().any(|(n, _)| n == "conference-end").then_some(e)
    })
    .await;
    let names: Vec<&str> = ev.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "conference-start",
            "participant-join",
            "participant-join",
            "participant-hold",
            "participant-leave",
            "participant-leave",
            "conference-end"
        ]
    );
    let end = hooks
        .hits("/conf")
        .into_iter()
        .find(|h| h.get("StatusCallbackEvent") == Some("conference-end"))
        .unwrap();
    assert_eq!(
        end.get("ReasonConferenceEnded"),
        Some("participant-with-end-conference-on-exit-left")
    );
    assert_eq!(end.get("CallSidEndingConference"), Some(customer.as_str()));
    eventually("the task wraps", 5, async || {
        let (_, t) = rest(
            &sim,
            Method::GET,
            &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
            &[],
        )
        .await;
        (t["assignment_status"] == "wrapping").then_some(())
    })
    .await;
    let legs = eventually("agent leg completed", 5, async || {
        let l: Vec<String> = hooks
            .hits("/leg")
            .iter()
            .filter_map(|h| h.get("CallStatus").map(str::to_owned))
            .collect();
        (l.len() == 4).then_some(l)
    })
    .await;
    assert_eq!(legs[3], "completed");
    assert_eq!(call(&sim, &customer).await["status"], "completed");
    let (_, c) = rest(&sim, Method::GET, &format!("{base}/{cf}.json"), &[]).await;
    assert_eq!(c["status"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_agent_leg_reports_no_answer_and_a_rejection_rings_again() {
    let hooks = Hooks::start().await;
    setup(&hooks, 1);
    let sim = start_sim(&hooks, Some("/assign")).await;
    let mut device = registered(&sim, "agent_1").await;
    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER}),
    )
    .await;
    let customer = placed["sid"].as_str().unwrap().to_owned();
    let ServerMessage::Invite(inv) = device.recv().await else {
        panic!("expected invite")
    };
    let params = decode_params(&inv.parameters.params);
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (task, reservation) = (get("TaskSid"), get("ReservationSid"));
    let ServerMessage::Cancel(_) = device.recv().await else {
        panic!("expected cancel after the ring timeout")
    };
    let legs = eventually("no-answer", 5, async || {
        let l: Vec<String> = hooks
            .hits("/leg")
            .iter()
            .filter_map(|h| h.get("CallStatus").map(str::to_owned))
            .collect();
        (l.len() == 3).then_some(l)
    })
    .await;
    assert_eq!(legs, ["initiated", "ringing", "no-answer"]);
    assert!(
        hooks.hits("/conf").is_empty(),
        "the conference never started"
    );
    let v = call(&sim, &customer).await;
    assert_eq!(v["status"], "in-progress");
    assert!(
        v["queued_task"]["task"].is_string(),
        "still waiting in the queue: {v}"
    );
    assert!(v["conference"].is_null());

    // The reservation is still pending, so the backend's reject (spec §5.9) works and TaskRouter offers the
    // task to the next agent, whose Device rings for a new reservation.
    let mut device2 = registered(&sim, "agent_2").await;
    let (st, _) = rest(
        &sim,
        Method::POST,
        &format!("/v1/Workspaces/{WS}/Workers/{AGENT2}"),
        &[("ActivitySid", AVAILABLE)],
    )
    .await;
    assert_eq!(st, 200);
    setup(&hooks, 30); // the next agent's leg rings long enough for the caller to give up first
    let path = format!("/v1/Workspaces/{WS}/Tasks/{task}/Reservations/{reservation}");
    let (st, r) = rest(
        &sim,
        Method::POST,
        &path,
        &[
            ("ReservationStatus", "rejected"),
            ("WorkerActivitySid", OFFLINE),
        ],
    )
    .await;
    assert_eq!(st, 200, "{r}");
    let Some(ServerMessage::Invite(again)) =
        device2.try_recv(std::time::Duration::from_secs(5)).await
    else {
        let ev = get_json(&sim, "/_sim/events").await;
        panic!("expected an invite for agent_2: {ev}")
    };
    let params = decode_params(&again.parameters.params);
    let second = params
        .iter()
        .find(|(n, _)| n == "ReservationSid")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_ne!(second, reservation);

    // The caller gives up while the Device rings: the ringing is canceled and the task with it.
    post_json(&sim, &format!("/_sim/calls/{customer}/hangup"), json!({})).await;
    let ServerMessage::Cancel(_) = device2.recv().await else {
        panic!("expected cancel after the caller left")
    };
    eventually("the task to be canceled", 5, async || {
        let (_, t) = rest(
            &sim,
            Method::GET,
            &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
            &[],
        )
        .await;
        (t["assignment_status"] == "canceled").then_some(())
    })
    .await;
    eventually("the second leg reported canceled", 5, async || {
        let l: Vec<String> = hooks
            .hits("/leg")
            .iter()
            .filter_map(|h| h.get("CallStatus").map(str::to_owned))
            .collect();
        (l.last().map(String::as_str) == Some("canceled")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_conference_with_participants_added_and_kicked_by_rest() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Dial><Conference statusCallback="/room" statusCallbackEvent="start end join leave" endConferenceOnExit="true" participantLabel="caller" region="jp1">room-1</Conference></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let mut device = registered(&sim, "agent_1").await;
    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER}),
    )
    .await;
    let caller = placed["sid"].as_str().unwrap().to_owned();
    let cf = eventually("the caller in room-1", 5, async || {
        call(&sim, &caller).await["conference"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Conferences");

    // A simulated phone joins by FriendlyName, a client by SID.
    let (st, p) = rest(
        &sim,
        Method::POST,
        &format!("{base}/room-1/Participants.json"),
        &[
            ("From", NUMBER),
            ("To", "+819055556666"),
            ("Label", "expert"),
        ],
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let expert = p["call_sid"].as_str().unwrap().to_owned();
    eventually("the expert's phone to answer and join", 5, async || {
        let (_, ps) = rest(
            &sim,
            Method::GET,
            &format!("{base}/{cf}/Participants.json"),
            &[],
        )
        .await;
        (ps["participants"].as_array().map(Vec::len) == Some(2)).then_some(())
    })
    .await;
    let (st, p) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{cf}/Participants.json"),
        &[
            ("From", NUMBER),
            ("To", "client:agent_1"),
            ("Label", "agent"),
            ("Muted", "true"),
        ],
    )
    .await;
    assert_eq!(st, 201, "{p}");
    let ServerMessage::Invite(inv) = device.recv().await else {
        panic!("expected invite")
    };
    let (_leg, answer) = MediaLeg::answer(
        &MediaConfig::default(),
        &inv.sdp,
        LegOptions {
            ice_lite: false,
            tone_hz: None,
        },
    )
    .unwrap();
    device
        .send(&ClientMessage::Answer(ClientAnswer {
            callsid: inv.callsid.into(),
            sdp: answer,
        }))
        .await;
    let ps = eventually("three participants", 10, async || {
        let (_, ps) = rest(
            &sim,
            Method::GET,
            &format!("{base}/{cf}/Participants.json"),
            &[],
        )
        .await;
        (ps["participants"].as_array().map(Vec::len) == Some(3)).then_some(ps)
    })
    .await;
    let agent = ps["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(agent["muted"], true);
    assert_eq!(agent["call_sid"], inv.parameters.call_sid.as_str());

    // Kick the expert: its call leaves and ends (no TwiML after the Dial).
    let r = reqwest::Client::new()
        .delete(format!(
            "{}{base}/{cf}/Participants/expert.json",
            sim.base_url()
        ))
        .basic_auth(voice_support::KEY, Some(voice_support::SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    eventually("the expert's call to complete", 5, async || {
        (call(&sim, &expert).await["status"] == "completed").then_some(())
    })
    .await;

    // The caller (endConferenceOnExit) hangs up: the conference ends and the agent's Device is hung up.
    post_json(&sim, &format!("/_sim/calls/{caller}/hangup"), json!({})).await;
    assert!(matches!(device.recv().await, ServerMessage::Hangup(_)));
    let ev = eventually("conference-end", 10, async || {
        let h = hooks.hits("/room");
        h.iter()
            .any(|x| x.get("StatusCallbackEvent") == Some("conference-end"))
            .then_some(h)
    })
    .await;
    let names: Vec<(&str, &str)> = ev
        .iter()
        .map(|h| {
            (
                h.get("StatusCallbackEvent").unwrap_or(""),
                h.get("ParticipantLabel").unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("conference-start", ""),
            ("participant-join", "caller"),
            ("participant-join", "expert"),
            ("participant-join", "agent"),
            ("participant-leave", "expert"),
            ("participant-leave", "caller"),
            ("participant-leave", "agent"),
            ("conference-end", ""),
        ]
    );
    assert!(ev
        .iter()
        .all(|h| h.signature_ok && h.get("FriendlyName") == Some("room-1")));
    let (_, c) = rest(&sim, Method::GET, &format!("{base}/{cf}.json"), &[]).await;
    assert_eq!(
        (c["status"].as_str(), c["reason_conference_ended"].as_str()),
        (
            Some("completed"),
            Some("participant-with-end-conference-on-exit-left")
        )
    );
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{cf}/Participants.json"),
        &[("From", NUMBER), ("To", "+819000000000")],
    )
    .await;
    assert_eq!(
        (st, e["code"].as_u64()),
        (400, Some(16003)),
        "no joining a completed conference"
    );
}
