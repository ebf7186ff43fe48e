#!/usr/bin/env bash
# Smoke test of a deployed stage at URL: every family answers in its own
# shape without a token, and the set-password page is served. Changes nothing.
set -euo pipefail
url=${1:?usage: scripts/stage-smoke.sh https://…/stage}

expect() { # expect STATUS METHOD PATH [HEADER-PATTERN]
  local want=$1 method=$2 path=$3 pattern=${4:-}
  local headers
  headers=$(curl -s -o /dev/null -D - --max-time 30 -X "$method" "$url$path")
  local got
  got=$(printf '%s' "$headers" | awk 'NR == 1 { print $2 }')
  if [ "$got" != "$want" ]; then
    echo "smoke: $method $path answered $got, not $want" >&2
    exit 1
  fi
  if [ -n "$pattern" ] && ! printf '%s' "$headers" | grep -qi "$pattern"; then
    echo "smoke: $method $path lacks $pattern" >&2
    exit 1
  fi
  echo "smoke: $method $path → $got"
}

expect 200 GET "/user/password/set?token=smoke" "content-security-policy: default-src 'none'"
expect 401 PUT /user/password "www-authenticate: Bearer"
expect 401 POST /v2/users/000000000000000000000000/password "www-authenticate: Bearer"
expect 401 POST /v1/users/000000000000000000000000/reset-password "www-authenticate: Bearer"
expect 401 PUT "/user/password/reset?pin=0000" "deprecation: @"
# P5 and P7, the OTP key ring's functions. They read their secrets at run
# time, and a request without a token needs none: a 401 here does not show
# that a secret can be read (docs/deploying.md, first deploy).
expect 401 POST /callbacks/password-reset "www-authenticate: Bearer"
expect 401 POST /user/otp "www-authenticate: Bearer"

# Family Z's RPC paths through API Gateway's binary handling, as connect-es
# calls them (binary body, no Accept): gRPC-web answers HTTP 200 with the raw
# trailers frame (first byte 0x80, "grpc-status: 16"), not base64 text.
rpc=$(printf '\0\0\0\0\0' | curl -s --max-time 30 -X POST "$url/zitadel.user.v2.UserService/SetPassword" \
  -H 'Content-Type: application/grpc-web+proto' -H 'Accept:' --data-binary @- | od -An -c | tr -s ' \n' ' ')
case "$rpc" in
  " 200 \\0 \\0 \\0"*"g r p c - s t a t u s : 1 6"*) echo "smoke: POST /zitadel.user.v2.UserService/SetPassword (gRPC-web) → grpc-status 16" ;;
  *) echo "smoke: gRPC-web SetPassword answered bytes$rpc" >&2; exit 1 ;;
esac
expect 415 POST /zitadel.user.v2.UserService/PasswordReset "accept-post: application/json"
