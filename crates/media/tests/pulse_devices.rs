//! Real devices under a private PulseAudio with null sinks (feature `audio`; needs `pulseaudio` and `pactl`).
//! One test in this binary because it sets the process environment (XDG_RUNTIME_DIR, HOME) for the server.
//!
//! A call's speaker is the null sink `spk` (read back from `spk.monitor`), its microphone `vmic` is remapped from
//! the sink `mic`'s monitor (we play a tone into `mic`), and a third sink `ring` takes the ringtone. Then `vmic`
//! is unloaded mid-call (unplug) and loaded again (plug).
#![cfg(all(feature = "audio", feature = "driver"))]

mod pulse;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use tsunagi_media::audio::ringer::ring_pattern;
use tsunagi_media::audio::{
    AudioHost, Capture, DeviceAudio, DeviceEvent, DeviceInfo, DeviceKind, Ringer,
};
use tsunagi_media::driver::{Call, ToneAudio};
use tsunagi_media::tone::{tone_share, ToneGenerator};
use tsunagi_media::{EndpointConfig, EndpointEvent};

use pulse::Pulse;

/// The private daemon with the call's sinks and the remapped microphone.
fn start_pulse() -> Pulse {
    let pulse = Pulse::start(
        "media-devices",
        &[
            "module-null-sink sink_name=spk sink_properties=device.description=Speaker",
            "module-null-sink sink_name=mic sink_properties=device.description=MicFeed",
            "module-null-sink sink_name=ring sink_properties=device.description=Ringer",
        ],
    );
    load_vmic(&pulse);
    pulse
}

/// Plugs the microphone in: `vmic`, remapped from the `mic` sink's monitor.
fn load_vmic(pulse: &Pulse) -> String {
    pulse.pactl(&[
        "load-module",
        "module-remap-source",
        "master=mic.monitor",
        "source_name=vmic",
        "source_properties=device.description=VirtualMic",
    ])
}

fn find<'a>(devices: &'a [DeviceInfo], kind: DeviceKind, label: &str) -> &'a DeviceInfo {
    devices
        .iter()
        .find(|d| d.kind == kind && d.label == label)
        .unwrap_or_else(|| panic!("{label} not in {devices:#?}"))
}

fn tone(hz: f64, seconds: u64) -> Vec<i16> {
    let mut v = vec![0i16; 48_000 * seconds as usize];
    ToneGenerator::new(hz, 8_000.0).fill(&mut v);
    v
}

/// Collects `d` of audio from a capture.
async fn record(c: &Capture, d: Duration) -> Vec<i16> {
    let mut out = Vec::new();
    c.read(&mut Vec::new());
    let end = Instant::now() + d;
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(20)).await;
        c.read(&mut out);
    }
    out
}

