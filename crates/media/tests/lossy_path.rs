//! A lossy, jittery path: 10 % of RTP dropped and up to 60 ms of random delay (packets reorder). The tone
//! still comes through, the loss statistics match what the network dropped, and the warnings fire.

mod common;

use std::time::{Duration, Instant};

use common::{negotiate, run, Net, Peer};
use tsunagi_media::{EndpointConfig, EndpointEvent, QualityWarning};

#[test]
fn tone_survives_loss_and_reordering_with_correct_stats() {
    let mut now = Instant::now();
    let mut a = Peer::new(EndpointConfig::default(), 41_000, 440.0, now);
    let mut b = Peer::new(EndpointConfig::default(), 41_002, 1_000.0, now);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(1));
    net.drop_every = Some(10);
    net.jitter = Duration::from_millis(60);
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(8));

    assert!(b.hears(440.0) > 0.6, "b hears a: {}", b.hears(440.0));
    assert!(a.hears(1_000.0) > 0.6, "a hears b: {}", a.hears(1_000.0));

    let s = b.ep.stats();
    let dropped = net.rtp_dropped[0];
    assert!(dropped >= 35, "{dropped}");
    // Packets still in flight at the end are counted neither way; allow a handful.
    assert!(
        s.packets_lost.abs_diff(dropped) <= 3,
        "lost {} vs dropped {dropped}",
        s.packets_lost
    );
    assert!(s.jitter_ms > 5.0 && s.jitter_ms < 40.0, "{s:?}");
    assert!(s.concealed >= dropped / 2, "{s:?}");
    let sampled = b.last_stats().unwrap();
    assert!((sampled.loss.unwrap() - 0.1).abs() < 0.06, "{sampled:?}");
    assert!(sampled.mos.unwrap() < 3.9, "{sampled:?}");
    assert!(b.events.contains(&EndpointEvent::Warning {
        warning: QualityWarning::HighPacketLoss,
        raised: true
    }));
    assert!(!b.events.contains(&EndpointEvent::Warning {
        warning: QualityWarning::HighRtt,
        raised: true
    }));

    // The network heals: the loss warning clears.
    net.drop_every = None;
    net.jitter = Duration::ZERO;
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(8));
    assert!(b.events.contains(&EndpointEvent::Warning {
        warning: QualityWarning::HighPacketLoss,
        raised: false
    }));
    assert!(b.ep.stats().warnings.is_empty(), "{:?}", b.ep.stats());
    assert!(b.hears(440.0) > 0.8);
}

#[test]
fn high_rtt_raises_the_rtt_warning() {
    let mut now = Instant::now();
    let mut a = Peer::new(EndpointConfig::default(), 41_010, 440.0, now);
    let mut b = Peer::new(EndpointConfig::default(), 41_012, 1_000.0, now);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    net.delay = Duration::from_millis(250);
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(12));
    let s = a.ep.stats();
    assert!(s.rtt_ms.is_some_and(|r| r > 450.0 && r < 560.0), "{s:?}");
    assert!(
        a.events.contains(&EndpointEvent::Warning {
            warning: QualityWarning::HighRtt,
            raised: true
        }),
        "{s:?}"
    );
    assert!(b.hears(440.0) > 0.8);
}
