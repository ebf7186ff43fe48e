#!/usr/bin/env bash
# End to end, as a newcomer would: start the README's `make dev`, call P1
# through the router on :9000, drive the set-password page in Debian's
# Chromium (tests/browser), then run ZITADEL's own clients against family Z's
# RPC paths (tests/clients); stop everything. Part of `make test`. Installs
# Chromium (apt), playwright-core (npm, pinned by its lock file) and the
# clients (tests/clients/run.sh: PyPI and npm, pinned) if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# As a newcomer runs it: local.env's settings, not those of the test run.
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2

if (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null; then
  echo "e2e: port 9000 is in use (is make dev running?); stop it first" >&2
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
scripts/dev.sh >.local/e2e-dev.log 2>&1 &
dev=$!
stop() {
  kill -TERM "$dev" 2>/dev/null || true
  wait "$dev" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 1 120); do
  (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null && break
  kill -0 "$dev" 2>/dev/null || { cat .local/e2e-dev.log; echo "e2e: make dev stopped"; exit 1; }
  sleep 1
done
pwctl() { cargo run -q --bin pwctl -- "$@"; }
user=$(pwctl user create --email "smoke.$RANDOM@example.com" | grep -o '[0-9a-f]\{24\}')
token=$(pwctl token "$user")
# The first request builds the function.
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 600 -X PUT \
  http://127.0.0.1:9000/user/password -H "Authorization: Bearer $token")
if [ "$status" != 202 ]; then
  cat .local/e2e-dev.log
  echo "e2e: PUT /user/password answered $status, not 202"
  exit 1
fi
echo "e2e: make dev serves the API (PUT /user/password → 202)"

# A function builds on its first request: build the page's and P2's before
# the browser's waits time out on them.
curl -s -o /dev/null --max-time 600 "http://127.0.0.1:9000/user/password/set?token=warm-up"
curl -s -o /dev/null --max-time 600 -X POST http://127.0.0.1:9000/user/password/confirm -d '{}'
node --test tests/browser/

# ZITADEL's Python SDK and TypeScript client, unchanged, against family Z's
# RPC paths on the same stack. Their functions build first, as above.
for method in PasswordReset SetPassword; do
  curl -s -o /dev/null --max-time 600 -X POST "http://127.0.0.1:9000/zitadel.user.v2.UserService/$method" \
    -H 'Content-Type: application/json' -d '{}'
done
clients_started=$(date +%s)
API_URL=http://127.0.0.1:9000 PWCTL_ENV_FILE="$PWD/local.env" tests/clients/run.sh
echo "e2e: ZITADEL's clients took $(( $(date +%s) - clients_started )) s"
