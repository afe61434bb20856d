//! `memory`: the idle footprint of the Tauri app against the same UI in a Chromium app window (what an
//! Electron build would carry at least), measured side by side in one run, and the install size of each.
//!
//! - Both start together on the current display (run it under `xvfb-run … dbus-run-session`, as
//!   `scripts/bench` does), each with a private `HOME`/XDG dirs: the app binary (it embeds `ui/dist`), and
//!   `chromium --app=http://127.0.0.1:PORT/` on the same `ui/dist` served by the bench. After `settle`, the
//!   resident memory of each process tree (the app + `WebKitWebProcess` + `WebKitNetworkProcess`; every
//!   chromium process) is sampled five times, 1 s apart; the median counts. RSS double-counts shared pages
//!   across a tree's processes (both trees alike); PSS (`smaps_rollup`) is reported too as the fairer sum.
//!   Goal: app RSS ≤ 0.4 × Chromium RSS.
//! - Install size: the app's `.deb` (and its installed size) when `tauri build` made one, else the binary; against
//!   the installed size of Debian's `chromium` + `chromium-common` (`dpkg-query`), the floor an Electron build
//!   carries.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::report::{Invariants, Report};
use crate::BenchError;

/// The goal from issue #10.
pub const GOAL_RATIO: f64 = 0.4;

/// Parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// The Tauri app binary.
    pub app: PathBuf,
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The built UI (`ui/dist`).
    pub ui: PathBuf,
    /// Where `tauri build` leaves the `.deb` (`target/release/bundle/deb`).
    pub deb_dir: PathBuf,
    /// Time from start to the first sample.
    pub settle: Duration,
}

/// One process tree's memory, KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
struct Tree {
    processes: usize,
    rss_kib: u64,
    pss_kib: u64,
}

/// Runs the scenario.
pub async fn run(p: Params) -> Result<Report, BenchError> {
    let started = Instant::now();
    if std::env::var_os("DISPLAY").is_none() {
        return Err(BenchError::Setup(
            "memory needs a display: run it under xvfb-run (scripts/bench does)".into(),
        ));
    }
    let ui = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", ui.local_addr()?);
    let server = tokio::spawn(serve_dir(ui, p.ui.clone()));
    let home = tempfile::tempdir()?;
    let mut app = spawn(&p.app, &[], &home.path().join("app"))?;
    let chromium_args = [
        format!("--app={url}"),
        format!(
            "--user-data-dir={}",
            home.path().join("chromium-profile").display()
        ),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--password-store=basic".into(),
        "--window-size=420,640".into(),
        // Root in a container has no user namespaces for Chromium's sandbox.
        "--no-sandbox".into(),
    ];
    let args: Vec<&str> = chromium_args.iter().map(String::as_str).collect();
    let mut chromium = spawn(&p.chromium, &args, &home.path().join("chromium"))?;
    tokio::time::sleep(p.settle).await;
    let (mut a, mut c) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        a.push(tree(app.id()));
        c.push(tree(chromium.id()));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let app_alive = app.try_wait().ok().flatten().is_none();
    let chromium_alive = chromium.try_wait().ok().flatten().is_none();
    let app_names = names(app.id());
    let chromium_names = names(chromium.id());
    for child in [&mut app, &mut chromium] {
        kill_tree(child.id());
        let _ = child.kill();
        let _ = child.wait();
    }
    server.abort();
    let (a, c) = (median(a), median(c));
    if !app_alive || !chromium_alive || a.processes == 0 || c.processes == 0 {
        return Err(BenchError::Setup(format!(
            "a process died before the samples: app alive {app_alive} ({} processes), chromium alive \
             {chromium_alive} ({} processes)",
            a.processes, c.processes
        )));
    }
    let ratio = |x: u64, y: u64| ((x as f64 / y.max(1) as f64) * 1000.0).round() / 1000.0;
    let rss_ratio = ratio(a.rss_kib, c.rss_kib);
    let sizes = install_sizes(&p);
    Ok(Report::new(
        "memory",
        json!({
            "app": p.app.display().to_string(),
            "chromium": p.chromium.display().to_string(),
            "settle_s": p.settle.as_secs_f64(),
            "samples": 5,
        }),
        json!({
            "tauri": {"tree": a, "processes_count_rss_kib": app_names, "rss_mib": mib(a.rss_kib), "pss_mib": mib(a.pss_kib)},
            "chromium_app_window": {"tree": c, "processes_count_rss_kib": chromium_names, "rss_mib": mib(c.rss_kib), "pss_mib": mib(c.pss_kib)},
            "rss_ratio": rss_ratio,
            "pss_ratio": ratio(a.pss_kib, c.pss_kib),
            "install": sizes,
        }),
        Invariants::default(),
        json!({
            "rss_ratio_max": GOAL_RATIO,
            "met": rss_ratio <= GOAL_RATIO,
        }),
        started,
    ))
}

