//! The IPC commands of the main window: deserialize, call the shell's API, map the error. Nothing is decided here.

use serde::Serialize;
use tauri::AppHandle;

use crate::{
    error::AppError,
    events::ChangeSource,
    presence::{Presence, PresenceExt, Snapshot},
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
