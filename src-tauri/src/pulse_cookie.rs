//! The PulseAudio cookie for the sound-device list. The list comes from cpal's PulseAudio host, whose pure-Rust
//! client (`pulseaudio` 0.3.2) looks for the cookie only in `$PULSE_COOKIE`, `~/.config/pulse/cookie` and
//! `~/.pulse-cookie`; libpulse (the call and ring streams) and the PulseAudio server use
//! `$XDG_CONFIG_HOME/pulse/cookie` first. With `XDG_CONFIG_HOME` set elsewhere, the pure-Rust client finds no
//! cookie (or a stale one), sends an empty one and the server drops it as a protocol error; cpal then lists
//! ALSA's plugin names instead of the sound server's devices, so the agent cannot pick a headset or a ringtone
//! output. Hit: PulseAudio users with `XDG_CONFIG_HOME` moved (PipeWire's pulse server, Debian 12 GNOME's default,
//! was not tried).
//!
//! [`apply`] points `PULSE_COOKIE` at the file libpulse itself would read, and only in that case, so both clients
//! present the same cookie. It must run before any thread exists, like [`crate::render_env`].

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where libpulse finds the cookie when the pure-Rust client would not: `$XDG_CONFIG_HOME/pulse/cookie`, if
/// `PULSE_COOKIE` is unset, `XDG_CONFIG_HOME` is an absolute directory other than `~/.config`, and the file
/// exists.
fn missed_cookie(
    var: impl Fn(&str) -> Option<OsString>,
    exists: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if var("PULSE_COOKIE").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let config = PathBuf::from(var("XDG_CONFIG_HOME")?);
    if !config.is_absolute() {
        // The XDG spec says to ignore a relative value; libpulse then uses ~/.config too.
        return None;
    }
    if var("HOME").is_some_and(|home| PathBuf::from(home).join(".config") == config) {
        return None;
    }
    let cookie = config.join("pulse").join("cookie");
    exists(&cookie).then_some(cookie)
}

/// Sets `PULSE_COOKIE` to the cookie libpulse would read where the device lister would miss it. Call first
/// thing, before GTK and threads.
pub fn apply() {
    if let Some(cookie) = missed_cookie(|key| std::env::var_os(key), Path::is_file) {
        // No other thread exists yet (the caller's contract), so changing the environment races with nothing.
        std::env::set_var("PULSE_COOKIE", cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn missed(vars: &[(&str, &str)], files: &[&str]) -> Option<PathBuf> {
        let vars: HashMap<_, _> = vars.iter().copied().collect();
        missed_cookie(
            |k| vars.get(k).map(OsString::from),
            |p| files.iter().any(|f| Path::new(f) == p),
        )
    }

    #[test]
    fn points_at_the_xdg_cookie_libpulse_reads() {
        let xdg = [("HOME", "/home/a"), ("XDG_CONFIG_HOME", "/home/a/.cfg")];
        assert_eq!(
            missed(&xdg, &["/home/a/.cfg/pulse/cookie"]),
            Some(PathBuf::from("/home/a/.cfg/pulse/cookie"))
        );
        // libpulse prefers the XDG one even when a stale ~/.config copy exists.
        assert_eq!(
            missed(
                &xdg,
                &["/home/a/.cfg/pulse/cookie", "/home/a/.config/pulse/cookie"]
            ),
            Some(PathBuf::from("/home/a/.cfg/pulse/cookie"))
        );
    }

    #[test]
    fn leaves_everything_else_alone() {
        let file = ["/home/a/.cfg/pulse/cookie"];
        let set = [
            ("HOME", "/home/a"),
            ("XDG_CONFIG_HOME", "/home/a/.cfg"),
            ("PULSE_COOKIE", "/x"),
        ];
        assert_eq!(missed(&set, &file), None, "the user's PULSE_COOKIE wins");
        assert_eq!(
            missed(&[("HOME", "/home/a")], &file),
            None,
            "no XDG_CONFIG_HOME"
        );
        let default = [("HOME", "/home/a"), ("XDG_CONFIG_HOME", "/home/a/.config")];
        assert_eq!(
            missed(&default, &["/home/a/.config/pulse/cookie"]),
            None,
            "~/.config is where the lister looks anyway"
        );
        let relative = [("HOME", "/home/a"), ("XDG_CONFIG_HOME", "cfg")];
        assert_eq!(missed(&relative, &["cfg/pulse/cookie"]), None);
        let xdg = [("HOME", "/home/a"), ("XDG_CONFIG_HOME", "/home/a/.cfg")];
        assert_eq!(missed(&xdg, &[]), None, "no cookie there (PipeWire)");
    }
}
