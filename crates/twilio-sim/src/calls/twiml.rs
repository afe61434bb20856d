//! The TwiML interpreter's pure half: a parsed `<Response>` becomes a queue of [`Step`]s the call driver executes.
//!
//! No I/O and no clock here. Audio verbs are *rendered as tones*: the stand-in has no speech or audio files, so a
//! `<Say>` is [`SAY_HZ`] for a time proportional to its text and a `<Play>` is [`PLAY_HZ`] for [`PLAY_MS`] per loop
//! (what the caller "heard" is recorded on the call). Loops of `0` ("until hangup") are capped at [`MAX_LOOP`].

use std::collections::VecDeque;

use tsunagi_twilio::twiml::{
    Dial, Enqueue, Gather, HttpMethod, Pause, Play, Prompt, RejectReason, Say, Verb, VoiceResponse,
};

/// Tone a `<Say>` is rendered as, Hz.
pub const SAY_HZ: f64 = 350.0;
/// Tone a `<Play>` is rendered as, Hz.
pub const PLAY_HZ: f64 = 620.0;
/// Duration of one `<Play>` loop, ms.
pub const PLAY_MS: u64 = 1_000;
/// `<Say>` duration per character, ms (clamped to 300 ms … 30 s).
pub const SAY_MS_PER_CHAR: u64 = 60;
/// Repetitions used for `loop="0"`.
pub const MAX_LOOP: u32 = 100;
/// Longest `<Pause>`, seconds.
pub const MAX_PAUSE_S: u32 = 600;
/// `<Gather>` default `timeout`, seconds.
pub const GATHER_TIMEOUT_S: u32 = 5;

/// A piece of audio played to the caller (or silence).
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// `say`, `play`, `pause` or `digits`.
    pub verb: &'static str,
    /// Tone frequency; `None` is silence.
    pub hz: Option<f64>,
    /// Duration, ms.
    pub ms: u64,
    /// The text, URL or digits (for the call's "heard" log).
    pub detail: String,
}

/// What a `<Gather>` waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct GatherStep {
    /// Prompts, interrupted by the first digit.
    pub prompts: Vec<Audio>,
    /// Whether DTMF is accepted at all (`input` contains `dtmf`, the default).
    pub dtmf: bool,
    /// Stop after this many digits.
    pub num_digits: Option<u32>,
    /// Silence after the prompts (and between digits) that ends the gather, ms.
    pub timeout_ms: u64,
    /// Key that ends input (not included in `Digits`); empty disables.
    pub finish_on_key: String,
    /// Where the digits go; `None` = the current document's URL.
    pub action: Option<String>,
    /// Method for `action`.
    pub method: HttpMethod,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Play audio (or silence).
    Audio(Audio),
    /// Collect DTMF.
    Gather(GatherStep),
    /// Connect to a client, number or conference.
    Dial(Dial),
    /// Create a TaskRouter task and wait in its queue.
    Enqueue(Enqueue),
    /// Refuse the call; the final `CallStatus`.
    Reject(&'static str),
    /// Hang up.
    Hangup,
    /// Continue with the TwiML at this URL.
    Redirect {
        /// URL (maybe relative to the current document).
        url: String,
        /// Method.
        method: HttpMethod,
    },
}

/// The remaining steps of one TwiML document.
#[derive(Debug, Clone, Default)]
pub struct Program {
    steps: VecDeque<Step>,
}

impl Program {
    /// Expands a parsed document into steps.
    pub fn new(doc: VoiceResponse) -> Self {
        let mut steps = VecDeque::new();
        for verb in doc.verbs {
            match verb {
                Verb::Say(s) => steps.extend(say(&s).into_iter().map(Step::Audio)),
                Verb::Play(p) => steps.extend(play(&p).into_iter().map(Step::Audio)),
                Verb::Pause(p) => steps.push_back(Step::Audio(pause(p))),
                Verb::Gather(g) => steps.push_back(Step::Gather(gather(g))),
                Verb::Dial(d) => steps.push_back(Step::Dial(d)),
                Verb::Enqueue(e) => steps.push_back(Step::Enqueue(e)),
                Verb::Reject(r) => steps.push_back(Step::Reject(reject_status(r.reason))),
                Verb::Hangup => steps.push_back(Step::Hangup),
                Verb::Redirect(r) => steps.push_back(Step::Redirect {
                    url: r.url,
                    method: r.method.unwrap_or(HttpMethod::Post),
                }),
                // `Verb` is non-exhaustive: a verb added to the parser later is skipped, as Twilio skips
                // verbs it does not support in a context.
                _ => {}
            }
        }
        Self { steps }
    }

    /// The next step; `None` when the document is done (Twilio then hangs up).
    pub fn next_step(&mut self) -> Option<Step> {
        self.steps.pop_front()
    }

    /// Whether the document starts with `<Reject>` (the call is then never answered).
    pub fn starts_with_reject(&self) -> bool {
        matches!(self.steps.front(), Some(Step::Reject(_)))
    }
}

fn loops(n: Option<u32>) -> u32 {
    match n {
        Some(0) => MAX_LOOP,
        Some(n) => n.min(MAX_LOOP),
        None => 1,
    }
}

/// `<Say>` as tones.
pub fn say(s: &Say) -> Vec<Audio> {
    let chars = s.text.chars().count() as u64;
    let ms = (chars * SAY_MS_PER_CHAR).clamp(300, 30_000);
    let detail = match &s.language {
        Some(l) => format!("{l}:{}", s.text),
        None => s.text.clone(),
    };
    (0..loops(s.loop_count))
        .map(|_| Audio {
            verb: "say",
            hz: Some(SAY_HZ),
            ms,
            detail: detail.clone(),
        })
        .collect()
}

