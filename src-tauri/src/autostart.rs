//! Start at login (`tauri-plugin-autostart`: an XDG autostart `.desktop` file on Linux, a Launch Agent on
//! macOS, the Run key on Windows). A login start passes [`MINIMIZED_ARG`], so the app comes up in the tray
//! without taking the screen. The agent turns it on and off in settings; a managed desktop can enforce it with
//! `TSUNAGI_AUTOSTART=on|off`, applied at every start.

use serde::{Serialize, Serializer};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_autostart::ManagerExt;

/// The argument a login start carries.
pub const MINIMIZED_ARG: &str = "--minimized";

/// Why start-at-login could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[error("start at login could not be changed: {0}")]
pub struct AutostartError(String);

impl Serialize for AutostartError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AutostartError", 2)?;
        s.serialize_field("kind", "autostart")?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// The plugin, registering login starts with [`MINIMIZED_ARG`].
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_autostart::Builder::new()
        .arg(MINIMIZED_ARG)
        .build()
}

/// Whether the app starts at login.
pub fn enabled<R: Runtime>(app: &AppHandle<R>) -> Result<bool, AutostartError> {
    app.autolaunch()
        .is_enabled()
        .map_err(|e| AutostartError(e.to_string()))
}

/// Turns start-at-login on or off.
pub fn set<R: Runtime>(app: &AppHandle<R>, on: bool) -> Result<(), AutostartError> {
    let launch = app.autolaunch();
    let done = if on {
        launch.enable()
    } else {
        launch.disable()
    };
    done.map_err(|e| AutostartError(e.to_string()))?;
    tracing::info!(on, "start at login changed");
    Ok(())
}

/// At start: applies `TSUNAGI_AUTOSTART` when set, and hides the window when this is a login start.
pub fn at_start<R: Runtime>(app: &AppHandle<R>) {
    if let Some(on) = enforced(std::env::var("TSUNAGI_AUTOSTART").ok().as_deref()) {
        if let Err(error) = set(app, on) {
            tracing::warn!(%error, "TSUNAGI_AUTOSTART could not be applied");
        }
    }
    if std::env::args().any(|a| a == MINIMIZED_ARG) {
        tracing::info!("started at login: staying in the tray");
        if let Some(window) = app.get_webview_window(crate::window::MAIN) {
            if let Err(error) = window.hide() {
                tracing::warn!(%error, "could not hide the window at a login start");
            }
        }
    }
}

fn enforced(value: Option<&str>) -> Option<bool> {
    match value?.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" => Some(true),
        "off" | "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Whether the app starts at login (for settings).
#[tauri::command]
pub(crate) fn autostart_enabled(app: AppHandle) -> Result<bool, AutostartError> {
    enabled(&app)
}

/// Turns start-at-login on or off (from settings).
#[tauri::command]
pub(crate) fn set_autostart(app: AppHandle, enabled: bool) -> Result<(), AutostartError> {
    set(&app, enabled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enforcing_variable_reads_on_off_and_ignores_the_rest() {
        assert_eq!(enforced(Some("on")), Some(true));
        assert_eq!(enforced(Some(" OFF ")), Some(false));
        assert_eq!(enforced(Some("1")), Some(true));
        assert_eq!(enforced(Some("maybe")), None);
        assert_eq!(enforced(None), None);
    }
}
