//! Presence (DESIGN §4.2): the activity the agent chose, the one TaskRouter reports, and what the presence
//! shows, with Busy and WrapUp derived from live work.
//!
//! Rules:
//! - Signing in selects Available; signing out (or an update being required) sets Offline.
//! - The chosen activity is sent to TaskRouter only while no work is live: a choice made during a call or
//!   wrap-up waits, and when the work ends the selected activity is set again, which restores it after
//!   TaskRouter's post-work activity.
//! - Once in sync, an activity change made elsewhere (a supervisor, the server's disconnect policy) is adopted.
//! - A failed change is reported once and not retried until the agent chooses again.

use crate::api::{Activity, Event, PresenceState};
use crate::error::{ErrorKind, UserError};
use crate::input::{Action, RestResult};
use crate::reconciler::Work;

/// What presence needs to know about the rest of the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresenceContext {
    /// The agent is signed in.
    pub logged_in: bool,
    /// This client may not take calls any more (update required): stay Offline.
    pub forced_offline: bool,
    /// Live work, from the reconciler.
    pub work: Work,
    /// Activity changes can be sent now (TaskRouter is connected).
    pub can_set: bool,
}

/// The presence machine.
#[derive(Clone, Debug)]
pub struct Presence {
    selected: Activity,
    confirmed: Option<Activity>,
    in_flight: Option<Activity>,
    failed: Option<Activity>,
    synced: bool,
    shown: Option<(PresenceState, Activity)>,
}

impl Default for Presence {
    fn default() -> Self {
        Self::new()
    }
}

impl Presence {
    /// Signed out, Offline.
    pub fn new() -> Self {
        Self {
            selected: Activity::Offline,
            confirmed: None,
            in_flight: None,
            failed: None,
            synced: false,
            shown: None,
        }
    }

    /// The activity the agent chose.
    pub fn selected(&self) -> Activity {
        self.selected
    }

    /// What the presence shows now (as last emitted).
    pub fn shown(&self) -> Option<PresenceState> {
        self.shown.map(|(s, _)| s)
    }

    /// Signing in selects Available.
    pub fn login(&mut self) {
        self.selected = Activity::Available;
        self.failed = None;
        self.synced = false;
    }

    /// The agent chose `activity` (window or tray).
    pub fn select(&mut self, activity: Activity) {
        self.selected = activity;
        self.failed = None;
    }

    /// TaskRouter reports the worker's activity (`None`: not one of the selectable four).
    pub fn on_worker_activity(&mut self, activity: Option<Activity>, work: Work) {
        self.confirmed = activity;
        if self.in_flight.is_some() && self.in_flight == activity {
            self.in_flight = None;
            self.synced = true;
        }
        if let Some(a) = activity {
            if self.synced && self.in_flight.is_none() && work == Work::Idle && a != self.selected {
                self.selected = a; // changed elsewhere: adopt it
            }
        }
    }

    /// The result of an [`Action::SetActivity`].
    pub fn on_result(&mut self, activity: Activity, result: RestResult, out: &mut Vec<Action>) {
        if self.in_flight == Some(activity) {
            self.in_flight = None;
        }
        if result == RestResult::Ok {
            self.confirmed = Some(activity);
            self.synced = true;
        } else {
            self.failed = Some(activity);
            out.push(Action::Emit(Event::Error(UserError::new(
                ErrorKind::PresenceFailed,
                None,
            ))));
        }
    }

    /// Brings TaskRouter and the shown presence in line with the context; call after every input.
    pub fn sync(&mut self, cx: PresenceContext, out: &mut Vec<Action>) {
        let desired = if !cx.logged_in || cx.forced_offline {
            Activity::Offline
        } else {
            self.selected
        };
        if cx.can_set
            && cx.work == Work::Idle
            && self.confirmed != Some(desired)
            && self.in_flight.is_none()
            && self.failed != Some(desired)
        {
            out.push(Action::SetActivity { activity: desired });
            self.in_flight = Some(desired);
        }
        let state = match (cx.logged_in, cx.work) {
            (false, _) => PresenceState::Offline,
            (true, Work::Busy) => PresenceState::Busy,
            (true, Work::WrapUp) => PresenceState::WrapUp,
            (true, Work::Idle) => desired.into(),
        };
        if self.shown != Some((state, self.selected)) {
            self.shown = Some((state, self.selected));
            out.push(Action::Emit(Event::Presence {
                state,
                selected: self.selected,
            }));
        }
    }
}
