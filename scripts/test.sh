#!/usr/bin/env bash
# `make test`: lint, then every unit and integration test against a fresh
# emulator of its own (on a free port, so a running `make dev` is untouched).
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
# Each stage's time, printed as it ends and together at the end, so a slow run
# says where its time went.
stage_name="fmt"
stage_started=$started
stage_times=""
stage() {
  local now
  now=$(date +%s)
  echo "-- $stage_name took $((now - stage_started)) s"
  stage_times+="$stage_name $((now - stage_started)) s; "
  stage_name=$1
  stage_started=$now
  echo "== $2"
}
# The tools install (mostly downloads) while fmt and clippy run, which need
# none of them.
scripts/tools.sh &
installing_tools=$!

echo "== cargo fmt --check"
cargo fmt --all -- --check
stage clippy "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
stage tools "the tools (installing since the start)"
wait "$installing_tools"

source scripts/emulator.sh
source scripts/local_stack.sh # free_port
port=$(free_port)
start_emulator "$port"
# Every AWS call of this run is recorded by function (the tests sign each
# handler's calls with its function's key; make dev's functions have their
# own) through a proxy in front of the emulator; scripts/rehearse.sh checks
# them against the functions' IAM policies at the end.
rm -rf .local/aws-calls
mkdir -p .local/aws-calls
record_port=$(free_port)
.local/faults/bin/python scripts/fault_proxy.py --port "$record_port" --upstream "http://127.0.0.1:$port" \
  --record .local/aws-calls/tests.jsonl >.local/record-proxy-tests.log 2>&1 &
record_proxy=$!
trap 'kill "$record_proxy" 2>/dev/null || true; stop_emulator' EXIT
until (exec 3<>"/dev/tcp/127.0.0.1/$record_port") 2>/dev/null; do sleep 0.2; done
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$record_port"
export AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$record_port"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$record_port"

stage "cargo-test" "cargo test (emulator on port $port, through the recording proxy on $record_port)"
results=.local/test-results.txt
cargo test --workspace --quiet 2>&1 | tee "$results"
kill "$record_proxy" 2>/dev/null || true
stop_emulator
stage deployment "deployment checks (offline)"
BUILD_CHECK_ONLY=1 scripts/check-deploy.sh
stage openapi "OpenAPI documents: validators and client generation (offline)"
scripts/check-openapi.sh 2>&1 | tee .local/openapi-results.txt
stage e2e "end to end: make dev, the page in Chromium, ZITADEL's clients, a generated client, schema fuzzing"
AWS_CALLS_RECORD=$PWD/.local/aws-calls/e2e.jsonl scripts/e2e.sh 2>&1 | tee .local/e2e-results.txt
stage issuer "tokens from a real issuer: oidc-provider, its keys rotated while a stack runs (tests/issuer)"
tests/issuer/run.sh 2>&1 | tee .local/issuer-results.txt
stage faults "faults: every flow under injected DynamoDB and SES faults (a bounded run; make faults runs more)"
AWS_CALLS_RECORD=$PWD/.local/aws-calls/faults.jsonl FAULTS_ROUNDS=${FAULTS_ROUNDS:-6} FAULTS_RACES=${FAULTS_RACES:-1} \
  scripts/faults.sh 2>&1 | tee .local/faults-results.txt
stage rehearsal "rehearsal: IAM from the recorded calls, each stage's deploy against emulated AWS (make rehearse)"
scripts/rehearse.sh 2>&1 | tee .local/rehearsal-results.txt

# Totals: cargo's "test result:" lines, node:test's "# pass N" / "# fail N"
# (browser and TypeScript client), pytest's "N failed, M passed in …" (Python
# SDK), and the OpenAPI checks', the fuzzer's, the generated client's and the
# overlapping race's ("openapi|fuzz|client|race: N passed, M failed"). The fault run's closing line
# (`faults: N requests, K faults injected, V violations`) counts no tests; it
# fails the run unless V = 0.
read -r passed failed < <(awk '
  /^test result:/ { p += $4; f += $6 }
  /^# pass / { p += $3 }
  /^# fail / { f += $3 }
  /^[0-9]+ (passed|failed|errors?)([ ,]|$)/ {
    for (i = 1; i < NF; i++) {
      if ($(i + 1) ~ /^passed/) p += $i
      else if ($(i + 1) ~ /^(failed|errors?)/) f += $i
    }
  }
  /^(openapi|fuzz|client|race): [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
  END { print p + 0, f + 0 }' "$results" .local/openapi-results.txt .local/e2e-results.txt \
  .local/faults-results.txt .local/issuer-results.txt)
stage done "all checks passed in $(( $(date +%s) - started )) s"
echo "stages: $stage_times"
echo "tests: $passed passed, $failed failed"
