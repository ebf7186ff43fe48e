#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:9000, on the local emulator.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/emulator.sh

port=$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)
start_emulator "$port"
echo "Emulator (DynamoDB, SES v2) on http://127.0.0.1:$port"
echo "API on http://127.0.0.1:9000 (each function builds on its first request)"

export PATH="$PWD/.local/venv/bin:$PATH"
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port 9000 --env-file local.env &
WATCH_PID=$!
stop_all() {
  kill "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  stop_emulator
}
trap stop_all EXIT
trap 'exit 0' INT TERM
wait "$WATCH_PID"
