//! A sans-IO harness (str0m's `TestRtc`/`progress` idea): two endpoints, a simulated network with delay,
//! jitter and loss, and a simulated clock. No sockets, no sleeping: 10 simulated seconds run in well under one.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tsunagi_media::tone::{tone_share, ToneGenerator};
use tsunagi_media::{Endpoint, EndpointConfig, EndpointEvent, Output, FRAME_SAMPLES};

/// One side of the call.
pub struct Peer {
    pub ep: Endpoint,
    pub addr: SocketAddr,
    pub tone: ToneGenerator,
    pub heard: Vec<i16>,
    pub events: Vec<EndpointEvent>,
    timeout: Instant,
}

impl Peer {
    pub fn new(config: EndpointConfig, port: u16, hz: f64, now: Instant) -> Self {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut ep = Endpoint::new(config, now);
        ep.add_local_candidate(addr).unwrap();
        Self {
            ep,
            addr,
            tone: ToneGenerator::new(hz, 8_000.0),
            heard: Vec::new(),
            events: Vec::new(),
            timeout: now,
        }
    }

    /// Share of the last second of playout at `hz`.
    pub fn hears(&self, hz: f64) -> f64 {
        let n = self.heard.len();
        tone_share(&self.heard[n.saturating_sub(48_000)..], hz)
    }

    pub fn connected(&self) -> bool {
        self.events.contains(&EndpointEvent::Connected)
    }

    pub fn last_stats(&self) -> Option<&tsunagi_media::CallStats> {
        self.events.iter().rev().find_map(|e| match e {
            EndpointEvent::Stats(s) => Some(s),
            _ => None,
        })
    }
}

/// Offer from `a`, answer from `b`.
pub fn negotiate(a: &mut Peer, b: &mut Peer) {
    let offer = a.ep.create_offer().unwrap();
    assert!(offer.contains("\r\nm=audio"), "{offer}");
    let answer = b.ep.accept_offer(&offer).unwrap();
    a.ep.accept_answer(&answer).unwrap();
}

/// The network between the two peers.
pub struct Net {
    queue: Vec<(Instant, SocketAddr, SocketAddr, Vec<u8>)>,
    rng: u64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra uniform random delay in 0..jitter (reorders packets when larger than 20 ms).
    pub jitter: Duration,
    /// Drop every n-th RTP packet (each direction counted separately).
    pub drop_every: Option<u64>,
    rtp_seen: [u64; 2],
    pub rtp_dropped: [u64; 2],
}

impl Net {
    pub fn new() -> Self {
        Self {
            queue: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
            delay: Duration::from_millis(5),
            jitter: Duration::ZERO,
            drop_every: None,
            rtp_seen: [0; 2],
            rtp_dropped: [0; 2],
        }
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn send(&mut self, now: Instant, dir: usize, src: SocketAddr, dst: SocketAddr, data: Vec<u8>) {
        let is_rtp = data.len() > 12
            && (0x80..0xc0).contains(&data[0])
            && !(64..96).contains(&(data[1] & 0x7f));
        if is_rtp {
            self.rtp_seen[dir] += 1;
            if self
                .drop_every
                .is_some_and(|n| self.rtp_seen[dir].is_multiple_of(n))
            {
                self.rtp_dropped[dir] += 1;
                return;
            }
        }
        let extra = if self.jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(self.random() % self.jitter.as_micros() as u64)
        };
        self.queue.push((now + self.delay + extra, src, dst, data));
    }
}

fn drain(p: &mut Peer, dir: usize, net: &mut Net, now: Instant) {
    loop {
        match p.ep.poll_output() {
            Output::Transmit {
                source,
                destination,
                contents,
            } => net.send(now, dir, source, destination, contents),
            Output::Event(e) => p.events.push(e),
            Output::Timeout(t) => {
                p.timeout = t;
                return;
            }
        }
    }
}

/// Runs the call for `duration` of simulated time from `*now`; both peers send their tone and record playout
/// every 20 ms.
pub fn run(a: &mut Peer, b: &mut Peer, net: &mut Net, now: &mut Instant, duration: Duration) {
    let end = *now + duration;
    let mut next_audio = *now;
    drain(a, 0, net, *now);
    drain(b, 1, net, *now);
    while *now < end {
        let next_packet = net.queue.iter().map(|q| q.0).min();
        let mut t = a.timeout.min(b.timeout).min(next_audio).min(end);
        if let Some(p) = next_packet {
            t = t.min(p);
        }
        *now = t.max(*now);
        // Deliver due packets.
        let mut i = 0;
        while i < net.queue.len() {
            if net.queue[i].0 <= *now {
                let (_, src, dst, data) = net.queue.swap_remove(i);
                let (peer, dir) = if dst == a.addr {
                    (&mut *a, 0)
                } else {
                    (&mut *b, 1)
                };
                let _ = peer.ep.handle_receive(*now, src, dst, &data);
                drain(peer, dir, net, *now);
            } else {
                i += 1;
            }
        }
        for (p, dir) in [(&mut *a, 0), (&mut *b, 1)] {
            if p.timeout <= *now {
                let _ = p.ep.handle_timeout(*now);
                drain(p, dir, net, *now);
            }
        }
        // No audio tick at `end` itself: the next `run` starts with one at that instant, and two ticks at one
        // instant would pull playout before the packet of the first one arrived (a false underrun).
        if next_audio <= *now && *now < end {
            next_audio += Duration::from_millis(20);
            for (p, dir) in [(&mut *a, 0), (&mut *b, 1)] {
                let mut frame = [0i16; FRAME_SAMPLES];
                p.tone.fill(&mut frame);
                p.ep.push_capture(*now, &frame);
                let mut out = [0i16; FRAME_SAMPLES];
                p.ep.pull_playout(&mut out);
                p.heard.extend_from_slice(&out);
                drain(p, dir, net, *now);
            }
        }
    }
}
