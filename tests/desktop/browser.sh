#!/usr/bin/env bash
# Runs the browser end-to-end test: the real app (hosting the agent session, its loopback WebSocket transport on)
# inside a private X server and D-Bus session, the server + Twilio stand-in (scripts/stack), and the same UI in
# Debian's Chromium driven by playwright-core (tests/conformance/voice/node_modules) → node browser.mjs.
# Usage: tests/desktop/browser.sh [path/to/tsunagi]   (default target/debug/tsunagi; ui/dist must be built)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/tsunagi}
[ -x "$app" ] || { echo "no app binary at $app: build it first (cargo build -p tsunagi)" >&2; exit 1; }
[ -f "$root/ui/dist/index.html" ] || { echo "no ui/dist: npm --prefix ui run build" >&2; exit 1; }
[ -d "$root/tests/conformance/voice/node_modules/playwright-core" ] ||
  { echo "playwright-core missing: npm --prefix tests/conformance/voice ci" >&2; exit 1; }

if [ -z "${TSUNAGI_IN_SESSION:-}" ]; then
  export TSUNAGI_IN_SESSION=1
  exec env NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$app"
fi

work=$(mktemp -d)
export XDG_RUNTIME_DIR=$work/run XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data HOME=$work/home
mkdir -p -m 700 "$XDG_RUNTIME_DIR" "$HOME"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  [ -f "$work/sup.pid" ] && kill "$(cat "$work/sup.pid")" 2>/dev/null || true
  "$root/scripts/stack" down "$work/stack"
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"
# The demo token's outgoing application (AP…01) runs the server's outbound webhook at the stand-in.
curl -sf -X POST "$SIM_URL/_sim/applications" -H 'content-type: application/json' \
  -d "{\"sid\":\"AP00000000000000000000000000000001\",\"voice_url\":\"$TSUNAGI_SERVER_URL/twilio/voice/outbound\"}" >/dev/null

export LOOPBACK_FILE=$work/loopback.json
TSUNAGI_LOOPBACK_FILE=$LOOPBACK_FILE TSUNAGI_LOG=${TSUNAGI_LOG:-info} "$app" >"$work/app.log" 2>&1 &
pid=$!
# The supervisor's app: a second instance needs its own D-Bus session (single-instance) and its own directories.
export SUPERVISOR_LOOPBACK_FILE=$work/loopback-sup.json
mkdir -p -m 700 "$work/sup/run" && mkdir -p "$work/sup/home"
dbus-run-session -- env XDG_RUNTIME_DIR="$work/sup/run" XDG_CONFIG_HOME="$work/sup/config" XDG_DATA_HOME="$work/sup/data" \
  HOME="$work/sup/home" TSUNAGI_LOOPBACK_FILE="$SUPERVISOR_LOOPBACK_FILE" TSUNAGI_LOG="${TSUNAGI_LOG:-info}" \
  sh -c 'echo $$ >"$0"; exec "$1"' "$work/sup.pid" "$app" >"$work/app-sup.log" 2>&1 &

status=0
node "$here/browser.mjs" || status=$?
if [ $status -ne 0 ]; then
  echo "--- app log ---" >&2; grep -v PLUGIN "$work/app.log" | tail -n 60 >&2
  echo "--- server log ---" >&2; tail -n 40 "$work/stack/server.log" >&2
  echo "--- stand-in log ---" >&2; tail -n 40 "$work/stack/sim.log" >&2
fi
exit $status
