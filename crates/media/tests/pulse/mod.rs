//! A private PulseAudio server per test binary (`pulseaudio --daemonize=no -n -F <file.pa>` in a temporary
//! XDG_RUNTIME_DIR/HOME), waited for by condition, never by a fixed sleep; killed and removed on drop.
//! The process environment is changed, so each binary using it runs one test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Generous bound for every wait: a loaded 2-core CI machine is slow, a wedged one fails here.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Pulse {
    pub dir: PathBuf,
    daemon: Child,
}

/// Polls `f` every 20 ms until it returns `Some`, or panics after [`PATIENCE`] naming `what`.
pub fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Pulse {
    /// Starts a server whose startup script loads the native protocol and then `modules` (one per line).
    pub fn start(tag: &str, modules: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!("tsunagi-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_var("XDG_RUNTIME_DIR", &dir);
        std::env::set_var("HOME", &dir);
        std::env::remove_var("PULSE_SERVER");
        let mut script = String::from("load-module module-native-protocol-unix auth-anonymous=1\n");
        for m in modules {
            script.push_str("load-module ");
            script.push_str(m);
            script.push('\n');
        }
        let pa = dir.join("test.pa");
        std::fs::write(&pa, script).unwrap();
        let log = std::fs::File::create(dir.join("pulseaudio.log")).unwrap();
        let daemon = Command::new("pulseaudio")
            .args(["--daemonize=no", "--exit-idle-time=-1", "-n", "-F"])
            .arg(&pa)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("pulseaudio is installed (apt-get install pulseaudio pulseaudio-utils)");
        let me = Self { dir, daemon };
        wait_until("the PulseAudio server", || {
            let ok = Command::new("pactl")
                .arg("info")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then_some(())
        });
        me
    }

    pub fn pactl(&self, args: &[&str]) -> String {
        let out = Command::new("pactl")
            .args(args)
            .output()
            .expect("pactl is installed");
        assert!(
            out.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Records `source` (48 kHz mono s16le) into `file` with `parec` until the returned child is killed.
    pub fn parec(&self, source: &str, file: &Path) -> Child {
        Command::new("parec")
            .args([
                "--raw",
                "--format=s16le",
                "--rate=48000",
                "--channels=1",
                "--latency-msec=20",
                "-d",
                source,
            ])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("parec is installed (pulseaudio-utils)")
    }
}

/// The samples in a raw s16le file.
pub fn read_raw(file: &Path) -> Vec<i16> {
    let bytes = std::fs::read(file).unwrap_or_default();
    bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
