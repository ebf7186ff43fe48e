#!/usr/bin/env bash
# `make rehearse` (also the last step of `make test`): what AWS would enforce
# on the first deploy, checked without an account.
#
# 1. IAM: every AWS call the local runs recorded (.local/aws-calls/*.jsonl:
#    the integration tests, make dev in the end-to-end stage, the fault run;
#    `make test` records them) against the calling function's policy in the
#    template as the SAM translator expands it for each stage, and every
#    grant used by some call (scripts/iam_check.py).
# 2. For each stage of samconfig.toml, what the emulator does not model,
#    checked on the transformed template (scripts/rehearse.py static).
# 3. For each stage, scripts/deploy.sh <stage> (the script the workflow runs,
#    with the build it deploys) run to the end against emulated AWS APIs on
#    loopback (moto: CloudFormation, S3, IAM, Lambda, DynamoDB, Logs, KMS,
#    SNS), then the stack checked at those services.
#
# Last line: `rehearsal: N calls checked, D denied, U unused grants; deploy:
# dev ok, staging ok, prod ok`; exit status 1 unless D = U = 0 and all ok.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
scripts/tools.sh
source scripts/local_stack.sh # free_port
python=.local/venv/bin/python # the emulator (moto)
# SAM CLI's own environment has the SAM translator (the library that expands
# the template as CloudFormation does), boto3 and PyYAML.
sam_python=.local/sam/bin/python
mkdir -p .local/rehearsal

echo "== rehearsal: IAM, from the recorded calls"
shopt -s nullglob
records=(.local/aws-calls/*.jsonl)
iam_ok=1
if [ ${#records[@]} -eq 0 ]; then
  echo "rehearsal: no recorded calls in .local/aws-calls (make test records them)" >&2
  iam_ok=0
  echo '{"calls": 0, "denied": 0, "unused": 0}' >.local/rehearsal/iam.json
else
  $sam_python scripts/iam_check.py --summary .local/rehearsal/iam.json "${records[@]}" || iam_ok=0
fi

echo "== rehearsal: what the emulator does not model, on each stage's transformed template"
static_ok=1
$sam_python scripts/rehearse.py static || static_ok=0

echo "== rehearsal: scripts/deploy.sh per stage against emulated AWS APIs"
if [ ! -f .aws-sam/build/template.yaml ]; then
  BUILD_CHECK_ONLY=1 scripts/check-deploy.sh
fi
port=$(free_port)
$python scripts/emulator.py serve --port "$port" >.local/rehearsal/emulator.log 2>&1 &
emulator=$!
trap 'kill "$emulator" 2>/dev/null || true' EXIT
$python scripts/emulator.py wait --endpoint "http://127.0.0.1:$port"
# Everything AWS-bound goes to the emulator (sam names its host "localhost"),
# with credentials that exist nowhere else.
export AWS_ENDPOINT_URL=http://localhost:$port AWS_ACCESS_KEY_ID=rehearsal AWS_SECRET_ACCESS_KEY=rehearsal
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_SESV2 AWS_ENDPOINT_URL_SECRETS_MANAGER AWS_PROFILE AWS_SESSION_TOKEN
deploys=()
all_ok=$((iam_ok && static_ok))
bootstrapped=
for stage in $($sam_python -c 'import sys; sys.path.insert(0, "scripts"); import stack_template; print(*stack_template.stages())'); do
  region=$(sed -n "/^\[$stage.deploy.parameters\]/,/^\[/s/^region = \"\(.*\)\"/\1/p" samconfig.toml)
  stack=$(sed -n "/^\[$stage.deploy.parameters\]/,/^\[/s/^stack_name = \"\(.*\)\"/\1/p" samconfig.toml)
  if [ "$bootstrapped" != "$region" ]; then
    AWS_DEFAULT_REGION=$region $sam_python scripts/rehearse.py bootstrap --endpoint "$AWS_ENDPOINT_URL" --region "$region"
    bootstrapped=$region
  fi
  template=.aws-sam/build/rehearsal-$stage.yaml
  result=failed
  if $sam_python scripts/rehearse.py emulated "$stage" .aws-sam/build/template.yaml "$template" &&
    AWS_DEFAULT_REGION=$region DEPLOY_TEMPLATE=$template DEPLOY_SMOKE=0 \
      scripts/deploy.sh "$stage" >".local/rehearsal/deploy-$stage.log" 2>&1 &&
    $sam_python scripts/rehearse.py verify --endpoint "$AWS_ENDPOINT_URL" --region "$region" \
      --stack "$stack" --template "$template"; then
    result=ok
  else
    tail -n 30 ".local/rehearsal/deploy-$stage.log" 2>/dev/null || true
    all_ok=0
  fi
  deploys+=("$stage $result")
done

echo "The rehearsal took $(( $(date +%s) - started )) s"
read -r calls denied unused < <($python -c 'import json; s = json.load(open(".local/rehearsal/iam.json")); print(s["calls"], s["denied"], s["unused"])')
line=$(IFS=,; echo "${deploys[*]}" | sed 's/,/, /g')
echo "rehearsal: $calls calls checked, $denied denied, $unused unused grants; deploy: $line"
[ "$all_ok" = 1 ]
