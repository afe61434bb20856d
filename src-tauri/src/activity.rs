//! What the agent is in the middle of, read from the core's events: the ring now sounding, the call now live, and
//! whether the presence is busy or in wrap-up. OS integrations ask it two things: "is it safe to disrupt the
//! agent?" (the updater never installs or restarts during a ring, a call or wrap-up) and "what would
//! answer/hang up act on?" (the global shortcut). It decides nothing for the core; it only remembers.

use std::sync::Mutex;

use tsunagi_core::{CallPhase, Event, PresenceState, Target};

/// The managed tracker; fed by [`crate::events::on_core_event`].
#[derive(Default)]
pub struct CallActivity {
    inner: Mutex<Seen>,
}

#[derive(Default, Clone, Debug, PartialEq, Eq)]
struct Seen {
    /// Rings that started and have not stopped, oldest first.
    rings: Vec<Target>,
    /// Calls whose last phase was connecting, connected or wrap-up, oldest first.
    calls: Vec<(Target, CallPhase)>,
    presence: Option<PresenceState>,
}

/// What a global "answer / hang up" key would do now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Toggle {
    /// A ring is sounding: answer it.
    Answer(Target),
    /// A call is connecting or connected: hang it up.
    Hangup(Target),
    /// Nothing to act on.
    Nothing,
}

impl CallActivity {
    /// Remembers what `event` changes.
    pub fn observe(&self, event: &Event) {
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Ringing { target, .. } if !seen.rings.contains(target) => {
                seen.rings.push(*target)
            }
            Event::RingStopped { target, .. } => seen.rings.retain(|t| t != target),
            Event::CallState { target, phase, .. } => {
                seen.calls.retain(|(t, _)| t != target);
                if *phase != CallPhase::Ended {
                    seen.calls.push((*target, *phase));
                }
            }
            Event::Presence { state, .. } => {
                seen.presence = Some(*state);
                if *state == PresenceState::Offline {
                    // Signed out: nothing rings or talks any more, whatever events were lost on the way.
                    seen.rings.clear();
                    seen.calls.clear();
                }
            }
            _ => {}
        }
    }

    /// True while a ring sounds (the native ringtone follows this).
    pub fn ringing(&self) -> bool {
        !self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .rings
            .is_empty()
    }

    /// True when nothing rings, no call is live or in wrap-up, and the presence is neither busy nor wrap-up:
    /// the only moments an update may install and the app restart.
    pub fn is_idle(&self) -> bool {
        let seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        seen.rings.is_empty()
            && seen.calls.is_empty()
            && !matches!(
                seen.presence,
                Some(PresenceState::Busy | PresenceState::WrapUp)
            )
    }

    /// What answer/hang up acts on: the oldest ring first (a second call never hides a ring), else the live call.
    pub fn toggle(&self) -> Toggle {
        let seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(target) = seen.rings.first() {
            return Toggle::Answer(*target);
        }
        seen.calls
            .iter()
            .find(|(_, phase)| matches!(phase, CallPhase::Connecting | CallPhase::Connected))
            .map_or(Toggle::Nothing, |(target, _)| Toggle::Hangup(*target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tsunagi_core::{Activity, RingStopReason, TaskSid};

    fn task(n: u8) -> Target {
        let sid = format!("WT{:032x}", n);
        Target::Task(TaskSid::parse(&sid).expect("a well-formed TaskSid"))
    }

    fn ringing(t: &Target) -> Event {
        Event::Ringing {
            target: *t,
            task: None,
            call: None,
            caller: None,
            crm: None,
        }
    }

    fn phase(t: &Target, phase: CallPhase) -> Event {
        Event::CallState {
            target: *t,
            phase,
            muted: false,
            on_hold: false,
        }
    }

    fn presence(state: PresenceState) -> Event {
        Event::Presence {
            state,
            selected: Activity::Available,
        }
    }

    #[test]
    fn a_ring_a_call_and_wrap_up_are_never_idle() {
        let a = CallActivity::default();
        assert!(a.is_idle());
        let t = task(1);
        a.observe(&ringing(&t));
        assert!(!a.is_idle(), "ringing");
        assert_eq!(a.toggle(), Toggle::Answer(t));
        a.observe(&Event::RingStopped {
            target: t,
            reason: RingStopReason::Answered,
        });
        a.observe(&phase(&t, CallPhase::Connected));
        assert!(!a.is_idle(), "in a call");
        assert_eq!(a.toggle(), Toggle::Hangup(t));
        a.observe(&phase(&t, CallPhase::WrapUp));
        assert!(!a.is_idle(), "wrap-up");
        assert_eq!(
            a.toggle(),
            Toggle::Nothing,
            "wrap-up has nothing to hang up"
        );
        a.observe(&phase(&t, CallPhase::Ended));
        assert!(a.is_idle());
    }

    #[test]
    fn busy_presence_alone_is_not_idle_and_sign_out_clears_everything() {
        let a = CallActivity::default();
        a.observe(&presence(PresenceState::WrapUp));
        assert!(!a.is_idle());
        a.observe(&ringing(&task(2)));
        a.observe(&presence(PresenceState::Offline));
        assert!(a.is_idle());
        assert_eq!(a.toggle(), Toggle::Nothing);
    }

    #[test]
    fn the_oldest_ring_is_answered_first_and_a_repeated_ring_counts_once() {
        let a = CallActivity::default();
        let (one, two) = (task(3), task(4));
        a.observe(&ringing(&one));
        a.observe(&ringing(&two));
        a.observe(&ringing(&one));
        assert_eq!(a.toggle(), Toggle::Answer(one));
        a.observe(&Event::RingStopped {
            target: one,
            reason: RingStopReason::Canceled,
        });
        assert_eq!(a.toggle(), Toggle::Answer(two));
    }
}