/// `<Play>` as tones (`digits` as a short tone per digit).
pub fn play(p: &Play) -> Vec<Audio> {
    if let Some(d) = p.digits.as_deref().filter(|d| !d.is_empty()) {
        return vec![Audio {
            verb: "digits",
            hz: Some(PLAY_HZ),
            ms: 100 * d.len() as u64,
            detail: d.to_owned(),
        }];
    }
    (0..loops(p.loop_count))
        .map(|_| Audio {
            verb: "play",
            hz: Some(PLAY_HZ),
            ms: PLAY_MS,
            detail: p.url.clone(),
        })
        .collect()
}

/// `<Pause>` as silence.
pub fn pause(p: Pause) -> Audio {
    let s = p.length.unwrap_or(1).min(MAX_PAUSE_S);
    Audio {
        verb: "pause",
        hz: None,
        ms: u64::from(s) * 1_000,
        detail: String::new(),
    }
}

fn gather(g: Gather) -> GatherStep {
    let mut prompts = Vec::new();
    for p in &g.prompts {
        match p {
            Prompt::Say(s) => prompts.extend(say(s)),
            Prompt::Play(p) => prompts.extend(play(p)),
            Prompt::Pause(p) => prompts.push(pause(*p)),
        }
    }
    GatherStep {
        prompts,
        dtmf: g.input.as_deref().is_none_or(|i| i.contains("dtmf")),
        num_digits: g.num_digits.filter(|n| *n > 0),
        timeout_ms: u64::from(g.timeout.unwrap_or(GATHER_TIMEOUT_S).min(MAX_PAUSE_S)) * 1_000,
        finish_on_key: g.finish_on_key.unwrap_or_else(|| "#".into()),
        action: g.action.filter(|a| !a.is_empty()),
        method: g.method.unwrap_or(HttpMethod::Post),
    }
}

/// Final `CallStatus` of a `<Reject>`: `busy` for `reason="busy"`; ⚠️ the stand-in also reports the default
/// `rejected` as `busy` (the caller hears a refusal and the call is never answered).
pub fn reject_status(_reason: Option<RejectReason>) -> &'static str {
    "busy"
}

/// Resolves a TwiML URL attribute against the document it came from (absolute, host-relative or relative).
pub fn resolve(base: Option<&str>, url: &str) -> String {
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.to_owned();
    }
    let Some(base) = base else {
        return url.to_owned();
    };
    let base = base.split(['?', '#']).next().unwrap_or(base);
    let origin_end = base
        .find("://")
        .and_then(|i| base[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(base.len());
    if url.is_empty() {
        base.to_owned()
    } else if url.starts_with('/') {
        format!("{}{url}", &base[..origin_end])
    } else {
        let dir_end = base
            .rfind('/')
            .filter(|i| *i >= origin_end)
            .unwrap_or(base.len());
        format!("{}/{url}", &base[..dir_end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(xml: &str) -> Vec<Step> {
        let mut p = Program::new(VoiceResponse::parse(xml).expect("twiml"));
        std::iter::from_fn(|| p.next_step()).collect()
    }

    #[test]
    fn say_play_pause_render_as_tones_and_silence() {
        let steps = program(
            r#"<Response><Say language="ja-JP">お電話ありがとうございます</Say><Play loop="2">https://x/a.mp3</Play><Pause length="2"/></Response>"#,
        );
        assert_eq!(steps.len(), 4);
        let Step::Audio(a) = &steps[0] else { panic!() };
        assert_eq!(
            (a.verb, a.hz, a.ms),
            ("say", Some(SAY_HZ), 13 * SAY_MS_PER_CHAR)
        );
        assert!(a.detail.starts_with("ja-JP:"));
        assert!(matches!(&steps[2], Step::Audio(a) if a.verb == "play"));
        assert!(matches!(&steps[3], Step::Audio(a) if a.hz.is_none() && a.ms == 2_000));
    }

    #[test]
    fn loop_zero_is_capped() {
        let steps = program(r#"<Response><Play loop="0">https://x/hold.mp3</Play></Response>"#);
        assert_eq!(steps.len(), MAX_LOOP as usize);
    }

    #[test]
    fn gather_defaults() {
        let steps = program(
            r#"<Response><Gather numDigits="1" action="/menu"><Say>press 1</Say></Gather><Hangup/></Response>"#,
        );
        let Step::Gather(g) = &steps[0] else { panic!() };
        assert_eq!(g.num_digits, Some(1));
        assert_eq!(g.timeout_ms, 5_000);
        assert_eq!(g.finish_on_key, "#");
        assert_eq!(g.action.as_deref(), Some("/menu"));
        assert!(g.dtmf && g.prompts.len() == 1);
        assert_eq!(steps[1], Step::Hangup);
    }

    #[test]
    fn reject_first_is_detected() {
        let mut p = Program::new(
            VoiceResponse::parse(r#"<Response><Reject reason="busy"/></Response>"#).unwrap(),
        );
        assert!(p.starts_with_reject());
        assert_eq!(p.next_step(), Some(Step::Reject("busy")));
        assert_eq!(p.next_step(), None);
    }

    #[test]
    fn urls_resolve_like_a_browser() {
        let base = Some("http://127.0.0.1:8080/twilio/voice/inbound?x=1");
        assert_eq!(resolve(base, "/menu"), "http://127.0.0.1:8080/menu");
        assert_eq!(
            resolve(base, "wait"),
            "http://127.0.0.1:8080/twilio/voice/wait"
        );
        assert_eq!(
            resolve(base, ""),
            "http://127.0.0.1:8080/twilio/voice/inbound"
        );
        assert_eq!(resolve(base, "https://a.example/b"), "https://a.example/b");
        assert_eq!(resolve(None, "/x"), "/x");
    }
}
