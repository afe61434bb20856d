//! TwiML: exact output for the product's documents, typed round trip, and malformed/hostile input.

use proptest::prelude::*;
use tsunagi_twilio::twiml::{
    Client, Conference, Dial, DialNoun, Enqueue, Gather, HttpMethod, Number, Pause, Play, Prompt,
    Redirect, Reject, RejectReason, Say, Task, Verb, MAX_DEPTH, MAX_TWIML_LEN,
};
use tsunagi_twilio::{TwimlError, VoiceResponse, WorkflowSid};

const DECL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

fn everything() -> VoiceResponse {
    VoiceResponse::new()
        .verb(
            Say::new("お電話ありがとうございます。<担当者> & \"おつなぎ\"します").language("ja-JP"),
        )
        .verb(Play {
            url: "https://cdn.example.jp/hold.mp3?a=1&b=2".into(),
            loop_count: Some(0),
            digits: None,
        })
        .verb(Pause { length: Some(2) })
        .verb(Gather {
            input: Some("dtmf".into()),
            num_digits: Some(1),
            action: Some("https://api.example.jp/menu?x=1&y=2".into()),
            method: Some(HttpMethod::Post),
            timeout: Some(5),
            finish_on_key: Some("#".into()),
            language: None,
            prompts: vec![
                Prompt::Say(Say::new("1を押してください").language("ja-JP")),
                Prompt::Pause(Pause::default()),
                Prompt::Play(Play {
                    url: String::new(),
                    loop_count: None,
                    digits: Some("ww1".into()),
                }),
            ],
        })
        .verb(Enqueue {
            action: Some("https://api.example.jp/twilio/voice/enqueue-action".into()),
            method: Some(HttpMethod::Post),
            wait_url: Some("https://api.example.jp/twilio/voice/wait".into()),
            wait_url_method: Some(HttpMethod::Get),
            ..Enqueue::workflow(
                WorkflowSid::from_u128(0xabc),
                r#"{"type":"inbound","call_sid":"CA1","from":"+81312345678","name":"田中 <VIP>"}"#,
            )
        })
        .verb(Dial {
            caller_id: Some("+81501234567".into()),
            answer_on_bridge: Some(true),
            timeout: Some(20),
            nouns: vec![
                DialNoun::Client(
                    Client::new("agent_1024")
                        .parameter("task", "WT1")
                        .parameter("note", "a\"b'c\n<d>"),
                ),
                DialNoun::Client(Client::new("agent_2048")),
                DialNoun::Number(Number {
                    status_callback_event: vec!["initiated".into(), "answered".into()],
                    status_callback: Some("https://api.example.jp/cb".into()),
                    ..Number::new("+81312345678")
                }),
            ],
            ..Dial::default()
        })
        .verb(Dial::new(Conference {
            start_conference_on_enter: Some(true),
            end_conference_on_exit: Some(false),
            beep: Some("false".into()),
            status_callback: Some(
                "https://api.example.jp/twilio/conference/status?task=WT1&x=y".into(),
            ),
            status_callback_event: vec![
                "start".into(),
                "end".into(),
                "join".into(),
                "leave".into(),
            ],
            record: Some("record-from-start".into()),
            recording_status_callback: Some(
                "https://api.example.jp/twilio/recording/status?task=WT1".into(),
            ),
            region: Some("jp1".into()),
            participant_label: Some("customer".into()),
            muted: Some(false),
            wait_url: Some(String::new()),
            ..Conference::new("WT00000000000000000000000000000001")
        }))
        .verb(Reject {
            reason: Some(RejectReason::Busy),
        })
        .verb(Redirect {
            url: "https://api.example.jp/next".into(),
            method: Some(HttpMethod::Get),
        })
        .verb(Verb::Hangup)
}

#[test]
fn round_trip_everything() {
    let r = everything();
    let xml = r.to_xml();
    assert!(xml.starts_with(DECL));
    assert_eq!(VoiceResponse::parse(&xml).unwrap(), r);
}

