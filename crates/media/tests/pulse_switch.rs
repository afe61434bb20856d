//! Changing the microphone and speaker during a call (features `audio`, `driver`; needs `pulseaudio` and
//! `pactl`): under a private PulseAudio two sine sources are two microphones (1 kHz and 700 Hz) and two null
//! sinks are two speakers (read back from their monitors). A call runs on the first pair against a far end
//! sending 440 Hz; [`Call::set_devices`] moves it to the second pair: the far end then hears 700 Hz, and the
//! 440 Hz leaves the first speaker for the second, without a new call.
#![cfg(all(feature = "audio", feature = "driver"))]

mod pulse;

use std::net::Ipv4Addr;
use std::time::Duration;

use pulse::{Pulse, PATIENCE};
use tsunagi_media::audio::{AudioHost, Capture, DeviceAudio, DeviceInfo, DeviceKind};
use tsunagi_media::driver::{Call, ToneAudio};
use tsunagi_media::tone::tone_share;
use tsunagi_media::{EndpointConfig, EndpointEvent};

fn find(devices: &[DeviceInfo], kind: DeviceKind, label: &str) -> String {
    devices
        .iter()
        .find(|d| d.kind == kind && d.label == label)
        .unwrap_or_else(|| panic!("{label} not in {devices:#?}"))
        .id
        .clone()
}

/// 300 ms of what a speaker plays (its monitor), after dropping what was queued.
async fn listen(monitor: &Capture) -> Vec<i16> {
    monitor.read(&mut Vec::new());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    monitor.read(&mut out);
    out
}

fn loud(x: &[i16]) -> bool {
    x.iter().any(|s| s.abs() > 2_000)
}

/// Waits (by condition, up to [`PATIENCE`]) until `check` holds, panicking with `what` and the last state.
async fn until<T: std::fmt::Debug>(what: &str, mut check: impl AsyncFnMut() -> (bool, T)) -> T {
    let end = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (ok, state) = check().await;
        if ok {
            return state;
        }
        assert!(tokio::time::Instant::now() < end, "{what}: {state:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microphone_and_speaker_change_during_the_call() {
    let _pulse = Pulse::start(
        "media-switch",
        &[
            "module-null-sink sink_name=spk1 sink_properties=device.description=Speaker1",
            "module-null-sink sink_name=spk2 sink_properties=device.description=Speaker2",
            "module-sine-source source_name=mic1 rate=48000 frequency=1000 source_properties=device.description=Mic1",
            "module-sine-source source_name=mic2 rate=48000 frequency=700 source_properties=device.description=Mic2",
        ],
    );
    let host = AudioHost::new();
    assert_eq!(host.name(), "pulseaudio");
    let devices = host.devices().unwrap();
    let (mic1, mic2) = (
        find(&devices, DeviceKind::Input, "Mic1"),
        find(&devices, DeviceKind::Input, "Mic2"),
    );
    let (spk1, spk2) = (
        find(&devices, DeviceKind::Output, "Speaker1"),
        find(&devices, DeviceKind::Output, "Speaker2"),
    );
    let monitor1 = Capture::open(
        &host,
        Some(&find(&devices, DeviceKind::Input, "Monitor of Speaker1")),
    )
    .unwrap();
    let monitor2 = Capture::open(
        &host,
        Some(&find(&devices, DeviceKind::Input, "Monitor of Speaker2")),
    )
    .unwrap();

    let ip = Ipv4Addr::LOCALHOST.into();
    let far_audio = ToneAudio::new(Some(440.0), 14_400);
    let far = Call::start(ip, EndpointConfig::default(), Box::new(far_audio.clone()))
        .await
        .unwrap();
    let (m, s) = (mic1.clone(), spk1.clone());
    let devices_audio =
        tokio::task::spawn_blocking(move || DeviceAudio::open(AudioHost::new(), Some(m), Some(s)))
            .await
            .unwrap();
    let mut agent = Call::start(ip, EndpointConfig::default(), Box::new(devices_audio))
        .await
        .unwrap();
    let offer = agent.create_offer().await.unwrap();
    let answer = far.accept_offer(&offer).await.unwrap();
    agent.accept_answer(&answer).await.unwrap();
    tokio::time::timeout(PATIENCE, async {
        while let Some(e) = agent.next_event().await {
            if e == EndpointEvent::Connected {
                return;
            }
        }
    })
    .await
    .expect("connected");

    let before = until(
        "first devices: 1 kHz sent, 440 Hz on Speaker1",
        async || {
            let (one, two) = (listen(&monitor1).await, listen(&monitor2).await);
            let heard = far_audio.heard();
            let state = (
                tone_share(&heard, 1_000.0),
                tone_share(&one, 440.0),
                loud(&two),
            );
            (state.0 > 0.5 && state.1 > 0.5 && !state.2, state)
        },
    )
    .await;

    agent.set_devices(Some(mic2.clone()), Some(spk2.clone()));
    let after = until(
        "second devices: 700 Hz sent, 440 Hz on Speaker2 only",
        async || {
            let (one, two) = (listen(&monitor1).await, listen(&monitor2).await);
            let heard = far_audio.heard();
            let state = (
                tone_share(&heard, 700.0),
                tone_share(&two, 440.0),
                loud(&one),
            );
            (state.0 > 0.5 && state.1 > 0.5 && !state.2, state)
        },
    )
    .await;
    println!(
        "before (1 kHz share at the far end, 440 Hz share on Speaker1, Speaker2 loud): {before:?}; \
         after (700 Hz share at the far end, 440 Hz share on Speaker2, Speaker1 loud): {after:?}"
    );
    // Back to the system defaults (the first source and sink PulseAudio lists): still one call, still audio.
    agent.set_devices(Some("default".into()), None);
    let stats = agent.stats().await.unwrap();
    assert!(
        stats.packets_sent > 0 && stats.packets_received > 0,
        "{stats:?}"
    );
    agent.close();
}
