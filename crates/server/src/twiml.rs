//! The TwiML documents the server answers with, built with `tsunagi_twilio::twiml` (never by string pasting).

use serde_json::Value;
use tsunagi_twilio::twiml::{Enqueue, HttpMethod, Pause, Redirect, Say, Task, Verb, VoiceResponse};

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
