#!/usr/bin/env bash
# Rebuilds shared/data/common-passwords.fst from its source: the list of the
# 1,000,000 most common passwords shipped in the `passablewords` crate 1.0.1
# (MIT; the "10 million password list" compiled by Mark Burnett), of which the
# 250,000 most common are kept. Fetched through cargo, like any dependency.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-250000}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/src"
cat >"$scratch/Cargo.toml" <<'TOML'
[package]
name = "fetch-password-list"
version = "0.0.0"
edition = "2021"
[dependencies]
passablewords = "=1.0.1"
[workspace]
TOML
touch "$scratch/src/lib.rs"
cargo fetch --quiet --manifest-path "$scratch/Cargo.toml"
source_list=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*passablewords-1.0.1/src/common-passwords.txt' | head -n 1)
cargo run --quiet -p password-service --example build_common_password_list -- \
  "$source_list" "$count" shared/data/common-passwords.fst