fn mib(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

fn median(mut v: Vec<Tree>) -> Tree {
    v.sort_by_key(|t| t.rss_kib);
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Starts `bin` with a private HOME and XDG dirs under `home`, output discarded.
fn spawn(bin: &Path, args: &[&str], home: &Path) -> Result<Child, BenchError> {
    for d in ["config", "data", "cache", "run"] {
        std::fs::create_dir_all(home.join(d))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(home.join("run"), std::fs::Permissions::from_mode(0o700))?;
    }
    Command::new(bin)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("NO_AT_BRIDGE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| BenchError::Setup(format!("{}: {e}", bin.display())))
}

/// Every process's parent, from `/proc`.
fn parents() -> HashMap<u32, u32> {
    let mut out = HashMap::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so read after the last ')'.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok());
        if let Some(ppid) = ppid {
            out.insert(pid, ppid);
        }
    }
    out
}

/// `root` and all its descendants.
fn descendants(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parents.iter().filter(|(_, pp)| **pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out.retain(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
    out
}

fn kib(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn tree(root: u32) -> Tree {
    let mut t = Tree::default();
    for pid in descendants(root) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        t.processes += 1;
        t.rss_kib += kib(&status, "VmRSS:");
        t.pss_kib += kib(&rollup, "Pss:");
    }
    t
}

/// Process names in the tree: how many, and their RSS (KiB).
fn names(root: u32) -> HashMap<String, (usize, u64)> {
    let mut out = HashMap::new();
    for pid in descendants(root) {
        if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let e = out.entry(comm.trim().to_owned()).or_insert((0, 0));
            e.0 += 1;
            e.1 += kib(&status, "VmRSS:");
        }
    }
    out
}

fn kill_tree(root: u32) {
    for pid in descendants(root).into_iter().rev() {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
    }
}

/// The app's package (or binary) against Chromium's installed size.
fn install_sizes(p: &Params) -> Value {
    let deb = std::fs::read_dir(&p.deb_dir).ok().and_then(|rd| {
        rd.filter_map(Result::ok)
            .map(|e| e.path())
            .find(|x| x.extension().is_some_and(|e| e == "deb"))
    });
    let app = match &deb {
        Some(deb) => {
            let installed = Command::new("dpkg-deb")
                .args(["-f"])
                .arg(deb)
                .arg("Installed-Size")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|s| s.trim().parse::<u64>().ok());
            json!({
                "what": "deb",
                "path": deb.display().to_string(),
                "package_mib": std::fs::metadata(deb).ok().map(|m| mib(m.len() / 1024)),
                "installed_mib": installed.map(mib),
            })
        }
        None => json!({
            "what": "binary (no .deb: tauri build not run; the binary embeds the UI)",
            "path": p.app.display().to_string(),
            "binary_mib": std::fs::metadata(&p.app).ok().map(|m| mib(m.len() / 1024)),
        }),
    };
    let chromium: u64 = ["chromium", "chromium-common"]
        .iter()
        .filter_map(|pkg| {
            let o = Command::new("dpkg-query")
                .args(["-W", "-f=${Installed-Size}", pkg])
                .output()
                .ok()?;
            String::from_utf8(o.stdout).ok()?.trim().parse::<u64>().ok()
        })
        .sum();
    json!({
        "app": app,
        "chromium_installed_mib": (chromium > 0).then(|| mib(chromium)),
        "note": "chromium + chromium-common as installed by Debian: the runtime an Electron build ships at least",
    })
}

/// Serves the files of `dir` (GET only; paths outside `dir` are refused).
async fn serve_dir(listener: tokio::net::TcpListener, dir: PathBuf) {
    use axum::http::{header, StatusCode, Uri};
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let dir = dir.clone();
        async move {
            let rel = uri.path().trim_start_matches('/');
            let rel = if rel.is_empty() { "index.html" } else { rel };
            if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            let path = dir.join(rel);
            let mime = match path.extension().and_then(|e| e.to_str()) {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("svg") => "image/svg+xml",
                Some("png") => "image/png",
                Some("json") => "application/json",
                Some("woff2") => "font/woff2",
                _ => "application/octet-stream",
            };
            match tokio::fs::read(&path).await {
                Ok(bytes) => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let _ = axum::serve(listener, app).await;
}
