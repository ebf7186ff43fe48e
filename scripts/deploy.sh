#!/usr/bin/env bash
# Deploys one stage (dev, staging or prod) with the stage's samconfig
# environment, then smoke-tests its URL. Never prompts (the stage's GitHub
# environment approval is the gate). Needs AWS credentials (in CI: the OIDC
# role of the stage's GitHub environment).
#
# It deploys the build in .aws-sam/build: the workflow builds it once and
# every stage deploys that same artifact; without one, it builds first
# (scripts/check-deploy.sh: the offline checks and the arm64 build).
# `make rehearse` runs this script against emulated AWS APIs, with
# DEPLOY_TEMPLATE naming the copy of the built template the emulator can
# create, and DEPLOY_SMOKE=0: nothing there serves the API.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:?usage: scripts/deploy.sh dev|staging|prod}
case "$stage" in dev | staging | prod) ;; *) echo "unknown stage: $stage" >&2; exit 2 ;; esac

scripts/tools.sh
# `make test`'s build (no LTO) only proves that everything builds; the
# rehearsal deploys it to the emulator, a real stage never.
if [ ! -f .aws-sam/build/template.yaml ] || { [ -f .aws-sam/build/check-only ] && [ -z "${DEPLOY_TEMPLATE:-}" ]; }; then
  scripts/check-deploy.sh
fi
export PATH="$PWD/.local/sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0
sam deploy --config-file "$PWD/samconfig.toml" --config-env "$stage" --template-file "${DEPLOY_TEMPLATE:-.aws-sam/build/template.yaml}" \
  --no-confirm-changeset --no-fail-on-empty-changeset --no-progressbar

stack=$(sed -n "/^\[$stage.deploy.parameters\]/,/^\[/s/^stack_name = \"\(.*\)\"/\1/p" samconfig.toml)
if [ "${DEPLOY_SMOKE:-1}" = 0 ]; then
  echo "deploy: $stage ok ($stack; no smoke test)"
  exit 0
fi
url=$(sam list stack-outputs --stack-name "$stack" --config-file "$PWD/samconfig.toml" --config-env "$stage" --output json |
  python3 -c 'import json, sys; print(next(o["OutputValue"] for o in json.load(sys.stdin) if o["OutputKey"] == "ApiUrl"))')
scripts/stage-smoke.sh "$url"
echo "deploy: $stage ok ($url)"