#[test]
fn exact_output_enqueue_and_conference() {
    let r = VoiceResponse::new()
        .verb(Enqueue::workflow(
            WorkflowSid::from_u128(1),
            r#"{"a":"<b>&"}"#,
        ))
        .verb(Dial::new(Conference {
            start_conference_on_enter: Some(true),
            end_conference_on_exit: Some(true),
            beep: Some("false".into()),
            region: Some("jp1".into()),
            status_callback_event: vec!["join".into(), "leave".into()],
            ..Conference::new("WT7")
        }))
        .verb(Dial::new(Client::new("agent_1024").parameter("k", "v&\"")));
    let expected = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#,
        r#"<Enqueue workflowSid="WW00000000000000000000000000000001"><Task>{"a":"&lt;b&gt;&amp;"}</Task></Enqueue>"#,
        r#"<Dial><Conference beep="false" startConferenceOnEnter="true" endConferenceOnExit="true" "#,
        r#"statusCallbackEvent="join leave" region="jp1">WT7</Conference></Dial>"#,
        r#"<Dial><Client><Identity>agent_1024</Identity><Parameter name="k" value="v&amp;&quot;"/></Client></Dial>"#,
        r#"</Response>"#
    );
    assert_eq!(r.to_xml(), expected);
    assert_eq!(VoiceResponse::new().to_xml(), format!("{DECL}<Response/>"));
    assert_eq!(
        VoiceResponse::new()
            .verb(Say::new(""))
            .verb(Verb::Hangup)
            .to_xml(),
        format!("{DECL}<Response><Say/><Hangup/></Response>")
    );
}

#[test]
fn invalid_xml_chars_are_replaced() {
    let xml = VoiceResponse::new()
        .verb(Say::new("a\u{0}b\u{1b}c\td"))
        .to_xml();
    assert!(xml.contains("<Say>a\u{fffd}b\u{fffd}c\td</Say>"), "{xml}");
    assert!(VoiceResponse::parse(&xml).is_ok());
}

