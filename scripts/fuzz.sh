#!/usr/bin/env bash
# Schema fuzzing: Schemathesis (PyPI, pinned in scripts/tools.sh) sends
# generated requests, valid and invalid, to every operation of the three
# OpenAPI documents and checks every answer against them: no 5xx (family P's
# documented 501 counts as one), and status, media type, headers and body as
# documented. Prints its figures and exits non-zero on any failure.
#
# Uses the local stack on API_PORT (default 9000) if one is running there,
# else starts `make dev` (scripts/dev.sh) on API_PORT/EMULATOR_PORT and stops
# it afterwards. Creates fresh users first (scripts/fuzz_hooks.py gives each
# request a valid token for its operation's caller).
#
#   scripts/fuzz.sh                      # every document, FUZZ_EXAMPLES (25) cases per operation and phase
#   FUZZ_EXAMPLES=100 scripts/fuzz.sh    # longer
#   scripts/fuzz.sh openapi/o-admin-api.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh

api_port=${API_PORT:-9000}
emulator_port=${EMULATOR_PORT:-$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)}
base_url=http://127.0.0.1:$api_port
documents=("$@")
[ ${#documents[@]} -gt 0 ] || documents=(openapi/p-user-api.yaml openapi/z-user-service.yaml openapi/o-admin-api.yaml)
report_dir=.local/fuzz
mkdir -p "$report_dir"

# The functions read the stack's env file; dev.sh writes one per moved port.
env_file=local.env
[ "$api_port" = 9000 ] && [ -z "${EMULATOR_PORT:-}" ] || env_file=.local/dev-$api_port.env

if ! (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null; then
  echo "fuzz: starting the local stack on :$api_port"
  API_PORT=$api_port EMULATOR_PORT=$emulator_port scripts/dev.sh >"$report_dir/dev.log" 2>&1 &
  dev=$!
  trap 'kill -TERM "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null && break
    kill -0 "$dev" 2>/dev/null || { cat "$report_dir/dev.log"; echo "fuzz: make dev stopped" >&2; exit 1; }
    sleep 1
  done
fi

export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$emulator_port AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$emulator_port
pwctl() { cargo run -q --bin pwctl -- "$@"; }
create_user() { pwctl user create --email "fuzz.$1.$RANDOM$RANDOM@example.com" "${@:2}" | grep -o '[0-9a-f]\{24\}'; }
# The passwords are the documents' example values, so the examples phase
# also reaches the successful answers.
current=amber-harbor-lighthouse-7
users=$(printf '{"p1":"%s","p4":"%s","p5":"%s","p6":"%s","z":"%s","o":"%s"}' \
  "$(create_user p1)" \
  "$(create_user p4 --password "$current" --pin 1357 --payment-method pm_visa)" \
  "$(create_user p5 --password "$current" --pin 2468 --payment-method pm_visa --payment-method pm_sepa)" \
  "$(create_user p6 --password "$current")" \
  "$(create_user z --password quiet-meadow-tractor-51 --resource-owner org-4711)" \
  "$(create_user o --password "$current")")

# Build every function before the fuzzer's request timeouts run.
for path in /user/password /user/password/confirm /user/password/reset /callbacks/password-reset /user/pin \
  /v2/users/x/password_reset /v2/users/x/password /v1/users/x/reset-password; do
  curl -s -o /dev/null --max-time 900 -X POST "$base_url$path" || true
  curl -s -o /dev/null --max-time 900 -X PUT "$base_url$path" || true
done
curl -s -o /dev/null --max-time 900 "$base_url/user/password/set"

# Checks left out, and why:
# - unsupported_method: a method a document does not list is answered by the
#   router in front of the functions (cargo lambda watch: 404; API Gateway:
#   403 "Missing Authentication Token"), never by the service.
# - positive_data_acceptance: most schema-valid requests are rightly refused
#   by state the schema cannot express (an unknown token → 410, a wrong PIN →
#   422, a rate limit → 429).
export FUZZ_USERS=$users FUZZ_ENV_FILE=$PWD/$env_file
export SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH=$PWD/scripts
root=$PWD
status=0
for document in "${documents[@]}"; do
  name=$(basename "$document" .yaml)
  echo "== schemathesis: $document"
  # Run inside .local/fuzz: Hypothesis and Schemathesis write their state into
  # the working directory, and a write in the repository makes `cargo lambda
  # watch` restart every function, killing the requests in flight.
  (cd "$report_dir" && "$root/.local/openapi/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$root/$document" \
    --url "$base_url" \
    --checks all \
    --exclude-checks unsupported_method,positive_data_acceptance \
    --max-examples "${FUZZ_EXAMPLES:-25}" \
    --generation-with-security-parameters false \
    --workers 1 \
    --request-timeout 30 \
    --generation-database none \
    --seed "${FUZZ_SEED:-20251129}" \
    --no-color \
    --report junit,ndjson \
    --report-junit-path "$name.junit.xml" \
    --report-ndjson-path "$name.ndjson" \
    --output-truncate false) || status=1
done
exit "$status"
