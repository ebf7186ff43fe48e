#!/usr/bin/env bash
# `make faults`: the stack of `make dev` with its functions talking to the
# emulator through scripts/fault_proxy.py; scripts/faults.py drives every flow
# under injected faults and checks the invariants. Ends with
# `faults: N requests, K faults injected, V violations`; fails unless V = 0
# and K > 0.
#
# FAULTS_ROUNDS (default 20) rounds of every flow, the first FAULTS_RACES
# (default 3) with the three races; FAULTS_RATE (default 0.02) the
# probability of each of the 12 kinds of fault on each call it fits;
# FAULTS_SEED replays a run's random choices; FAULTS_ONLY=p5,race_pins runs
# only those. API_PORT, EMULATOR_PORT and PROXY_PORT place the stack
# (default: free ports).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/local_stack.sh
API_PORT=${API_PORT:-$(free_port)}
EMULATOR_PORT=${EMULATOR_PORT:-$(free_port)}
proxy_port=${PROXY_PORT:-$(free_port)}
# The functions wait on AWS as deployed (shared/src/aws.rs, Budget::Lambda):
# the faults test those timeouts, not the local stack's longer ones.
export API_PORT EMULATOR_PORT FUNCTIONS_AWS_PORT=$proxy_port FUNCTIONS_TIMEOUT_BUDGET=lambda
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

# AWS_CALLS_RECORD (set by `make test`): the proxy also records every call
# by function, for scripts/iam_check.py.
.local/faults/bin/python scripts/fault_proxy.py --port "$proxy_port" ${AWS_CALLS_RECORD:+--record "$AWS_CALLS_RECORD"} \
  --upstream "http://127.0.0.1:$EMULATOR_PORT" >".local/faults-proxy-$proxy_port.log" 2>&1 &
proxy=$!
if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
  echo "faults: port $API_PORT is in use; the stack must be one whose functions talk through the proxy" >&2
  exit 1
fi
use_local_stack ".local/faults-dev-$API_PORT.log"
trap 'stop_local_stack; kill "$proxy" 2>/dev/null || true' EXIT
cargo build -q --bin pwctl
warm_functions "$base_url"
echo "faults: stack on $base_url, functions → proxy :$proxy_port → emulator :$EMULATOR_PORT"
.local/faults/bin/python scripts/faults.py --api "$base_url" --emulator "http://127.0.0.1:$EMULATOR_PORT" \
  --proxy "http://127.0.0.1:$proxy_port" --env-file "$stack_env_file" \
  --pwctl "$CARGO_TARGET_DIR/debug/pwctl" --rounds "${FAULTS_ROUNDS:-20}" --races "${FAULTS_RACES:-3}" \
  --rate "${FAULTS_RATE:-0.02}" ${FAULTS_SEED:+--seed "$FAULTS_SEED"} ${FAULTS_ONLY:+--only "$FAULTS_ONLY"}
