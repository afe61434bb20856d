//! The IPC commands of the main window: deserialize, call the shell's API, map the error. Nothing is decided here.

use serde::Serialize;
use tauri::{AppHandle, State};
use tsunagi_core::{Command, TaskSid};

use crate::{
    agent::{self, AgentHost, Snapshot},
    device::DeviceReport,
    diagnostics::{self, Diagnosis},
    error::AppError,
    lang::{Lang, LangState},
    server::{CallLine, DirectoryAgent, HistoryPage, Profile, SuperviseMode, TransferStep},
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

/// The supervisor's roster (`GET /v1/roster`).
#[tauri::command]
pub(crate) async fn roster(
    host: State<'_, AgentHost>,
) -> Result<Vec<tsunagi_core::RosterEntry>, AppError> {
    let (server, session) = host.server_session()?;
    server.roster(&session).await
}

/// Monitor, whisper to (coach) or barge into the call of `task` (supervisors).
#[tauri::command]
pub(crate) async fn supervise(
    host: State<'_, AgentHost>,
    task: TaskSid,
    mode: SuperviseMode,
) -> Result<(), AppError> {
    let (server, session) = host.server_session()?;
    server.supervise(&session, &task, mode).await
}

/// Completes or cancels a warm transfer of `task`.
#[tauri::command]
pub(crate) async fn transfer_step(
    host: State<'_, AgentHost>,
    task: TaskSid,
    step: TransferStep,
) -> Result<(), AppError> {
    let (server, session) = host.server_session()?;
    server.transfer_step(&session, &task, step).await
}

/// The calls created in `[from, to)` (Unix seconds) from the server's report.
#[tauri::command]
pub(crate) async fn call_history(
    host: State<'_, AgentHost>,
    from: i64,
    to: i64,
) -> Result<Vec<CallLine>, AppError> {
    let (server, session) = host.server_session()?;
    server.call_report(&session, from, to).await
}

/// The agents a call can be transferred to (`GET /v1/agents/directory`).
#[tauri::command]
pub(crate) async fn agents_directory(
    host: State<'_, AgentHost>,
) -> Result<Vec<DirectoryAgent>, AppError> {
    let (server, session) = host.server_session()?;
    server.directory(&session).await
}

/// One page of the agent's own calls, older than `before` (Unix ms; `None` = the newest).
#[tauri::command]
pub(crate) async fn my_history(
    host: State<'_, AgentHost>,
    before: Option<i64>,
) -> Result<HistoryPage, AppError> {
    let (server, session) = host.server_session()?;
    server.history(&session, 50, before).await
}

/// Finishes wrap-up with notes: the server stores them and completes the task, then the core finishes its side
/// (its own completion then finds the task done). A refusal (too long) leaves the wrap-up open.
#[tauri::command]
pub(crate) async fn complete_wrapup(
    host: State<'_, AgentHost>,
    task: TaskSid,
    notes: String,
) -> Result<(), AppError> {
    let (server, session) = host.server_session()?;
    server.complete_with_notes(&session, &task, &notes).await?;
    host.command(Command::CompleteWrapup { task }).await
}

/// Probes the server, TaskRouter and the Voice edge, and reads the current token.
#[tauri::command]
pub(crate) async fn diagnose(host: State<'_, AgentHost>) -> Result<Diagnosis, AppError> {
    let token = host.voice_token();
    let timeout = std::time::Duration::from_secs(5);
    Ok(diagnostics::run(host.config(), token.as_deref(), timeout).await)
}
