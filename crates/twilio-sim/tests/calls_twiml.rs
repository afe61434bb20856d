//! Calls over real sockets: a scripted PSTN caller dials a stand-in number, the stand-in fetches signed Voice
//! webhooks from an in-test server and runs the TwiML (Say, Gather with DTMF, Enqueue into TaskRouter, Dial
//! Client to a registered Voice SDK-like client); bad TwiML, dead webhooks and bad REST input get Twilio's codes.

mod calls_support;
mod voice_support;

use calls_support::*;
use reqwest::Method;
use serde_json::{json, Value};
use tsunagi_twilio::pstream::{decode_params, ClientAnswer, ClientMessage, ServerMessage};
use tsunagi_twilio_sim::media::{LegOptions, MediaConfig, MediaLeg};

const ACCOUNT: &str = voice_support::ACCOUNT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ivr_gather_then_enqueue_creates_the_task_and_hangup_cancels_it() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Say language="ja-JP">お電話ありがとうございます</Say><Gather numDigits="1" action="/menu" timeout="3"><Say>press 1</Say></Gather><Say>no input</Say><Hangup/></Response>"#,
    );
    hooks.twiml(
        "/menu",
        &format!(
            r#"<Response><Enqueue workflowSid="{WF}" waitUrl="/wait" waitUrlMethod="GET" action="/after"><Task priority="7" timeout="600">{{"type":"inbound_call","customer_name":"山田 花子","route_owner":false}}</Task></Enqueue></Response>"#
        ),
    );
    hooks.twiml(
        "/wait",
        r#"<Response><Play>https://example.invalid/hold.mp3</Play><Redirect method="GET">/wait2</Redirect></Response>"#,
    );
    hooks.twiml("/wait2", r#"<Response><Say>still waiting</Say></Response>"#);
    let sim = start_sim(&hooks, None).await;

    let (status, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER, "tone_hz": 440.0,
               "script": [{"do": "wait", "ms": 200}, {"do": "dtmf", "digits": "1"}]}),
    )
    .await;
    assert_eq!(status, 200, "{placed}");
    let sid = placed["sid"].as_str().unwrap().to_owned();
    assert!(sid.starts_with("CA"));

    let task = eventually("the call to be queued", 10, async || {
        call(&sim, &sid).await["queued_task"]["task"]
            .as_str()
            .map(str::to_owned)
    })
    .await;
    let v = call(&sim, &sid).await;
    assert_eq!(v["status"], "in-progress");
    assert_eq!(v["digits"], "1");
    assert_eq!(v["heard"][0]["verb"], "say");
    assert_eq!(v["heard"][0]["detail"], "ja-JP:お電話ありがとうございます");

    // The Voice webhook, then the Gather action with the digit; all signed with the account's Auth Token.
    let voice = hooks.hits("/voice");
    assert_eq!(voice.len(), 1);
    let first = &voice[0];
    assert!(first.signature_ok, "voice webhook signature");
    assert_eq!(first.get("CallSid"), Some(sid.as_str()));
    assert_eq!(first.get("From"), Some("+81312345678"));
    assert_eq!(first.get("To"), Some(NUMBER));
    assert_eq!(first.get("Direction"), Some("inbound"));
    assert_eq!(first.get("CallStatus"), Some("ringing"));
    assert_eq!(first.get("AccountSid"), Some(ACCOUNT));
    let menu = hooks.hits("/menu");
    assert_eq!(menu.len(), 1);
    assert!(menu[0].signature_ok);
    assert_eq!(menu[0].get("Digits"), Some("1"));
    assert_eq!(menu[0].get("CallStatus"), Some("in-progress"));
    eventually(
        "the wait URL (GET, signed over the full URL)",
        5,
        async || {
            hooks
                .hits("/wait")
                .first()
                .map(|h| assert!(h.signature_ok && h.method == "GET"))
        },
    )
    .await;

    eventually("the wait document's redirect", 5, async || {
        let h = hooks.hits("/wait2").pop()?;
        assert!(h.signature_ok && h.method == "GET");
        let v = call(&sim, &sid).await;
        v["heard"]
            .as_array()?
            .iter()
            .any(|x| x["detail"] == "still waiting")
            .then_some(())
    })
    .await;

    // The task carries the <Task> JSON (multibyte intact) merged over the call's attributes.
    let (st, t) = rest(
        &sim,
        Method::GET,
        &format!("/v1/Workspaces/{WS}/Tasks/{task}"),
        &[],
    )
    .await;
    assert_eq!(st, 200, "{t}");
    let attrs: Value = serde_json::from_str(t["attributes"].as_str().unwrap()).unwrap();
    assert_eq!(attrs["customer_name"], "山田 花子");
    assert_eq!(attrs["call_sid"], sid.as_str());
    assert_eq!(attrs["from"], "+81312345678");
    assert_eq!(attrs["type"], "inbound_call");
    assert_eq!(t["priority"], 7);

    // The caller gives up in the queue: the task is canceled, the action URL hears "hangup", and the
    // number's status callback reports the completed call.
    let (st, _) = post_json(&sim, &format!("/_sim/calls/{sid}/hangup"), json!({})).await;
    assert_eq!(st, 200);
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
    let v = call(&sim, &sid).await;
    assert_eq!(v["status"], "completed");
    assert!(v["queued_task"].is_null());
    let status_hit = eventually("the completed status callback", 5, async || {
        hooks.hits("/status").pop()
    })
    .await;
    assert!(status_hit.signature_ok);
    assert_eq!(status_hit.get("CallStatus"), Some("completed"));
    assert_eq!(status_hit.get("CallSid"), Some(sid.as_str()));
    assert!(status_hit.get("CallDuration").is_some());
    let after = eventually("the Enqueue action", 5, async || hooks.hits("/after").pop()).await;
    assert_eq!(after.get("QueueResult"), Some("hangup"));

    // A hang-up of an ended call is refused with Twilio's "not in progress".
    let (st, e) = post_json(&sim, &format!("/_sim/calls/{sid}/hangup"), json!({})).await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(21220)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_twiml_falls_back_and_a_dead_webhook_ends_the_call() {
    let hooks = Hooks::start().await;
    hooks.twiml("/broken", "<Response><Say>unterminated</Response>");
    hooks.twiml(
        "/fallback",
        "<Response><Say>sorry</Say><Reject reason=\"busy\"/></Response>",
    );
    let sim = start_sim(&hooks, None).await;

    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81300000000", "to": BROKEN}),
    )
    .await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    let v = eventually("the broken call to end", 10, async || {
        let v = call(&sim, &sid).await;
        (v["status"] != "in-progress" && v["status"] != "ringing").then_some(v)
    })
    .await;
    assert_eq!(v["errors"], json!([12100]), "{v}");
    assert_eq!(v["heard"][0]["detail"], "sorry", "the fallback TwiML ran");
    assert_eq!(hooks.hits("/fallback")[0].get("ErrorCode"), Some("12100"));
    assert_eq!(
        v["status"], "busy",
        "<Reject> after an answered Say still ends the call"
    );

    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81300000000", "to": DEAD}),
    )
    .await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    let v = eventually("the dead-webhook call to end", 10, async || {
        let v = call(&sim, &sid).await;
        (v["status"] == "completed").then_some(v)
    })
    .await;
    assert_eq!(v["errors"], json!([11200]));
    assert_eq!(v["heard"][0]["verb"], "error");

    // Bad control input.
    let (st, e) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+8130", "to": "+819999"}),
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(21211)));
    let (st, _) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+8130", "to": NUMBER, "script": [{"do": "dtmf", "digits": "1x"}]}),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = post_json(&sim, "/_sim/calls", json!({"nope": 1})).await;
    assert_eq!(st, 400);

    // Bad REST input: unknown CallSid, malformed Twiml, wrong account, no auth.
    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Calls");
    let (st, e) = rest(
        &sim,
        Method::GET,
        &format!("{base}/CA0000000000000000000000000000dead.json"),
        &[],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}/not-a-sid.json"),
        &[("Status", "completed")],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (404, Some(20404)));
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}.json"),
        &[
            ("To", "+819011112222"),
            ("From", NUMBER),
            ("Twiml", "<Response><Bogus/></Response>"),
        ],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(12100)));
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}.json"),
        &[("From", NUMBER)],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(21201)));
    let (st, _) = rest(
        &sim,
        Method::GET,
        "/2010-04-01/Accounts/AC00000000000000000000000000000009/Calls.json",
        &[],
    )
    .await;
    assert_eq!(st, 403);
    let r = reqwest::get(format!("{}{base}.json", sim.base_url()))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_created_call_is_redirected_by_twiml_and_hung_up_idempotently() {
    let hooks = Hooks::start().await;
    let sim = start_sim(&hooks, None).await;
    let base = format!("/2010-04-01/Accounts/{ACCOUNT}/Calls");
    let (st, c) = rest(
        &sim,
        Method::POST,
        &format!("{base}.json"),
        &[
            ("To", "+819011112222"),
            ("From", NUMBER),
            ("Twiml", "<Response><Pause length=\"30\"/></Response>"),
            ("StatusCallback", &hooks.url("/progress")),
            (
                "StatusCallbackEvent",
                "initiated ringing answered completed",
            ),
        ],
    )
    .await;
    assert_eq!(st, 201, "{c}");
    assert_eq!(c["direction"], "outbound-api");
    let sid = c["sid"].as_str().unwrap().to_owned();
    eventually("the callee to answer", 5, async || {
        (call(&sim, &sid).await["status"] == "in-progress").then_some(())
    })
    .await;
    let (st, v) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{sid}.json"),
        &[(
            "Twiml",
            "<Response><Say>redirected</Say><Pause length=\"30\"/></Response>",
        )],
    )
    .await;
    assert_eq!(st, 200, "{v}");
    eventually("the redirected TwiML", 5, async || {
        let v = call(&sim, &sid).await;
        v["heard"]
            .as_array()
            .and_then(|h| h.iter().find(|x| x["detail"] == "redirected"))
            .map(|_| ())
    })
    .await;
    let (st, v) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{sid}.json"),
        &[("Status", "completed")],
    )
    .await;
    assert_eq!((st, v["status"].as_str()), (200, Some("completed")));
    let (st, v) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{sid}.json"),
        &[("Status", "completed")],
    )
    .await;
    assert_eq!(
        (st, v["status"].as_str()),
        (200, Some("completed")),
        "a repeated hang-up is a no-op"
    );
    let (st, e) = rest(
        &sim,
        Method::POST,
        &format!("{base}/{sid}.json"),
        &[("Url", &hooks.url("/x"))],
    )
    .await;
    assert_eq!((st, e["code"].as_u64()), (400, Some(21220)));
    let events = eventually("four progress callbacks", 5, async || {
        let h = hooks.hits("/progress");
        (h.len() == 4).then_some(h)
    })
    .await;
    let statuses: Vec<&str> = events.iter().filter_map(|h| h.get("CallStatus")).collect();
    assert_eq!(statuses, ["queued", "ringing", "in-progress", "completed"]);
    assert!(events.iter().all(|h| h.signature_ok));
    let (_, list) = rest(
        &sim,
        Method::GET,
        &format!("{base}.json?To=%2B819011112222"),
        &[],
    )
    .await;
    assert_eq!(list["calls"].as_array().map(Vec::len), Some(1));

    // <Enqueue> into a workflow that does not exist, and with attributes that are not a JSON object: Twilio's
    // error on the call, QueueResult=error, and the TwiML after the <Enqueue> still runs.
    let bad_enqueue = [("WW0000000000000000000000000000beef", "{}"), (WF, "[1,2]")];
    for (wf, attrs) in bad_enqueue {
        let twiml = format!(
            r#"<Response><Enqueue workflowSid="{wf}"><Task>{attrs}</Task></Enqueue><Say>after the queue</Say></Response>"#
        );
        let (st, c) = rest(
            &sim,
            Method::POST,
            &format!("{base}.json"),
            &[("To", "+819011113333"), ("From", NUMBER), ("Twiml", &twiml)],
        )
        .await;
        assert_eq!(st, 201, "{c}");
        let sid = c["sid"].as_str().unwrap().to_owned();
        let v = eventually("the call to end after the failed Enqueue", 10, async || {
            let v = call(&sim, &sid).await;
            (v["status"] == "completed").then_some(v)
        })
        .await;
        assert_eq!(v["heard"][0]["detail"], "after the queue", "{v}");
        assert_eq!(v["errors"].as_array().map(Vec::len), Some(1), "{v}");
    }

    // A busy simulated phone.
    post_json(
        &sim,
        "/_sim/calls/numbers",
        json!({"number": "+819033334444", "answer": "busy"}),
    )
    .await;
    let (_, c) = rest(
        &sim,
        Method::POST,
        &format!("{base}.json"),
        &[
            ("To", "+819033334444"),
            ("From", NUMBER),
            ("Twiml", "<Response/>"),
        ],
    )
    .await;
    let sid = c["sid"].as_str().unwrap().to_owned();
    eventually("busy", 5, async || {
        (call(&sim, &sid).await["status"] == "busy").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dial_client_rings_the_registered_device_with_parameters() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Dial timeout="10" action="/dialed"><Client statusCallback="/child" statusCallbackEvent="initiated ringing answered completed"><Identity>agent_1</Identity><Parameter name="CustomerName" value="山田 花子"/></Client></Dial></Response>"#,
    );
    let sim = start_sim(&hooks, None).await;
    let mut device = registered(&sim, "agent_1").await;

    let (_, placed) = post_json(
        &sim,
        "/_sim/calls",
        json!({"from": "+81312345678", "to": NUMBER, "tone_hz": 440.0}),
    )
    .await;
    let sid = placed["sid"].as_str().unwrap().to_owned();
    let ServerMessage::Invite(inv) = device.recv().await else {
        panic!("expected invite")
    };
    assert_eq!(inv.parameters.from, "+81312345678");
    assert_eq!(inv.parameters.to, "client:agent_1");
    assert_eq!(
        decode_params(&inv.parameters.params),
        vec![("CustomerName".to_string(), "山田 花子".to_string())]
    );
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
    eventually("the agent hears the caller's 440 Hz", 10, async || {
        leg.report()
            .dominant_hz
            .filter(|h| (h - 440.0).abs() < 5.0)
            .map(|_| ())
    })
    .await;
    assert_eq!(
        call(&sim, &sid).await["client_leg"],
        inv.parameters.call_sid.as_str()
    );

    // The caller hangs up: the client leg gets `hangup`, the Dial ends.
    post_json(&sim, &format!("/_sim/calls/{sid}/hangup"), json!({})).await;
    let ServerMessage::Hangup(h) = device.recv().await else {
        panic!("expected hangup")
    };
    assert_eq!(h.callsid.to_string(), inv.parameters.call_sid.to_string());
    let v = eventually("completed", 5, async || {
        let v = call(&sim, &sid).await;
        (v["status"] == "completed").then_some(v)
    })
    .await;
    assert!(v["client_leg"].is_null());

    // The dialled leg's own status callbacks, in order, with the caller as parent.
    let child = eventually("four child-leg callbacks", 5, async || {
        let h = hooks.hits("/child");
        (h.len() == 4).then_some(h)
    })
    .await;
    let statuses: Vec<&str> = child.iter().filter_map(|h| h.get("CallStatus")).collect();
    assert_eq!(
        statuses,
        ["initiated", "ringing", "in-progress", "completed"]
    );
    assert!(child.iter().all(|h| h.signature_ok
        && h.get("ParentCallSid") == Some(sid.as_str())
        && h.get("CallSid") == Some(inv.parameters.call_sid.as_str())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_callers_start_with_the_stand_in_and_follow_their_script() {
    let hooks = Hooks::start().await;
    hooks.twiml(
        "/voice",
        r#"<Response><Say>hello</Say><Pause length="30"/></Response>"#,
    );
    let text = format!(
        "{}\n[[callers]]\nfrom = \"+81311112222\"\nto = \"{NUMBER}\"\ndelay_ms = 50\nscript = [{{ do = \"wait\", ms = 300 }}, {{ do = \"hangup\" }}]\n",
        config(&hooks, None)
    );
    let cfg = tsunagi_twilio_sim::Config::from_toml(&text).expect("config with callers");
    let sim = tsunagi_twilio_sim::Sim::start_on(cfg, "127.0.0.1:0")
        .await
        .expect("start");
    let v = eventually("the configured caller's call to end", 10, async || {
        let all = get_json(&sim, "/_sim/calls").await;
        all.as_array()
            .and_then(|a| a.iter().find(|c| c["from"] == "+81311112222").cloned())
            .filter(|c| c["status"] == "completed")
    })
    .await;
    assert_eq!(v["to"], NUMBER);
    assert_eq!(v["heard"][0]["detail"], "hello");
    assert_eq!(hooks.hits("/voice")[0].get("From"), Some("+81311112222"));
    let status = eventually("the completed callback", 5, async || {
        hooks.hits("/status").pop()
    })
    .await;
    assert_eq!(status.get("CallStatus"), Some("completed"));
}
