#!/usr/bin/env bash
# The remembered sign-in on a real Secret Service (gnome-keyring inside a private D-Bus session, ~30 s):
#   1. the keychain module's test saves, reads and deletes a refresh token on it, and reads an older version's
#      session token only while no refresh token is saved (TSUNAGI_EXPECT_KEYCHAIN=1 turns "no keychain" into
#      a failure);
#   2. a refresh token from the real server (POST /v1/login), stored where the app keeps it, is exchanged by the
#      real app at start (POST /v1/session/refresh → the core starts); the keychain then holds the rotated
#      refresh token — and never a session token;
#   3. a restart resumes again with that rotated token (sign-in survives restarts; each start rotates it);
#   4. a session token remembered by an older version (session@…) is still resumed (GET /v1/me);
#   5. a refresh token the server refuses is forgotten by the app (the keychain entry is gone afterwards).
# Needs: gnome-keyring, libsecret-tools (secret-tool), xvfb, dbus; the app and server built.
# Usage: tests/keychain/run.sh [path/to/tsunagi]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
app=${1:-$root/target/debug/tsunagi}
[ -x "$app" ] || { echo "no app binary at $app: build it first (cargo build -p tsunagi)" >&2; exit 1; }

if [ -z "${TSUNAGI_KEYCHAIN_SESSION:-}" ]; then
  export TSUNAGI_KEYCHAIN_SESSION=1
  exec env NO_AT_BRIDGE=1 xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- "$0" "$app"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$root/scripts/stack" down "$work/stack" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# cargo and rustup stay where they are; a private home for the keyring files; the daemon is started unlocked with a throwaway password.
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export HOME=$work/home XDG_DATA_HOME=$work/data XDG_CONFIG_HOME=$work/config XDG_RUNTIME_DIR=$work/run
mkdir -p "$HOME" -m 700 "$XDG_RUNTIME_DIR"
echo -n test-pass | gnome-keyring-daemon --unlock --components=secrets >"$work/keyring.env"
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*" >&2; fi; }

echo "1. keychain module on the real Secret Service"
# --workspace: the same feature set as `cargo test --workspace` in scripts/test, so nothing recompiles there.
check env TSUNAGI_EXPECT_KEYCHAIN=1 cargo test -q --workspace --lib keychain::tests::saves_loads_and_forgets_or_says_why_it_cannot

"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"
user="session@$TSUNAGI_SERVER_URL"

run_app() { # name, wanted log line
  local log=$work/$1.log
  env -u TSUNAGI_KEYCHAIN_SESSION TSUNAGI_LOG=info timeout 60 "$app" >"$log" 2>&1 &
  local pid=$!
  pids+=($pid)
  for _ in $(seq 300); do grep -q "$2" "$log" && break; sleep 0.1; done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -E 'keychain|remembered|signed in' "$log" | sed 's/^/  | /' || true
  grep -q "$2" "$log" || { echo "the app never logged \"$2\"; its log follows" >&2; tail -n 30 "$log" >&2; return 1; }
}

login_json() {
  curl -sf -H 'content-type: application/json' -H 'X-Client-Version: 0.1.0' \
    -d '{"login":"tanaka","password":"demo-tanaka"}' "$TSUNAGI_SERVER_URL/v1/login"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
lookup() { secret-tool lookup service jp.tsunagi.desktop username "$1@$TSUNAGI_SERVER_URL" 2>/dev/null || true; }
store() { printf '%s' "$2" | secret-tool store --label="Tsunagi sign-in" service jp.tsunagi.desktop username "$1@$TSUNAGI_SERVER_URL"; }
# The app saves the rotated token in the background just after it logs the resume: wait for the entry to change.
changed_from() { for _ in $(seq 50); do [ "$(lookup refresh)" != "$1" ] && [ -n "$(lookup refresh)" ] && return 0; sleep 0.1; done; return 1; }

echo "2. a remembered refresh token is exchanged at start"
refresh=$(login_json | field refresh_token)
check test -n "$refresh"
store refresh "$refresh"
check run_app resumed "sign-in remembered in the keychain (refresh token)"
check grep -q "remembered sign-in resumed" "$work/resumed.log"
check grep -q "starting the agent session" "$work/resumed.log"
check changed_from "$refresh"
rotated=$(lookup refresh)
check test -z "$(lookup session)" # the session token never reaches the keychain
if grep -qF -- "$refresh" "$work/resumed.log" || grep -qF -- "$rotated" "$work/resumed.log"; then
  echo "FAIL: a token reached the log" >&2; failed=$((failed + 1))
fi

echo "3. a restart resumes with the rotated refresh token"
check run_app restarted "sign-in remembered in the keychain (refresh token)"
check grep -q "remembered sign-in resumed" "$work/restarted.log"
check changed_from "$rotated"

echo "4. a session token remembered by an older version is still resumed"
secret-tool clear service jp.tsunagi.desktop username "refresh@$TSUNAGI_SERVER_URL" || true
store session "$(login_json | field session_token)"
check run_app legacy "remembered sign-in resumed"

echo "5. a refused refresh token is forgotten"
secret-tool clear service jp.tsunagi.desktop username "session@$TSUNAGI_SERVER_URL" || true
store refresh "revoked-or-expired-refresh-token"
check run_app refused "remembered sign-in forgotten"
check test -z "$(lookup refresh)"
check grep -q "the remembered sign-in was refused" "$work/refused.log"
echo "keychain: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
