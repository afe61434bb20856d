//! TwiML parser: bounded XML → a small element tree → the typed [`VoiceResponse`], strictly.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{
    Client, Conference, Dial, DialNoun, Enqueue, Gather, HttpMethod, Number, Pause, Play, Prompt,
    Redirect, Reject, RejectReason, Say, Task, TwimlError, Verb, VoiceResponse, MAX_DEPTH,
    MAX_TWIML_LEN,
};
use crate::sid::WorkflowSid;

/// A parsed element: name, attributes (decoded), children.
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Child>,
}

enum Child {
    Element(Node),
    Text(String),
}

pub(super) fn parse(xml: &str) -> Result<VoiceResponse, TwimlError> {
    if xml.len() > MAX_TWIML_LEN {
        return Err(TwimlError::TooLarge {
            len: xml.len(),
            max: MAX_TWIML_LEN,
        });
    }
    let root = read_tree(xml)?;
    if root.name != "Response" {
        return Err(TwimlError::NotAResponse);
    }
    let mut attrs = Attrs::new("Response", root.attrs);
    attrs.finish()?;
    let verbs = elements("Response", root.children)?
        .into_iter()
        .map(verb)
        .collect::<Result<_, _>>()?;
    Ok(VoiceResponse { verbs })
}

fn malformed(reader: &Reader<&[u8]>, e: impl std::fmt::Display) -> TwimlError {
    TwimlError::Malformed {
        position: reader.error_position(),
        message: e.to_string(),
    }
}

fn read_tree(xml: &str) -> Result<Node, TwimlError> {
    let mut reader = Reader::from_str(xml);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&reader, e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                if root.is_some() {
                    return Err(TwimlError::NotAResponse);
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(TwimlError::TooDeep { max: MAX_DEPTH });
                }
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|e| malformed(&reader, e))?;
                    let key = String::from_utf8_lossy(attr.key.as_ref()).into_owned();
                    let value = attr
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|e| malformed(&reader, e))?
                        .into_owned();
                    if !legal_xml(&value) {
                        return Err(malformed(&reader, "character not allowed in XML"));
                    }
                    attrs.push((key, value));
                }
                let node = Node {
                    name,
                    attrs,
                    children: Vec::new(),
                };
                if matches!(event, Event::Empty(_)) {
                    close(&mut stack, &mut root, node);
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                // quick-xml checks that end names match; an unmatched end tag is an error there.
                let node = stack.pop().ok_or(TwimlError::NotAResponse)?;
                close(&mut stack, &mut root, node);
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| malformed(&reader, e))?;
                push_text(&reader, &mut stack, &s)?;
            }
            Event::CData(t) => {
                let s = t.decode().map_err(|e| malformed(&reader, e))?;
                push_text(&reader, &mut stack, &s)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| malformed(&reader, e))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| malformed(&reader, e))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(&reader, "unknown entity"))?
                            .to_owned()
                    }
                };
                push_text(&reader, &mut stack, &resolved)?;
            }
            Event::DocType(_) => return Err(TwimlError::DoctypeNotAllowed),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed(&reader, "missing end tag"));
    }
    root.ok_or(TwimlError::NotAResponse)
}

fn close(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Child::Element(node)),
        None => *root = Some(node),
    }
}

/// XML 1.0 `Char`: no control characters other than tab, newline and carriage return, no U+FFFE/U+FFFF.
/// Checked on decoded text and attribute values, so character references cannot smuggle them in either.
fn legal_xml(s: &str) -> bool {
    !s.chars().any(|c| {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    })
}

fn push_text(reader: &Reader<&[u8]>, stack: &mut [Node], s: &str) -> Result<(), TwimlError> {
    if !legal_xml(s) {
        return Err(malformed(reader, "character not allowed in XML"));
    }
    let Some(node) = stack.last_mut() else {
        // Outside the root only whitespace may appear.
        return if s.trim().is_empty() {
            Ok(())
        } else {
            Err(TwimlError::NotAResponse)
        };
    };
    match node.children.last_mut() {
        Some(Child::Text(t)) => t.push_str(s),
        _ => node.children.push(Child::Text(s.to_owned())),
    }
    Ok(())
}

