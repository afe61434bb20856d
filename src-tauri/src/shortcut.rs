//! A global key to answer the ringing call or hang up the live one without finding the window, and whether the
//! desktop lets the app have one. The route is chosen at start from the session ([`route`]):
//! - X11 (no Wayland hint, `DISPLAY` set): `tauri-plugin-global-shortcut` grabs Ctrl+Alt+A;
//! - Wayland (`XDG_SESSION_TYPE=wayland`, or `WAYLAND_DISPLAY` set without an X11 session type): no program may grab
//!   keys, so the key is asked of the XDG desktop portal's GlobalShortcuts interface ([`portal`]); a desktop
//!   whose portal lacks it (GNOME before 48) gives no key, and an X11 grab through XWayland would only fire while
//!   an XWayland window has focus, so it is not tried;
//! - neither: no key.
//!
//! Wherever the desktop lets the agent bind a key to a command (GNOME's custom shortcuts, any version), that key
//! can run `tsunagi --answer-or-hang-up`: the second launch hands it to the running app ([`from_second_launch`]).
//!
//! Both routes run [`activate`], which asks [`CallActivity::toggle`] what to act on and hands the same
//! `Answer`/`Hangup` command to the core as the window's buttons; the core decides. What came of it is kept as a
//! [`ShortcutStatus`] for Settings (`shortcut_status`) and logged, so a missing key is said, never silent.

#[cfg(target_os = "linux")]
mod portal;

use std::sync::Mutex;

use serde::Serialize;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_global_shortcut::{
    Code, GlobalShortcutExt, Modifiers, Shortcut, ShortcutEvent, ShortcutState,
};
use tsunagi_core::Command;

use crate::activity::{CallActivity, Toggle};
use crate::agent::AgentHost;

/// The argument of a second launch that answers or hangs up, for a key bound in the desktop's own settings.
pub const COMMAND_ARG: &str = "--answer-or-hang-up";

/// Ctrl+Alt+A: answer, or hang up.
pub fn answer_or_hang_up() -> Shortcut {
    Shortcut::new(Some(Modifiers::CONTROL | Modifiers::ALT), Code::KeyA)
}

/// How the key reaches the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Via {
    /// A key grab: X11 on Linux (the plugin's grab on Windows and macOS).
    Grab,
    /// The XDG desktop portal (Wayland).
    Portal,
    /// A second launch with [`COMMAND_ARG`] (never a status: the app cannot know which key runs it).
    Command,
}

/// Why there is no key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Reason {
    /// Neither a Wayland nor an X11 session.
    NoDisplay,
    /// Wayland, and no D-Bus session bus to reach the portal.
    NoSessionBus,
    /// Wayland, and no desktop portal on the session bus.
    NoPortal,
    /// Wayland, and the desktop's portal offers no global shortcuts.
    PortalWithoutShortcuts,
    /// The desktop (or the agent, in its dialog) declined the key.
    Refused,
    /// The portal failed or left the bus.
    PortalFailed,
    /// The X11 grab failed (another program holds Ctrl+Alt+A).
    GrabFailed,
}

/// The shortcut's state, for Settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ShortcutStatus {
    /// Being set up (the desktop may be asking the agent to confirm the key).
    Pending {
        /// The route being tried.
        via: Via,
    },
    /// The key works.
    Active {
        /// The route.
        via: Via,
        /// What triggers it, as the desktop words it (Ctrl+Alt+A unless the agent chose another).
        trigger: String,
    },
    /// No key, and why.
    Unavailable {
        /// The reason, for the UI's wording.
        reason: Reason,
        /// The technical detail (an error message), when there is one.
        detail: Option<String>,
    },
}

/// The managed status cell.
pub struct ShortcutCell(Mutex<ShortcutStatus>);

impl ShortcutCell {
    fn set(&self, status: ShortcutStatus) {
        match &status {
            ShortcutStatus::Pending { via } => {
                tracing::info!(?via, "answer/hang-up shortcut: setting up")
            }
            ShortcutStatus::Active { via, trigger } => {
                tracing::info!(?via, trigger, "answer/hang-up shortcut active")
            }
            ShortcutStatus::Unavailable { reason, detail } => {
                tracing::warn!(?reason, detail, "answer/hang-up shortcut unavailable")
            }
        }
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = status;
    }

