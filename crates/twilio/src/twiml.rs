//! TwiML for voice: a typed tree of the verbs Tsunagi uses, an XML writer and a bounded parser of the same subset.
//!
//! The server builds a [`VoiceResponse`] and serializes it with [`VoiceResponse::to_xml`] (UTF-8, escaped, with
//! an XML declaration). The stand-in reads the server's TwiML back with [`VoiceResponse::parse`], so whatever the
//! writer emits the parser accepts, and `parse(to_xml(r)) == r` for every tree (tested).
//!
//! Subset: `Say`, `Play`, `Pause`, `Gather` (with nested `Say`/`Play`/`Pause`), `Dial` (`Client` with
//! `Identity` + `Parameter`, `Number`, `Conference`), `Enqueue` (queue name or `workflowSid` + `<Task>` JSON),
//! `Reject`, `Hangup`, `Redirect`.
//!
//! The parser is strict and bounded: input over [`MAX_TWIML_LEN`] or nested deeper than [`MAX_DEPTH`] is
//! rejected, as are DTDs, unknown elements and unknown attributes (a typo in the server's TwiML fails loudly in
//! tests instead of being ignored). It never panics. Values (phone numbers, identities) are never echoed in errors.

mod parse;
mod write;

use crate::sid::WorkflowSid;

/// Largest TwiML document [`VoiceResponse::parse`] accepts, in bytes (Twilio's own limit is 64 KiB).
pub const MAX_TWIML_LEN: usize = 64 * 1024;
/// Deepest element nesting [`VoiceResponse::parse`] accepts (the subset needs 4).
pub const MAX_DEPTH: usize = 8;

/// Why a TwiML document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TwimlError {
    /// The document exceeds [`MAX_TWIML_LEN`].
    #[error("TwiML too large: {len} bytes (max {max})")]
    TooLarge {
        /// Document length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Elements are nested deeper than [`MAX_DEPTH`].
    #[error("TwiML nested deeper than {max}")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Not well-formed XML (syntax, mismatched or missing end tag, bad escape, unknown entity).
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset where the reader stopped.
        position: u64,
        /// Description from the XML reader.
        message: String,
    },
    /// The document contains a `<!DOCTYPE>`, which TwiML never needs.
    #[error("DOCTYPE is not allowed in TwiML")]
    DoctypeNotAllowed,
    /// The root element is missing or is not `<Response>`, or content follows it.
    #[error("expected a single <Response> root element")]
    NotAResponse,
    /// An element that is not allowed (or not supported) inside its parent.
    #[error("unexpected <{name}> inside <{parent}>")]
    UnexpectedElement {
        /// Parent element name.
        parent: String,
        /// The offending element name (truncated to 64 bytes).
        name: String,
    },
    /// An attribute this element does not support.
    #[error("unknown attribute `{name}` on <{element}>")]
    UnknownAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name (truncated to 64 bytes).
        name: String,
    },
    /// An attribute whose value does not parse (bad number, boolean, SID or enum value). The value is not echoed.
    #[error("invalid value for `{name}` on <{element}>")]
    InvalidAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        name: &'static str,
    },
    /// A required attribute is absent.
    #[error("missing attribute `{name}` on <{element}>")]
    MissingAttribute {
        /// Element name.
        element: &'static str,
        /// Attribute name.
        name: &'static str,
    },
    /// Non-whitespace text where only elements are allowed.
    #[error("unexpected text inside <{element}>")]
    UnexpectedText {
        /// Element name.
        element: &'static str,
    },
    /// An element that needs text content (e.g. a `<Number>`, a `<Redirect>` URL) has none.
    #[error("<{element}> needs text content")]
    MissingText {
        /// Element name.
        element: &'static str,
    },
}

/// HTTP method for callback attributes (`method`, `waitUrlMethod`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    /// `GET`
    Get,
    /// `POST`
    Post,
}

impl HttpMethod {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// A `<Response>` document: the verbs, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VoiceResponse {
    /// The verbs Twilio executes in order.
    pub verbs: Vec<Verb>,
}

impl VoiceResponse {
    /// An empty response (`<Response/>`: Twilio hangs up).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a verb (builder style).
    pub fn verb(mut self, verb: impl Into<Verb>) -> Self {
        self.verbs.push(verb.into());
        self
    }

    /// Serializes to a UTF-8 XML document with an XML declaration. Characters XML 1.0 cannot carry (control
    /// characters other than tab/newline/carriage return) are replaced by U+FFFD.
    pub fn to_xml(&self) -> String {
        write::to_xml(self)
    }

    /// Parses a TwiML document of the supported subset (see the module docs for limits and strictness).
    pub fn parse(xml: &str) -> Result<Self, TwimlError> {
        parse::parse(xml)
    }
}

