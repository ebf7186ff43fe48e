#!/usr/bin/env bash
# `make bench`: builds the release binaries and benches first (so no build
# runs while anything is timed), then measures and prints:
#   argon2 against the C reference      scripts/argon2_speed.py
#   start-up step by step               shared/benches/startup.rs
#   cold start and warm memory          scripts/cold_start.py (emulator on BENCH_EMULATOR_PORT, default 4750)
#   hashing memory                      shared/benches/hash_memory.rs
#   round trips, argon2 runs and warm   scripts/outcomes.py (the same emulator port)
#   handler time per outcome
#   the tables: per function, per       scripts/bench_table.py
#   outcome
#   the capacity and cost model         scripts/capacity.py (from the measured round trips)
# Figures land in $CARGO_TARGET_DIR/bench/ (target/bench/ by default).
#
# BENCH_ROUNDS (cold starts per binary, default 30), BENCH_WARM (events per
# process for RSS, default 1000) and BENCH_EVENTS (measured events per
# outcome, default 50) shorten a run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh

rounds=${BENCH_ROUNDS:-30}
warm=${BENCH_WARM:-1000}
events=${BENCH_EVENTS:-50}

echo "== building (release)"
cargo build --release --quiet --bins
cargo bench -p password-service --no-run --quiet --bench startup --bench hash_memory --bench argon2_speed

echo "== argon2id: the service against the C reference"
python3 scripts/argon2_speed.py

echo "== start-up, step by step (fresh processes)"
cargo bench -p password-service --quiet --bench startup

echo "== hashing memory in one process"
cargo bench -p password-service --quiet --bench hash_memory

echo "== cold start and memory of every function"
python3 scripts/cold_start.py --rounds "$rounds" --warm "$warm"

echo "== round trips, argon2 runs and handler time per outcome"
python3 scripts/outcomes.py --events "$events"

echo "== the tables"
python3 scripts/bench_table.py

echo "== capacity and cost"
python3 scripts/capacity.py
