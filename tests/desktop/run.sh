#!/usr/bin/env bash
# Runs the desktop end-to-end test inside a private X server and D-Bus session:
#   xvfb-run → dbus-run-session → server + Twilio stand-in (scripts/stack) + fake tray watcher + fake notification
#   server + tauri-driver → node e2e.mjs
# Usage: tests/desktop/run.sh [path/to/tsunagi]   (default target/debug/tsunagi)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/tsunagi}
[ -x "$app" ] || { echo "no app binary at $app: build it first (cargo build)" >&2; exit 1; }

if [ -z "${TSUNAGI_IN_SESSION:-}" ]; then
  export TSUNAGI_IN_SESSION=1
  # NO_AT_BRIDGE: no accessibility bus daemons left behind (specs/tauri-platform.md §7).
  exec env NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$app"
fi

work=$(mktemp -d)
# A private XDG runtime/config dir: the tray writes its icons there, and no state leaks in from earlier runs.
export XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
mkdir -p -m 700 "$XDG_RUNTIME_DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/stack" down "$work/stack"
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# This test covers the app without native call audio (calls cannot connect; the window says why);
# tests/desktop/audio.sh covers it on.
export TSUNAGI_NATIVE_AUDIO=off
# With no GPU (Xvfb) the app turns WebKit's compositing and GTK's GL off for memory (src-tauri/src/render_env.rs),
# but with either one off WebKitWebDriver's screenshot (webkit_web_view_get_snapshot) never returns, so this test
# keeps both as WebKit would have them (a variable already set, even empty, is left alone by the app).
# tests/desktop/audio.sh and tests/os run the app with its own defaults.
export WEBKIT_DISABLE_COMPOSITING_MODE=0 GDK_GL=
export TRAY_STATE=$work/tray.json
# Debian's python3 has the dbus and gi bindings; a pyenv/venv python3 earlier on PATH may not.
export TRAY_PYTHON=/usr/bin/python3
"$TRAY_PYTHON" "$here/tray.py" watch "$TRAY_STATE" >"$work/tray.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q watching "$work/tray.log" 2>/dev/null && break; sleep 0.1; done
grep -q watching "$work/tray.log" || { cat "$work/tray.log" >&2; echo "fake tray watcher did not start" >&2; exit 1; }

export NOTIFY_LOG=$work/notifications.jsonl
"$TRAY_PYTHON" "$here/notifications.py" serve "$NOTIFY_LOG" >"$work/notify.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q serving "$work/notify.log" 2>/dev/null && break; sleep 0.1; done
grep -q serving "$work/notify.log" || { cat "$work/notify.log" >&2; echo "fake notification server did not start" >&2; exit 1; }

"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
# WebKitWebDriver's own port too: its default (4445) is shared by every run on this machine, and a second run would
# reach the first run's driver ("Maximum number of active sessions", or a session on another display).
native_port=$(free_port)
export PATH="$HOME/.cargo/bin:$PATH"
# The app gets a private HOME too: start-at-login writes ~/.config/autostart (auto-launch ignores XDG_CONFIG_HOME).
mkdir -p "$work/home"
export TSUNAGI_TEST_HOME=$work/home
HOME=$work/home TSUNAGI_LOG=${TSUNAGI_LOG:-info} tauri-driver --port "$port" --native-port "$native_port" >"$work/driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.1; done

status=0
TSUNAGI_APP=$app WEBDRIVER_URL=http://127.0.0.1:$port node "$here/e2e.mjs" || status=$?
if [ $status -ne 0 ]; then
  echo "--- tauri-driver and app log ---" >&2; tail -n 80 "$work/driver.log" >&2
  echo "--- tray watcher log ---" >&2; cat "$work/tray.log" >&2
  echo "--- server log ---" >&2; tail -n 40 "$work/stack/server.log" >&2
  echo "--- stand-in log ---" >&2; tail -n 40 "$work/stack/sim.log" >&2
fi
exit $status
