#!/usr/bin/env bash
# SDK conformance: builds the stand-in, installs the pinned SDKs (npm ci), and runs every *.test.js with node's test
# runner. Each script starts its own fresh stand-in on a free 127.0.0.1 port. Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
cargo build -p tsunagi-twilio-sim --bin tsunagi-twilio-sim
target_dir="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export SIM_BIN="$target_dir/debug/tsunagi-twilio-sim"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
if [ "$#" -eq 0 ]; then set -- ./*.test.js; fi
node --test --test-force-exit --test-concurrency=1 --test-reporter=spec "$@"
