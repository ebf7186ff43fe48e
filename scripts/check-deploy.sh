#!/usr/bin/env bash
# The deployment checks that need no AWS account (part of `make test`):
# SAM and CloudFormation linting, the workflows' schema and security audit,
# and `sam build` producing an arm64 bootstrap for every function.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1
# .local/venv first: its python3 has the zig that cargo-lambda cross-compiles with.
export PATH="$PWD/.local/venv/bin:$PWD/.local/sam/bin:$PWD/.local/lint/bin:$PATH"
export SAM_CLI_TELEMETRY=0
# Plain `sam validate` needs a region, nothing more.
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-eu-central-1}
# One target directory for everything: the AWS SDK is not compiled twice.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}

echo "== sam validate --lint"
sam validate --lint
echo "== sam validate (catches misspelled policy templates)"
sam validate
echo "== cfn-lint"
cfn-lint template.yaml
echo "== workflows: schema and zizmor"
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
zizmor --offline --quiet .github/workflows

echo "== sam build (arm64, release)"
started=$(date +%s)
# `make test` sets BUILD_CHECK_ONLY: there the build proves that SAM builds
# every function of the template for arm64, and nothing is deployed from it
# (the rehearsal packages it, and never runs it), so it goes unoptimised,
# without LTO and with parallel code generation: the optimised build took
# 494 s of a make test on a 2-core machine. scripts/deploy.sh builds with
# the full profile.
if [ -n "${BUILD_CHECK_ONLY:-}" ]; then
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
fi
# One cargo invocation links all functions in parallel; SAM's builds, one
# function at a time under cargo's lock, then find them fresh.
cargo lambda build --release --arm64 $(for f in functions/*/; do printf -- '--bin %s ' "$(basename "$f")"; done)
sam build --parallel >.local/sam-build.log 2>&1 || { tail -n 40 .local/sam-build.log; exit 1; }
# Marks a build that must not be deployed (scripts/deploy.sh rebuilds it).
[ -z "${BUILD_CHECK_ONLY:-}" ] || touch .aws-sam/build/check-only
echo "sam build took $(( $(date +%s) - started )) s"
python3 - <<'PY'
import re, sys
from pathlib import Path

functions = re.findall(r"^  (\w+):\n    Type: AWS::Serverless::Function", Path("template.yaml").read_text(), re.M)
failed = False
for name in functions:
    bootstrap = Path(".aws-sam/build") / name / "bootstrap"
    if not bootstrap.is_file():
        print(f"{name}: no bootstrap"); failed = True; continue
    header = bootstrap.read_bytes()[:20]
    # ELF, and e_machine 183 (EM_AARCH64) at offset 18, little-endian.
    arm64 = header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183
    print(f"{name:32} {bootstrap.stat().st_size / 1_048_576:5.1f} MiB {'arm64' if arm64 else 'NOT arm64'}")
    failed |= not arm64
sys.exit(1 if failed else 0)
PY
