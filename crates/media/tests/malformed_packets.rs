//! Malformed datagrams through the public API never panic, and the call keeps working after them.

mod common;

use std::time::{Duration, Instant};

use common::{negotiate, run, Net, Peer};
use tsunagi_media::EndpointConfig;

fn garbage(seed: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *seed as u8
        })
        .collect()
}

#[test]
fn garbage_never_panics_and_the_call_survives() {
    let mut now = Instant::now();
    let mut a = Peer::new(EndpointConfig::default(), 42_000, 440.0, now);
    let mut b = Peer::new(EndpointConfig::default(), 42_002, 1_000.0, now);
    negotiate(&mut a, &mut b);
    let mut net = Net::new();
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(2));

    let mut seed = 7u64;
    let mut inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![0x80],
        vec![0x80, 0x00],
        vec![0x16; 13],
        vec![0x00, 0x01, 0x00],
    ];
    for len in [1, 2, 3, 11, 12, 13, 20, 28, 100, 172, 1_500, 9_000] {
        for first in [0x00u8, 0x01, 0x14, 0x16, 0x17, 0x80, 0x90, 0xbf, 0xff] {
            let mut g = garbage(&mut seed, len);
            if let Some(b0) = g.first_mut() {
                *b0 = first;
            }
            // Valid-looking RTP header with PCMU payload type and a wild sequence number.
            if first == 0x80 && len > 12 {
                g[1] = 0;
            }
            // STUN magic cookie.
            if first == 0x00 && len >= 20 {
                g[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
            }
            inputs.push(g);
        }
    }
    for data in &inputs {
        let _ = b.ep.handle_receive(now, a.addr, b.addr, data);
        let _ =
            b.ep.handle_receive(now, "10.9.9.9:9".parse().unwrap(), b.addr, data);
        while !matches!(b.ep.poll_output(), tsunagi_media::Output::Timeout(_)) {}
    }
    run(&mut a, &mut b, &mut net, &mut now, Duration::from_secs(2));
    assert!(b.hears(440.0) > 0.8, "{}", b.hears(440.0));
    assert!(a.hears(1_000.0) > 0.8);
}

#[test]
fn garbage_sdp_is_an_error() {
    let now = Instant::now();
    let mut seed = 3u64;
    for len in [0, 1, 10, 200, 5_000] {
        let mut p = Peer::new(EndpointConfig::default(), 42_010, 440.0, now);
        let text = String::from_utf8_lossy(&garbage(&mut seed, len)).into_owned();
        assert!(p.ep.accept_offer(&text).is_err());
        assert!(p.ep.accept_offer(&format!("v=0\r\n{text}")).is_err());
        let _ = p.ep.create_offer().unwrap();
        assert!(p.ep.accept_answer(&text).is_err());
    }
}
