//! The IPC commands of the main window: deserialize, call the shell's API, map the error. Nothing is decided here.

use serde::Serialize;
use tauri::{AppHandle, State};

use crate::{
    error::AppError,
    events::ChangeSource,
    lang::{Lang, LangState},
    presence::{Presence, PresenceExt, Snapshot},
    tray,
};

/// Version facts shown in the UI and in bug reports.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    version: &'static str,
    tauri_version: &'static str,
    os: &'static str,
}

#[tauri::command]
pub(crate) fn app_info() -> AppInfo {
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        tauri_version: tauri::VERSION,
        os: std::env::consts::OS,
    }
}

#[tauri::command]
pub(crate) fn get_state(app: AppHandle) -> Snapshot {
    app.snapshot()
}

#[tauri::command]
pub(crate) fn set_presence(app: AppHandle, presence: Presence) -> Result<Snapshot, AppError> {
    app.set_presence(presence, ChangeSource::Window)
}

/// The UI's language changed (or the UI started): the tray follows it.
#[tauri::command]
pub(crate) fn set_language(
    app: AppHandle,
    state: State<'_, LangState>,
    lang: Lang,
) -> Result<(), AppError> {
    state.set(lang);
    tray::show_lang(&app, lang)
}
