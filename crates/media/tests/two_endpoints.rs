//! Two endpoints call each other over the simulated network and each hears the other's tone, for both codecs
//! and both negotiation roles.

mod common;

use std::time::{Duration, Instant};

use common::{negotiate, run, Net, Peer};
use tsunagi_media::{CodecKind, EndpointConfig, EndpointEvent, IceState};

fn call(codecs: Vec<CodecKind>) -> (Peer, Peer) {
    let mut now = Instant::now();
    let config = EndpointConfig {
        codecs,
        ..EndpointConfig::default()
    };
    let mut a = Peer::new(config.clone(), 40_000, 440.0, now);
    let mut b = Peer::new(config, 40_002, 1_000.0, now);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(4));
    (a, b)
}

#[test]
fn pcmu_tone_both_ways() {
    let (a, b) = call(vec![CodecKind::Pcmu, CodecKind::Opus]);
    assert!(a.connected() && b.connected());
    let ice: Vec<_> = a
        .events
        .iter()
        .filter(|e| matches!(e, EndpointEvent::IceState(_)))
        .collect();
    assert!(
        ice.iter().any(|e| matches!(
            e,
            EndpointEvent::IceState(IceState::Connected | IceState::Completed)
        )),
        "{ice:?}"
    );
    assert!(b.hears(440.0) > 0.8, "b hears a: {}", b.hears(440.0));
    assert!(a.hears(1_000.0) > 0.8, "a hears b: {}", a.hears(1_000.0));
    assert!(a.hears(440.0) < 0.05, "no echo of its own tone");
    let s = b.last_stats().expect("stats every second");
    assert_eq!(s.codec, Some(CodecKind::Pcmu));
    assert!(s.packets_received > 140, "{s:?}");
    assert_eq!(s.packets_lost, 0);
    assert!(s.mos.unwrap() > 4.2, "{s:?}");
    assert!(s.warnings.is_empty());
    assert!(
        (s.output_level - 8_000.0 / 32_768.0 / 2f64.sqrt()).abs() < 0.03,
        "{s:?}"
    );
}

#[cfg(feature = "opus")]
#[test]
fn opus_tone_both_ways() {
    let (a, b) = call(vec![CodecKind::Opus]);
    assert!(b.hears(440.0) > 0.8, "b hears a: {}", b.hears(440.0));
    assert!(a.hears(1_000.0) > 0.8, "a hears b: {}", a.hears(1_000.0));
    assert_eq!(b.last_stats().unwrap().codec, Some(CodecKind::Opus));
}

#[cfg(feature = "opus")]
#[test]
fn answerer_preference_decides_only_its_own_send_codec() {
    let mut now = Instant::now();
    let both = EndpointConfig::default();
    let opus_first = EndpointConfig {
        codecs: vec![CodecKind::Opus, CodecKind::Pcmu],
        ..both.clone()
    };
    let mut a = Peer::new(both, 40_010, 440.0, now);
    let mut b = Peer::new(opus_first, 40_012, 1_000.0, now);
    negotiate(&mut a, &mut b);
    run(
        &mut a,
        &mut b,
        &mut Net::new(),
        &mut now,
        Duration::from_secs(3),
    );
    assert_eq!(a.last_stats().unwrap().codec, Some(CodecKind::Pcmu));
    assert_eq!(b.last_stats().unwrap().codec, Some(CodecKind::Opus));
    assert!(b.hears(440.0) > 0.8 && a.hears(1_000.0) > 0.8);
}

#[test]
fn mute_sends_silence_and_close_stops_output() {
    let mut now = Instant::now();
    let mut a = Peer::new(EndpointConfig::default(), 40_020, 440.0, now);
    let mut b = Peer::new(EndpointConfig::default(), 40_022, 1_000.0, now);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(2));
    a.ep.set_muted(true);
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(2));
    let tail = &b.heard[b.heard.len() - 48_000..];
    assert!(tail.iter().all(|s| s.abs() < 20), "muted audio is silence");
    let sent = a.ep.stats().packets_sent;
    assert!(sent > 180, "packets keep flowing while muted: {sent}");
    a.ep.close();
    assert!(matches!(
        a.ep.poll_output(),
        tsunagi_media::Output::Event(EndpointEvent::Closed)
    ));
    assert!(matches!(
        a.ep.poll_output(),
        tsunagi_media::Output::Timeout(_)
    ));
    a.ep.push_capture(now, &[1_000; 960]);
    assert_eq!(a.ep.stats().packets_sent, sent);
}

#[test]
fn negotiation_out_of_order_is_an_error() {
    let now = Instant::now();
    let mut a = Peer::new(EndpointConfig::default(), 40_030, 440.0, now);
    assert!(a.ep.accept_answer("v=0\r\n").is_err());
    let offer = a.ep.create_offer().unwrap();
    assert!(a.ep.create_offer().is_err());
    assert!(a.ep.accept_offer(&offer).is_err());
    assert!(a.ep.accept_answer("garbage").is_err());
    let mut b = Peer::new(
        EndpointConfig {
            codecs: vec![CodecKind::Opus],
            ..EndpointConfig::default()
        },
        40_032,
        1.0,
        now,
    );
    assert!(b.ep.accept_offer("not sdp").is_err());
}
