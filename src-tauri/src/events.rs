//! Where the core's events go: the window (as JSON on one channel), the tray, the ring notification, the native
//! ringtone, and — for a ring — the window comes to the front. The same JSON will travel over the loopback
//! WebSocket transport.

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tsunagi_core::Event;

use crate::activity::CallActivity;
use crate::{notify, ringtone, tray, window};

/// The Tauri event name every core [`Event`] is emitted on.
pub const EVENT_NAME: &str = "tsunagi:event";

/// Shows `event` everywhere it belongs.
pub fn on_core_event<R: Runtime>(app: &AppHandle<R>, event: &Event) {
    app.state::<CallActivity>().observe(event);
    ringtone::on_event(app, event);
    tray::on_event(app, event);
    notify::on_event(app, event);
    if matches!(event, Event::Ringing { .. }) {
        window::show_main(app);
        window::request_attention(app);
    }
    if let Err(error) = app.emit(EVENT_NAME, event) {
        tracing::error!(%error, "could not send an event to the window");
    }
}
