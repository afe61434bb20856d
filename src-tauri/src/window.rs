//! The main window: bringing it to the front from the tray or a second launch.

use tauri::{AppHandle, Manager, Runtime};

/// Label of the one window, as declared in `tauri.conf.json`.
pub const MAIN: &str = "main";

/// Shows, unminimizes and focuses the main window; a missing window is logged, not fatal.
pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN) else {
        tracing::warn!("main window is gone; nothing to focus");
        return;
    };
    for (what, result) in [
        ("unminimize", window.unminimize()),
        ("show", window.show()),
        ("focus", window.set_focus()),
    ] {
        if let Err(error) = result {
            tracing::warn!(%error, what, "could not bring the main window forward");
        }
    }
}

/// Asks the window manager to flag the window (taskbar flash / urgency hint) until the agent looks.
pub fn request_attention<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        if let Err(error) = window.request_user_attention(Some(tauri::UserAttentionType::Critical))
        {
            tracing::debug!(%error, "no attention request");
        }
    }
}
