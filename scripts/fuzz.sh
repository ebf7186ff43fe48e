#!/usr/bin/env bash
# Schema fuzzing: Schemathesis (PyPI, pinned in scripts/tools.sh) sends
# generated requests, valid and invalid, to every operation of the three
# OpenAPI documents and checks every answer against them: no 5xx (family P's
# documented 501 counts as one), and status, media type, headers and body as
# documented. Prints its figures and exits non-zero on any failure.
#
# Uses the local stack on API_PORT (default 9000) if one is running there,
# else starts `make dev` (scripts/dev.sh) on API_PORT/EMULATOR_PORT and stops
# it afterwards (scripts/local_stack.sh). Creates fresh users first;
# scripts/fuzz_hooks.py gives each request a valid token for its caller.
#
#   scripts/fuzz.sh                      # every document, FUZZ_EXAMPLES (100) cases per operation and phase at most
#   FUZZ_EXAMPLES=500 scripts/fuzz.sh    # longer
#   scripts/fuzz.sh openapi/o-admin-api.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh

documents=("$@")
[ ${#documents[@]} -gt 0 ] || documents=(openapi/p-user-api.yaml openapi/z-user-service.yaml openapi/o-admin-api.yaml)
# A stack of its own on API_PORT keeps its reports apart too.
report_dir=.local/fuzz${API_PORT:+-$API_PORT}
mkdir -p "$report_dir"
source scripts/local_stack.sh
use_local_stack "$report_dir/dev.log"

cargo build -q --bin pwctl
pwctl_bin=${CARGO_TARGET_DIR:-target}/debug/pwctl
pwctl() { "$pwctl_bin" "$@"; }
# A few users of each role, in the state the role needs, as a JSON list.
users_of() {
  local role=$1 ids=()
  shift
  for _ in 1 2 3 4; do
    ids+=("\"$(create_user "fuzz.$role.$RANDOM$RANDOM@example.com" "$@")\"")
  done
  local IFS=,
  echo "\"$role\": [${ids[*]}]"
}
# The passwords are the documents' example values, so the examples phase
# also reaches the successful answers.
current=amber-harbor-lighthouse-7
users="{$(users_of p1),
  $(users_of p4 --password "$current" --pin 1357 --payment-method pm_visa),
  $(users_of p5 --password "$current" --pin 2468 --otp-secret JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP --payment-method pm_visa --payment-method pm_sepa),
  $(users_of p6 --password "$current"),
  $(users_of p7 --password "$current"),
  $(users_of z --password quiet-meadow-tractor-51 --resource-owner org-4711),
  $(users_of o --password "$current")}"

# Build every function before the fuzzer's request timeouts run.
for path in /user/password /user/password/confirm /user/password/reset /callbacks/password-reset /user/pin /user/otp \
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
export FUZZ_USERS=$users FUZZ_ENV_FILE=$stack_env_file
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
    --max-examples "${FUZZ_EXAMPLES:-100}" \
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
reports=()
for document in "${documents[@]}"; do reports+=("$report_dir/$(basename "$document" .yaml).ndjson"); done
.local/openapi/bin/python scripts/fuzz_figures.py "${reports[@]}" || status=1
exit "$status"
