//! Events the shell pushes to the UI: one serde-tagged enum on one channel, so the same JSON can later travel
//! over the loopback WebSocket transport unchanged (DESIGN.md §5).

use serde::Serialize;

use crate::presence::Presence;

/// The Tauri event name every [`AppEvent`] is emitted on.
pub const EVENT_NAME: &str = "tsunagi:event";

/// Where a change came from, so the UI (and the log) can tell the agent what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeSource {
    /// A button in the window.
    Window,
    /// The tray menu.
    Tray,
}

/// One thing the UI should know about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum AppEvent {
    /// The agent's presence changed.
    Presence {
        /// The new presence.
        presence: Presence,
        /// Who changed it.
        source: ChangeSource,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_tagged_camel_case() {
        let event = AppEvent::Presence {
            presence: Presence::Away,
            source: ChangeSource::Tray,
        };
        assert_eq!(
            serde_json::to_string(&event).unwrap(),
            r#"{"type":"presence","presence":"away","source":"tray"}"#
        );
    }
}
