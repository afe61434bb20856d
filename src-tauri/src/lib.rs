//! The Tsunagi desktop shell: one window, a tray menu, IPC and logs. It stays thin (DESIGN.md §2): it forwards
//! what the agent does to the state it manages and shows what that state says; decisions live in `crates/*`.

mod activity;
mod agent;
mod autostart;
mod commands;
mod config;
mod deeplink;
mod device;
mod diagnostics;
mod error;
mod events;
mod keychain;
mod lang;
mod logging;
mod loopback;
mod media;
mod notify;
#[cfg(target_os = "linux")]
mod pulse_cookie;
#[cfg(target_os = "linux")]
mod render_env;
mod ringtone;
mod server;
mod shortcut;
mod tray;
mod updater;
mod window;

pub use error::AppError;

use tauri::Manager;
use tauri_plugin_window_state::StateFlags;

/// Builds and runs the app until the agent quits.
pub fn run() {
    // First, while no thread exists: GTK and the WebKit processes read these once.
    #[cfg(target_os = "linux")]
    render_env::apply();
    #[cfg(target_os = "linux")]
    pulse_cookie::apply();
    tauri::Builder::default()
        // Must be the first plugin: a second launch hands its argv over and exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            // `tsunagi --answer-or-hang-up` (a key bound in the desktop's settings) acts without raising the window.
            if shortcut::from_second_launch(app, &argv) {
                return;
            }
            tracing::info!(args = argv.len(), "second launch: focusing the running window");
            window::show_main(app);
        }))
        .plugin(updater::plugin())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(autostart::plugin())
        .plugin(shortcut::plugin())
        .plugin(media::plugin())
        // Size, position and maximized are remembered; visibility is the tray's and the login start's.
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .manage(activity::CallActivity::default())
        .manage(agent::AgentHost::new(config::ClientConfig::from_env()))
        .manage(lang::LangState::detect())
        .manage(deeplink::PendingDial::default())
        .manage(media::MediaCalls::default())
        .manage(ringtone::Ringtone::default())
        .on_page_load(media::on_page_load)
        .setup(|app| {
            server::set_client_version(app.package_info().version.to_string());
            let log_dir = app.path().app_log_dir()?;
            app.manage(logging::init(&log_dir));
            #[cfg(target_os = "linux")]
            render_env::log_choice();
            tracing::info!(version = %server::client_version(), log_dir = %log_dir.display(), "Tsunagi starting");
            app.manage(notify::Notifier::start(app.handle().clone()));
            tray::create(app.handle())?;
            loopback::at_start(app.handle());
            updater::start(app.handle(), updater::UpdateSettings::from_env());
            keychain::resume_at_start(app.handle());
            autostart::at_start(app.handle());
            deeplink::at_start(app.handle());
            shortcut::at_start(app.handle());
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window while signed in keeps the agent reachable: the app stays in the tray (and a
            // second launch brings the window back). Quitting is the tray's "Quit", which signs out first.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                if window.app_handle().state::<agent::AgentHost>().signed_in() {
                    api.prevent_close();
                    if let Err(error) = window.hide() {
                        tracing::warn!(%error, "could not hide the window");
                    }
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            updater::commands::update_status,
            updater::commands::check_update,
            updater::commands::install_update,
            updater::commands::update_now,
            autostart::autostart_enabled,
            autostart::set_autostart,
            commands::get_state,
            commands::login,
            commands::core_command,
            commands::device_event,
            commands::voice_token,
            commands::set_language,
            commands::roster,
            commands::supervise,
            commands::transfer_step,
            commands::call_history,
            commands::agents_directory,
            commands::my_history,
            commands::complete_wrapup,
            commands::diagnose,
            deeplink::take_pending_dial,
            shortcut::shortcut_status,
            media::media_devices,
            media::media_open,
            media::media_create_offer,
            media::media_accept_answer,
            media::media_accept_offer,
            media::media_set_muted,
            media::media_set_devices,
            media::media_stats,
            media::media_close,
            media::media_mic_test,
            ringtone::ringtone_configure,
            ringtone::ringtone_preview
        ])
        .run(tauri::generate_context!())
        .expect("the Tauri runtime failed to start (is a display available?)");
}
