#!/usr/bin/env bash
# End to end, as a newcomer would: start the README's `make dev`, call P1
# through the router on :9000, race 20 calls to P5 and check that their
# executions overlapped (scripts/race_overlap.py), drive the set-password page in Debian's
# Chromium (tests/browser), run ZITADEL's own clients against family Z's RPC
# paths (tests/clients), drive the same stack with a client generated from
# the OpenAPI documents (scripts/client-demo.sh), then fuzz every operation of
# the documents against it (scripts/fuzz.sh); stop everything. Part of
# `make test`. Installs Chromium (apt), playwright-core (npm, pinned by its
# lock file) and the clients (tests/clients/run.sh: PyPI and npm, pinned) if
# missing.
#
# API_PORT and EMULATOR_PORT move the stack, as for `make dev`, so it can run
# beside another one.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/local_stack.sh # create_user
# As a newcomer runs it: local.env's settings, not those of the test run.
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2 AWS_ENDPOINT_URL_SECRETS_MANAGER
api_port=${API_PORT:-9000}
api=http://127.0.0.1:$api_port
if [ -n "${EMULATOR_PORT:-}" ]; then
  # pwctl (here, in the browser tests and the fuzzer) reads that emulator.
  export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$EMULATOR_PORT AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$EMULATOR_PORT \
    AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$EMULATOR_PORT
fi
export API_URL=$api
dev_log=.local/e2e-dev${API_PORT:+-$API_PORT}.log

if (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null; then
  echo "e2e: port $api_port is in use (is make dev running?); stop it first" >&2
  exit 1
fi
if ! command -v chromium >/dev/null; then
  echo "e2e: installing Chromium (Debian's package)…"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [ ! -d tests/browser/node_modules/playwright-core ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
# DEV_RELOAD=0: an edit during the run does not restart the functions.
DEV_RELOAD=0 scripts/dev.sh >"$dev_log" 2>&1 &
dev=$!
stop() {
  kill -TERM "$dev" 2>/dev/null || true
  wait "$dev" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null && break
  kill -0 "$dev" 2>/dev/null || { cat "$dev_log"; echo "e2e: make dev stopped"; exit 1; }
  sleep 1
done
pwctl() { cargo run -q --bin pwctl -- "$@"; }
user=$(create_user "smoke.$RANDOM@example.com")
token=$(pwctl token "$user")
# The first request builds the function.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -X PUT \
  "$api/user/password" -H "Authorization: Bearer $token")
if [ "$status" != 202 ]; then
  cat "$dev_log"
  echo "e2e: PUT /user/password answered $status, not 202"
  exit 1
fi
echo "e2e: make dev serves the API (PUT /user/password → 202)"

# Lambda runs many execution environments of one function at once; make dev
# runs several processes of each (LAMBDA_CONCURRENCY). 20 concurrent calls to
# P5 through the router: their handler executions, read from the functions'
# own metrics lines in the log, must overlap, or every race through make dev
# (the fault runs', the soak's, a client's) is served one call at a time.
race_user=$(create_user "race.$RANDOM@example.com" --pin 2468)
race_token=$(pwctl token "$race_user")
curl -s -o /dev/null --max-time 600 -X POST "$api/callbacks/password-reset" -d '{}'
race=0
.local/venv/bin/python scripts/race_overlap.py --api "$api" --log "$dev_log" --token "$race_token" \
  --pin 2468 --calls 20 --stack-pid "$dev" || race=$?

# A function builds on its first request: build the page's and P2's before
# the browser's waits time out on them.
curl -s -o /dev/null --max-time 600 "$api/user/password/set?token=warm-up"
curl -s -o /dev/null --max-time 600 -X POST "$api/user/password/confirm" -d '{}'
browser=0
node --test tests/browser/ || browser=$?

# ZITADEL's Python SDK and TypeScript client, unchanged, against family Z's
# RPC paths on the same stack. Their functions build first, as above.
for method in PasswordReset SetPassword; do
  curl -s -o /dev/null --max-time 600 -X POST "$api/zitadel.user.v2.UserService/$method" \
    -H 'Content-Type: application/json' -d '{}'
done
clients_started=$(date +%s)
clients=0
API_URL=$api PWCTL_ENV_FILE="$PWD/local.env" tests/clients/run.sh || clients=$?
echo "e2e: ZITADEL's clients took $(( $(date +%s) - clients_started )) s"

# Before the fuzzer: it fills the rate limits of 127.0.0.1 on purpose.
echo "== a client generated from openapi/, against make dev (scripts/client-demo.sh)"
client=0
scripts/client-demo.sh || client=$?
echo "client: $((client == 0)) passed, $((client != 0)) failed"

echo "== schema fuzzing against make dev (scripts/fuzz.sh)"
fuzz_started=$(date +%s)
fuzz=0
scripts/fuzz.sh || fuzz=$?
echo "e2e: the fuzzer took $(( $(date +%s) - fuzz_started )) s"
[ "$race" -eq 0 ] && [ "$browser" -eq 0 ] && [ "$clients" -eq 0 ] && [ "$fuzz" -eq 0 ] && [ "$client" -eq 0 ]
