#!/usr/bin/env bash
# `make test-sam-local`: SAM CLI's local mode, proven on the real template.
# Starts what `make sam-local` starts (on free ports unless SAM_PORT and
# EMULATOR_PORT are given), and through `sam local start-api`:
#   P1 → the email in the emulator → the page of its link (P3) → P2 with the
#   link's token; a Z2 change with the current password; one error of each
#   family (P, Z, O) with its status, media type and challenge;
# then `sam local invoke` of P1 with the API Gateway fixture, as it is (no
# token: 401) and with a bearer token added (202, one more email).
# Stops everything it started, and says how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
scripts/tools.sh
source scripts/local_stack.sh # free_port, create_user
export SAM_PORT=${SAM_PORT:-$(free_port)}
export EMULATOR_PORT=${EMULATOR_PORT:-$(free_port)}
source scripts/sam-local-env.sh
work=$(mktemp -d)
trap 'sam_local_stop; rm -rf "$work"' EXIT

phase=$SECONDS
sam_local_runtime_start
sam_local_emulator_start
echo "== container runtime and emulator ready in $((SECONDS - phase)) s"
phase=$SECONDS
sam_local_build
echo "== functions, template and env-vars ready in $((SECONDS - phase)) s"

phase=$SECONDS
sam_local_start_api >/dev/null
for _ in $(seq 1 120); do
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$SAM_PORT/" && break
  kill -0 "$SAM_PID" 2>/dev/null || { cat "$SAM_LOG"; echo "sam local start-api stopped"; exit 1; }
  sleep 1
done
echo "== sam local start-api serving on http://127.0.0.1:$SAM_PORT after $((SECONDS - phase)) s"

# pwctl, against this run's emulator.
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$EMULATOR_PORT" AWS_ENDPOINT_URL_SESV2="http://127.0.0.1:$EMULATOR_PORT" \
  AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$EMULATOR_PORT"
pwctl() { cargo run -q --bin pwctl -- "$@"; }
passed=0
failed=0
check() { # description, then a command that must succeed
  local description=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok - $description"
  else
    failed=$((failed + 1))
    echo "not ok - $description"
    echo "  status $(cat "$work/status" 2>/dev/null); headers:"
    sed 's/^/    /' "$work/headers" 2>/dev/null || true
    echo "  body: $(head -c 600 "$work/body" 2>/dev/null)"
  fi
}
# call METHOD PATH [curl options]: the answer in $work/{status,headers,body}.
call() {
  curl -s -D "$work/headers" -o "$work/body" -w '%{http_code}' --max-time 120 \
    -X "$1" "http://127.0.0.1:$SAM_PORT$2" "${@:3}" >"$work/status" || echo 000 >"$work/status"
}
status_is() { [ "$(cat "$work/status")" = "$1" ]; }
header_matches() { grep -qiE "^$1: $2" "$work/headers"; }
body_matches() { grep -qE "$1" "$work/body"; }
contains() { [[ "$1" == *"$2"* ]]; }

phase=$SECONDS
stamp=$RANDOM$RANDOM
first=$(create_user "sam.p.$stamp@example.com")
first_token=$(pwctl token "$first")

call PUT /user/password -H "Authorization: Bearer $first_token"
check "P1 PUT /user/password: 202, JSON:API" eval 'status_is 202 && header_matches content-type "application/vnd\.api\+json"'

link=$(pwctl mail list --to "sam.p.$stamp@example.com" | grep -o "http://127\.0\.0\.1:[0-9]*/user/password/set?token=[A-Za-z0-9_-]*" | tail -n 1 || true)
check "the email in the emulator links to this API (port $SAM_PORT)" \
  contains "$link" "http://127.0.0.1:$SAM_PORT/user/password/set?token="
