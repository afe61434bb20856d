//! TwiML writer: typed tree → escaped UTF-8 XML. Attribute order is fixed per element.

use super::{
    Client, Conference, Dial, DialNoun, Enqueue, Gather, HttpMethod, Number, Play, Prompt,
    Redirect, RejectReason, Say, Verb, VoiceResponse,
};

type Attrs<'a> = [(&'static str, Option<String>)];

pub(super) fn to_xml(response: &VoiceResponse) -> String {
    let mut out = String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    element(&mut out, "Response", &[], |out| {
        for verb in &response.verbs {
            write_verb(out, verb);
        }
    });
    out
}

fn write_verb(out: &mut String, verb: &Verb) {
    match verb {
        Verb::Say(s) => write_say(out, s),
        Verb::Play(p) => write_play(out, p),
        Verb::Pause(p) => element(out, "Pause", &[("length", num(p.length))], |_| {}),
        Verb::Gather(g) => write_gather(out, g),
        Verb::Dial(d) => write_dial(out, d),
        Verb::Enqueue(e) => write_enqueue(out, e),
        Verb::Reject(r) => {
            let reason = r.reason.map(|r| {
                match r {
                    RejectReason::Rejected => "rejected",
                    RejectReason::Busy => "busy",
                }
                .to_owned()
            });
            element(out, "Reject", &[("reason", reason)], |_| {})
        }
        Verb::Hangup => element(out, "Hangup", &[], |_| {}),
        Verb::Redirect(r) => write_redirect(out, r),
    }
}

fn write_say(out: &mut String, s: &Say) {
    let attrs = [
        ("voice", s.voice.clone()),
        ("language", s.language.clone()),
        ("loop", num(s.loop_count)),
    ];
    element(out, "Say", &attrs, |out| text(out, &s.text));
}

fn write_play(out: &mut String, p: &Play) {
    let attrs = [("loop", num(p.loop_count)), ("digits", p.digits.clone())];
    element(out, "Play", &attrs, |out| text(out, &p.url));
}

fn write_gather(out: &mut String, g: &Gather) {
    let attrs = [
        ("input", g.input.clone()),
        ("numDigits", num(g.num_digits)),
        ("action", g.action.clone()),
        ("method", method(g.method)),
        ("timeout", num(g.timeout)),
        ("finishOnKey", g.finish_on_key.clone()),
        ("language", g.language.clone()),
    ];
    element(out, "Gather", &attrs, |out| {
        for prompt in &g.prompts {
            match prompt {
                Prompt::Say(s) => write_say(out, s),
                Prompt::Play(p) => write_play(out, p),
                Prompt::Pause(p) => element(out, "Pause", &[("length", num(p.length))], |_| {}),
            }
        }
    });
}

fn write_dial(out: &mut String, d: &Dial) {
    let attrs = [
        ("action", d.action.clone()),
        ("method", method(d.method)),
        ("callerId", d.caller_id.clone()),
        ("timeout", num(d.timeout)),
        ("timeLimit", num(d.time_limit)),
        ("answerOnBridge", boolean(d.answer_on_bridge)),
        ("record", d.record.clone()),
        (
            "recordingStatusCallback",
            d.recording_status_callback.clone(),
        ),
    ];
    element(out, "Dial", &attrs, |out| {
        for noun in &d.nouns {
            match noun {
                DialNoun::Client(c) => write_client(out, c),
                DialNoun::Number(n) => write_number(out, n),
                DialNoun::Conference(c) => write_conference(out, c),
            }
        }
    });
}

fn write_client(out: &mut String, c: &Client) {
    let attrs = [
        ("url", c.url.clone()),
        ("statusCallback", c.status_callback.clone()),
        ("statusCallbackEvent", list(&c.status_callback_event)),
    ];
    element(out, "Client", &attrs, |out| {
        if c.parameters.is_empty() {
            text(out, &c.identity);
        } else {
            element(out, "Identity", &[], |out| text(out, &c.identity));
            for (name, value) in &c.parameters {
                let attrs = [("name", Some(name.clone())), ("value", Some(value.clone()))];
                element(out, "Parameter", &attrs, |_| {});
            }
        }
    });
}

fn write_number(out: &mut String, n: &Number) {
    let attrs = [
        ("sendDigits", n.send_digits.clone()),
        ("url", n.url.clone()),
        ("statusCallback", n.status_callback.clone()),
        ("statusCallbackEvent", list(&n.status_callback_event)),
    ];
    element(out, "Number", &attrs, |out| text(out, &n.number));
}

fn write_conference(out: &mut String, c: &Conference) {
    let attrs = [
        ("muted", boolean(c.muted)),
        ("beep", c.beep.clone()),
        (
            "startConferenceOnEnter",
            boolean(c.start_conference_on_enter),
        ),
        ("endConferenceOnExit", boolean(c.end_conference_on_exit)),
        ("waitUrl", c.wait_url.clone()),
        ("statusCallback", c.status_callback.clone()),
        ("statusCallbackEvent", list(&c.status_callback_event)),
        ("record", c.record.clone()),
        (
            "recordingStatusCallback",
            c.recording_status_callback.clone(),
        ),
        ("region", c.region.clone()),
        ("participantLabel", c.participant_label.clone()),
    ];
    element(out, "Conference", &attrs, |out| text(out, &c.name));
}

fn write_enqueue(out: &mut String, e: &Enqueue) {
    let attrs = [
        ("action", e.action.clone()),
        ("method", method(e.method)),
        ("waitUrl", e.wait_url.clone()),
        ("waitUrlMethod", method(e.wait_url_method)),
        ("workflowSid", e.workflow_sid.map(|s| s.as_str().to_owned())),
    ];
    element(out, "Enqueue", &attrs, |out| {
        if let Some(name) = &e.name {
            text(out, name);
        }
        if let Some(task) = &e.task {
            let attrs = [
                ("priority", num(task.priority)),
                ("timeout", num(task.timeout)),
            ];
            element(out, "Task", &attrs, |out| text(out, &task.attributes));
        }
    });
}

fn write_redirect(out: &mut String, r: &Redirect) {
    element(out, "Redirect", &[("method", method(r.method))], |out| {
        text(out, &r.url)
    });
}

fn num(n: Option<u32>) -> Option<String> {
    n.map(|n| n.to_string())
}

fn boolean(b: Option<bool>) -> Option<String> {
    b.map(|b| b.to_string())
}

fn method(m: Option<HttpMethod>) -> Option<String> {
    m.map(|m| m.as_str().to_owned())
}

fn list(items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| items.join(" "))
}

/// Writes `<name attrs>body</name>`, or `<name attrs/>` when `body` writes nothing.
fn element(out: &mut String, name: &str, attrs: &Attrs<'_>, body: impl FnOnce(&mut String)) {
    out.push('<');
    out.push_str(name);
    for (key, value) in attrs {
        if let Some(value) = value {
            out.push(' ');
            out.push_str(key);
            out.push_str("=\"");
            escape(out, value, true);
            out.push('"');
        }
    }
    out.push('>');
    let open_end = out.len();
    body(out);
    if out.len() == open_end {
        out.pop();
        out.push_str("/>");
    } else {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
}

fn text(out: &mut String, s: &str) {
    escape(out, s, false);
}

/// Escapes markup characters; in attributes also quotes and the whitespace that attribute normalization would
/// turn into spaces. Characters XML 1.0 forbids become U+FFFD.
fn escape(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
}
