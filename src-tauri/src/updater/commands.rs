//! The update commands of the main window: read the status, ask for a check, install. Thin by design.

use tauri::AppHandle;

use super::{UpdateError, UpdateView};

/// Where the update stands (the `tsunagi:update` event says when it changes).
#[tauri::command]
pub(crate) fn update_status(app: AppHandle) -> UpdateView {
    super::status(&app)
}

/// Checks now instead of at the next interval; the result arrives as a `tsunagi:update` event.
#[tauri::command]
pub(crate) fn check_update(app: AppHandle) {
    super::check_now(&app);
}

/// Installs the verified update and restarts; refused (`busy`) during a ring, a call or wrap-up.
#[tauri::command]
pub(crate) async fn install_update(app: AppHandle) -> Result<(), UpdateError> {
    super::install(&app).await
}

/// The "update required" screen's one button: downloads and verifies (if not done yet), installs as soon as no
/// ring, call or wrap-up needs the app (the status says `waiting` meanwhile), and restarts.
#[tauri::command]
pub(crate) fn update_now(app: AppHandle) {
    super::update_now(&app);
}