fn truncated(s: &str) -> String {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// The element children of a container; whitespace text is ignored, other text is an error.
fn elements(element: &'static str, children: Vec<Child>) -> Result<Vec<Node>, TwimlError> {
    let mut out = Vec::new();
    for child in children {
        match child {
            Child::Element(n) => out.push(n),
            Child::Text(t) if t.trim().is_empty() => {}
            Child::Text(_) => return Err(TwimlError::UnexpectedText { element }),
        }
    }
    Ok(out)
}

/// The text of a leaf element; any child element is an error.
fn text_only(element: &'static str, children: Vec<Child>) -> Result<String, TwimlError> {
    let mut out = String::new();
    for child in children {
        match child {
            Child::Text(t) => out.push_str(&t),
            Child::Element(n) => return Err(unexpected(element, &n.name)),
        }
    }
    Ok(out)
}

/// Trimmed, non-empty text (URLs, numbers, identities, names).
fn required_text(element: &'static str, children: Vec<Child>) -> Result<String, TwimlError> {
    let t = text_only(element, children)?;
    let t = t.trim();
    if t.is_empty() {
        return Err(TwimlError::MissingText { element });
    }
    Ok(t.to_owned())
}

fn unexpected(parent: &str, name: &str) -> TwimlError {
    TwimlError::UnexpectedElement {
        parent: parent.to_owned(),
        name: truncated(name),
    }
}

/// Attributes of one element, consumed by name; leftovers are unknown attributes.
struct Attrs {
    element: &'static str,
    list: Vec<(String, String)>,
}

impl Attrs {
    fn new(element: &'static str, list: Vec<(String, String)>) -> Self {
        Self { element, list }
    }

    fn take(&mut self, name: &'static str) -> Option<String> {
        let i = self.list.iter().position(|(k, _)| k == name)?;
        Some(self.list.swap_remove(i).1)
    }

    fn parsed<T>(
        &mut self,
        name: &'static str,
        f: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, TwimlError> {
        match self.take(name) {
            None => Ok(None),
            Some(v) => f(v.trim()).map(Some).ok_or(TwimlError::InvalidAttribute {
                element: self.element,
                name,
            }),
        }
    }

    fn num(&mut self, name: &'static str) -> Result<Option<u32>, TwimlError> {
        self.parsed(name, |v| v.parse().ok())
    }

    fn boolean(&mut self, name: &'static str) -> Result<Option<bool>, TwimlError> {
        self.parsed(name, |v| match v {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
    }

    fn method(&mut self, name: &'static str) -> Result<Option<HttpMethod>, TwimlError> {
        self.parsed(name, |v| match v.to_ascii_uppercase().as_str() {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            _ => None,
        })
    }

    fn list(&mut self, name: &'static str) -> Vec<String> {
        self.take(name)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn required(&mut self, name: &'static str) -> Result<String, TwimlError> {
        self.take(name).ok_or(TwimlError::MissingAttribute {
            element: self.element,
            name,
        })
    }

    fn finish(&mut self) -> Result<(), TwimlError> {
        // Namespace declarations carry no TwiML meaning.
        self.list
            .retain(|(k, _)| k != "xmlns" && !k.starts_with("xmlns:"));
        match self.list.first() {
            None => Ok(()),
            Some((k, _)) => Err(TwimlError::UnknownAttribute {
                element: self.element,
                name: truncated(k),
            }),
        }
    }
}

fn verb(node: Node) -> Result<Verb, TwimlError> {
    Ok(match node.name.as_str() {
        "Say" => Verb::Say(say(node)?),
        "Play" => Verb::Play(play(node)?),
        "Pause" => Verb::Pause(pause(node)?),
        "Gather" => Verb::Gather(gather(node)?),
        "Dial" => Verb::Dial(dial(node)?),
        "Enqueue" => Verb::Enqueue(enqueue(node)?),
        "Reject" => {
            let mut a = Attrs::new("Reject", node.attrs);
            let reason = a.parsed("reason", |v| match v {
                "rejected" => Some(RejectReason::Rejected),
                "busy" => Some(RejectReason::Busy),
                _ => None,
            })?;
            a.finish()?;
            elements("Reject", node.children)?
                .first()
                .map_or(Ok(()), |n| Err(unexpected("Reject", &n.name)))?;
            Verb::Reject(Reject { reason })
        }
        "Hangup" => {
            Attrs::new("Hangup", node.attrs).finish()?;
            elements("Hangup", node.children)?
                .first()
                .map_or(Ok(()), |n| Err(unexpected("Hangup", &n.name)))?;
            Verb::Hangup
        }
        "Redirect" => {
            let mut a = Attrs::new("Redirect", node.attrs);
            let method = a.method("method")?;
            a.finish()?;
            Verb::Redirect(Redirect {
                url: required_text("Redirect", node.children)?,
                method,
            })
        }
        other => return Err(unexpected("Response", other)),
    })
}

fn say(node: Node) -> Result<Say, TwimlError> {
    let mut a = Attrs::new("Say", node.attrs);
    let say = Say {
        voice: a.take("voice"),
        language: a.take("language"),
        loop_count: a.num("loop")?,
        text: String::new(),
    };
    a.finish()?;
    Ok(Say {
        text: text_only("Say", node.children)?,
        ..say
    })
}

fn play(node: Node) -> Result<Play, TwimlError> {
    let mut a = Attrs::new("Play", node.attrs);
    let loop_count = a.num("loop")?;
    let digits = a.take("digits");
    a.finish()?;
    let url = text_only("Play", node.children)?.trim().to_owned();
    if url.is_empty() && digits.is_none() {
        return Err(TwimlError::MissingText { element: "Play" });
    }
    Ok(Play {
        url,
        loop_count,
        digits,
    })
}

fn pause(node: Node) -> Result<Pause, TwimlError> {
    let mut a = Attrs::new("Pause", node.attrs);
    let length = a.num("length")?;
    a.finish()?;
    if let Some(n) = elements("Pause", node.children)?.first() {
        return Err(unexpected("Pause", &n.name));
    }
    Ok(Pause { length })
}

fn gather(node: Node) -> Result<Gather, TwimlError> {
    let mut a = Attrs::new("Gather", node.attrs);
    let mut g = Gather {
        input: a.take("input"),
        num_digits: a.num("numDigits")?,
        action: a.take("action"),
        method: a.method("method")?,
        timeout: a.num("timeout")?,
        finish_on_key: a.take("finishOnKey"),
        language: a.take("language"),
        prompts: Vec::new(),
    };
    a.finish()?;
    for child in elements("Gather", node.children)? {
        g.prompts.push(match child.name.as_str() {
            "Say" => Prompt::Say(say(child)?),
            "Play" => Prompt::Play(play(child)?),
            "Pause" => Prompt::Pause(pause(child)?),
            other => return Err(unexpected("Gather", other)),
        });
    }
    Ok(g)
}

fn dial(node: Node) -> Result<Dial, TwimlError> {
    let mut a = Attrs::new("Dial", node.attrs);
    let mut d = Dial {
        action: a.take("action"),
        method: a.method("method")?,
        caller_id: a.take("callerId"),
        timeout: a.num("timeout")?,
        time_limit: a.num("timeLimit")?,
        answer_on_bridge: a.boolean("answerOnBridge")?,
        record: a.take("record"),
        recording_status_callback: a.take("recordingStatusCallback"),
        nouns: Vec::new(),
    };
    a.finish()?;
    let bare: String = node
        .children
        .iter()
        .filter_map(|c| match c {
            Child::Text(t) => Some(t.as_str()),
            Child::Element(_) => None,
        })
        .collect();
    let bare = bare.trim();
    if !bare.is_empty() {
        // `<Dial>+815012345678</Dial>`: a bare number, with no nouns beside it.
        if node.children.iter().any(|c| matches!(c, Child::Element(_))) {
            return Err(TwimlError::UnexpectedText { element: "Dial" });
        }
        d.nouns.push(DialNoun::Number(Number::new(bare)));
        return Ok(d);
    }
    for child in elements("Dial", node.children)? {
        d.nouns.push(match child.name.as_str() {
            "Client" => DialNoun::Client(client(child)?),
            "Number" => DialNoun::Number(number(child)?),
            "Conference" => DialNoun::Conference(conference(child)?),
            other => return Err(unexpected("Dial", other)),
        });
    }
    Ok(d)
}

fn client(node: Node) -> Result<Client, TwimlError> {
    let mut a = Attrs::new("Client", node.attrs);
    let mut c = Client {
        url: a.take("url"),
        status_callback: a.take("statusCallback"),
        status_callback_event: a.list("statusCallbackEvent"),
        ..Client::default()
    };
    a.finish()?;
    let has_elements = node
        .children
        .iter()
        .any(|ch| matches!(ch, Child::Element(_)));
    if !has_elements {
        c.identity = required_text("Client", node.children)?;
        return Ok(c);
    }
    let mut identity = None;
    for child in elements("Client", node.children)? {
        match child.name.as_str() {
            "Identity" if identity.is_none() => {
                Attrs::new("Identity", child.attrs).finish()?;
                identity = Some(required_text("Identity", child.children)?);
            }
            "Parameter" => {
                let mut a = Attrs::new("Parameter", child.attrs);
                let name = a.required("name")?;
                let value = a.required("value")?;
                a.finish()?;
                if let Some(n) = elements("Parameter", child.children)?.first() {
                    return Err(unexpected("Parameter", &n.name));
                }
                c.parameters.push((name, value));
            }
            other => return Err(unexpected("Client", other)),
        }
    }
    c.identity = identity.ok_or(TwimlError::MissingText { element: "Client" })?;
    Ok(c)
}

fn number(node: Node) -> Result<Number, TwimlError> {
    let mut a = Attrs::new("Number", node.attrs);
    let n = Number {
        send_digits: a.take("sendDigits"),
        url: a.take("url"),
        status_callback: a.take("statusCallback"),
        status_callback_event: a.list("statusCallbackEvent"),
        number: String::new(),
    };
    a.finish()?;
    Ok(Number {
        number: required_text("Number", node.children)?,
        ..n
    })
}

fn conference(node: Node) -> Result<Conference, TwimlError> {
    let mut a = Attrs::new("Conference", node.attrs);
    let c = Conference {
        muted: a.boolean("muted")?,
        beep: a.take("beep"),
        start_conference_on_enter: a.boolean("startConferenceOnEnter")?,
        end_conference_on_exit: a.boolean("endConferenceOnExit")?,
        wait_url: a.take("waitUrl"),
        status_callback: a.take("statusCallback"),
        status_callback_event: a.list("statusCallbackEvent"),
        record: a.take("record"),
        recording_status_callback: a.take("recordingStatusCallback"),
        region: a.take("region"),
        participant_label: a.take("participantLabel"),
        name: String::new(),
    };
    a.finish()?;
    Ok(Conference {
        name: required_text("Conference", node.children)?,
        ..c
    })
}

fn enqueue(node: Node) -> Result<Enqueue, TwimlError> {
    let mut a = Attrs::new("Enqueue", node.attrs);
    let mut e = Enqueue {
        action: a.take("action"),
        method: a.method("method")?,
        wait_url: a.take("waitUrl"),
        wait_url_method: a.method("waitUrlMethod")?,
        workflow_sid: a.parsed("workflowSid", |v| WorkflowSid::parse(v).ok())?,
        ..Enqueue::default()
    };
    a.finish()?;
    let has_elements = node
        .children
        .iter()
        .any(|ch| matches!(ch, Child::Element(_)));
    if !has_elements {
        let name = text_only("Enqueue", node.children)?.trim().to_owned();
        e.name = (!name.is_empty()).then_some(name);
        return Ok(e);
    }
    for child in elements("Enqueue", node.children)? {
        match child.name.as_str() {
            "Task" if e.task.is_none() => {
                let mut a = Attrs::new("Task", child.attrs);
                let priority = a.num("priority")?;
                let timeout = a.num("timeout")?;
                a.finish()?;
                let attributes = text_only("Task", child.children)?;
                e.task = Some(Task {
                    attributes,
                    priority,
                    timeout,
                });
            }
            other => return Err(unexpected("Enqueue", other)),
        }
    }
    Ok(e)
}
