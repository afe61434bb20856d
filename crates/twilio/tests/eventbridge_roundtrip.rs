//! EventBridge frames survive `to_text` → `parse_frame` unchanged, numbers included: a payload number with more
//! digits than an `f64` holds is read correctly rounded, so writing it back and reading it again gives the same
//! value (found by `cargo fuzz run eventbridge_frame`; before, the second reading was one unit off).

use tsunagi_twilio::eventbridge::parse_frame;

fn round_trips(text: &str) {
    let frame = parse_frame(text).expect("parses").expect("a frame");
    let again = parse_frame(&frame.to_text()).expect("parses again");
    assert_eq!(again, Some(frame), "{text}");
}

#[test]
fn a_long_number_in_the_payload_round_trips() {
    // The fuzzer's input: a frame in its array form with an 85-digit integer as the payload.
    let crash = format!(r#"["\nnln\nfnlnn\nnln\nfnln\nn",[{}]]"#, "6".repeat(85));
    round_trips(&crash);
}

#[test]
fn long_and_tiny_numbers_round_trip_in_the_object_form() {
    for n in [
        "1".repeat(40),
        format!("0.{}1", "0".repeat(30)),
        format!("{}e-300", "9".repeat(25)),
        "123456789012345678901234567890.123456789".to_owned(),
    ] {
        round_trips(&format!(
            r#"{{"event_type":"worker.activity.update","payload":{{"n":{n}}}}}"#
        ));
    }
}
