#!/usr/bin/env bash
# `make sam-local`: the API through SAM CLI's local mode, `sam local
# start-api` on template.yaml (its routes, environment and handler binaries,
# API Gateway's event shape), on http://127.0.0.1:${SAM_PORT:-3000}, against
# the emulator `make dev` uses (its own, on EMULATOR_PORT). Docker if its
# daemon answers, else podman. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/sam-local-env.sh
trap sam_local_stop EXIT
trap 'exit 0' INT TERM

sam_local_runtime_start
sam_local_emulator_start
sam_local_build
echo "sam local: API on http://127.0.0.1:$SAM_PORT (the first request to a function starts its container)"
sam_local_start_api
wait "$SAM_PID"
