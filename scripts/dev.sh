#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:9000, on the local emulator.
# Ctrl-C stops everything it started.
#
# API_PORT and EMULATOR_PORT move the stack (defaults: 9000 and local.env's
# emulator port), so a second stack can run beside a first one; the functions
# then get a copy of local.env with the emulator and link addresses rewritten.
#
# LAMBDA_CONCURRENCY (default 4): processes per function the router may run at
# once, as Lambda runs many execution environments of one function; each
# still serves one request at a time. With 1, concurrent requests to one
# function are served one after another and a race through the router races
# nothing. LAMBDA_RELOAD=0 keeps the running functions when the sources
# change (the checked runs set it: an edit during a run must not restart the
# functions mid-race).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/emulator.sh

api_port=${API_PORT:-9000}
port=${EMULATOR_PORT:-$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)}
aws_port=${FUNCTIONS_AWS_PORT:-$port}
env_file=local.env
if [ -n "${API_PORT:-}${EMULATOR_PORT:-}${FUNCTIONS_AWS_PORT:-}" ]; then
  env_file=.local/dev-$api_port.env
  sed -E -e "s|^(AWS_ENDPOINT_URL_[A-Z0-9]+)=.*|\1=http://127.0.0.1:$aws_port|" \
    -e "/^(SET_PASSWORD_URL|RESET_CODE_URL_TEMPLATE)=/s|127.0.0.1:9000/|127.0.0.1:$api_port/|" local.env >"$env_file"
fi
start_emulator "$port"
echo "Emulator (DynamoDB, SES v2) on http://127.0.0.1:$port"
[ "$aws_port" = "$port" ] || echo "The functions reach it through http://127.0.0.1:$aws_port"
echo "API on http://127.0.0.1:$api_port (each function builds on its first request;" \
  "up to ${LAMBDA_CONCURRENCY:-4} processes of a function serve concurrent requests)"

export PATH="$PWD/.local/venv/bin:$PATH"
# --disable-cors: the functions answer CORS themselves (family Z's RPC routes,
# RPC_ALLOWED_ORIGINS), as they do behind API Gateway; the router's own
# permissive CORS would answer every preflight before them.
reload=()
[ "${LAMBDA_RELOAD:-1}" = 0 ] && reload=(--ignore-changes)
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$api_port" --env-file "$env_file" --disable-cors \
  --concurrency "${LAMBDA_CONCURRENCY:-4}" "${reload[@]}" &
WATCH_PID=$!
stop_all() {
  kill "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  stop_emulator
}
trap stop_all EXIT
trap 'exit 0' INT TERM
wait "$WATCH_PID"
