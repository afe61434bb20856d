//! The receive jitter buffer: reorders packets by RTP sequence number, holds an adaptive number of packets back,
//! and tells the playout what to do each time it needs audio: play a packet, conceal a lost one, or wait.
//!
//! Pure data structure, time in as arrival instants. It also keeps the RFC 3550 receive statistics: packets
//! expected (highest − first sequence number + 1) and received, cumulative and per interval (§A.3), and the
//! interarrival jitter estimate (§6.4.1, `J += (|D| − J) / 16`). The target depth follows the jitter
//! (`⌈4·J / ptime + ½⌉`, at least 1, clamped) and grows after an underrun; excess depth is trimmed to keep latency low.
//! Memory is bounded by [`JitterConfig::capacity`]; a sequence jump beyond [`RESET_GAP`] restarts the buffer.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::codec::CodecKind;

/// A sequence jump this large (forwards) is a new stream, not loss.
pub const RESET_GAP: u64 = 3_000;
/// Pops without underrun after which the underrun floor decays by one packet.
const FLOOR_DECAY_POPS: u32 = 250;
/// Depth above the target tolerated before trimming.
const TRIM_SLACK: usize = 3;

/// One received RTP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Extended RTP sequence number.
    pub seq: u64,
    /// Extended RTP timestamp.
    pub rtp_time: u64,
    /// The payload's codec.
    pub codec: CodecKind,
    /// The encoded payload.
    pub payload: Vec<u8>,
    /// When it arrived.
    pub arrival: Instant,
}

/// What the playout should do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pop {
    /// Decode and play this packet.
    Play(Packet),
    /// The next packet is missing while later ones are here: conceal one packet.
    Lost,
    /// The buffer ran dry while playing: conceal, the buffer is refilling.
    Underrun,
    /// Nothing received yet (or refilling after a reset): play silence.
    Empty,
}

/// Buffer limits, in packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JitterConfig {
    /// Smallest target depth.
    pub min_packets: usize,
    /// Largest target depth.
    pub max_packets: usize,
    /// Hard cap on held packets (oldest dropped beyond it).
    pub capacity: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            // One packet held at rest (20 ms): the jitter estimate and underruns raise the target as needed.
            min_packets: 1,
            max_packets: 12,
            capacity: 64,
        }
    }
}

/// Receive statistics (RFC 3550 semantics).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiveStats {
    /// Packets received (including late ones, excluding duplicates of held packets).
    pub received: u64,
    /// Packets expected minus received, never negative.
    pub lost: u64,
    /// Packets that arrived after their playout time.
    pub late: u64,
    /// Packets concealed by the decoder (lost, late or underrun).
    pub concealed: u64,
    /// Packets dropped to bring the depth back to the target.
    pub discarded: u64,
    /// Interarrival jitter, milliseconds.
    pub jitter_ms: f64,
    /// Packets held right now.
    pub depth: usize,
    /// Current target depth, packets.
    pub target: usize,
}

/// The jitter buffer.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    config: JitterConfig,
    packets: BTreeMap<u64, Packet>,
    next: Option<u64>,
    playing: bool,
    started: bool,
    floor: usize,
    pops_since_underrun: u32,
    first_seq: Option<u64>,
    max_seq: u64,
    stats: ReceiveStats,
    jitter_s: f64,
    last_transit: Option<f64>,
    epoch: Option<Instant>,
    ptime_ms: f64,
    prior: (u64, u64),
}

impl JitterBuffer {
    /// An empty buffer.
    pub fn new(config: JitterConfig) -> Self {
        let config = JitterConfig {
            min_packets: config.min_packets.max(1),
            max_packets: config.max_packets.max(config.min_packets.max(1)),
            capacity: config.capacity.max(config.max_packets + TRIM_SLACK + 1),
        };
        Self {
            config,
            packets: BTreeMap::new(),
            next: None,
            playing: false,
            started: false,
            // One packet of margin until the jitter estimate has settled; it decays like an underrun's.
            floor: (config.min_packets + 1).min(config.max_packets),
            pops_since_underrun: 0,
            first_seq: None,
            max_seq: 0,
            stats: ReceiveStats {
                target: config.min_packets,
                ..ReceiveStats::default()
            },
            jitter_s: 0.0,
            last_transit: None,
            epoch: None,
            ptime_ms: 20.0,
            prior: (0, 0),
        }
    }

