#!/usr/bin/env bash
# Voice SDK conformance: builds the stand-in, installs the pinned SDK + playwright-core (npm ci), and drives the
# unmodified @twilio/voice-sdk 2.18.5 in Debian's Chromium (/usr/bin/chromium; `apt-get install chromium`) against
# it (voice.test.js: the SDK against the Voice edge; conference.test.js: the SDK as an agent in conferences, via a
# TwiML application and via the TaskRouter conference instruction, with hold and a recording). Everything binds
# 127.0.0.1 on free ports. MEDIA_IP=<local address> overrides the media candidate address.
# Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
command -v "${CHROMIUM:-/usr/bin/chromium}" >/dev/null || { echo "chromium not found (apt-get install chromium)" >&2; exit 1; }
cd "$root"
cargo build -p tsunagi-twilio-sim --bin tsunagi-twilio-sim
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export SIM_BIN="$target_dir/debug/tsunagi-twilio-sim"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 --test-reporter=spec "$@" ./*.test.js