link_token=${link##*token=}

call GET "/user/password/set?token=$link_token"
check "P3 the link's page: 200 HTML with a strict CSP" \
  eval 'status_is 200 && header_matches content-type "text/html" && header_matches content-security-policy "default-src .none."'

call POST /user/password/confirm -H 'Content-Type: application/vnd.api+json' \
  -d "{\"token\": \"$link_token\", \"password\": \"correct horse battery staple\"}"
check "P2 with the link's token: 204" status_is 204
check "the user now has a password" contains "$(pwctl user show "$first")" '"hasPassword": true'

call POST /user/password/confirm -H 'Content-Type: application/vnd.api+json' \
  -d "{\"token\": \"$link_token\", \"password\": \"correct horse battery staple\"}"
check "P error: the used link again is 410 token-invalid, JSON:API" \
  eval 'status_is 410 && header_matches content-type "application/vnd\.api\+json" && body_matches "\"code\": *\"token-invalid\""'

second=$(create_user "sam.z.$stamp@example.com" --password 'amber-harbor-lighthouse-7')
second_token=$(pwctl token "$second")
call POST "/v2/users/$second/password" -H "Authorization: Bearer $second_token" -H 'Content-Type: application/json' \
  -d '{"newPassword": {"password": "quiet-meadow-tractor-51"}, "currentPassword": "amber-harbor-lighthouse-7"}'
check "Z2 change with currentPassword: 200 with details.sequence" \
  eval 'status_is 200 && header_matches content-type "application/json" && body_matches "\"sequence\": *\"[0-9]+\""'

call POST "/v2/users/$second/password" -H 'Authorization: Bearer not-a-jwt' -H 'Content-Type: application/json' \
  -d '{"newPassword": {"password": "violet-kettle-sunrise-42"}, "currentPassword": "quiet-meadow-tractor-51"}'
check "Z error: an invalid token is 401, gRPC code 16, invalid_token challenge" \
  eval 'status_is 401 && header_matches content-type "application/json" && header_matches www-authenticate "Bearer .*error=\"invalid_token\"" && body_matches "\"code\": *16"'

call POST "/v1/users/$second/reset-password" -H "Authorization: Bearer $first_token" -H 'Content-Type: application/json' \
  -d '{"new_password": "violet-kettle-sunrise-42"}'
check "O error: no users:resetPassword scope is 403 {code: 403}, insufficient_scope challenge" \
  eval 'status_is 403 && header_matches content-type "application/json" && header_matches www-authenticate "Bearer .*error=\"insufficient_scope\"" && body_matches "\"code\": *403"'
echo "== flow through start-api in $((SECONDS - phase)) s"

phase=$SECONDS
fixture=tests/fixtures/apigw-rest-proxy-request.json
invoke() { # event file → the function's answer in $work/invoke.json
  sam local invoke SetPasswordRequestFunction "${SAM_LOCAL_ARGS[@]}" --event "$1" \
    >"$work/invoke.json" 2>>"$SAM_LOG" || true
}
answer() { # a Python expression over the answer `r`
  python3 -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$work/invoke.json" 2>/dev/null ||
    { echo "  the function answered: $(head -c 800 "$work/invoke.json")"; tail -n 5 "$SAM_LOG"; return 1; }
}
invoke "$fixture"
check "sam local invoke P1 with the fixture (no token): 401 JSON:API with a Bearer challenge" \
  answer 'r["statusCode"] == 401 and r["multiValueHeaders"]["content-type"] == ["application/vnd.api+json"] and r["multiValueHeaders"]["www-authenticate"][0].startswith("Bearer ")'
third=$(create_user "sam.i.$stamp@example.com")
third_token=$(pwctl token "$third")
python3 - "$fixture" "$third_token" >"$work/event.json" <<'PY'
import json, sys
event = json.load(open(sys.argv[1]))
event["headers"]["Authorization"] = f"Bearer {sys.argv[2]}"
event["multiValueHeaders"]["Authorization"] = [f"Bearer {sys.argv[2]}"]
print(json.dumps(event))
PY
invoke "$work/event.json"
check "sam local invoke P1 with the fixture and a token: 202" answer 'r["statusCode"] == 202'
check "… and its email reached the emulator" contains "$(pwctl mail list --to "sam.i.$stamp@example.com")" "token="
echo "== sam local invoke in $((SECONDS - phase)) s"

kill -TERM "$SAM_PID"
wait "$SAM_PID" 2>/dev/null || true
SAM_PID=
if [ "$SAM_LOCAL_RUNTIME" = podman ]; then
  left=$(sed -n 's/.*SAM_CONTAINER_ID: \([0-9a-f]*\).*/\1/p' "$SAM_LOG" | while read -r id; do
    if podman container exists "$id"; then echo "$id"; fi
  done)
  check "SAM removed its containers when it stopped" test -z "$left"
fi

echo "== sam local test took $((SECONDS - started)) s"
echo "sam-local: $passed passed, $failed failed"
[ "$failed" = 0 ]
