//! The TwiML documents the server answers with, built with `tsunagi_twilio::twiml` (never by string pasting).

use serde_json::Value;
use tsunagi_twilio::twiml::{
    Conference, Dial, Enqueue, HttpMethod, Pause, Redirect, Say, Task, Verb, VoiceResponse,
};

use crate::config::Config;

const JA: &str = "ja-JP";

/// `<Enqueue workflowSid waitUrl action><Task priority timeout>{attrs}</Task></Enqueue>` (spec §4.2).
pub fn enqueue(config: &Config, attrs: &Value) -> String {
    let public = &config.server.public_base_url;
    let mut enqueue = Enqueue::workflow(config.twilio.workflow_sid, attrs.to_string());
    enqueue.wait_url = Some(format!("{public}/twilio/voice/wait"));
    enqueue.wait_url_method = Some(HttpMethod::Get);
    enqueue.action = Some(format!("{public}/twilio/voice/enqueue-action"));
    enqueue.method = Some(HttpMethod::Post);
    enqueue.task = Some(Task {
        attributes: attrs.to_string(),
        priority: Some(10),
        timeout: u32::try_from(config.twilio.task_timeout_secs).ok(),
    });
    VoiceResponse::new().verb(enqueue).to_xml()
}

/// The queue's wait loop: a short announcement, a pause, then the loop again (GET, cacheable).
pub fn wait(config: &Config) -> String {
    let mut again = Redirect::new(format!(
        "{}/twilio/voice/wait",
        config.server.public_base_url
    ));
    again.method = Some(HttpMethod::Get);
    VoiceResponse::new()
        .verb(Say::new("ただいま電話が混み合っております。このままお待ちください。").language(JA))
        .verb(Pause { length: Some(10) })
        .verb(again)
        .to_xml()
}

/// What the caller hears after leaving the queue: nothing when bridged or hung up, an apology otherwise.
pub fn after_queue(queue_result: &str) -> String {
    match queue_result {
        "bridged" | "hangup" | "redirected" => VoiceResponse::new().to_xml(),
        _ => VoiceResponse::new()
            .verb(Say::new("申し訳ございません。ただいま電話に出ることができません。後ほどおかけ直しください。").language(JA))
            .verb(Verb::Hangup)
            .to_xml(),
    }
}

/// `record` for conferences, from configuration (spec §6).
pub fn record_mode(config: &Config) -> &'static str {
    if config.recordings.record {
        "record-from-start"
    } else {
        "do-not-record"
    }
}

/// An outbound call's agent leg (spec §5.7): `<Dial><Conference>` of the attempt's `ob-<uuid>` room, started
/// and ended by the agent, mixed in the configured region, reporting to the attempt's callback.
pub fn outbound_conference(config: &Config, attempt: &str, name: &str) -> String {
    let public = &config.server.public_base_url;
    let mut room = Conference::new(name);
    room.start_conference_on_enter = Some(true);
    room.end_conference_on_exit = Some(true);
    room.beep = Some("false".into());
    room.region = Some(config.twilio.region.clone());
    room.participant_label = Some("agent".into());
    room.status_callback = Some(format!(
        "{public}/twilio/outbound/conference?attempt={attempt}"
    ));
    room.status_callback_event = ["start", "end", "join", "leave"].map(String::from).to_vec();
    room.record = Some(record_mode(config).into());
    if config.recordings.record {
        room.recording_status_callback = Some(format!(
            "{public}/twilio/recording/status?attempt={attempt}"
        ));
    }
    VoiceResponse::new().verb(Dial::new(room)).to_xml()
}

/// A refused outbound call: a short apology, then hang up.
pub fn refused() -> String {
    VoiceResponse::new()
        .verb(Say::new("この発信はできません。").language(JA))
        .verb(Verb::Hangup)
        .to_xml()
}
