//! The conference mixer: every 20 ms, each participant hears the sum of the others, and recordings get a frame.
//!
//! Who hears whom ([`hears`]): nobody hears themself; a participant on hold hears only the hold source
//! ([`HOLD_HZ`], what the default hold `<Play>` renders as) and nobody hears them; a muted participant is heard by
//! nobody; a coach (`Coaching=true`, `CallSidToCoach`) is heard only by the coached participant. Before the
//! conference starts (`init`) everyone hears silence (Twilio's wait music is not rendered).
//!
//! Endpoints: a participant with a Voice-edge media leg (an agent's Device, or an outgoing client call that joined
//! through TwiML) is heard through its [`AudioPort`] uplink and hears the mix on the downlink (the leg stops
//! playing its own tone while it is in a conference). A simulated PSTN party says its call's `tone_hz` and what
//! it hears goes to a [`ToneDetector`] ([`heard`], shown by `GET /_sim/calls/{sid}` as `audio`).
//!
//! [`mix`] and [`record_frames`] are pure; [`run`] is the tick loop (real time, like the media legs).

use std::collections::{HashMap, HashSet};
use std::sync::Weak;
use std::time::Duration;

use tsunagi_twilio::sid::{CallSid, ConferenceSid};

use super::st;
use crate::calls::{twiml, Calls, Inner};
use crate::media::port::FRAME;
use crate::media::{AudioPort, AudioReport, ToneDetector, ToneGenerator};
use crate::recordings::{self, Target};
use crate::shared::lock;

/// One frame of 8 kHz samples.
pub type Frame = [i16; FRAME];
/// Tick period, ms.
pub const TICK_MS: u64 = 20;
/// What a participant on hold hears, Hz.
pub const HOLD_HZ: f64 = twiml::PLAY_HZ;
/// Level of the hold source and of simulated PSTN tones.
pub const LEVEL: f64 = 8_000.0;

/// A participant as the mixer sees it for one tick.
#[derive(Debug, Clone)]
pub struct Member {
    /// The participant's call.
    pub sid: CallSid,
    /// What it said this tick.
    pub input: Frame,
    /// On hold.
    pub hold: bool,
    /// Muted.
    pub muted: bool,
    /// Coaching `coach_target`.
    pub coaching: bool,
    /// The coached call.
    pub coach_target: Option<CallSid>,
}

impl Member {
    /// Whether its audio reaches the conference at all (and so a conference recording).
    fn in_mix(&self) -> bool {
        !self.hold && !self.muted && !self.coaching
    }
}

/// Whether `listener` hears `speaker`.
pub fn hears(listener: &Member, speaker: &Member) -> bool {
    listener.sid != speaker.sid
        && !listener.hold
        && !speaker.hold
        && !speaker.muted
        && (!speaker.coaching || speaker.coach_target == Some(listener.sid))
}

fn add(acc: &mut Frame, f: &Frame) {
    for (a, s) in acc.iter_mut().zip(f) {
        *a = a.saturating_add(*s);
    }
}

/// What each member hears this tick (same order); `hold` is the hold source's frame.
pub fn mix(members: &[Member], started: bool, hold: &Frame) -> Vec<Frame> {
    members
        .iter()
        .map(|l| {
            let mut out = [0i16; FRAME];
            if l.hold {
                out = *hold;
            } else if started {
                for s in members.iter().filter(|s| hears(l, s)) {
                    add(&mut out, &s.input);
                }
            }
            out
        })
        .collect()
}

/// A conference recording's frame: channel 1 = `first`'s audio, channel 2 = everyone else in the mix.
pub fn record_frames(members: &[Member], first: &CallSid) -> (Frame, Frame) {
    let (mut ch1, mut ch2) = ([0i16; FRAME], [0i16; FRAME]);
    for m in members.iter().filter(|m| m.in_mix()) {
        add(if m.sid == *first { &mut ch1 } else { &mut ch2 }, &m.input);
    }
    (ch1, ch2)
}

/// The mixer's memory between ticks.
#[derive(Default)]
pub struct State {
    tones: HashMap<CallSid, ToneGenerator>,
    heard: HashMap<CallSid, ToneDetector>,
    mixed: HashMap<CallSid, AudioPort>,
    hold: Option<ToneGenerator>,
}

