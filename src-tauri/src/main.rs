//! Entry point of the Tsunagi desktop app; everything lives in the library so tests can reach it.

// Keep a console window from opening on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    tsunagi_app::run();
}
