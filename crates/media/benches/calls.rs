//! CPU and memory per active call: `N` loopback pairs of [`Call`]s (2N calls, feature `driver`) send a tone to
//! each other over UDP on 127.0.0.1 for `SECONDS`, then the process's CPU time (from /proc/self/stat) and
//! resident memory growth (VmRSS) are divided by the number of calls and printed as one JSON line.
//!
//! `cargo bench -p tsunagi-media --bench calls` (env `CALL_PAIRS`, default 10; `CALL_SECONDS`, default 10;
//! `CALL_CODEC` = `pcmu` or `opus`, the latter with `--features opus`; `CALL_PROCESSING=on` runs every call's
//! microphone through echo cancellation, noise suppression and gain control, as the app does, with
//! `--features aec`).

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use tsunagi_media::driver::{AudioPort, Call, ToneAudio};
use tsunagi_media::{CodecKind, EndpointConfig, EndpointEvent};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU seconds of this process (clock ticks at the usual 100 Hz).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which ends with ')'; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// Resident memory, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// The port as the app would wrap it.
fn port(tone: ToneAudio, processing: bool) -> Box<dyn AudioPort> {
    #[cfg(feature = "aec")]
    if processing {
        use tsunagi_media::aec::{ProcessedAudio, Processing};
        return Box::new(ProcessedAudio::new(Box::new(tone), Processing::default()));
    }
    assert!(!processing, "CALL_PROCESSING=on needs --features aec");
    Box::new(tone)
}

/// CPU seconds the microphone processing alone takes per second of call audio (one call's far end and
/// microphone, speech-like, 60 s of audio processed as fast as it goes on this thread); 0 without `aec`.
fn processing_only() -> f64 {
    #[cfg(feature = "aec")]
    {
        use tsunagi_media::aec::{EchoCanceller, Processing, DEFAULT_ECHO_DELAY_MS};
        use tsunagi_media::tone::Babble;
        let mut p = EchoCanceller::new(Processing::default(), DEFAULT_ECHO_DELAY_MS)
            .expect("processing starts");
        // 5 s of each talker, made before the clock starts and replayed.
        let (mut far, mut near) = (vec![0i16; 240_000], vec![0i16; 240_000]);
        Babble::new(120.0, 8_000.0, 1).fill(&mut far);
        Babble::new(210.0, 6_000.0, 2).fill(&mut near);
        let mut mic = [0i16; 960];
        let seconds = 60;
        let cpu0 = cpu_seconds();
        for k in 0..seconds * 50 {
            let at = (k % 250) * 960;
            p.far_end(&far[at..at + 960]);
            mic.copy_from_slice(&near[at..at + 960]);
            p.near_end(&mut mic);
        }
        (cpu_seconds() - cpu0) / seconds as f64
    }
    #[cfg(not(feature = "aec"))]
    0.0
}

async fn connect(codec: CodecKind, processing: bool) -> (Call, Call, ToneAudio) {
    let ip = Ipv4Addr::LOCALHOST.into();
    let config = EndpointConfig {
        codecs: vec![codec],
        ..EndpointConfig::default()
    };
    let heard = ToneAudio::new(Some(1_000.0), 4_800);
    let mut a = Call::start(
        ip,
        config.clone(),
        port(ToneAudio::new(Some(440.0), 0), processing),
    )
    .await
    .expect("call a");
    let b = Call::start(ip, config, port(heard.clone(), processing))
        .await
        .expect("call b");
    let offer = a.create_offer().await.expect("offer");
    let answer = b.accept_offer(&offer).await.expect("answer");
    a.accept_answer(&answer).await.expect("accept");
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(e) = a.next_event().await {
            if e == EndpointEvent::Connected {
                return;
            }
        }
    })
    .await
    .expect("connected within 30 s");
    (a, b, heard)
}

fn main() {
    let pairs = env_or("CALL_PAIRS", 10) as usize;
    let seconds = env_or("CALL_SECONDS", 10);
    let codec = match std::env::var("CALL_CODEC").as_deref() {
        Ok("opus") => CodecKind::Opus,
        _ => CodecKind::Pcmu,
    };
    let processing = std::env::var("CALL_PROCESSING").as_deref() == Ok("on");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Before any call runs, so that the process's CPU time is this thread's.
    let alone = if processing { processing_only() } else { 0.0 };
    rt.block_on(async {
        let rss_before = rss_kib();
        let mut calls = Vec::new();
        for _ in 0..pairs {
            calls.push(connect(codec, processing).await);
        }
        let rss_connected = rss_kib();
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        let cpu = cpu_seconds() - cpu0;
        let wall = t0.elapsed().as_secs_f64();
        let mut received = 0;
        for (_, b, _) in &calls {
            received += b.stats().await.map_or(0, |s| s.packets_received);
        }
        let rss_after = rss_kib();
        let n = (2 * pairs) as f64;
        println!(
            "{{\"codec\":\"{codec:?}\",\"processing\":{processing},\"calls\":{},\"seconds\":{wall:.2},\"cpuSecondsPerCallPerSecond\":{:.5},\
             \"cpuPercentPerCall\":{:.3},\"rssKibPerCall\":{:.0},\"rssKibPerCallAfterRun\":{:.0},\
             \"packetsReceivedPerReceivingCall\":{},\"processingAloneCpuPercentPerCall\":{:.3}}}",
            2 * pairs,
            cpu / n / wall,
            100.0 * cpu / n / wall,
            rss_connected.saturating_sub(rss_before) as f64 / n,
            rss_after.saturating_sub(rss_before) as f64 / n,
            received / pairs.max(1) as u64,
            100.0 * alone
        );
        drop(calls);
    });
}
