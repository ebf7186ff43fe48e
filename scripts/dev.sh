#!/usr/bin/env bash
# `make dev`: the whole API on http://127.0.0.1:9000, on the local emulator.
# Ctrl-C stops everything it started.
#
# API_PORT and EMULATOR_PORT move the stack (defaults: 9000 and local.env's
# emulator port), so a second stack can run beside a first one. The functions
# get a copy of local.env with the emulator and link addresses on those ports,
# and every setting given in the environment over local.env's, so that
# `JWT_ISSUER=… JWT_JWKS_URL=… JWT_HS256_SECRET= make dev` trusts another
# issuer (scripts/local_env.py, dev_env).
# FUNCTIONS_TIMEOUT_BUDGET=lambda (set by `make faults`) gives the functions
# AWS's timeouts instead of the local stack's.
# AWS_CALLS_RECORD=FILE (set by `make test`) puts a recording proxy between
# the functions and the emulator: every AWS call, by function, for
# scripts/iam_check.py.
#
# LAMBDA_CONCURRENCY (default 4): processes per function the router may run at
# once, as Lambda runs many execution environments of one function; each
# still serves one request at a time. With 1, concurrent requests to one
# function are served one after another and a race through the router races
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/emulator.sh

api_port=${API_PORT:-9000}
port=${EMULATOR_PORT:-$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)}
if [ -n "${AWS_CALLS_RECORD:-}" ] && [ -z "${FUNCTIONS_AWS_PORT:-}" ]; then
  FUNCTIONS_AWS_PORT=$(.local/venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  record_port=$FUNCTIONS_AWS_PORT
fi
aws_port=${FUNCTIONS_AWS_PORT:-$port}
env_file=.local/dev-$api_port.env
.local/venv/bin/python scripts/local_env.py dev-env local.env "$env_file" "$api_port" "$aws_port"
start_emulator "$port"
if [ -n "${record_port:-}" ]; then
  .local/faults/bin/python scripts/fault_proxy.py --port "$record_port" \
    --upstream "http://127.0.0.1:$port" --record "$AWS_CALLS_RECORD" >".local/record-proxy-$record_port.log" 2>&1 &
  RECORD_PID=$!
  trap 'kill "$RECORD_PID" 2>/dev/null || true; stop_emulator' EXIT
fi
echo "Emulator (DynamoDB, SES v2, Secrets Manager) on http://127.0.0.1:$port"
[ "$aws_port" = "$port" ] || echo "The functions reach it through http://127.0.0.1:$aws_port"
echo "API on http://127.0.0.1:$api_port (each function builds on its first request;" \
  "up to ${LAMBDA_CONCURRENCY:-4} processes of a function serve concurrent requests)"

export PATH="$PWD/.local/venv/bin:$PATH"
# DEV_RELOAD=0: no rebuild and restart when a file changes (a test stack whose
# functions' caches must live through the run).
reload=()
[ "${DEV_RELOAD:-1}" = 0 ] && reload=(--ignore-changes)
# --disable-cors: the functions answer CORS themselves (family Z's RPC routes,
# RPC_ALLOWED_ORIGINS), as they do behind API Gateway; the router's own
# permissive CORS would answer every preflight before them.
cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$api_port" --env-file "$env_file" --disable-cors \
  --concurrency "${LAMBDA_CONCURRENCY:-4}" "${reload[@]}" &
WATCH_PID=$!
stop_all() {
  kill "$WATCH_PID" 2>/dev/null || true
  wait "$WATCH_PID" 2>/dev/null || true
  [ -z "${RECORD_PID:-}" ] || kill "$RECORD_PID" 2>/dev/null || true
  stop_emulator
}
trap stop_all EXIT
trap 'exit 0' INT TERM
wait "$WATCH_PID"
