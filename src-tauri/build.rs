//! Generates the Tauri context and the permission set of the app's own commands.
//!
//! Every command is listed: without the manifest all app commands would be allowed to every window
//! (tauri-apps/tauri#9008). Capabilities live in `src-tauri/capabilities/` (layout B, DESIGN.md §3).

const COMMANDS: &[&str] = &[
    "app_info",
    "get_state",
    "login",
    "core_command",
    "device_event",
    "voice_token",
    "set_language",
    "update_status",
    "check_update",
    "install_update",
    "update_now",
    "autostart_enabled",
    "set_autostart",
    "roster",
    "supervise",
    "transfer_step",
    "call_history",
    "agents_directory",
    "my_history",
    "complete_wrapup",
    "diagnose",
    "take_pending_dial",
    "shortcut_status",
    "media_devices",
    "media_open",
    "media_create_offer",
    "media_accept_answer",
    "media_accept_offer",
    "media_set_muted",
    "media_set_devices",
    "media_stats",
    "media_close",
    "media_mic_test",
    "ringtone_configure",
    "ringtone_preview",
];

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("./src-tauri/capabilities/**/*")
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build script failed");
}