    /// Adds a received packet.
    pub fn push(&mut self, packet: Packet) {
        if self.first_seq.is_some() && packet.seq > self.max_seq.saturating_add(RESET_GAP) {
            tracing::debug!(
                seq = packet.seq,
                "RTP sequence jump: jitter buffer restarts"
            );
            self.packets.clear();
            self.next = None;
            self.playing = false;
            self.first_seq = None;
            self.last_transit = None;
            self.prior = (0, 0);
            self.stats.received = 0;
            self.stats.lost = 0;
        }
        if self.packets.contains_key(&packet.seq) {
            return;
        }
        self.update_jitter(&packet);
        let first = *self.first_seq.get_or_insert(packet.seq);
        if packet.seq < first {
            self.first_seq = Some(packet.seq);
        }
        self.max_seq = self.max_seq.max(packet.seq);
        self.stats.received += 1;
        if self.next.is_some_and(|n| packet.seq < n) {
            self.stats.late += 1;
            return;
        }
        self.packets.insert(packet.seq, packet);
        while self.packets.len() > self.config.capacity {
            self.packets.pop_first();
            self.stats.discarded += 1;
        }
        self.retarget();
    }

    fn update_jitter(&mut self, p: &Packet) {
        let epoch = *self.epoch.get_or_insert(p.arrival);
        let arrival = p.arrival.saturating_duration_since(epoch).as_secs_f64();
        let rate = f64::from(p.codec.clock_rate());
        let transit = arrival - p.rtp_time as f64 / rate;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs();
            // Ignore absurd values (stream restarts) so one packet cannot poison the estimate.
            if d < 10.0 {
                self.jitter_s += (d - self.jitter_s) / 16.0;
            }
        }
        self.last_transit = Some(transit);
    }

    fn retarget(&mut self) {
        let jitter_ms = self.jitter_s * 1_000.0;
        // ⌈4·J/ptime + ½⌉, at least 1: up to a quarter frame of jitter (a half-frame spread) one packet is
        // enough, and float dust in a zero-jitter estimate (1e-14 ms) no longer adds a whole packet (20 ms).
        let by_jitter = ((4.0 * jitter_ms / self.ptime_ms) + 0.5).ceil().max(1.0) as usize;
        self.stats.target = by_jitter
            .max(self.floor)
            .clamp(self.config.min_packets, self.config.max_packets);
    }

    /// Tells the buffer the packet duration in milliseconds (for the target depth).
    pub fn set_ptime_ms(&mut self, ms: f64) {
        if ms.is_finite() && ms > 0.0 {
            self.ptime_ms = ms;
        }
    }

    /// What to play next.
    pub fn pop(&mut self) -> Pop {
        let target = self.stats.target;
        if !self.playing {
            if self.packets.len() < target {
                return if self.started {
                    self.stats.concealed += 1;
                    Pop::Underrun
                } else {
                    Pop::Empty
                };
            }
            self.playing = true;
            self.started = true;
            let first = self.packets.keys().next().copied();
            if self.next.is_none_or(|n| first.is_some_and(|f| f > n)) {
                self.next = first;
            }
        }
        while self.packets.len() > target + TRIM_SLACK {
            if let Some((seq, _)) = self.packets.pop_first() {
                self.stats.discarded += 1;
                self.next = Some(seq.saturating_add(1));
            }
        }
        self.pops_since_underrun = self.pops_since_underrun.saturating_add(1);
        if self.pops_since_underrun >= FLOOR_DECAY_POPS && self.floor > self.config.min_packets {
            self.floor -= 1;
            self.pops_since_underrun = 0;
            self.retarget();
            // The margin is no longer needed: give its latency back by skipping one held packet (one 20 ms
            // skip after 5 s without underrun, counted as discarded).
            if self.packets.len() > self.stats.target {
                if let Some((seq, _)) = self.packets.pop_first() {
                    self.stats.discarded += 1;
                    self.next = Some(seq.saturating_add(1));
                }
            }
        }
        let Some(next) = self.next else {
            return Pop::Empty;
        };
        if let Some(p) = self.packets.remove(&next) {
            self.next = Some(next.saturating_add(1));
            return Pop::Play(p);
        }
        self.stats.concealed += 1;
        if self.packets.keys().next().is_some_and(|&k| k > next) {
            self.next = Some(next.saturating_add(1));
            return Pop::Lost;
        }
        self.playing = false;
        self.floor = (self.floor + 1).min(self.config.max_packets);
        self.pops_since_underrun = 0;
        self.retarget();
        Pop::Underrun
    }

    /// Cumulative statistics.
    pub fn stats(&self) -> ReceiveStats {
        let expected = self.expected();
        ReceiveStats {
            lost: expected.saturating_sub(self.stats.received),
            jitter_ms: self.jitter_s * 1_000.0,
            depth: self.packets.len(),
            ..self.stats
        }
    }

    fn expected(&self) -> u64 {
        self.first_seq
            .map_or(0, |f| self.max_seq.saturating_sub(f) + 1)
    }

    /// Fraction lost since the previous call (RFC 3550 §A.3), `None` if nothing was expected.
    pub fn take_interval_loss(&mut self) -> Option<f64> {
        let expected = self.expected();
        let (prior_expected, prior_received) = self.prior;
        self.prior = (expected, self.stats.received);
        let e = expected.saturating_sub(prior_expected);
        let r = self.stats.received.saturating_sub(prior_received);
        (e > 0).then(|| e.saturating_sub(r) as f64 / e as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn packet(seq: u64, t0: Instant, arrival_ms: u64) -> Packet {
        Packet {
            seq,
            rtp_time: seq.wrapping_mul(160),
            codec: CodecKind::Pcmu,
            payload: vec![seq as u8],
            arrival: t0 + Duration::from_millis(arrival_ms),
        }
    }

    fn played(p: Pop) -> Option<u64> {
        match p {
            Pop::Play(p) => Some(p.seq),
            _ => None,
        }
    }

    #[test]
    fn reorders_and_waits_for_the_target() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        assert_eq!(jb.pop(), Pop::Empty);
        jb.push(packet(11, t0, 20));
        assert_eq!(
            jb.pop(),
            Pop::Empty,
            "one packet is below the target of two"
        );
        jb.push(packet(10, t0, 21));
        jb.push(packet(12, t0, 40));
        assert_eq!(played(jb.pop()), Some(10));
        assert_eq!(played(jb.pop()), Some(11));
        assert_eq!(played(jb.pop()), Some(12));
        assert_eq!(jb.pop(), Pop::Underrun);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn gaps_are_concealed_and_counted_as_lost() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        let (mut lost, mut plays) = (0, 0);
        for seq in 0..100 {
            if seq % 10 != 5 {
                jb.push(packet(seq, t0, seq * 20));
            }
            match jb.pop() {
                Pop::Play(_) => plays += 1,
                Pop::Lost => lost += 1,
                Pop::Empty => assert!(seq < 2),
                Pop::Underrun => panic!("underrun at {seq}"),
            }
        }
        assert_eq!(plays, 89, "one packet still held");
        assert_eq!(lost, 10, "every gap concealed once");
        assert_eq!(jb.stats().lost, 10);
        assert!((jb.take_interval_loss().unwrap() - 0.1).abs() < 1e-9);
        assert_eq!(jb.take_interval_loss(), None, "nothing new expected");
    }

    #[test]
    fn late_packets_are_dropped_and_jitter_is_estimated() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        // Every other packet arrives 30 ms late: |D| alternates 30 ms.
        for seq in 0..200u64 {
            let late = if seq % 2 == 1 { 30 } else { 0 };
            jb.push(packet(seq, t0, seq * 20 + late));
        }
        let j = jb.stats().jitter_ms;
        assert!((25.0..=31.0).contains(&j), "jitter {j} ms");
        assert!(jb.stats().target > 2, "target follows jitter");
        let t = jb.stats().target;
        while played(jb.pop()).is_some() {}
        jb.push(packet(3, t0, 5_000));
        assert_eq!(jb.stats().late, 1);
        assert!(jb.stats().depth <= t + TRIM_SLACK);
    }

    #[test]
    fn duplicates_sequence_jumps_and_floods_stay_bounded() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig::default());
        jb.push(packet(5, t0, 0));
        jb.push(packet(5, t0, 0));
        assert_eq!(jb.stats().received, 1);
        jb.push(packet(5 + RESET_GAP + 1, t0, 20));
        assert_eq!(jb.stats().received, 1, "restarted");
        for seq in 0..10_000u64 {
            jb.push(packet(10_000 + seq, t0, 40));
        }
        assert!(jb.stats().depth <= JitterConfig::default().capacity);
        jb.push(packet(u64::MAX, t0, 40));
        let _ = jb.pop();
    }
}