/// What a simulated PSTN participant heard in its conference (`None` if it never was in one).
pub fn heard(calls: &Calls, sid: &CallSid) -> Option<AudioReport> {
    lock(&calls.inner.mixer)
        .heard
        .get(sid)
        .map(ToneDetector::report)
}

struct Room {
    sid: ConferenceSid,
    started: bool,
    record: Option<Option<recordings::Callback>>,
    account: tsunagi_twilio::sid::AccountSid,
    members: Vec<Member>,
}

/// Runs the mixer until the call engine is dropped.
pub(crate) async fn run(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS));
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        step(&Calls { inner });
    }
}

/// One tick: pull every participant's input, push what each hears, feed recordings.
pub fn step(calls: &Calls) {
    let mut rooms: Vec<Room> = {
        let s = st(calls);
        s.confs
            .values()
            .filter(|c| c.view.status != "completed")
            .map(|c| Room {
                sid: c.view.sid,
                started: c.view.status == "in-progress",
                record: c.record.clone(),
                account: c.view.account_sid,
                members: c
                    .view
                    .participants
                    .iter()
                    .map(|p| Member {
                        sid: p.call_sid,
                        input: [0; FRAME],
                        hold: p.hold,
                        muted: p.muted,
                        coaching: p.coaching,
                        coach_target: p.call_sid_to_coach,
                    })
                    .collect(),
            })
            .collect()
    };
    let active = recordings::active(calls);
    if rooms.is_empty() && active.is_empty() && lock(&calls.inner.mixer).mixed.is_empty() {
        return;
    }
    // Every endpoint involved this tick, read once.
    let mut sids: Vec<CallSid> = rooms
        .iter()
        .flat_map(|r| r.members.iter().map(|m| m.sid))
        .collect();
    sids.extend(active.iter().filter_map(|(_, t)| match t {
        Target::Call(c) => Some(*c),
        Target::Conference(..) => None,
    }));
    sids.sort();
    sids.dedup();
    let ports: HashMap<CallSid, AudioPort> = sids
        .iter()
        .filter_map(|s| calls.voice().port(s).map(|p| (*s, p)))
        .collect();
    let tones: HashMap<CallSid, (bool, Option<f64>)> = sids
        .iter()
        .filter(|s| !ports.contains_key(*s))
        .filter_map(|s| calls.tone_of(s).map(|t| (*s, t)))
        .collect();
    let mut inputs: HashMap<CallSid, Frame> = HashMap::new();
    let mut m = lock(&calls.inner.mixer);
    for sid in &sids {
        let mut f = [0i16; FRAME];
        if let Some(p) = ports.get(sid) {
            f = p.take_uplink();
        } else if let Some((true, Some(hz))) = tones.get(sid) {
            let g = m
                .tones
                .entry(*sid)
                .or_insert_with(|| ToneGenerator::new(*hz, LEVEL));
            if (g.hz() - hz).abs() > f64::EPSILON {
                *g = ToneGenerator::new(*hz, LEVEL);
            }
            g.fill(&mut f);
        }
        inputs.insert(*sid, f);
    }
    let mut hold = [0i16; FRAME];
    m.hold
        .get_or_insert_with(|| ToneGenerator::new(HOLD_HZ, LEVEL))
        .fill(&mut hold);
    let mut outputs: HashMap<CallSid, Frame> = HashMap::new();
    let mut in_rooms: HashSet<CallSid> = HashSet::new();
    for room in &mut rooms {
        for mem in &mut room.members {
            mem.input = inputs.get(&mem.sid).copied().unwrap_or([0; FRAME]);
        }
        for (mem, out) in room
            .members
            .iter()
            .zip(mix(&room.members, room.started, &hold))
        {
            in_rooms.insert(mem.sid);
            outputs.insert(mem.sid, out);
            match ports.get(&mem.sid) {
                Some(p) => {
                    m.mixed.entry(mem.sid).or_insert_with(|| {
                        p.set_mixed(true);
                        p.clone()
                    });
                    p.push_downlink(&out);
                }
                None => m.heard.entry(mem.sid).or_default().push_packet(out),
            }
        }
    }
    // Ports that left every conference play their own tone again.
    let left: Vec<CallSid> = m
        .mixed
        .keys()
        .filter(|s| !in_rooms.contains(*s))
        .copied()
        .collect();
    for s in left {
        if let Some(p) = m.mixed.remove(&s) {
            p.set_mixed(false);
        }
    }
    if m.heard.len() > 4 * crate::calls::MAX_ENDED {
        m.heard.retain(|s, _| in_rooms.contains(s));
    }
    m.tones.retain(|s, _| tones.contains_key(s));
    drop(m);
    start_conference_recordings(calls, &rooms);
    for (rec, target) in active {
        match target {
            Target::Conference(cf, first) => {
                if let Some(room) = rooms.iter().find(|r| r.sid == cf) {
                    let (ch1, ch2) = record_frames(&room.members, &first);
                    recordings::append(calls, &rec, &ch1, &ch2);
                }
            }
            Target::Call(ca) => {
                let live = ports.contains_key(&ca) || tones.get(&ca).is_some_and(|t| t.0);
                if !live {
                    recordings::finish(calls, &rec);
                    continue;
                }
                let held = rooms
                    .iter()
                    .flat_map(|r| &r.members)
                    .any(|x| x.sid == ca && x.hold);
                let said = if held {
                    [0; FRAME]
                } else {
                    inputs.get(&ca).copied().unwrap_or([0; FRAME])
                };
                let heard = outputs.get(&ca).copied().unwrap_or([0; FRAME]);
                recordings::append(calls, &rec, &said, &heard);
            }
        }
    }
}

