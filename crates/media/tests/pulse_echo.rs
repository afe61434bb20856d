//! Echo cancellation in a real call on real devices (features `audio`, `aec`, `driver`; needs `pulseaudio` and
//! `pactl`): under a private PulseAudio the agent's speaker is the null sink `spk`, whose monitor is looped back
//! (module-loopback, like a loudspeaker heard by the microphone) into the sink `room`; the agent's microphone
//! `mic` is remapped from `room`'s monitor, and the agent's own voice is played into `room` too. The agent's
//! call (DeviceAudio behind [`ProcessedAudio`]) talks over UDP on 127.0.0.1 to a far end that sends a
//! speech-like voice ([`Babble`]) and records what it hears, i.e. what the agent's call sent.
//!
//! Three phases per call: the far end talks alone (what it hears back is its echo), then the agent alone (its
//! voice must survive), then both. Once with processing off and once with everything on (echo cancellation,
//! noise suppression, gain control): the echo must drop by at least [`MIN_ECHO_DROP_DB`] while the agent's voice
//! keeps its level within [`MAX_VOICE_LOSS_DB`].
#![cfg(all(feature = "audio", feature = "aec", feature = "driver"))]

mod pulse;

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pulse::Pulse;
use tsunagi_media::aec::{ProcessedAudio, Processing};
use tsunagi_media::audio::{AudioHost, DeviceAudio, DeviceKind, Playback};
use tsunagi_media::driver::{AudioPort, Call};
use tsunagi_media::tone::Babble;
use tsunagi_media::{EndpointConfig, EndpointEvent, FRAME_SAMPLES};

const MIN_ECHO_DROP_DB: f64 = 15.0;
const MAX_VOICE_LOSS_DB: f64 = 6.0;

/// The far end: talks while `talking`, keeps everything it hears.
struct FarEnd {
    voice: Babble,
    talking: Arc<AtomicBool>,
    heard: Arc<Mutex<Vec<i16>>>,
}

impl AudioPort for FarEnd {
    fn capture(&mut self, out: &mut Vec<i16>) {
        let mut frame = [0i16; FRAME_SAMPLES];
        self.voice.fill(&mut frame);
        if !self.talking.load(Ordering::Relaxed) {
            frame = [0; FRAME_SAMPLES];
        }
        out.extend_from_slice(&frame);
    }

    fn play(&mut self, frame: &[i16; FRAME_SAMPLES]) {
        self.heard.lock().unwrap().extend_from_slice(frame);
    }
}

fn rms(s: &[i16]) -> f64 {
    (s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / s.len().max(1) as f64).sqrt()
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1.0).log10()
}

