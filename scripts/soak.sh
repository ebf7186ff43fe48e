#!/usr/bin/env bash
# `make soak`: a local stack (make dev, on free ports unless API_PORT and
# EMULATOR_PORT say otherwise) under a realistic mix of every endpoint from
# Locust (scripts/soak_locustfile.py) for SOAK_SECONDS (default 300, at most
# 600) with SOAK_CLIENTS simulated clients (default 20), loopback only; then
# the requests, the answers by status, p50/p99 latency, and each function's
# resident memory (its largest process: make dev runs several of each) at the
# start, half-way and at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
seconds=${SOAK_SECONDS:-300}
if [ "$seconds" -gt 600 ]; then
  echo "soak: SOAK_SECONDS is at most 600" >&2
  exit 2
fi
clients=${SOAK_CLIENTS:-20}
source scripts/local_stack.sh
API_PORT=${API_PORT:-$(free_port)}
EMULATOR_PORT=${EMULATOR_PORT:-$(free_port)}
export API_PORT EMULATOR_PORT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
if (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null; then
  echo "soak: port $API_PORT is in use; soak starts a stack of its own" >&2
  exit 1
fi
use_local_stack ".local/soak-dev-$API_PORT.log"
cargo build -q --bin pwctl
warm_functions "$base_url"
api=$base_url
dev=$LOCAL_STACK_PID

# Resident memory (kB) of each function process this stack's cargo lambda
# watch started (its children), by function.
rss() {
  local watch pid
  watch=$(pgrep -P "$dev" -f "lambda watch")
  for pid in $(pgrep -P "$watch"); do
    printf '%s %s\n' "$(basename "$(readlink "/proc/$pid/exe")")" "$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")"
  done | sort
}
rss >.local/soak-rss-start.txt
echo "soak: $clients clients for $seconds s against $api"
summary=.local/soak-summary.json
env_file=$stack_env_file
# pwctl (creating each client's user) reads the emulator: use_local_stack
# pointed the AWS endpoints there.
SOAK_ENV_FILE=$env_file SOAK_PWCTL="$CARGO_TARGET_DIR/debug/pwctl" SOAK_SUMMARY=$summary \
  .local/faults/bin/locust -f scripts/soak_locustfile.py --headless --host "$api" -u "$clients" -r 5 \
  -t "${seconds}s" --stop-timeout 10 --only-summary --loglevel WARNING >.local/soak-locust.log 2>&1 &
locust=$!
sleep $((seconds / 2))
rss >.local/soak-rss-mid.txt
wait "$locust" || true
rss >.local/soak-rss-end.txt
.local/faults/bin/python - "$summary" "$seconds" .local/soak-rss-{start,mid,end}.txt <<'PY'
import json, sys
summary, seconds = json.load(open(sys.argv[1])), int(sys.argv[2])
total = summary["requests"]
print(f"soak: {total} requests in {seconds} s ({total / seconds:.1f}/s), p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
for status, count in summary["statuses"].items():
    print(f"  {status}: {count} ({100 * count / total:.2f} %)")
def largest(path):
    # make dev runs several processes of a function: its largest one.
    sizes = {}
    for name, kb in (l.split() for l in open(path)):
        sizes[name] = max(sizes.get(name, 0), int(kb))
    return sizes
start, mid, end = (largest(f) for f in sys.argv[3:6])
print("  function                    RSS (MB, its largest process): start    half-time    end")
for name in sorted(set(start) | set(end)):
    fmt = lambda kb: f"{kb / 1024:.1f}" if kb is not None else "-"
    print(f"  {name:26} {fmt(start.get(name)):>16} {fmt(mid.get(name)):>12} {fmt(end.get(name)):>6}")
PY