#[test]
fn parses_hand_written_twiml() {
    let xml = r#"<?xml version="1.0"?>
        <!-- from a template -->
        <Response>
          <Say language="ja-JP" voice="Polly.Mizuki">こんにちは &#x4E16;&#30028; &lt;&amp;&gt;</Say>
          <Dial callerId="+815012345678" method="get">
            <Number>
              +81312345678
            </Number>
            <Client>agent_1</Client>
          </Dial>
          <Dial>+81399998888</Dial>
          <Enqueue waitUrl="/wait">support</Enqueue>
          <Play><![CDATA[https://x/y?a=1&b=2]]></Play>
          <Reject/>
        </Response>
    "#;
    let r = VoiceResponse::parse(xml).unwrap();
    assert_eq!(r.verbs.len(), 6);
    let Verb::Say(say) = &r.verbs[0] else {
        panic!("{:?}", r.verbs[0])
    };
    assert_eq!(say.text, "こんにちは 世界 <&>");
    assert_eq!(say.voice.as_deref(), Some("Polly.Mizuki"));
    let Verb::Dial(dial) = &r.verbs[1] else {
        panic!()
    };
    assert_eq!(dial.method, Some(HttpMethod::Get));
    assert_eq!(
        dial.nouns,
        vec![
            DialNoun::Number(Number::new("+81312345678")),
            DialNoun::Client(Client::new("agent_1"))
        ]
    );
    let Verb::Dial(bare) = &r.verbs[2] else {
        panic!()
    };
    assert_eq!(
        bare.nouns,
        vec![DialNoun::Number(Number::new("+81399998888"))]
    );
    let Verb::Enqueue(e) = &r.verbs[3] else {
        panic!()
    };
    assert_eq!(
        (e.name.as_deref(), e.wait_url.as_deref(), e.task.as_ref()),
        (Some("support"), Some("/wait"), None)
    );
    let Verb::Play(p) = &r.verbs[4] else { panic!() };
    assert_eq!(p.url, "https://x/y?a=1&b=2");
    assert_eq!(r.verbs[5], Verb::Reject(Reject { reason: None }));
    // A Task with a priority and pretty-printed JSON.
    let r = VoiceResponse::parse(
        r#"<Response><Enqueue workflowSid="WWffffffffffffffffffffffffffffffff"><Task priority="5">{ "a": 1 }</Task></Enqueue></Response>"#,
    )
    .unwrap();
    let Verb::Enqueue(e) = &r.verbs[0] else {
        panic!()
    };
    assert_eq!(
        e.task,
        Some(Task {
            attributes: r#"{ "a": 1 }"#.into(),
            priority: Some(5),
            timeout: None
        })
    );
}

fn err(xml: &str) -> TwimlError {
    VoiceResponse::parse(xml).unwrap_err()
}

#[test]
fn malformed_xml() {
    for xml in [
        "<Response>",
        "<Response><Say>hi</Response>",
        "<Response><Say>hi</Say></Respons>",
        "<Response></Response></Response>",
        "<Response><Say a=1>x</Say></Response>",
        r#"<Response><Say language="ja" language="en">x</Say></Response>"#,
        "<Response><Say>&bogus;</Say></Response>",
        "<Response><Say>&#0;</Say></Response>",
        "<Response",
        "<<>>",
        "<Response><Say>&#1;</Say></Response>",
        "<Response><Say>a\u{1}b</Say></Response>",
        "<Response><Say language=\"&#x1b;\">x</Say></Response>",
        "<Response><Say>&#xFFFF;</Say></Response>",
    ] {
        assert!(
            matches!(err(xml), TwimlError::Malformed { .. }),
            "{xml}: {:?}",
            err(xml)
        );
    }
}

#[test]
fn structural_errors() {
    assert_eq!(err(""), TwimlError::NotAResponse);
    assert_eq!(err("   "), TwimlError::NotAResponse);
    assert_eq!(err("just text"), TwimlError::NotAResponse);
    assert_eq!(err("<Reply/>"), TwimlError::NotAResponse);
    assert_eq!(err("<Response/><Response/>"), TwimlError::NotAResponse);
    assert_eq!(err("<Response/>trailing"), TwimlError::NotAResponse);
    assert_eq!(
        err(r#"<!DOCTYPE r [<!ENTITY x "y">]><Response/>"#),
        TwimlError::DoctypeNotAllowed
    );
    assert_eq!(
        err("<Response><Sms>x</Sms></Response>"),
        TwimlError::UnexpectedElement {
            parent: "Response".into(),
            name: "Sms".into()
        }
    );
    assert_eq!(
        err("<Response><Dial><Say>x</Say></Dial></Response>"),
        TwimlError::UnexpectedElement {
            parent: "Dial".into(),
            name: "Say".into()
        }
    );
    assert_eq!(
        err("<Response><Say><Play>u</Play></Say></Response>"),
        TwimlError::UnexpectedElement {
            parent: "Say".into(),
            name: "Play".into()
        }
    );
    assert_eq!(
        err("<Response>hello</Response>"),
        TwimlError::UnexpectedText {
            element: "Response"
        }
    );
    assert_eq!(
        err("<Response><Dial>+8131<Client>a</Client></Dial></Response>"),
        TwimlError::UnexpectedText { element: "Dial" }
    );
    assert_eq!(
        err(
            r#"<Response><Dial><Conference startConferenceOnEntre="true">x</Conference></Dial></Response>"#
        ),
        TwimlError::UnknownAttribute {
            element: "Conference",
            name: "startConferenceOnEntre".into()
        }
    );
    assert_eq!(
        err(
            r#"<Response><Dial><Conference beep="false" muted="yes">x</Conference></Dial></Response>"#
        ),
        TwimlError::InvalidAttribute {
            element: "Conference",
            name: "muted"
        }
    );
    assert_eq!(
        err(r#"<Response><Pause length="-1"/></Response>"#),
        TwimlError::InvalidAttribute {
            element: "Pause",
            name: "length"
        }
    );
    assert_eq!(
        err(r#"<Response><Enqueue workflowSid="WW123"><Task>{}</Task></Enqueue></Response>"#),
        TwimlError::InvalidAttribute {
            element: "Enqueue",
            name: "workflowSid"
        }
    );
    assert_eq!(
        err(r#"<Response><Reject reason="maybe"/></Response>"#),
        TwimlError::InvalidAttribute {
            element: "Reject",
            name: "reason"
        }
    );
    assert_eq!(
        err(r#"<Response><Redirect method="PUT">/x</Redirect></Response>"#),
        TwimlError::InvalidAttribute {
            element: "Redirect",
            name: "method"
        }
    );
    assert_eq!(
        err(
            r#"<Response><Dial><Client><Identity>a</Identity><Parameter name="x"/></Client></Dial></Response>"#
        ),
        TwimlError::MissingAttribute {
            element: "Parameter",
            name: "value"
        }
    );
    assert_eq!(
        err(
            r#"<Response><Dial><Client><Parameter name="x" value="y"/></Client></Dial></Response>"#
        ),
        TwimlError::MissingText { element: "Client" }
    );
    assert_eq!(
        err("<Response><Dial><Number> </Number></Dial></Response>"),
        TwimlError::MissingText { element: "Number" }
    );
    assert_eq!(
        err("<Response><Redirect/></Response>"),
        TwimlError::MissingText {
            element: "Redirect"
        }
    );
    assert_eq!(
        err("<Response><Play/></Response>"),
        TwimlError::MissingText { element: "Play" }
    );
    assert_eq!(
        err("<Response><Enqueue><Task>1</Task><Task>2</Task></Enqueue></Response>"),
        TwimlError::UnexpectedElement {
            parent: "Enqueue".into(),
            name: "Task".into()
        }
    );
    let long = "N".repeat(500);
    match err(&format!("<Response><{long}/></Response>")) {
        TwimlError::UnexpectedElement { name, .. } => assert_eq!(name.len(), 64),
        other => panic!("{other:?}"),
    }
}

#[test]
fn limits() {
    let big = format!(
        "<Response><Say>{}</Say></Response>",
        "a".repeat(MAX_TWIML_LEN)
    );
    assert_eq!(
        err(&big),
        TwimlError::TooLarge {
            len: big.len(),
            max: MAX_TWIML_LEN
        }
    );
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(
        err(&format!("<Response>{deep}</Response>")),
        TwimlError::TooDeep { max: MAX_DEPTH }
    );
    // Deep nesting is rejected without recursion, whatever the depth.
    let very_deep = "<a>".repeat(20_000);
    assert!(VoiceResponse::parse(&very_deep).is_err());
}

fn text() -> impl Strategy<Value = String> {
    // Arbitrary Unicode including markup characters, quotes and whitespace; no leading/trailing whitespace so
    // trimmed fields round-trip; non-empty.
    "[a-zA-Z0-9<>&\"' \n\t\r\u{3042}-\u{3093}+:/?=%#\u{1F600}]{0,20}[a-z0-9]".prop_map(|s| {
        let t = s.trim().to_owned();
        if t.is_empty() {
            "x".to_owned()
        } else {
            t
        }
    })
}

fn verb_strategy() -> impl Strategy<Value = Verb> {
    prop_oneof![
        (
            ".{0,30}",
            proptest::option::of("[a-z]{2}-[A-Z]{2}"),
            proptest::option::of(0u32..5)
        )
            .prop_map(|(t, l, n)| Verb::Say(Say {
                text: t.replace(
                    |c: char| c.is_control() && c != '\n' && c != '\t' && c != '\r',
                    ""
                ),
                language: l,
                loop_count: n,
                voice: None
            })),
        text().prop_map(|u| Verb::Play(Play::new(u))),
        proptest::option::of(any::<u32>()).prop_map(|length| Verb::Pause(Pause { length })),
        (text(), proptest::collection::vec((text(), ".{0,10}"), 0..3)).prop_map(|(id, params)| {
            let mut c = Client::new(id);
            for (k, v) in params {
                let v: String = v
                    .chars()
                    .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
                    .collect();
                c = c.parameter(k, v);
            }
            Verb::Dial(Dial::new(c))
        }),
        (text(), any::<Option<bool>>(), proptest::option::of(text())).prop_map(
            |(name, b, region)| {
                Verb::Dial(Dial::new(Conference {
                    end_conference_on_exit: b,
                    region,
                    ..Conference::new(name)
                }))
            }
        ),
        (any::<u128>(), ".{0,40}").prop_map(|(n, json)| {
            let json: String = json
                .chars()
                .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
                .collect();
            Verb::Enqueue(Enqueue::workflow(WorkflowSid::from_u128(n), json))
        }),
        text().prop_map(|u| Verb::Redirect(Redirect::new(u))),
        Just(Verb::Hangup),
        Just(Verb::Reject(Reject {
            reason: Some(RejectReason::Rejected)
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn typed_round_trip(verbs in proptest::collection::vec(verb_strategy(), 0..6)) {
        let r = VoiceResponse { verbs };
        let xml = r.to_xml();
        prop_assert_eq!(VoiceResponse::parse(&xml).unwrap(), r);
    }

    #[test]
    fn never_panics_on_arbitrary_input(s in ".{0,300}") {
        let _ = VoiceResponse::parse(&s);
    }

    #[test]
    fn never_panics_on_mutated_twiml(pos in any::<prop::sample::Index>(), cut in 0usize..40, insert in "[<>/&;\"'=a-zA-Z#x0-9 ]{0,6}") {
        let xml = everything().to_xml();
        let mut at = pos.index(xml.len());
        while !xml.is_char_boundary(at) { at -= 1; }
        let mut end = (at + cut).min(xml.len());
        while !xml.is_char_boundary(end) { end -= 1; }
        let mutated = format!("{}{}{}", &xml[..at], insert, &xml[end..]);
        // Whatever parses, re-serializes to a document that parses to the same tree.
        if let Ok(r) = VoiceResponse::parse(&mutated) {
            prop_assert_eq!(VoiceResponse::parse(&r.to_xml()), Ok(r));
        }
    }
}
