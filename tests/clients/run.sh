#!/usr/bin/env bash
# Family Z through ZITADEL's own clients, against a running stack: the Python
# SDK (Connect JSON) and @zitadel/client v2 over connect-node's gRPC-web and
# Connect transports (binary and JSON). Starts nothing: give it the stack.
#
#   API_URL=http://127.0.0.1:9000 tests/clients/run.sh        # both suites
#   tests/clients/run.sh --install                            # installs only
#
# API_URL defaults to http://127.0.0.1:9000 (make dev). PWCTL_ENV_FILE names
# the stack's settings file for pwctl (default local.env; a stack moved with
# API_PORT/EMULATOR_PORT writes .local/dev-<port>.env, used when it exists).
# Installs on first use, pinned: zitadel-client 4.1.9 and pytest in a venv
# under .local/ (python/requirements.txt), the npm packages by
# node/package-lock.json. Ends with each runner's own summary, then one line:
# "clients: all passed" or "clients: FAILED (…)".
set -euo pipefail
cd "$(dirname "$0")/../.."
clients=tests/clients
venv=.local/zitadel-clients-venv
requirements=$clients/python/requirements.txt

# The venv is rebuilt whenever the pinned list changes.
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  echo "clients: installing the Python SDK into $venv…"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/requirements.txt"
fi
lock=$clients/node/package-lock.json
if ! cmp -s "$lock" "$clients/node/node_modules/.installed-lock.json" 2>/dev/null; then
  echo "clients: installing @zitadel/client and connect-node (npm ci)…"
  # connect-node 2.2.0 declares node >= 22; it runs on 20 (verified here).
  npm ci --prefix "$clients/node" --no-audit --no-fund --loglevel=error
  cp "$lock" "$clients/node/node_modules/.installed-lock.json"
fi
[ "${1:-}" = "--install" ] && exit 0

export API_URL=${API_URL:-http://127.0.0.1:9000}
port=$(sed -E 's|^[a-z]+://[^:/]+:?([0-9]*).*|\1|' <<<"$API_URL")
if [ -z "${PWCTL_ENV_FILE:-}" ] && [ -f ".local/dev-$port.env" ]; then
  export PWCTL_ENV_FILE=$PWD/.local/dev-$port.env
fi
# One build of the operator CLI, then each test calls the binary.
cargo build -q --bin pwctl
export PWCTL=${CARGO_TARGET_DIR:-$PWD/target}/debug/pwctl
echo "clients: against $API_URL${PWCTL_ENV_FILE:+ (pwctl settings: $PWCTL_ENV_FILE)}"

failed=()
(cd "$clients/python" && "$OLDPWD/$venv/bin/python" -m pytest -q -p no:cacheprovider .) || failed+=("Python SDK")
node --test "$clients/node/" || failed+=("@zitadel/client")
if [ ${#failed[@]} -eq 0 ]; then
  echo "clients: all passed"
else
  echo "clients: FAILED (${failed[*]})"
  exit 1
fi