/// Plays the agent's voice into `room` at the call task's pace while `talking` (silence otherwise), until `stop`.
fn agent_voice(
    host: &AudioHost,
    room: &str,
    talking: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let playback = Playback::open(host, Some(room)).expect("the room sink opens");
    std::thread::spawn(move || {
        let mut voice = Babble::new(210.0, 9_000.0, 99);
        let start = Instant::now();
        let mut written = 0usize;
        let mut frame = [0i16; FRAME_SAMPLES];
        while !stop.load(Ordering::Relaxed) {
            let due = (start.elapsed().as_secs_f64() * 48_000.0) as usize + 1_920;
            while written + FRAME_SAMPLES <= due {
                voice.fill(&mut frame);
                if !talking.load(Ordering::Relaxed) {
                    frame = [0; FRAME_SAMPLES];
                }
                playback.write(&frame);
                written += FRAME_SAMPLES;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

async fn connected(call: &mut Call) {
    tokio::time::timeout(pulse::PATIENCE, async {
        while let Some(e) = call.next_event().await {
            if e == EndpointEvent::Connected {
                return;
            }
        }
        panic!("call ended before connecting");
    })
    .await
    .expect("connected");
}

/// RMS heard by the far end over the last 2 s of each phase: (far alone, agent alone, both).
#[derive(Debug)]
struct Levels {
    echo: f64,
    voice: f64,
    both: f64,
}

async fn one_call(host_ids: (&str, &str, &str), processing: Processing) -> Levels {
    let (mic, spk, room) = host_ids;
    let host = AudioHost::new();
    let (mic, spk) = (mic.to_owned(), spk.to_owned());
    let devices = tokio::task::spawn_blocking(move || {
        DeviceAudio::open(AudioHost::new(), Some(mic), Some(spk))
    })
    .await
    .unwrap();
    let agent_port = ProcessedAudio::new(Box::new(devices), processing);
    assert_eq!(agent_port.is_processing(), processing.any());
    let far_talking = Arc::new(AtomicBool::new(false));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let far_port = FarEnd {
        voice: Babble::new(120.0, 9_000.0, 7),
        talking: far_talking.clone(),
        heard: heard.clone(),
    };
    let ip = Ipv4Addr::LOCALHOST.into();
    let mut agent = Call::start(ip, EndpointConfig::default(), Box::new(agent_port))
        .await
        .unwrap();
    let mut far = Call::start(ip, EndpointConfig::default(), Box::new(far_port))
        .await
        .unwrap();
    let offer = far.create_offer().await.unwrap();
    let answer = agent.accept_offer(&offer).await.unwrap();
    far.accept_answer(&answer).await.unwrap();
    connected(&mut agent).await;
    connected(&mut far).await;

    let near_talking = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let voice = agent_voice(&host, room, near_talking.clone(), stop.clone());
    let window = 2 * 48_000;
    let last = |heard: &Arc<Mutex<Vec<i16>>>| {
        let h = heard.lock().unwrap();
        rms(&h[h.len().saturating_sub(window)..])
    };
    // 1. The far end alone, 5 s (the canceller converges in the first seconds).
    far_talking.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let echo = last(&heard);
    // 2. The agent alone, 3 s.
    far_talking.store(false, Ordering::Relaxed);
    near_talking.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let voice_level = last(&heard);
    // 3. Both, 3 s.
    far_talking.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let both = last(&heard);
    stop.store(true, Ordering::Relaxed);
    voice.join().unwrap();
    agent.close();
    far.close();
    Levels {
        echo,
        voice: voice_level,
        both,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_far_ends_echo_is_removed_and_the_agents_voice_kept() {
    let pulse = Pulse::start(
        "media-echo",
        &[
            "module-null-sink sink_name=spk rate=48000 sink_properties=device.description=Speaker",
            "module-null-sink sink_name=room rate=48000 sink_properties=device.description=Room",
            // Pinned: without dont_move the loopback follows the new default source (`mic`) and feeds itself.
            "module-loopback source=spk.monitor sink=room latency_msec=30 source_dont_move=true sink_dont_move=true",
            "module-remap-source master=room.monitor source_name=mic source_properties=device.description=Mic",
        ],
    );
    let host = AudioHost::new();
    assert_eq!(host.name(), "pulseaudio");
    let devices = host.devices().unwrap();
    let id = |kind, label: &str| {
        devices
            .iter()
            .find(|d| d.kind == kind && d.label == label)
            .unwrap_or_else(|| panic!("{label} not in {devices:#?}"))
            .id
            .clone()
    };
    let (mic, spk, room) = (
        id(DeviceKind::Input, "Mic"),
        id(DeviceKind::Output, "Speaker"),
        id(DeviceKind::Output, "Room"),
    );
    let ids = (mic.as_str(), spk.as_str(), room.as_str());
    let off = one_call(ids, Processing::OFF).await;
    let on = one_call(ids, Processing::default()).await;
    let echo_drop = db(off.echo) - db(on.echo);
    let voice_loss = db(off.voice) - db(on.voice);
    println!(
        "heard by the far end (RMS, last 2 s of each phase): off {off:?}, on {on:?}; echo {echo_drop:.1} dB \
         down, the agent's voice {voice_loss:.1} dB down, double talk {:.1} dB vs the agent alone off",
        db(off.voice) - db(on.both)
    );
    drop(pulse);
    assert!(
        off.echo > 300.0,
        "the loopback carries the echo without processing: {off:?}"
    );
    assert!(off.voice > 300.0, "the agent is heard: {off:?}");
    assert!(
        echo_drop >= MIN_ECHO_DROP_DB,
        "echo only {echo_drop:.1} dB down"
    );
    assert!(
        voice_loss <= MAX_VOICE_LOSS_DB,
        "the agent's voice lost {voice_loss:.1} dB"
    );
}
