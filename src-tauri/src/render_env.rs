//! Rendering settings the app picks for itself on Linux before GTK starts: with no GPU render node
//! (`/dev/dri/renderD*`), WebKitGTK's accelerated compositing and GTK's GL would both run on Mesa's software
//! rasterizer (llvmpipe), which costs memory and buys nothing. Then the app turns them off:
//! - `GDK_GL=disable`: the window has no GL area (about 4 MiB less in the app's own process);
//! - `WEBKIT_DISABLE_COMPOSITING_MODE=1`: the web process paints with the CPU, as it would have anyway (about
//!   66 MiB less resident memory in `WebKitWebProcess`);
//! - with compositing off, what only compositing needs: `WEBKIT_DISABLE_DMABUF_RENDERER=1` (the renderer that
//!   hands composited frames over as DMA-BUFs) and `WEBKIT_WEB_RENDER_DEVICE_FILE=/dev/null` (no DRM device for
//!   the web process: the answer Mesa's software EGL device gives anyway, since no DRM node matches that path).
//!   Otherwise the app's process opens an EGL display only to ask those two questions, and that loads Mesa's
//!   driver with `libLLVM` (about 50 MiB resident in the app's process, for nothing). The web process still
//!   opens its own EGL display (WebKit aborts without one).
//!
//! A variable the user set is left as it is; a user who chose the compositing mode (either value) also keeps
//! WebKit's DMA-BUF renderer and render device choice. The WebKit processes inherit the environment, so this must
//! run before the first window and before any thread exists.
//!
//! Measured (idle, signed out, Xvfb, `crates/bench` memory comparison) in the README's memory section.

use std::path::Path;
use std::sync::OnceLock;

/// Where Linux lists GPUs; a `renderD*` node means a GPU that can composite.
const DRI_DIR: &str = "/dev/dri";

/// GTK's GL off: for a machine without a GPU render node.
const GTK_GL_OFF: (&str, &str) = ("GDK_GL", "disable");

/// The compositing mode; the user's choice of it (either value) also decides [`COMPOSITING_ONLY`].
const COMPOSITING_OFF: (&str, &str) = ("WEBKIT_DISABLE_COMPOSITING_MODE", "1");

/// What only WebKit's compositing uses, off together with it.
const COMPOSITING_ONLY: [(&str, &str); 2] = [
    ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
    ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null"),
];

/// What [`apply`] set, for the log once logging is up.
static CHOSEN: OnceLock<Vec<&'static str>> = OnceLock::new();

/// Sets the software-only settings when there is no GPU render node. Call first thing, before GTK and threads.
pub fn apply() {
    let gpu = has_render_node(Path::new(DRI_DIR));
    let set = plan(gpu, |key| std::env::var_os(key).is_some());
    for (key, value) in &set {
        // No other thread exists yet (the caller's contract), so changing the environment races with nothing.
        std::env::set_var(key, value);
    }
    let _ = CHOSEN.set(set.iter().map(|(key, _)| *key).collect());
}

/// Logs what [`apply`] chose (call once logging is initialised).
pub fn log_choice() {
    match CHOSEN.get() {
        Some(set) if !set.is_empty() => {
            tracing::info!(settings = ?set, "no GPU render node: WebKit compositing and GTK GL off")
        }
        _ => tracing::debug!(
            "rendering settings left to WebKit (GPU render node, or set by the user)"
        ),
    }
}

/// The variables to set: none with a GPU; without one, GTK's GL off unless the user chose, and compositing off
/// with what only it needs unless the user chose the compositing mode (then each of those is the user's too).
fn plan(gpu: bool, is_set: impl Fn(&str) -> bool) -> Vec<(&'static str, &'static str)> {
    if gpu {
        return Vec::new();
    }
    let mut set = vec![GTK_GL_OFF];
    if !is_set(COMPOSITING_OFF.0) {
        set.push(COMPOSITING_OFF);
        set.extend(COMPOSITING_ONLY);
    }
    set.retain(|(key, _)| !is_set(key));
    set
}

/// Whether `dir` holds a DRM render node (`renderD128`, …).
fn has_render_node(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gpu_leaves_webkit_alone() {
        assert!(plan(true, |_| false).is_empty());
    }

    #[test]
    fn without_a_gpu_compositing_and_gl_are_off_unless_the_user_chose() {
        let all = vec![
            ("GDK_GL", "disable"),
            ("WEBKIT_DISABLE_COMPOSITING_MODE", "1"),
            ("WEBKIT_DISABLE_DMABUF_RENDERER", "1"),
            ("WEBKIT_WEB_RENDER_DEVICE_FILE", "/dev/null"),
        ];
        assert_eq!(plan(false, |_| false), all);
        assert_eq!(plan(false, |key| key == "GDK_GL"), all[1..].to_vec());
        assert_eq!(
            plan(false, |key| key == "WEBKIT_WEB_RENDER_DEVICE_FILE"),
            all[..3].to_vec(),
            "a render device the user picked stays theirs"
        );
    }

    #[test]
    fn a_user_choosing_the_compositing_mode_keeps_webkits_renderer_choices() {
        // The desktop e2e keeps compositing on (`WEBKIT_DISABLE_COMPOSITING_MODE=0`): the DMA-BUF renderer and
        // its render device must then stay WebKit's.
        assert_eq!(
            plan(false, |key| key == "WEBKIT_DISABLE_COMPOSITING_MODE"),
            vec![("GDK_GL", "disable")]
        );
        assert!(plan(false, |key| key == "WEBKIT_DISABLE_COMPOSITING_MODE"
            || key == "GDK_GL")
        .is_empty());
    }

    #[test]
    fn only_a_render_node_counts_as_a_gpu() {
        let dir = std::env::temp_dir().join(format!("tsunagi-dri-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(!has_render_node(&dir), "empty");
        std::fs::write(dir.join("card0"), b"").unwrap();
        assert!(!has_render_node(&dir), "a display controller alone");
        std::fs::write(dir.join("renderD128"), b"").unwrap();
        assert!(has_render_node(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!has_render_node(&dir), "no /dev/dri at all");
    }
}
