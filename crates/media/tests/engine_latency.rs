//! One-way latency the engine adds (capture frame → packet → jitter buffer → playout), measured in simulated
//! time on a zero-delay network: a tone starts after silence and the receiver's playout is searched for its
//! onset. Deterministic (no wall clock); the figure is printed for the report and bounded by the 40 ms goal
//! plus one 20 ms frame of capture packetization.

mod common;

use std::time::{Duration, Instant};

use common::{negotiate, run, Net, Peer};
use tsunagi_media::tone::ToneGenerator;
use tsunagi_media::{CodecKind, EndpointConfig};

fn onset_latency_ms(codecs: Vec<CodecKind>) -> f64 {
    let mut now = Instant::now();
    let config = EndpointConfig {
        codecs,
        ..EndpointConfig::default()
    };
    let mut a = Peer::new(config.clone(), 43_000, 440.0, now);
    let mut b = Peer::new(config, 43_002, 1_000.0, now);
    a.tone = ToneGenerator::new(440.0, 0.0);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    net.delay = Duration::ZERO;
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(2));
    let onset = b.heard.len();
    a.tone = ToneGenerator::new(440.0, 8_000.0);
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(1));
    let first = b.heard[onset..]
        .iter()
        .position(|s| s.abs() > 2_000)
        .expect("tone heard");
    first as f64 / 48.0
}

#[test]
fn engine_adds_at_most_60_ms_one_way() {
    let pcmu = onset_latency_ms(vec![CodecKind::Pcmu]);
    println!("engine one-way latency, PCMU: {pcmu:.1} ms");
    assert!(pcmu <= 60.0, "PCMU {pcmu} ms");
    #[cfg(feature = "opus")]
    {
        let opus = onset_latency_ms(vec![CodecKind::Opus]);
        println!("engine one-way latency, Opus: {opus:.1} ms");
        assert!(opus <= 70.0, "Opus {opus} ms");
    }
}
