//! The IPC commands of the main window: deserialize, call the shell's API, map the error. Nothing is decided here.

use serde::Serialize;
use tauri::{AppHandle, State};
use tsunagi_core::Command;

use crate::{
    agent::{self, AgentHost, Snapshot},
    device::DeviceReport,
    error::AppError,
    lang::{Lang, LangState},
    server::Profile,
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
pub(crate) fn get_state(host: State<'_, AgentHost>) -> Snapshot {
    host.snapshot()
}

#[tauri::command]
pub(crate) async fn login(
    app: AppHandle,
    login: String,
    password: String,
) -> Result<Profile, AppError> {
    agent::login(&app, &login, &password).await
}

/// Any core command (`setPresence`, `answer`, `hangup`, …), as the core's tagged JSON.
#[tauri::command]
pub(crate) async fn core_command(
    host: State<'_, AgentHost>,
    command: Command,
) -> Result<(), AppError> {
    host.command(command).await
}

/// The current Access Token for the webview's Voice `Device` (`null` before sign-in).
#[tauri::command]
pub(crate) fn voice_token(host: State<'_, AgentHost>) -> Option<String> {
    host.voice_token()
}

/// A Voice SDK event from the webview's `Device`.
#[tauri::command]
pub(crate) async fn device_event(
    host: State<'_, AgentHost>,
    report: DeviceReport,
) -> Result<(), AppError> {
    host.device(report).await
}

/// The UI's language changed (or the UI started): the tray and notifications follow it.
#[tauri::command]
pub(crate) fn set_language(
    app: AppHandle,
    state: State<'_, LangState>,
    lang: Lang,
) -> Result<(), AppError> {
    state.set(lang);
    tray::show_lang(&app, lang)
}
