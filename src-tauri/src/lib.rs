//! The Tsunagi desktop shell: one window, a tray menu, IPC and logs. It stays thin (DESIGN.md §2): it forwards
//! what the agent does to the state it manages and shows what that state says; decisions live in `crates/*`.

mod commands;
mod error;
mod events;
mod lang;
mod logging;
mod presence;
mod tray;
mod window;

pub use error::AppError;
pub use events::{AppEvent, ChangeSource, EVENT_NAME};
pub use presence::{Presence, PresenceExt, Snapshot};

use tauri::Manager;

/// Builds and runs the app until the agent quits.
pub fn run() {
    tauri::Builder::default()
        // Must be the first plugin: a second launch hands its argv over and exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            tracing::info!(args = argv.len(), "second launch: focusing the running window");
            window::show_main(app);
        }))
        .manage(presence::PresenceState::default())
        .manage(lang::LangState::detect())
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            app.manage(logging::init(&log_dir));
            tracing::info!(version = env!("CARGO_PKG_VERSION"), log_dir = %log_dir.display(), "Tsunagi starting");
            tray::create(app.handle())?;
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::get_state,
            commands::set_language,
            commands::set_presence
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed to start (is a display available?)");
}