/// One TwiML verb (a child of `<Response>`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verb {
    /// `<Say>`
    Say(Say),
    /// `<Play>`
    Play(Play),
    /// `<Pause>`
    Pause(Pause),
    /// `<Gather>`
    Gather(Gather),
    /// `<Dial>`
    Dial(Dial),
    /// `<Enqueue>`
    Enqueue(Enqueue),
    /// `<Reject>`
    Reject(Reject),
    /// `<Hangup/>`
    Hangup,
    /// `<Redirect>`
    Redirect(Redirect),
}

macro_rules! into_verb {
    ($($t:ident),+) => {$(
        impl From<$t> for Verb {
            fn from(v: $t) -> Verb {
                Verb::$t(v)
            }
        }
    )+};
}
into_verb!(Say, Play, Pause, Gather, Dial, Enqueue, Reject, Redirect);

/// `<Say>`: text-to-speech.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Say {
    /// The text to speak.
    pub text: String,
    /// `voice`, e.g. `Polly.Mizuki`.
    pub voice: Option<String>,
    /// `language`, e.g. `ja-JP`.
    pub language: Option<String>,
    /// `loop`: repetitions (0 = until hangup).
    pub loop_count: Option<u32>,
}

impl Say {
    /// `<Say>` of `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Sets `language` (e.g. `ja-JP`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// `<Play>`: plays audio from a URL (or DTMF `digits`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Play {
    /// The audio URL (may be empty when only `digits` is set).
    pub url: String,
    /// `loop`: repetitions (0 = until hangup).
    pub loop_count: Option<u32>,
    /// `digits`: DTMF tones to play.
    pub digits: Option<String>,
}

impl Play {
    /// `<Play>` of `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// `<Pause>`: silence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pause {
    /// `length` in seconds (Twilio default 1).
    pub length: Option<u32>,
}

/// What a `<Gather>` plays while waiting for input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    /// Nested `<Say>`.
    Say(Say),
    /// Nested `<Play>`.
    Play(Play),
    /// Nested `<Pause>`.
    Pause(Pause),
}

/// `<Gather>`: collects DTMF or speech.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gather {
    /// `input`: `dtmf`, `speech` or `dtmf speech`.
    pub input: Option<String>,
    /// `numDigits`.
    pub num_digits: Option<u32>,
    /// `action`: URL receiving the result.
    pub action: Option<String>,
    /// `method` for `action`.
    pub method: Option<HttpMethod>,
    /// `timeout` in seconds.
    pub timeout: Option<u32>,
    /// `finishOnKey`.
    pub finish_on_key: Option<String>,
    /// `language` (speech recognition).
    pub language: Option<String>,
    /// Nested prompts, in order.
    pub prompts: Vec<Prompt>,
}

/// `<Dial>`: connects the call to one or more nouns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dial {
    /// `action`: URL called when the dialed party hangs up.
    pub action: Option<String>,
    /// `method` for `action`.
    pub method: Option<HttpMethod>,
    /// `callerId`.
    pub caller_id: Option<String>,
    /// `timeout` in seconds (ringing).
    pub timeout: Option<u32>,
    /// `timeLimit` in seconds.
    pub time_limit: Option<u32>,
    /// `answerOnBridge`.
    pub answer_on_bridge: Option<bool>,
    /// `record` (e.g. `record-from-answer-dual`).
    pub record: Option<String>,
    /// `recordingStatusCallback`.
    pub recording_status_callback: Option<String>,
    /// What to dial. A bare-text `<Dial>+8150…</Dial>` parses as one [`DialNoun::Number`].
    pub nouns: Vec<DialNoun>,
}

impl Dial {
    /// `<Dial>` of a single noun.
    pub fn new(noun: impl Into<DialNoun>) -> Self {
        Self {
            nouns: vec![noun.into()],
            ..Self::default()
        }
    }
}

/// A noun inside `<Dial>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialNoun {
    /// `<Client>`: a Voice SDK identity.
    Client(Client),
    /// `<Number>`: a phone number.
    Number(Number),
    /// `<Conference>`: a named conference room.
    Conference(Conference),
}

impl From<Client> for DialNoun {
    fn from(c: Client) -> Self {
        Self::Client(c)
    }
}
impl From<Number> for DialNoun {
    fn from(n: Number) -> Self {
        Self::Number(n)
    }
}
impl From<Conference> for DialNoun {
    fn from(c: Conference) -> Self {
        Self::Conference(c)
    }
}