    fn get(&self) -> ShortcutStatus {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The session facts the route depends on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionHints {
    /// `XDG_SESSION_TYPE`.
    pub session_type: Option<String>,
    /// `WAYLAND_DISPLAY` is set.
    pub wayland_display: bool,
    /// `DISPLAY` is set.
    pub x11_display: bool,
}

impl SessionHints {
    fn from_env() -> Self {
        let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        SessionHints {
            session_type: std::env::var("XDG_SESSION_TYPE").ok(),
            wayland_display: set("WAYLAND_DISPLAY"),
            x11_display: set("DISPLAY"),
        }
    }
}

/// Which way to get the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Grab it (X11 on Linux).
    Grab,
    /// Ask the desktop portal.
    Portal,
    /// No session to get a key from.
    None,
}

/// The route for a session: the session type decides when it names one; otherwise a Wayland socket means
/// Wayland, and an X display alone means X11.
/// (Windows and macOS always grab.)
pub fn route(hints: &SessionHints) -> Route {
    if !cfg!(target_os = "linux") {
        return Route::Grab;
    }
    let session = hints.session_type.as_deref().map(str::to_ascii_lowercase);
    match session.as_deref() {
        Some("wayland") => Route::Portal,
        Some("x11") if hints.x11_display => Route::Grab,
        Some("x11") => Route::None,
        _ if hints.wayland_display => Route::Portal,
        _ if hints.x11_display => Route::Grab,
        _ => Route::None,
    }
}

/// The plugin with the handler; the key is registered by [`at_start`] when X11 is the route.
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, shortcut, event: ShortcutEvent| {
            if event.state == ShortcutState::Pressed && *shortcut == answer_or_hang_up() {
                activate(app, Via::Grab);
            }
        })
        .build()
}

/// Chooses the route and sets the key up; whatever fails costs the shortcut only, and says why.
pub fn at_start<R: Runtime>(app: &AppHandle<R>) {
    let hints = SessionHints::from_env();
    let chosen = route(&hints);
    tracing::info!(?chosen, session_type = ?hints.session_type, wayland = hints.wayland_display, x11 = hints.x11_display, "answer/hang-up shortcut route");
    let initial = match chosen {
        Route::Grab => ShortcutStatus::Pending { via: Via::Grab },
        Route::Portal => ShortcutStatus::Pending { via: Via::Portal },
        Route::None => ShortcutStatus::Unavailable {
            reason: Reason::NoDisplay,
            detail: None,
        },
    };
    app.manage(ShortcutCell(Mutex::new(initial.clone())));
    let cell = app.state::<ShortcutCell>();
    cell.set(initial);
    match chosen {
        Route::Grab => cell.set(match app.global_shortcut().register(answer_or_hang_up()) {
            Ok(()) => ShortcutStatus::Active {
                via: Via::Grab,
                trigger: "Ctrl+Alt+A".into(),
            },
            Err(error) => ShortcutStatus::Unavailable {
                reason: Reason::GrabFailed,
                detail: Some(error.to_string()),
            },
        }),
        Route::Portal => start_portal(app),
        Route::None => {}
    }
}