/// `record-from-start`: the recording starts once the conference is in progress with two participants.
fn start_conference_recordings(calls: &Calls, rooms: &[Room]) {
    for room in rooms {
        let Some(callback) = &room.record else {
            continue;
        };
        if !room.started
            || room.members.len() < 2
            || recordings::has_conference_recording(calls, &room.sid)
        {
            continue;
        }
        recordings::start(
            calls,
            recordings::Request {
                account: room.account,
                target: Target::Conference(room.sid, room.members[0].sid),
                channels: 2,
                track: "both",
                callback: callback.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(n: u128, level: i16) -> Member {
        Member {
            sid: CallSid::from_u128(n),
            input: [level; FRAME],
            hold: false,
            muted: false,
            coaching: false,
            coach_target: None,
        }
    }

    #[test]
    fn everyone_hears_the_others_and_not_themself() {
        let ms = [member(1, 1), member(2, 10), member(3, 100)];
        let out = mix(&ms, true, &[7; FRAME]);
        assert_eq!([out[0][0], out[1][0], out[2][0]], [110, 101, 11]);
        let silent = mix(&ms, false, &[7; FRAME]);
        assert!(silent.iter().all(|f| f[0] == 0), "nothing before the start");
    }

    #[test]
    fn hold_mute_and_coach() {
        let mut ms = [member(1, 1), member(2, 10), member(3, 100)];
        ms[0].hold = true;
        let out = mix(&ms, true, &[7; FRAME]);
        assert_eq!([out[0][0], out[1][0], out[2][0]], [7, 100, 10]);
        ms[0].hold = false;
        ms[1].muted = true;
        let out = mix(&ms, true, &[7; FRAME]);
        assert_eq!([out[0][0], out[1][0], out[2][0]], [100, 101, 1]);
        ms[1].muted = false;
        ms[2].coaching = true;
        ms[2].coach_target = Some(ms[1].sid);
        let out = mix(&ms, true, &[7; FRAME]);
        assert_eq!([out[0][0], out[1][0], out[2][0]], [10, 101, 11]);
    }

    #[test]
    fn recording_channels_leave_out_hold_mute_and_coach() {
        let mut ms = [member(1, 1), member(2, 10), member(3, 100), member(4, 1000)];
        let first = ms[0].sid;
        assert_eq!(record_frames(&ms, &first).0[0], 1);
        assert_eq!(record_frames(&ms, &first).1[0], 1110);
        ms[1].hold = true;
        ms[2].muted = true;
        ms[3].coaching = true;
        assert_eq!(record_frames(&ms, &first).1[0], 0);
        ms[0].hold = true;
        assert_eq!(record_frames(&ms, &first).0[0], 0);
    }

    #[test]
    fn sums_saturate() {
        let ms = [member(1, i16::MAX), member(2, i16::MAX), member(3, 0)];
        assert_eq!(mix(&ms, true, &[0; FRAME])[2][0], i16::MAX);
    }
}