async fn wait_for(
    call: &mut Call,
    what: &str,
    mut f: impl FnMut(&EndpointEvent) -> bool,
) -> EndpointEvent {
    let found = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(e) = call.next_event().await {
            if f(&e) {
                return Some(e);
            }
        }
        None
    })
    .await;
    found
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no {what} event"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_audio_through_pulseaudio_null_sinks() {
    let pulse = start_pulse();
    let host = AudioHost::new();
    assert_eq!(host.name(), "pulseaudio");
    let devices = host.devices().unwrap();
    let vmic = find(&devices, DeviceKind::Input, "VirtualMic").clone();
    let spk = find(&devices, DeviceKind::Output, "Speaker").clone();
    let mic_feed = find(&devices, DeviceKind::Output, "MicFeed").clone();
    let ring = find(&devices, DeviceKind::Output, "Ringer").clone();
    let spk_monitor = find(&devices, DeviceKind::Input, "Monitor of Speaker").clone();
    let ring_monitor = find(&devices, DeviceKind::Input, "Monitor of Ringer").clone();

    // The customer's tone goes into the agent's microphone.
    let _feed = Ringer::start(&host, Some(&mic_feed.id), tone(1_000.0, 1)).unwrap();
    let meter = Capture::open(&host, Some(&vmic.id)).unwrap();
    let speaker_out = Capture::open(&host, Some(&spk_monitor.id)).unwrap();

    let ip = Ipv4Addr::LOCALHOST.into();
    let remote_audio = ToneAudio::new(Some(440.0), 48_000);
    let remote = Call::start(
        ip,
        EndpointConfig::default(),
        Box::new(remote_audio.clone()),
    )
    .await
    .unwrap();
    let devices_audio = DeviceAudio::open(
        AudioHost::new(),
        Some(vmic.id.clone()),
        Some(spk.id.clone()),
    );
    assert_eq!(devices_audio.input_label().as_deref(), Some("VirtualMic"));
    assert_eq!(devices_audio.output_label().as_deref(), Some("Speaker"));
    let mut agent = Call::start(ip, EndpointConfig::default(), Box::new(devices_audio))
        .await
        .unwrap();
    let offer = agent.create_offer().await.unwrap();
    let answer = remote.accept_offer(&offer).await.unwrap();
    agent.accept_answer(&answer).await.unwrap();
    wait_for(&mut agent, "connected", |e| *e == EndpointEvent::Connected).await;

    // Remote tone → agent's speaker sink: audible at the sink's monitor, and 440 Hz, not the 1000 Hz of the
    // microphone path. (Gap-free playout is proven in tests/pulse_playback.rs.)
    let mut heard_speaker = (0.0, 0.0, 0.0);
    for _ in 0..100 {
        let played = record(&speaker_out, Duration::from_millis(300)).await;
        let rms = (played.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
            / played.len().max(1) as f64)
            .sqrt();
        heard_speaker = (
            rms,
            tone_share(&played, 440.0),
            tone_share(&played, 1_000.0),
        );
        if rms > 1_000.0 && heard_speaker.1 > 0.05 && heard_speaker.1 > 10.0 * heard_speaker.2 {
            break;
        }
    }
    let (rms, at_440, at_1000) = heard_speaker;
    assert!(
        rms > 1_000.0 && at_440 > 0.05 && at_440 > 10.0 * at_1000,
        "speaker monitor {heard_speaker:?}"
    );
    // Agent's microphone → remote: the remote hears the 1000 Hz fed into the mic sink (dominant over the
    // 440 Hz it sends itself).
    let (mut mic, mut level) = ((0.0, 0.0), 0.0f64);
    for _ in 0..120 {
        level = level.max(meter.level());
        let heard = remote_audio.heard();
        let tail = &heard[heard.len().saturating_sub(24_000)..];
        mic = (tone_share(tail, 1_000.0), tone_share(tail, 440.0));
        if mic.0 > 0.05 && mic.0 > 10.0 * mic.1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        mic.0 > 0.05 && mic.0 > 10.0 * mic.1,
        "remote hears the mic: {mic:?}; {:?}",
        agent.stats().await
    );
    // The input meter (peak-falling RMS) moved off silence; a clean tone of amplitude 8000 reads about 0.17.
    assert!(level > 0.01 && level < 0.3, "input level {level}");

    // The ringtone goes to its own device, not to the call's speaker.
    let ringer = Ringer::start(
        &host,
        Some(&ring.id),
        ring_pattern(Duration::from_secs(1), Duration::ZERO),
    )
    .unwrap();
    assert_eq!(ringer.label(), "Ringer");
    let ring_monitor = Capture::open(&host, Some(&ring_monitor.id)).unwrap();
    let mut rang = (0.0, 0.0);
    for _ in 0..100 {
        let r = record(&ring_monitor, Duration::from_millis(300)).await;
        rang = (tone_share(&r, 400.0), tone_share(&r, 1_000.0));
        if rang.0 > 0.02 && rang.0 > 5.0 * rang.1 {
            break;
        }
    }
    assert!(
        rang.0 > 0.02 && rang.0 > 5.0 * rang.1,
        "ring monitor 400 Hz vs 1000 Hz: {rang:?}"
    );
    let call_speaker = record(&speaker_out, Duration::from_millis(500)).await;
    assert!(
        tone_share(&call_speaker, 400.0) < 0.05,
        "ringtone leaked into the call speaker"
    );
    drop(ringer);

    // Unplug the microphone mid-call: a Lost event with a fallback, then plugging it back restores it.
    let module = pulse.pactl(&["list", "short", "modules"]);
    let remap = module
        .lines()
        .find(|l| l.contains("module-remap-source"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let before = remote.stats().await.unwrap();
    let unplugged = Instant::now();
    pulse.pactl(&["unload-module", &remap]);
    let lost = wait_for(&mut agent, "device lost", |e| {
        matches!(e, EndpointEvent::Device(DeviceEvent::Lost { .. }))
    })
    .await;
    let EndpointEvent::Device(DeviceEvent::Lost {
        kind,
        label,
        message,
        fallback,
    }) = lost
    else {
        unreachable!()
    };
    assert_eq!(kind, DeviceKind::Input);
    assert_eq!(label, "VirtualMic");
    assert!(message.contains("VirtualMic"), "{message}");
    assert!(fallback.is_some_and(|f| f != "VirtualMic"));
    // Plugging it back in moves the call back to it.
    load_vmic(&pulse);
    let restored = wait_for(&mut agent, "device restored", |e| {
        matches!(e, EndpointEvent::Device(DeviceEvent::Restored { .. }))
    })
    .await;
    assert_eq!(
        restored,
        EndpointEvent::Device(DeviceEvent::Restored {
            kind: DeviceKind::Input,
            label: "VirtualMic".into()
        })
    );
    // RTP kept flowing through unplug and re-plug (devices open on the supervisor thread, not the call task):
    // the remote kept receiving, well over half the 50 packets/s of the elapsed time.
    let after = remote.stats().await.unwrap();
    let elapsed = unplugged.elapsed().as_secs_f64();
    let received = after.packets_received - before.packets_received;
    println!("unplug to restore: {elapsed:.2} s, remote received {received} packets");
    assert!(
        received as f64 > 25.0 * elapsed,
        "{received} packets in {elapsed:.2} s"
    );

    // A device that does not exist: the call still runs, and says why.
    let missing = DeviceAudio::open(AudioHost::new(), Some("pulseaudio:nope".into()), None);
    assert_eq!(
        missing.output_label().as_deref(),
        Some("Speaker"),
        "default speaker"
    );
    assert!(
        missing.input_label().is_some(),
        "falls back to the default source"
    );
    agent.close();
}
