#!/usr/bin/env bash
# Native call audio end to end: the real Tauri app (WebKitGTK, no WebRTC: the shim + crates/media carry the call)
# with a private PulseAudio whose null sinks are the agent's microphone and speaker, against the stand-in and the
# server. Runs inside xvfb-run + dbus-run-session like run.sh.
# Usage: tests/desktop/audio.sh [path/to/tsunagi]   (default target/debug/tsunagi; AUDIO_CALLS=10 calls in a row)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/tsunagi}
[ -x "$app" ] || { echo "no app binary at $app: build it first (cargo build)" >&2; exit 1; }
for tool in pulseaudio pactl pacat parec; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: scripts/setup installs pulseaudio and pulseaudio-utils" >&2; exit 1; }
done

if [ -z "${TSUNAGI_IN_SESSION:-}" ]; then
  export TSUNAGI_IN_SESSION=1
  exec env NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$app"
fi

work=$(mktemp -d)
export PATH="$HOME/.cargo/bin:$PATH"  # tauri-driver, before HOME moves
# Private HOME/XDG dirs: the PulseAudio socket, the tray's icons and the app's state all stay in here.
export HOME=$work/home XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data
export TSUNAGI_TEST_HOME=$HOME
mkdir -p -m 700 "$XDG_RUNTIME_DIR" "$HOME" "$XDG_CONFIG_HOME/pulse"
# The server writes its cookie to $XDG_CONFIG_HOME/pulse/cookie, where the app's device lister finds it only
# through src-tauri/src/pulse_cookie.rs (no PULSE_COOKIE here on purpose: this run checks that).
unset PULSE_SERVER
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/stack" down "$work/stack"
  wait 2>/dev/null || true
  if [ -n "${AUDIO_KEEP:-}" ]; then mkdir -p "$AUDIO_KEEP" && cp -r "$work/stack" "$work/pulse.log" "$work/driver.log" "$AUDIO_KEEP/" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

pulseaudio ${AUDIO_PULSE_VERBOSE:-} --daemonize=no --exit-idle-time=-1 -n -F "$here/audio/pulse.pa" --log-target=file:"$work/pulse.log" &
pids+=($!)
for _ in $(seq 100); do pactl info >/dev/null 2>&1 && break; sleep 0.1; done
pactl info >/dev/null 2>&1 || { cat "$work/pulse.log" >&2; echo "PulseAudio did not start" >&2; exit 1; }

# The tray and notification fakes of run.sh: the app expects a desktop session.
export TRAY_STATE=$work/tray.json NOTIFY_LOG=$work/notifications.jsonl TRAY_PYTHON=/usr/bin/python3
"$TRAY_PYTHON" "$here/tray.py" watch "$TRAY_STATE" >"$work/tray.log" 2>&1 &
pids+=($!)
"$TRAY_PYTHON" "$here/notifications.py" serve "$NOTIFY_LOG" >"$work/notify.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q watching "$work/tray.log" 2>/dev/null && grep -q serving "$work/notify.log" 2>/dev/null && break; sleep 0.1; done

"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Its own WebKitWebDriver port too: another desktop test may hold the default 4445.
nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TSUNAGI_LOG=${TSUNAGI_LOG:-info} tauri-driver --port "$port" --native-port "$nport" >"$work/driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.1; done

status=0
TSUNAGI_APP=$app WEBDRIVER_URL=http://127.0.0.1:$port node "$here/audio/audio.mjs" || status=$?
if [ $status -ne 0 ]; then
  echo "--- tauri-driver and app log ---" >&2; grep -v "^\s*$" "$work/driver.log" | tail -n 80 >&2
  echo "--- app log file ---" >&2; find "$XDG_DATA_HOME" -name '*.log*' -exec tail -n 60 {} + >&2 2>/dev/null || true
  echo "--- PulseAudio ---" >&2; pactl list short sinks >&2; pactl list short sources >&2; grep -E "^E|^W|protocol|kick" "$work/pulse.log" | tail -n 30 >&2;
  echo "--- stand-in log ---" >&2; tail -n 40 "$work/stack/sim.log" >&2
fi
exit $status
