//! A global key to answer the ringing call or hang up the live one without finding the window
//! (`tauri-plugin-global-shortcut`; on Linux X11 only — Wayland has no global grabs, and registration then
//! fails with a logged warning). What it acts on comes from [`CallActivity::toggle`]; the core decides.

use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_global_shortcut::{
    Code, GlobalShortcutExt, Modifiers, Shortcut, ShortcutEvent, ShortcutState,
};
use tsunagi_core::Command;

use crate::activity::{CallActivity, Toggle};
use crate::agent::AgentHost;

/// Ctrl+Alt+A: answer, or hang up.
pub fn answer_or_hang_up() -> Shortcut {
    Shortcut::new(Some(Modifiers::CONTROL | Modifiers::ALT), Code::KeyA)
}

/// The plugin with the handler; the key is registered by [`at_start`].
pub fn plugin<R: Runtime>() -> TauriPlugin<R> {
    tauri_plugin_global_shortcut::Builder::new()
        .with_handler(|app, shortcut, event: ShortcutEvent| {
            if event.state == ShortcutState::Pressed && *shortcut == answer_or_hang_up() {
                pressed(app);
            }
        })
        .build()
}

/// Grabs the key; a key another program holds, or no X11, costs the shortcut only.
pub fn at_start<R: Runtime>(app: &AppHandle<R>) {
    match app.global_shortcut().register(answer_or_hang_up()) {
        Ok(()) => tracing::info!("answer/hang-up shortcut Ctrl+Alt+A registered"),
        Err(error) => tracing::warn!(%error, "answer/hang-up shortcut unavailable"),
    }
}

fn pressed<R: Runtime>(app: &AppHandle<R>) {
    let command = match app.state::<CallActivity>().toggle() {
        Toggle::Answer(target) => Command::Answer { target },
        Toggle::Hangup(target) => Command::Hangup { target },
        Toggle::Nothing => {
            tracing::info!("shortcut: nothing to answer or hang up");
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
            Ok(()) => tracing::info!(what, "shortcut: handed to the core"),
            Err(error) => tracing::warn!(what, %error, "shortcut: not done"),
        }
    });
}
