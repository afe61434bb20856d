//! The agent's presence as the shell holds it, and the one path that changes it.
//!
//! The window's buttons and the tray menu both call [`PresenceExt::set_presence`], which updates the state,
//! the tray and the UI together, so the three can never disagree. Until the agent core drives TaskRouter, this
//! state is local to the app.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager, Runtime};

use crate::{
    error::AppError,
    events::{AppEvent, ChangeSource, EVENT_NAME},
    tray,
};

/// The presence an agent chooses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Presence {
    /// Taking calls.
    Available,
    /// At the desk but not taking calls.
    Away,
    /// On a break.
    Break,
    /// Signed off; the starting state.
    #[default]
    Offline,
}

impl Presence {
    /// Every presence, in menu order.
    pub const ALL: [Presence; 4] = [
        Presence::Available,
        Presence::Away,
        Presence::Break,
        Presence::Offline,
    ];

    /// Stable id, used as the menu item id and in icon file names.
    pub fn id(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away => "away",
            Presence::Break => "break",
            Presence::Offline => "offline",
        }
    }

    /// The presence whose [`id`](Self::id) this is.
    pub fn from_id(id: &str) -> Option<Presence> {
        Presence::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// What the UI needs to draw the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Current presence.
    pub presence: Presence,
}

/// The managed state behind [`PresenceExt`].
#[derive(Default)]
pub struct PresenceState(Mutex<Presence>);

impl PresenceState {
    fn get(&self) -> Presence {
        // A poisoned lock only means another thread panicked mid-assignment of a Copy value: the value is whole.
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn replace(&self, presence: Presence) -> Presence {
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::replace(&mut *guard, presence)
    }
}

/// Reading and changing presence from anywhere that holds an app handle.
pub trait PresenceExt {
    /// The current state.
    fn snapshot(&self) -> Snapshot;
    /// Changes presence and updates the tray and the UI; returns the new state.
    fn set_presence(&self, presence: Presence, source: ChangeSource) -> Result<Snapshot, AppError>;
}

impl<R: Runtime> PresenceExt for AppHandle<R> {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            presence: self.state::<PresenceState>().get(),
        }
    }

    fn set_presence(&self, presence: Presence, source: ChangeSource) -> Result<Snapshot, AppError> {
        let previous = self.state::<PresenceState>().replace(presence);
        tracing::info!(
            from = previous.id(),
            to = presence.id(),
            ?source,
            "presence changed"
        );
        tray::show_presence(self, presence)?;
        self.emit(EVENT_NAME, AppEvent::Presence { presence, source })
            .map_err(AppError::Emit)?;
        Ok(Snapshot { presence })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_match_serde() {
        for p in Presence::ALL {
            assert_eq!(Presence::from_id(p.id()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.id());
        }
        assert_eq!(Presence::from_id("open"), None);
    }

    #[test]
    fn state_replace_returns_previous() {
        let state = PresenceState::default();
        assert_eq!(state.replace(Presence::Away), Presence::Offline);
        assert_eq!(state.get(), Presence::Away);
    }
}
