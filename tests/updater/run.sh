#!/usr/bin/env bash
# Self-update against the real server's channel (backend-spec §8), end to end and bounded (~30 s):
#   a throwaway minisign key pair (tauri signer) → release 0.2.0 published with the server's admin CLI →
#   artifacts served on 127.0.0.1 → the real app (debug build, under Xvfb + D-Bus) reads /v1/client/policy,
#   checks the channel with X-Install-Id, downloads in the background and verifies the signature.
# Run 1 serves a tampered artifact (one byte flipped, original signature): the app must refuse it.
# Run 2 serves it intact but signed by another key: refused too.
# Run 3 serves the signed artifact: the app must accept it and offer it as ready (nothing is installed: the
# install itself is the package manager's job and needs the CLI-patched binary, see tests/packaging).
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
echo "updater: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
