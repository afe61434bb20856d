#!/usr/bin/env bash
# Packaging, end to end (two release builds: the first compiles everything, the second only the app crate again):
#   1. `tauri build` (the CLI pinned in ui/package.json) makes the .deb and .rpm of 0.1.0 and their signed updater
#      artifacts (.sig) with a throwaway key; the .deb is unpacked (dpkg -x) and checked: binary, .desktop with
#      x-scheme-handler/tsunagi, icons, Depends; the .rpm is listed (rpm -qlp) when rpm is installed;
#   2. self-update of the installed package: 0.1.0 is installed (dpkg -i); 0.2.0 is built (.deb only; cargo
#      reuses every artifact of build 1 but the app crate, whose embedded version changed), signed and published on
#      the real server's channel with min_supported=0.2.0 (a required update). The installed app marks the update
#      required. First the channel serves a tampered .deb (one byte flipped, the original signature): the app must
#      refuse it and dpkg must still say 0.1.0. Then the intact .deb: the app verifies it, the agent presses "update
#      now" (over the loopback transport: the window's update_now command), the app installs it with the package
#      manager and restarts; dpkg says 0.2.0 and the restarted process is 0.2.0 with nothing required any more.
# Both builds embed the throwaway public key and allow the plain-HTTP test channel (--config): a shipped build
# keeps tauri.conf.json's release key and https only.
# Needs root (dpkg -i; the updater runs `sudo dpkg -i` when pkexec is absent), sudo, xvfb, dbus; rpm optional;
# the debug tsunagi-server and tsunagi-twilio-sim (scripts/stack). No stdin, no GPU. The package is removed and
# every process the test started (found by a marker in their environment) is ended on exit, failure included.
# Usage: tests/packaging/run.sh            (set KEEP_PACKAGES=dir to keep the built packages)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
tauri_cli=$root/ui/node_modules/.bin/tauri
[ -x "$tauri_cli" ] || { echo "no tauri CLI at $tauri_cli: run npm ci in ui/" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "packaging test: needs root for dpkg -i" >&2; exit 1; }
target=${CARGO_TARGET_DIR:-$root/target}
export TSUNAGI_BIN_DIR=$target/debug # scripts/stack's server and stand-in
for b in tsunagi-server tsunagi-twilio-sim; do
  [ -x "$TSUNAGI_BIN_DIR/$b" ] || { echo "$TSUNAGI_BIN_DIR/$b missing: cargo build -p $b" >&2; exit 1; }
done

if dpkg -s tsunagi >/dev/null 2>&1; then
  echo "packaging test: a tsunagi package is already installed; remove it first (dpkg -r tsunagi)" >&2
  exit 1
fi

