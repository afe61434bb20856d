#!/usr/bin/env bash
# Self-update against the real server's channel (backend-spec §8), end to end and bounded (~60 s):
#   a throwaway minisign key pair (tauri signer) → release 0.2.0 published with the server's admin CLI →
#   artifacts served on 127.0.0.1 → the real app (debug build, under Xvfb + D-Bus) reads /v1/client/policy,
#   checks the channel with X-Install-Id, downloads in the background and verifies the signature.
# Run 1 serves a tampered artifact (one byte flipped, original signature): the app must refuse it.
# Run 2 serves it intact but signed by another key: refused too.
# Run 3 serves the signed artifact: the app must accept it and offer it as ready (the package manager's install
# needs the CLI-patched binary, see tests/packaging).
# Run 4 installs while signed in (an unpackaged binary replaces itself in place): the app signs out first, restarts,
# and the new process resumes the sign-in.
# Run 5, a required update while signed in: the server raises min_supported above the running version; the app
# marks the update required (every status says `required`), the core stops taking calls (the worker goes Offline),
# nothing installs until the agent presses the one "update now" button, then the app installs, restarts as the new
# version and signs in again (the new version is supported: nothing is required any more).
# Usage: tests/updater/run.sh [path/to/tsunagi]   (default target/debug/tsunagi; needs tsunagi-server built)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/tsunagi}
[ -x "$app" ] || { echo "no app binary at $app: build it first (cargo build -p tsunagi)" >&2; exit 1; }
tauri_cli=$root/ui/node_modules/.bin/tauri
[ -x "$tauri_cli" ] || { echo "no tauri CLI at $tauri_cli: run npm ci in ui/" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/stack" down "$work/stack"
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"

# 1. A throwaway signing key and a signed 0.2.0 artifact (any bytes: the signature covers them all).
mkdir -p "$work/files"
"$tauri_cli" signer generate -w "$work/test.key" -p "" --ci >/dev/null
head -c 262144 /dev/urandom >"$work/files/tsunagi_0.2.0_amd64.deb"
"$tauri_cli" signer sign -f "$work/test.key" -p "" --app-version 0.2.0 "$work/files/tsunagi_0.2.0_amd64.deb" >/dev/null
sig=$work/files/tsunagi_0.2.0_amd64.deb.sig
base64 -d "$sig" | grep -q 'version:0.2.0' || { echo "the signature does not carry the signed version" >&2; exit 1; }

# 2. Publish it on the server's stable channel with the admin CLI.
art_port=$(free_port)
admin() {
  TSUNAGI_SECRETS_FILE=$root/crates/server/demo/secrets.toml TSUNAGI__DATABASE__DATA_DIR=$work/stack/data \
    "${TSUNAGI_BIN_DIR:-$root/target/debug}/tsunagi-server" --config "$work/stack/server.toml" release "$@" >>"$work/admin.log" 2>&1 ||
    { cat "$work/admin.log" >&2; exit 1; }
}
admin add 0.2.0 --notes "Faster ring; 着信の高速化"
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/tsunagi_0.2.0_amd64.deb" --signature-file "$sig"
admin promote 0.2.0 --channel stable --percent 100
python3 -m http.server "$art_port" --bind 127.0.0.1 --directory "$work/files" >"$work/files.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$art_port/" && break; sleep 0.1; done

# 3. Runs the app until its log says $1 (or 60 s pass); prints the log's update lines.
run_app() {
  local name=$1 want=$2 log=$work/$1.log
  env -u TSUNAGI_IN_SESSION NO_AT_BRIDGE=1 XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/data-$name" \
    XDG_RUNTIME_DIR="$work/run-$name" TSUNAGI_LOG=info \
    TSUNAGI_UPDATER_PUBKEY="$(cat "$work/test.key.pub")" \
    timeout 90 xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- "$app" >"$log" 2>&1 &
  local pid=$!
  pids+=($pid)
  mkdir -p -m 700 "$work/run-$name"
  for _ in $(seq 600); do grep -q "$want" "$log" && break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true
  pkill -P "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -iE 'update|signature' "$log" | sed 's/^/  | /' || true
  grep -q "$want" "$log" || { echo "FAIL ($name): the app never logged \"$want\"; its log follows" >&2; tail -n 40 "$log" >&2; return 1; }
}

passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

# Run 1: the artifact is tampered with after signing (one byte flipped); the signature is the original one.
cp "$work/files/tsunagi_0.2.0_amd64.deb" "$work/good.deb"
python3 - "$work/files/tsunagi_0.2.0_amd64.deb" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[1000] ^= 0x01; open(p, 'wb').write(b)
PY
echo "run 1: tampered artifact"
check run_app tampered "update refused: signature verification failed"
if grep -q "signature verified" "$work/tampered.log"; then echo "FAIL: a tampered artifact was accepted" >&2; failed=$((failed + 1)); fi

# Run 2: the intact artifact, but signed by another key (an attacker who controls the channel and the files).
cp "$work/good.deb" "$work/files/tsunagi_0.2.0_amd64.deb"
"$tauri_cli" signer generate -w "$work/other.key" -p "" --ci >/dev/null
cp "$work/good.deb" "$work/other.deb"
"$tauri_cli" signer sign -f "$work/other.key" -p "" --app-version 0.2.0 "$work/other.deb" >/dev/null
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/tsunagi_0.2.0_amd64.deb" --signature-file "$work/other.deb.sig"
echo "run 2: artifact signed by another key"
check run_app other-key "update refused: signature verification failed"
if grep -q "signature verified" "$work/other-key.log"; then echo "FAIL: another key's signature was accepted" >&2; failed=$((failed + 1)); fi

# Run 3: the signed artifact as published.
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/tsunagi_0.2.0_amd64.deb" --signature-file "$sig"
cp "$work/good.deb" "$work/files/tsunagi_0.2.0_amd64.deb"
echo "run 3: signed artifact"
check run_app signed "update downloaded and its signature verified"
check grep -q 'version=0.2.0 mandatory=false channel=stable' "$work/signed.log"
# The install id was made on the first run and kept (a stable rollout bucket), and the server saw it.
id_file=$work/config/jp.tsunagi.desktop/install-id
check test -s "$id_file"
check grep -q "$(cat "$id_file" 2>/dev/null || echo none)" <(python3 - "$work/stack/data" <<'PY'
import sqlite3, sys, glob
for db in glob.glob(sys.argv[1] + '/*.db') + glob.glob(sys.argv[1] + '/*.sqlite*'):
    try:
        for row in sqlite3.connect(db).execute('SELECT install_id FROM installs'): print(row[0])
    except sqlite3.Error:
        pass
PY
)
# Run 4: installed while signed in, then the restart. A copy of this debug binary stands for the installed app and
# the same bytes are published as 0.2.0: an unpackaged binary has no bundle type, so the plugin takes its AppImage
# path and replaces the running file in place (no package manager, no release build). The agent presses Install
# (over the loopback transport); the app must sign out first (the worker goes Offline: nothing is routed to an
# app that is restarting), then restart, and the new process must start for real (single-instance must not hand
# its arguments to the exiting one) and resume the sign-in from the keychain.
echo "run 4: install while signed in, sign out, restart, signed in again"
mkdir -p "$work/inst"
cp "$app" "$work/inst/tsunagi"
cp "$app" "$work/files/tsunagi_0.2.0_amd64.AppImage"
"$tauri_cli" signer sign -f "$work/test.key" -p "" --app-version 0.2.0 "$work/files/tsunagi_0.2.0_amd64.AppImage" >/dev/null
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/tsunagi_0.2.0_amd64.AppImage" \
  --signature-file "$work/files/tsunagi_0.2.0_amd64.AppImage.sig"
refresh=$(curl -sf -H 'content-type: application/json' -H 'X-Client-Version: 0.1.0' \
  -d '{"login":"tanaka","password":"demo-tanaka"}' "$TSUNAGI_SERVER_URL/v1/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
cat >"$work/session.sh" <<'SH'
#!/usr/bin/env bash
# Inside the private X server and D-Bus session: an unlocked keyring holding the sign-in, then the app. The
# session stays up after the app exits (as a desktop session does) so the restarted app has its bus and display.
echo -n test-pass | gnome-keyring-daemon --unlock --components=secrets >/dev/null
printf '%s' "$REFRESH" | secret-tool store --label="Tsunagi sign-in" service jp.tsunagi.desktop username "refresh@$TSUNAGI_SERVER_URL"
"$INSTALLED" &
sleep 120
SH
chmod +x "$work/session.sh"
log=$work/restart.log
mkdir -p "$work/home" && mkdir -p -m 700 "$work/run-restart"
env -u TSUNAGI_IN_SESSION NO_AT_BRIDGE=1 HOME="$work/home" XDG_CONFIG_HOME="$work/config-restart" \
  XDG_DATA_HOME="$work/data-restart" XDG_RUNTIME_DIR="$work/run-restart" TSUNAGI_LOG=info \
  TSUNAGI_UPDATER_PUBKEY="$(cat "$work/test.key.pub")" TSUNAGI_LOOPBACK_FILE="$work/loopback.json" \
  REFRESH="$refresh" INSTALLED="$work/inst/tsunagi" \
  timeout 150 xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- "$work/session.sh" >"$log" 2>&1 &
session_pid=$!
pids+=($session_pid)
wait_log() { for _ in $(seq "${3:-900}"); do [ "$(grep -c "$1" "$log")" -ge "${2:-1}" ] && return 0; sleep 0.1; done; echo "no \"$1\" (×${2:-1}) in the log" >&2; return 1; }
check wait_log "remembered sign-in resumed"
check wait_log "update downloaded and its signature verified"
# The agent presses Install (the window's install_update command, here over the loopback transport).
check node --experimental-websocket --no-warnings -e '
  const { url } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ws = new WebSocket(url);
  ws.onopen = () => ws.send(JSON.stringify({ id: 1, command: "install_update", args: {} }));
  ws.onmessage = (m) => { const r = JSON.parse(m.data); if (r.id === 1) { console.log("  install_update:", JSON.stringify(r)); process.exit(r.error ? 1 : 0); } };
  setTimeout(() => { console.error("no answer to install_update"); process.exit(1); }, 60000);' "$work/loopback.json"
check wait_log "remembered sign-in resumed" 2
# The restarted process and the first one's order of events.
grep -E "Tsunagi starting|update installed|restarting|leaving|agent session ended|remembered sign-in resumed|activity=Offline" "$log" | sed 's/^/  | /'
check python3 - "$log" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
def at(text, start=0):
    for i in range(start, len(lines)):
        if text in lines[i]:
            return i
    sys.exit(f"no {text!r} after line {start}")
installed = at("update installed; restarting")
leaving = at("leaving: signing out first", installed)
offline = at("activity=Offline", leaving)        # the worker set Offline before the process ends
ended = at("agent session ended", leaving)
restart = at("tsunagi_app::agent: restarting", max(offline, ended))
second = at("Tsunagi starting", restart)          # a new process, not a hand-over to the old one
at("remembered sign-in resumed", second)
PY
# Both processes were started by this test; end whichever is still running (by the unique install path).
for p in $(pgrep -f "$work/inst/tsunagi" || true); do kill "$p" 2>/dev/null || true; done
kill "$session_pid" 2>/dev/null || true

# Run 5: a required update while signed in. The published 0.2.0 is a small launcher (an ELF, as the plugin's in-place
# path requires) that starts a copy of this debug binary as version 0.2.0 (TSUNAGI_CLIENT_VERSION, debug builds
# only), standing in for a newer release: the plugin replaces the running file with it and the restart runs it.
echo "run 5: required update while signed in: shown, installed on the button, restarted as 0.2.0, signed in"
inst5=$work/inst5
mkdir -p "$inst5" "$work/home5" && mkdir -p -m 700 "$work/run-required"
cp "$app" "$inst5/tsunagi"
cp "$app" "$inst5/tsunagi-next"
cat >"$work/launcher.c" <<C
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  (void)argc;
  setenv("TSUNAGI_CLIENT_VERSION", "0.2.0", 1);
  execv("$inst5/tsunagi-next", argv);
  return 127;
}
C
cc -O -o "$work/files/tsunagi_0.2.0_required.AppImage" "$work/launcher.c"
"$tauri_cli" signer sign -f "$work/test.key" -p "" --app-version 0.2.0 "$work/files/tsunagi_0.2.0_required.AppImage" >/dev/null
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/tsunagi_0.2.0_required.AppImage" \
  --signature-file "$work/files/tsunagi_0.2.0_required.AppImage.sig"
refresh=$(curl -sf -H 'content-type: application/json' -H 'X-Client-Version: 0.1.0' \
  -d '{"login":"tanaka","password":"demo-tanaka"}' "$TSUNAGI_SERVER_URL/v1/login" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
log=$work/required.log
env -u TSUNAGI_IN_SESSION NO_AT_BRIDGE=1 HOME="$work/home5" XDG_CONFIG_HOME="$work/config-required" \
  XDG_DATA_HOME="$work/data-required" XDG_RUNTIME_DIR="$work/run-required" TSUNAGI_LOG=info \
  TSUNAGI_UPDATER_PUBKEY="$(cat "$work/test.key.pub")" TSUNAGI_LOOPBACK_FILE="$work/loopback5.json" \
  TSUNAGI_UPDATE_INTERVAL_SECONDS=3 REFRESH="$refresh" INSTALLED="$inst5/tsunagi" \
  timeout 150 xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- "$work/session.sh" >"$log" 2>&1 &
session5_pid=$!
pids+=($session5_pid)
loopback() { # one command over the loopback transport; prints the reply's result or error (JSON), fails on an error
  node --experimental-websocket --no-warnings -e '
    const { url } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, command: process.argv[2], args: {} }));
    ws.onmessage = (m) => { const r = JSON.parse(m.data); if (r.id === 1) { console.log(JSON.stringify(r.error ?? r.ok)); process.exit(r.error ? 1 : 0); } };
    setTimeout(() => { console.error("no answer to " + process.argv[2]); process.exit(1); }, 30000);' "$work/loopback5.json" "$1"
}
for _ in $(seq 100); do [ -s "$log" ] && break; sleep 0.1; done
check wait_log "remembered sign-in resumed"
# 0.2.0 is offered, verified and waits, not required: nothing happens until the server raises its minimum.
check wait_log "update downloaded and its signature verified"
sleep 4 # a check or two more at the supported version
if grep -q "an update is required" "$log"; then echo "FAIL: required before the server said so" >&2; failed=$((failed + 1)); fi
admin policy --min-supported 0.2.0
check wait_log "an update is required"
# The window's status says required: the "update required" panel and its one button show on it.
status=$(loopback update_status || true)
echo "  update_status: $status"
check grep -q '"required":true' <<<"$status"
sleep 4 # a check or two more, now required
# Nothing installs before the agent presses the button.
if grep -q "installing the update" "$log"; then echo "FAIL: a required update installed without the button" >&2; failed=$((failed + 1)); fi
echo "  the agent presses \"update now\""
check loopback update_now
check wait_log "remembered sign-in resumed" 2
grep -E "Tsunagi starting|update is required|activity=Offline|update now|installing the update|update installed|restarting|leaving|remembered sign-in resumed" "$log" | sed 's/^/  | /'
check python3 - "$log" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
def at(text, start=0):
    for i in range(start, len(lines)):
        if text in lines[i]:
            return i
    sys.exit(f"no {text!r} after line {start}")
required = at("an update is required")
at("activity=Offline", required)               # the core stopped taking calls: the worker went Offline
pressed = at("the agent asked to update now", required)
installed = at("update installed; restarting", pressed)
at("leaving: signing out first", installed)
restart = at("tsunagi_app::agent: restarting", installed)
second = at("Tsunagi starting", restart)
if "version=0.2.0" not in lines[second]:
    sys.exit(f"the restarted app is not 0.2.0: {lines[second]}")
at("remembered sign-in resumed", second)       # signed in again, as the new version
if any("an update is required" in l for l in lines[second:]):
    sys.exit("the new version still says an update is required")
PY
for p in $(pgrep -f "$inst5/tsunagi" || true); do kill "$p" 2>/dev/null || true; done
kill "$session5_pid" 2>/dev/null || true

echo "updater: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
