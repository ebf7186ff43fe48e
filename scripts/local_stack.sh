# Sourced by the scripts that use a local stack, and by test.sh and
# rehearse.sh for free_port; defines functions only.
#
# use_local_stack LOG: the local stack on API_PORT (default 9000) and
# EMULATOR_PORT (default local.env's). Uses the one answering there, else
# starts `make dev` (scripts/dev.sh) and stops it when the shell exits. Sets
# base_url and stack_env_file (the settings the functions read), and points
# pwctl (the AWS SDK) at the emulator.
use_local_stack() {
  local log=$1
  local api_port=${API_PORT:-9000}
  local emulator_port=${EMULATOR_PORT:-$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)}
  base_url=http://127.0.0.1:$api_port
  # dev.sh writes a copy of local.env for a stack on other ports.
  stack_env_file=$PWD/local.env
  if [ -n "${API_PORT:-}${EMULATOR_PORT:-}" ]; then
    stack_env_file=$PWD/.local/dev-$api_port.env
  fi
  export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$emulator_port AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$emulator_port \
    AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:$emulator_port
  if (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null; then
    return 0
  fi
  echo "Starting the local stack on :$api_port (log: $log)"
  # The functions take their endpoints from the stack's env file, not from here.
  # DEV_RELOAD=0: an edit during a run does not restart the functions.
  env -u AWS_ENDPOINT_URL_DYNAMODB -u AWS_ENDPOINT_URL_SESV2 -u AWS_ENDPOINT_URL_SECRETS_MANAGER DEV_RELOAD=0 \
    API_PORT=$api_port EMULATOR_PORT=$emulator_port scripts/dev.sh >"$log" 2>&1 &
  LOCAL_STACK_PID=$!
  trap stop_local_stack EXIT
  for _ in $(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$api_port") 2>/dev/null && return 0
    kill -0 "$LOCAL_STACK_PID" 2>/dev/null || { cat "$log"; echo "make dev stopped" >&2; return 1; }
    sleep 1
  done
  echo "make dev did not answer on :$api_port" >&2
  return 1
}

stop_local_stack() {
  if [ -n "${LOCAL_STACK_PID:-}" ]; then
    kill -TERM "$LOCAL_STACK_PID" 2>/dev/null || true
    wait "$LOCAL_STACK_PID" 2>/dev/null || true
    LOCAL_STACK_PID=
  fi
}

# Every function builds and starts on its first request: one request to each
# route first, so that no measured or checked call waits for a build.
warm_functions() {
  local base=$1 route
  local none=000000000000000000000000
  for route in "PUT /user/password" "GET /user/password/set" "POST /user/password/confirm" \
    "PUT /user/password/reset" "POST /callbacks/password-reset" "PUT /user/pin" "POST /user/otp" \
    "POST /v2/users/$none/password_reset" "POST /v2/users/$none/password" \
    "POST /zitadel.user.v2.UserService/PasswordReset" "POST /zitadel.user.v2.UserService/SetPassword" \
    "POST /v1/users/$none/reset-password"; do
    curl -s -o /dev/null --max-time 600 -X "${route%% *}" "$base${route#* }" -H 'Content-Type: application/json' -d '{}'
  done
}

# A free TCP port on 127.0.0.1.
free_port() {
  .local/venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# create_user EMAIL [OPTION…]: prints the id of a user created by `pwctl user
# create --email EMAIL OPTION…` (e.g. --password …, --pin 2468). Runs the
# caller's `pwctl` function, which says which binary and settings file.
create_user() {
  local email=$1
  shift
  pwctl user create --email "$email" "$@" | grep -o '[0-9a-f]\{24\}'
}
