#!/usr/bin/env bash
# The README's `make dev`, tried as a newcomer would: start it, create a user,
# call P1 through the router on :9000, and stop it. Part of `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
# As a newcomer runs it: local.env's settings, not those of the test run.
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2

if (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null; then
  echo "smoke: port 9000 is in use (is make dev running?); skipped"
  exit 0
fi
scripts/dev.sh >.local/smoke-dev.log 2>&1 &
dev=$!
stop() {
  kill -TERM "$dev" 2>/dev/null || true
  wait "$dev" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 120); do
  (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null && break
  kill -0 "$dev" 2>/dev/null || { cat .local/smoke-dev.log; echo "smoke: make dev stopped"; exit 1; }
  sleep 1
done
pwctl() { cargo run -q --bin pwctl -- "$@"; }
user=$(pwctl user create --email "smoke.$RANDOM@example.com" | grep -o '[0-9a-f]\{24\}')
token=$(pwctl token "$user")
# The first request builds the function.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -X PUT \
  http://127.0.0.1:9000/user/password -H "Authorization: Bearer $token")
if [ "$status" != 202 ]; then
  cat .local/smoke-dev.log
  echo "smoke: PUT /user/password answered $status, not 202"
  exit 1
fi
echo "smoke: make dev serves the API (PUT /user/password → 202)"
