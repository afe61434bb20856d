//! The diagnostics' microphone test on real devices (feature `audio`; needs `pulseaudio` and `pactl`): under a
//! private PulseAudio a sine source reads a clear level, a silent source (an idle null sink's monitor) about 0, and a microphone that
//! is not connected is told apart from one that cannot be opened.
#![cfg(feature = "audio")]

mod pulse;

use std::time::{Duration, Instant};

use pulse::Pulse;
use tsunagi_media::audio::meter::{mic_test, MicTestError, TICK};
use tsunagi_media::audio::{AudioHost, DeviceKind};

fn id_of(host: &AudioHost, label: &str) -> String {
    let devices = host.devices().unwrap();
    devices
        .iter()
        .find(|d| d.kind == DeviceKind::Input && d.label == label)
        .unwrap_or_else(|| panic!("{label} not in {devices:#?}"))
        .id
        .clone()
}

#[test]
fn mic_test_reads_a_sine_a_silence_and_words_failures() {
    let _pulse = Pulse::start(
        "media-meter",
        &[
            "module-sine-source source_name=tone rate=48000 frequency=1000 source_properties=device.description=ToneMic",
            "module-null-sink sink_name=quiet sink_properties=device.description=Quiet",
        ],
    );
    let host = AudioHost::new();
    assert_eq!(host.name(), "pulseaudio");
    let tone = id_of(&host, "ToneMic");
    let silent = id_of(&host, "Monitor of Quiet");

    // A 1 kHz sine: every tick after the first reports a clear level, and the peak is one of them.
    let mut levels = Vec::new();
    let started = Instant::now();
    let peak = mic_test(&host, Some(&tone), Duration::from_millis(1_500), |l| {
        levels.push(l);
        true
    })
    .unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1_500) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(levels.len() >= 10, "{levels:?}");
    assert!(peak > 0.1, "sine peak {peak} ({levels:?})");
    assert!(
        levels[3..].iter().all(|&l| l > 0.1),
        "sine levels {levels:?}"
    );
    assert!(levels.contains(&peak));

    // Silence reads about 0.
    let peak = mic_test(&host, Some(&silent), Duration::from_millis(800), |_| true).unwrap();
    assert!(peak < 0.001, "silent peak {peak}");

    // The listener going away stops the test at the next tick.
    let started = Instant::now();
    let mut ticks = 0;
    mic_test(&host, Some(&tone), Duration::from_secs(30), |_| {
        ticks += 1;
        false
    })
    .unwrap();
    assert_eq!(ticks, 1);
    assert!(started.elapsed() < Duration::from_secs(5) + TICK);

    // A microphone that is not connected is "not found", not "cannot be opened".
    let gone = mic_test(
        &host,
        Some("pulseaudio:no_such_microphone"),
        Duration::from_millis(300),
        |_| true,
    );
    assert!(matches!(gone, Err(MicTestError::NotFound(_))), "{gone:?}");

    // Unplugged between listing and opening (the source unloaded): not found either, never a panic or a hang.
    _pulse.pactl(&["unload-module", "module-null-sink"]);
    let unplugged = mic_test(&host, Some(&silent), Duration::from_millis(300), |_| true);
    assert!(unplugged.is_err(), "{unplugged:?}");
}