work=$(mktemp -d)
pids=()
marker="TSUNAGI_PACKAGING_TEST=$work" # in the environment of every app process this test starts
marked() { # the processes carrying the marker (the restarted app is no child of ours)
  local e
  for e in /proc/[0-9]*/environ; do
    { tr '\0' '\n' <"$e"; } 2>/dev/null | grep -qxF "$marker" && { e=${e#/proc/}; echo "${e%/environ}"; }
  done
  return 0
}
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in $(marked); do kill "$p" 2>/dev/null || true; done
  "$root/scripts/stack" down "$work/stack" 2>/dev/null || true
  if dpkg -s tsunagi >/dev/null 2>&1; then
    dpkg -r tsunagi >/dev/null 2>&1 || dpkg --purge --force-remove-reinstreq tsunagi >/dev/null 2>&1 || true
  fi
  sleep 0.5
  for p in $(marked); do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
  if dpkg -s tsunagi >/dev/null 2>&1; then echo "packaging test: could not remove the tsunagi package" >&2; rc=1; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
passed=0 failed=0
check() { if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $*" >&2; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$tauri_cli" signer generate -w "$work/test.key" -p "" --ci >/dev/null
pubkey=$(cat "$work/test.key.pub")
export TAURI_SIGNING_PRIVATE_KEY=$(cat "$work/test.key") TAURI_SIGNING_PRIVATE_KEY_PASSWORD=""
bundle=$target/release/bundle
build() { # version, bundles…
  local version=$1; shift
  # The UI is built once below; the CLI's own lookup of the frontend folder picks the wrong package.json here.
  cat >"$work/conf-$version.json" <<JSON
{ "version": "$version", "build": { "beforeBuildCommand": "" },
  "plugins": { "updater": { "pubkey": "$pubkey", "dangerousInsecureTransportProtocol": true } } }
JSON
  local t0=$SECONDS
  "$tauri_cli" build --ci --bundles "$@" --config "$work/conf-$version.json" >"$work/build-$version.log" 2>&1 ||
    { tail -n 40 "$work/build-$version.log" >&2; return 1; }
  echo "  built $version ($*) in $((SECONDS - t0)) s"
}

echo "1. packages"
npm --prefix ui run --silent build >/dev/null
rm -rf "$bundle/deb" "$bundle/rpm"
build 0.1.0 deb rpm
deb=$bundle/deb/Tsunagi_0.1.0_amd64.deb
rpm_file=$(ls "$bundle"/rpm/*.rpm | head -n1)
check test -s "$deb"
# Each package's updater signature verifies against the embedded public key (minisign/Ed25519, as the app does).
if python3 -c 'import cryptography' 2>/dev/null; then
  check python3 "$root/scripts/verify-minisign.py" "$pubkey" "$deb" "$deb.sig"
  check python3 "$root/scripts/verify-minisign.py" "$pubkey" "$rpm_file" "$rpm_file.sig"
else
  echo "  (python3-cryptography missing: the .sig files are only checked to exist)"
  check test -s "$deb.sig"
  check test -s "$rpm_file.sig"
fi
check sh -c "base64 -d '$deb.sig' | grep -q 'file:Tsunagi_0.1.0_amd64.deb.version:0.1.0'"
dpkg-deb -f "$deb" Package Version Depends | sed 's/^/  | /'
check sh -c "dpkg-deb -f '$deb' Depends | grep -q libwebkit2gtk-4.1-0"
dpkg -x "$deb" "$work/root"
check test -x "$work/root/usr/bin/tsunagi"
check sh -c "file '$work/root/usr/bin/tsunagi' | grep -q 'ELF 64-bit'"
desktop=$work/root/usr/share/applications/Tsunagi.desktop
sed 's/^/  | /' "$desktop" || true
check grep -q '^Exec=tsunagi %u$' "$desktop" # the link reaches the app
check grep -q '^MimeType=.*x-scheme-handler/tsunagi' "$desktop"
check grep -q '^Icon=tsunagi' "$desktop"
for size in 32x32 128x128 256x256@2; do
  check test -s "$work/root/usr/share/icons/hicolor/$size/apps/tsunagi.png"
done
if command -v rpm >/dev/null; then
  rpm -qlp "$rpm_file" 2>/dev/null >"$work/rpm.list"
  check grep -qx /usr/bin/tsunagi "$work/rpm.list"
  check grep -qx /usr/share/applications/Tsunagi.desktop "$work/rpm.list"
else
  echo "  (rpm not installed: the .rpm is only checked for its signature file)"
fi
cp "$deb" "$work/Tsunagi_0.1.0_amd64.deb"
[ -z "${KEEP_PACKAGES:-}" ] || { mkdir -p "$KEEP_PACKAGES"; cp "$deb" "$deb.sig" "$rpm_file" "$rpm_file.sig" "$KEEP_PACKAGES/"; }

echo "2. self-update of the installed package"
build 0.2.0 deb
t2=$SECONDS
mkdir -p "$work/files"
good=$work/Tsunagi_0.2.0_amd64.deb
cp "$bundle/deb/Tsunagi_0.2.0_amd64.deb" "$good"
cp "$bundle/deb/Tsunagi_0.2.0_amd64.deb.sig" "$work/files/"
served=$work/files/Tsunagi_0.2.0_amd64.deb
python3 - "$good" "$served" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 0x01; open(sys.argv[2], 'wb').write(b)
PY
dpkg -i "$work/Tsunagi_0.1.0_amd64.deb" >/dev/null
check test "$(dpkg-query -W -f '${Version}' tsunagi)" = 0.1.0
"$root/scripts/stack" up "$work/stack"
# shellcheck disable=SC1091
. "$work/stack/env"
art_port=$(free_port)
python3 -m http.server "$art_port" --bind 127.0.0.1 --directory "$work/files" >"$work/files.log" 2>&1 &
pids+=($!)
admin() {
  TSUNAGI_SECRETS_FILE=$root/crates/server/demo/secrets.toml TSUNAGI__DATABASE__DATA_DIR=$work/stack/data \
    "$TSUNAGI_BIN_DIR/tsunagi-server" --config "$work/stack/server.toml" release "$@" >>"$work/admin.log" 2>&1 ||
    { cat "$work/admin.log" >&2; exit 1; }
}
admin add 0.2.0 --notes "Packaging test release"
admin artifact 0.2.0 --platform linux-x86_64 --url "http://127.0.0.1:$art_port/Tsunagi_0.2.0_amd64.deb" \
  --signature-file "$work/files/Tsunagi_0.2.0_amd64.deb.sig"
admin promote 0.2.0 --channel stable --percent 100
admin policy --min-supported 0.2.0
log=$work/installed.log
mkdir -p -m 700 "$work/run"
# The session outlives the first app process (as a desktop session does), so the restarted one has its display
# and bus.
env "$marker" HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" XDG_DATA_HOME="$work/home/.local/share" \
  XDG_RUNTIME_DIR="$work/run" NO_AT_BRIDGE=1 TSUNAGI_LOG=info TSUNAGI_LOOPBACK_FILE="$work/loopback.json" \
  timeout 240 xvfb-run -a -s "-screen 0 1024x768x24" dbus-run-session -- sh -c '/usr/bin/tsunagi & sleep 200' \
  </dev/null >"$log" 2>&1 &
pids+=($!)
wait_log() { # text [count] [tenths of a second]
  for _ in $(seq "${3:-900}"); do [ "$(grep -c "$1" "$log")" -ge "${2:-1}" ] && return 0; sleep 0.1; done
  echo "no \"$1\" (×${2:-1}) in the installed app's log" >&2
  return 1
}
loopback() { # one window command over the loopback transport; fails on an error reply
  node --experimental-websocket --no-warnings -e '
    const { url } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, command: process.argv[2], args: {} }));
    ws.onmessage = (m) => { const r = JSON.parse(m.data); if (r.id === 1) { console.log(JSON.stringify(r.error ?? r.ok)); process.exit(r.error ? 1 : 0); } };
    setTimeout(() => { console.error("no answer to " + process.argv[2]); process.exit(1); }, 30000);' "$work/loopback.json" "$1"
}
check wait_log "Tsunagi starting version=0.1.0"
check wait_log "an update is required"
check wait_log "update refused: signature verification failed"
check test "$(dpkg-query -W -f '${Version}' tsunagi)" = 0.1.0
if grep -q "signature verified" "$log"; then echo "FAIL: the tampered .deb was accepted" >&2; failed=$((failed + 1)); fi
cp "$good" "$served"
echo "  the channel now serves the intact .deb; the agent presses \"update now\""
check loopback update_now >/dev/null
check wait_log "update downloaded and its signature verified version=0.2.0"
for _ in $(seq 900); do [ "$(dpkg-query -W -f '${Version}' tsunagi 2>/dev/null)" = 0.2.0 ] && break; sleep 0.1; done
check wait_log "Tsunagi starting version=0.2.0"
sleep 2
grep -E 'Tsunagi starting|update|restart' "$log" | sed 's/^/  | /' || true
check grep -q "update installed; restarting" "$log"
check test "$(dpkg-query -W -f '${Version}' tsunagi)" = 0.2.0
check python3 - "$log" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
second = next(i for i, l in enumerate(lines) if "Tsunagi starting version=0.2.0" in l)
if any("an update is required" in l for l in lines[second:]):
    sys.exit("the updated app still says an update is required")
PY
echo "  installed, refused, updated and restarted in $((SECONDS - t2)) s"
echo "packaging: $passed passed, $failed failed ($SECONDS s)"
[ "$failed" -eq 0 ]