#[cfg(target_os = "linux")]
fn start_portal<R: Runtime>(app: &AppHandle<R>) {
    use futures_util::StreamExt;
    use portal::PortalError;

    let app = app.clone();
    // Binds, serves activations while the portal stays, and binds again when it comes back (a restarted portal
    // forgets its sessions). A missing portal is waited for; any other refusal is final until the next start.
    tauri::async_runtime::spawn(async move {
        let cell = app.state::<ShortcutCell>();
        loop {
            let bound = match portal::bind("Answer the ringing call, or hang up").await {
                Ok(bound) => bound,
                Err(error) => {
                    let reason = match &error {
                        PortalError::NoBus(_) => Reason::NoSessionBus,
                        PortalError::NoPortal(_) => Reason::NoPortal,
                        PortalError::NoInterface(_) => Reason::PortalWithoutShortcuts,
                        PortalError::Refused(_) | PortalError::NotBound => Reason::Refused,
                        _ => Reason::PortalFailed,
                    };
                    cell.set(ShortcutStatus::Unavailable {
                        reason,
                        detail: Some(error.to_string()),
                    });
                    if reason == Reason::NoPortal && portal::wait_for_portal().await.is_ok() {
                        continue;
                    }
                    return;
                }
            };
            tracing::info!(
                version = bound.version,
                "answer/hang-up shortcut bound through the desktop portal"
            );
            let active = |trigger: Option<String>| ShortcutStatus::Active {
                via: Via::Portal,
                trigger: trigger.unwrap_or_else(|| "Ctrl+Alt+A".into()),
            };
            cell.set(active(bound.trigger.clone()));
            let mut events = std::pin::pin!(bound.events());
            while let Some(event) = events.next().await {
                match event {
                    portal::PortalEvent::Activated => activate(&app, Via::Portal),
                    portal::PortalEvent::TriggerChanged(trigger) => cell.set(active(trigger)),
                }
            }
            cell.set(ShortcutStatus::Unavailable {
                reason: Reason::PortalFailed,
                detail: Some("the desktop portal left the session bus; binding again".into()),
            });
            // A portal started by D-Bus activation comes back on the next call; a second apart, never a busy loop.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    });
}

#[cfg(not(target_os = "linux"))]
fn start_portal<R: Runtime>(_app: &AppHandle<R>) {}

/// Acts on a second launch's arguments when they ask to answer or hang up; true if they did (then the window is
/// left as it is).
pub fn from_second_launch<R: Runtime>(app: &AppHandle<R>, argv: &[String]) -> bool {
    let asked = asks_to_toggle(argv);
    if asked {
        activate(app, Via::Command);
    }
    asked
}

/// True when a launch's arguments (program name first) ask to answer or hang up.
fn asks_to_toggle(argv: &[String]) -> bool {
    argv.iter().skip(1).any(|a| a == COMMAND_ARG)
}

/// The shortcut's state now, for Settings.
#[tauri::command]
pub(crate) fn shortcut_status(cell: State<'_, ShortcutCell>) -> ShortcutStatus {
    cell.get()
}

/// What the key does, whichever route brought it: the window's answer or hang-up command, through the core.
fn activate<R: Runtime>(app: &AppHandle<R>, via: Via) {
    let command = match app.state::<CallActivity>().toggle() {
        Toggle::Answer(target) => Command::Answer { target },
        Toggle::Hangup(target) => Command::Hangup { target },
        Toggle::Nothing => {
            tracing::info!(?via, "shortcut: nothing to answer or hang up");
            return;
        }
    };
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let what = match &command {
            Command::Answer { .. } => "answer",
            _ => "hang up",
        };
        match app.state::<AgentHost>().command(command).await {
            Ok(()) => tracing::info!(what, ?via, "shortcut: handed to the core"),
            Err(error) => tracing::warn!(what, ?via, %error, "shortcut: not done"),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hints(session: Option<&str>, wayland: bool, x11: bool) -> SessionHints {
        SessionHints {
            session_type: session.map(str::to_owned),
            wayland_display: wayland,
            x11_display: x11,
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn wayland_sessions_ask_the_portal_even_with_xwayland() {
        assert_eq!(route(&hints(Some("wayland"), true, true)), Route::Portal);
        assert_eq!(route(&hints(Some("Wayland"), false, true)), Route::Portal);
        assert_eq!(route(&hints(None, true, true)), Route::Portal);
        assert_eq!(route(&hints(Some("tty"), true, false)), Route::Portal);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn x11_sessions_grab_and_no_display_gets_nothing() {
        assert_eq!(route(&hints(Some("x11"), false, true)), Route::Grab);
        // An X11 session type wins over a stray WAYLAND_DISPLAY (a nested compositor).
        assert_eq!(route(&hints(Some("x11"), true, true)), Route::Grab);
        assert_eq!(route(&hints(None, false, true)), Route::Grab);
        assert_eq!(route(&hints(Some("x11"), false, false)), Route::None);
        assert_eq!(route(&hints(None, false, false)), Route::None);
        assert_eq!(route(&hints(Some("tty"), false, false)), Route::None);
    }

    #[test]
    fn only_the_command_argument_asks_to_answer_or_hang_up() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(asks_to_toggle(&args(&["tsunagi", "--answer-or-hang-up"])));
        assert!(!asks_to_toggle(&args(&["tsunagi"])));
        assert!(!asks_to_toggle(&args(&[
            "tsunagi",
            "tsunagi://dial/+81312345678"
        ])));
        // The program's own path is not an argument.
        assert!(!asks_to_toggle(&args(&["--answer-or-hang-up"])));
    }

    #[test]
    fn the_status_reaches_the_ui_tagged_and_camel_cased() {
        let unavailable = ShortcutStatus::Unavailable {
            reason: Reason::PortalWithoutShortcuts,
            detail: Some("no interface".into()),
        };
        assert_eq!(
            serde_json::to_value(&unavailable).expect("serializes"),
            serde_json::json!({ "state": "unavailable", "reason": "portalWithoutShortcuts", "detail": "no interface" })
        );
        let active = ShortcutStatus::Active {
            via: Via::Portal,
            trigger: "Ctrl+Alt+A".into(),
        };
        assert_eq!(
            serde_json::to_value(&active).expect("serializes"),
            serde_json::json!({ "state": "active", "via": "portal", "trigger": "Ctrl+Alt+A" })
        );
    }
}
