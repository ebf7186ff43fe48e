#!/usr/bin/env bash
# Deploys one stage (dev, staging or prod) with the stage's samconfig
# environment, then smoke-tests its URL. Needs AWS credentials (in CI: the
# OIDC role of the stage's GitHub environment).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: scripts/deploy.sh dev|staging|prod}
case "$stage" in dev | staging | prod) ;; *) echo "unknown stage: $stage" >&2; exit 2 ;; esac

scripts/tools.sh
rustup target add aarch64-unknown-linux-gnu >/dev/null
# .local/venv first: its python3 has the zig that cargo-lambda cross-compiles with.
export PATH="$PWD/.local/venv/bin:$PWD/.local/sam/bin:$PATH"
# One cargo invocation links all functions in parallel; SAM's builds, one
# function at a time under cargo's lock, then find them fresh.
cargo lambda build --release --arm64 $(for f in functions/*/; do printf -- '--bin %s ' "$(basename "$f")"; done)
sam build --config-env "$stage"
sam deploy --config-env "$stage" --no-fail-on-empty-changeset

stack=$(sed -n "/^\[$stage.deploy.parameters\]/,/^\[/s/^stack_name = \"\(.*\)\"/\1/p" samconfig.toml)
url=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)
scripts/stage-smoke.sh "$url"