/// `<Client>`: dials a Voice SDK identity, optionally with custom `<Parameter>`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The identity. Written as `<Identity>` when parameters are present, as bare text otherwise.
    pub identity: String,
    /// Custom parameters (`<Parameter name value/>`), in order.
    pub parameters: Vec<(String, String)>,
    /// `url`: TwiML run on the client leg before bridging.
    pub url: Option<String>,
    /// `statusCallback`.
    pub status_callback: Option<String>,
    /// `statusCallbackEvent` (space-separated on the wire).
    pub status_callback_event: Vec<String>,
}

impl Client {
    /// `<Client>` of `identity`.
    pub fn new(identity: impl Into<String>) -> Self {
        Self {
            identity: identity.into(),
            ..Self::default()
        }
    }

    /// Adds a `<Parameter>`.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.push((name.into(), value.into()));
        self
    }
}

/// `<Number>`: dials a phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Number {
    /// The number (E.164).
    pub number: String,
    /// `sendDigits`.
    pub send_digits: Option<String>,
    /// `url`: TwiML run on the called leg before bridging.
    pub url: Option<String>,
    /// `statusCallback`.
    pub status_callback: Option<String>,
    /// `statusCallbackEvent` (space-separated on the wire).
    pub status_callback_event: Vec<String>,
}

impl Number {
    /// `<Number>` of `number`.
    pub fn new(number: impl Into<String>) -> Self {
        Self {
            number: number.into(),
            ..Self::default()
        }
    }
}

/// `<Conference>`: joins a named conference.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conference {
    /// The room name (Tsunagi uses the TaskSid).
    pub name: String,
    /// `muted`.
    pub muted: Option<bool>,
    /// `beep`: `true`, `false`, `onEnter` or `onExit`.
    pub beep: Option<String>,
    /// `startConferenceOnEnter`.
    pub start_conference_on_enter: Option<bool>,
    /// `endConferenceOnExit`.
    pub end_conference_on_exit: Option<bool>,
    /// `waitUrl` (empty string = silence).
    pub wait_url: Option<String>,
    /// `statusCallback`.
    pub status_callback: Option<String>,
    /// `statusCallbackEvent` (space-separated on the wire), e.g. `start end join leave`.
    pub status_callback_event: Vec<String>,
    /// `record`: `do-not-record` or `record-from-start`.
    pub record: Option<String>,
    /// `recordingStatusCallback`.
    pub recording_status_callback: Option<String>,
    /// `region`: media mixing region, e.g. `jp1`.
    pub region: Option<String>,
    /// `participantLabel`.
    pub participant_label: Option<String>,
}

impl Conference {
    /// `<Conference>` named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// `<Enqueue>`: puts the caller in a queue, or creates a TaskRouter task with `workflowSid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Enqueue {
    /// Queue name (text content); unused with a workflow.
    pub name: Option<String>,
    /// `workflowSid`: route through TaskRouter.
    pub workflow_sid: Option<WorkflowSid>,
    /// `action`: URL called when the caller leaves the queue.
    pub action: Option<String>,
    /// `method` for `action`.
    pub method: Option<HttpMethod>,
    /// `waitUrl`: hold music/TwiML.
    pub wait_url: Option<String>,
    /// `waitUrlMethod`.
    pub wait_url_method: Option<HttpMethod>,
    /// Nested `<Task>` (with a workflow).
    pub task: Option<Task>,
}

impl Enqueue {
    /// `<Enqueue workflowSid=…><Task>attributes_json</Task></Enqueue>`.
    pub fn workflow(workflow_sid: WorkflowSid, attributes_json: impl Into<String>) -> Self {
        Self {
            workflow_sid: Some(workflow_sid),
            task: Some(Task {
                attributes: attributes_json.into(),
                priority: None,
                timeout: None,
            }),
            ..Self::default()
        }
    }
}

/// `<Task>` inside `<Enqueue>`: the task attributes as JSON text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    /// Task attributes, a JSON object as text (written escaped, never re-serialized).
    pub attributes: String,
    /// `priority`.
    pub priority: Option<u32>,
    /// `timeout` in seconds.
    pub timeout: Option<u32>,
}

/// `reason` of `<Reject>`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// `rejected` (Twilio's default).
    #[default]
    Rejected,
    /// `busy`.
    Busy,
}

/// `<Reject>`: declines an incoming call without answering (no charge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reject {
    /// `reason`; absent means Twilio's default (`rejected`).
    pub reason: Option<RejectReason>,
}

/// `<Redirect>`: continues with TwiML from another URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redirect {
    /// The URL.
    pub url: String,
    /// `method`.
    pub method: Option<HttpMethod>,
}

impl Redirect {
    /// `<Redirect>` to `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            method: None,
        }
    }
}
