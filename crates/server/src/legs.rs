//! The Participants-API leg the server adds to a conference (a transfer target, an outbound call's customer):
//! one form builder so both flows ring legs the same way (spec §5.4 step 2, §5.7 step 3), and the status
//! values that mean the leg never answered.

use crate::state::AppState;

/// A leg to add.
#[derive(Debug, Clone)]
pub struct Leg<'a> {
    /// `client:<id>` or E.164.
    pub to: &'a str,
    /// Participant label.
    pub label: &'a str,
    /// `EndConferenceOnExit`.
    pub end_conference_on_exit: bool,
    /// Ring time, seconds.
    pub timeout_secs: u64,
    /// The id in the status callback URL (`attempt=`).
    pub attempt: &'a str,
    /// `transfer` or `customer` (`role=`).
    pub role: &'static str,
}

/// `POST Conferences/{CF}/Participants.json` parameters for `leg`, caller ID = the company DID.
pub fn form(state: &AppState, leg: &Leg<'_>) -> Vec<(&'static str, String)> {
    let tw = &state.config.twilio;
    vec![
        ("From", tw.caller_id.clone().unwrap_or_default()),
        ("To", leg.to.to_owned()),
        ("Label", leg.label.to_owned()),
        ("EarlyMedia", "true".into()),
        ("Beep", "false".into()),
        (
            "EndConferenceOnExit",
            leg.end_conference_on_exit.to_string(),
        ),
        ("Timeout", leg.timeout_secs.to_string()),
        ("Region", tw.region.clone()),
        (
            "StatusCallback",
            format!(
                "{}/twilio/participant/status?attempt={}&role={}",
                state.config.server.public_base_url, leg.attempt, leg.role
            ),
        ),
        ("StatusCallbackMethod", "POST".into()),
        // Twilio: "separate multiple values with a space".
        (
            "StatusCallbackEvent",
            "initiated ringing answered completed".into(),
        ),
    ]
}

/// The form as the REST client takes it.
pub fn refs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Leg statuses that mean the party never answered.
pub fn failed(call_status: &str) -> bool {
    matches!(call_status, "busy" | "no-answer" | "failed" | "canceled")
}

/// `+` then 8 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// An id we put in callback URLs: 1 to 64 ASCII letters, digits or `-`.
pub fn valid_key(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_keys() {
        assert!(is_e164("+81312345678"));
        for bad in [
            "81312345678",
            "+0312345678",
            "+81-3-1234",
            "+8131",
            "+8131234567890123",
            "",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
        assert!(valid_key("0b7c2f3e-1d2a-4f5b-9c8d-7e6f5a4b3c2d"));
        for bad in ["", "a b", "x&role=y", &"a".repeat(65)] {
            assert!(!valid_key(bad), "{bad}");
        }
        assert!(
            failed("busy") && failed("no-answer") && !failed("completed") && !failed("ringing")
        );
    }
}
