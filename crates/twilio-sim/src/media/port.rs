//! The audio seam between a media leg and the conference mixer: two bounded 8 kHz sample queues.
//!
//! - **uplink**: what the endpoint says (the leg pushes each decoded packet, the mixer takes 160 samples a tick);
//! - **downlink**: what the endpoint hears (the mixer pushes, the leg sends 160 samples a frame once
//!   [`AudioPort::set_mixed`] switched it from its own tone to the mix).
//!
//! Both queues keep at most [`MAX_QUEUED`] samples (the oldest go first), so a stalled reader costs a short gap,
//! never memory; an empty queue reads as silence.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::shared::lock;

/// Samples in one 20 ms frame at 8 kHz.
pub const FRAME: usize = 160;
/// Samples a queue keeps (160 ms): enough to absorb timer jitter between the leg and the mixer.
pub const MAX_QUEUED: usize = 8 * FRAME;

#[derive(Debug, Default)]
struct Queues {
    uplink: VecDeque<i16>,
    downlink: VecDeque<i16>,
    mixed: bool,
}

/// A leg's two audio queues. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct AudioPort(Arc<Mutex<Queues>>);

fn push(q: &mut VecDeque<i16>, samples: &[i16]) {
    q.extend(samples.iter().copied());
    let over = q.len().saturating_sub(MAX_QUEUED);
    q.drain(..over);
}

fn take(q: &mut VecDeque<i16>) -> [i16; FRAME] {
    let mut out = [0i16; FRAME];
    for (o, s) in out.iter_mut().zip(q.drain(..q.len().min(FRAME))) {
        *o = s;
    }
    out
}

impl AudioPort {
    /// A port with empty queues, not mixed.
    pub fn new() -> Self {
        Self::default()
    }

    /// The leg received `samples` from its endpoint.
    pub fn push_uplink(&self, samples: &[i16]) {
        push(&mut lock(&self.0).uplink, samples);
    }

    /// The next frame the endpoint said (silence-padded).
    pub fn take_uplink(&self) -> [i16; FRAME] {
        take(&mut lock(&self.0).uplink)
    }

    /// The mixer's next frame for the endpoint.
    pub fn push_downlink(&self, samples: &[i16]) {
        push(&mut lock(&self.0).downlink, samples);
    }

    /// The next frame to send to the endpoint (silence-padded).
    pub fn take_downlink(&self) -> [i16; FRAME] {
        take(&mut lock(&self.0).downlink)
    }

    /// Whether the leg plays the downlink (`true`) or its own tone (`false`).
    pub fn set_mixed(&self, mixed: bool) {
        let mut q = lock(&self.0);
        q.mixed = mixed;
        if !mixed {
            q.downlink.clear();
        }
    }

    /// See [`AudioPort::set_mixed`].
    pub fn is_mixed(&self) -> bool {
        lock(&self.0).mixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_are_bounded_and_pad_with_silence() {
        let p = AudioPort::new();
        p.push_uplink(&[7; MAX_QUEUED + 100]);
        let mut frames = 0;
        while p.take_uplink()[0] == 7 {
            frames += 1;
        }
        assert_eq!(
            frames,
            MAX_QUEUED / FRAME,
            "only the newest samples are kept"
        );
        p.push_downlink(&[3; 10]);
        let f = p.take_downlink();
        assert_eq!((f[9], f[10]), (3, 0));
    }

    #[test]
    fn leaving_the_mix_drops_queued_mix_audio() {
        let p = AudioPort::new();
        p.set_mixed(true);
        p.push_downlink(&[5; FRAME]);
        p.set_mixed(false);
        assert!(!p.is_mixed());
        assert_eq!(p.take_downlink()[0], 0);
    }
}
