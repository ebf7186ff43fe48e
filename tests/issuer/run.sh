#!/usr/bin/env bash
# Tokens from a real issuer (SPEC section 1): a stack of its own (make dev on
# free ports) that trusts oidc-provider, a certified OpenID Provider, by its
# JWKS URL, and the tests of issuer.test.mjs against it. Part of `make test`.
# Installs oidc-provider and ZITADEL's TypeScript client, pinned by
# package-lock.json. Ends with node:test's summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=tests/issuer
lock=$dir/package-lock.json
if ! cmp -s "$lock" "$dir/node_modules/.installed-lock.json" 2>/dev/null; then
  echo "issuer: installing oidc-provider and @zitadel/client (npm ci)…"
  npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  cp "$lock" "$dir/node_modules/.installed-lock.json"
fi

# free_port, create_user, and use_local_stack: make dev on the given ports,
# without reloads (a reload would restart the functions with empty key caches
# mid-run), stopped when this script exits.
source scripts/local_stack.sh
issuer_port=$(free_port)
export API_PORT=$(free_port) EMULATOR_PORT=$(free_port)
# The stack trusts the provider only: no HS256 secret. A short refresh floor
# lets the rotation steps follow each other within seconds; the burst test
# checks that floor.
export JWT_ISSUER=http://127.0.0.1:$issuer_port JWT_JWKS_URL=http://127.0.0.1:$issuer_port/jwks
export JWT_HS256_SECRET= JWT_JWKS_REFRESH_SECONDS=3 RATE_LIMIT_EMAILS_PER_HOUR=50
# make dev runs up to this many processes of a function, each with its own
# key cache: the burst test allows one fetch per process.
export LAMBDA_CONCURRENCY=${LAMBDA_CONCURRENCY:-4}
log=.local/issuer-dev-$API_PORT.log
use_local_stack "$log"
export API_URL=http://127.0.0.1:$API_PORT
export PWCTL_ENV_FILE=$PWD/.local/dev-$API_PORT.env
cargo build -q --bin pwctl
pwctl_bin=${CARGO_TARGET_DIR:-$PWD/target}/debug/pwctl
pwctl() { "$pwctl_bin" --env-file "$PWCTL_ENV_FILE" "$@"; }
export USER_ID=$(create_user "issuer-user.$RANDOM@example.com") \
  TARGET_ID=$(create_user "issuer-target.$RANDOM@example.com" --password "issuer-target-first-42")
export REFRESH_SECONDS=$JWT_JWKS_REFRESH_SECONDS ISSUER_PORT=$issuer_port
export PROCESSES=$LAMBDA_CONCURRENCY
# Each function builds on its first request, before the tests time anything.
for path in "PUT /user/password" "POST /v2/users/$USER_ID/password_reset" "POST /v1/users/$TARGET_ID/reset-password"; do
  curl -s -o /dev/null --max-time 600 -X "${path% *}" "$API_URL${path#* }"
done
status=0
node --test "$dir/" || status=$?
refreshed=$(grep -c '"jwks_refreshed":1' "$log" || true)
failed=$(grep -c '"jwks_refresh_failed":1' "$log" || true)
echo "issuer: the functions' metrics lines counted $refreshed JWKS refreshes and $failed failed ones"
[ "$status" -eq 0 ] || tail -n 40 "$log"
exit "$status"
