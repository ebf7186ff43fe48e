#!/usr/bin/env bash
# Deploys one stage (dev, staging or prod) with the stage's samconfig
# environment, then smoke-tests its URL. Needs AWS credentials (in CI: the
# OIDC role of the stage's GitHub environment).
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: scripts/deploy.sh dev|staging|prod}
case "$stage" in dev | staging | prod) ;; *) echo "unknown stage: $stage" >&2; exit 2 ;; esac

# The offline checks and the arm64 build (.aws-sam/build), as `make test` runs them.
scripts/check-deploy.sh
export PATH="$PWD/.local/sam/bin:$PATH"
sam deploy --config-env "$stage" --no-fail-on-empty-changeset

stack=$(sed -n "/^\[$stage.deploy.parameters\]/,/^\[/s/^stack_name = \"\(.*\)\"/\1/p" samconfig.toml)
url=$(aws cloudformation describe-stacks --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text)
scripts/stage-smoke.sh "$url"
