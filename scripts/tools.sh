#!/usr/bin/env bash
# Installs the local tools into ignored folders of the repository, once, each
# group in a virtualenv of its own (their dependencies conflict):
#   .local/venv  the emulator (moto) and cargo-lambda (from PyPI; it brings zig)
#   .local/sam   SAM CLI and cfn-lint, for the offline deployment checks
#   .local/lint  the GitHub workflow linters
#   .local/openapi  the OpenAPI validator, the API fuzzer (Schemathesis), a client generator
#   .local/faults  the fault-injecting proxy (aiohttp) and the load generator (Locust),
#                  for make faults and make soak
# Re-runs are no-ops until a group's pinned versions change.
set -euo pipefail
cd "$(dirname "$0")/.."

install_group() {
  local venv=$1
  shift
  local stamp="$venv/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    return 0
  fi
  echo "Installing into $venv (once): $*"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
  echo "$*" >"$stamp"
}

# The groups install side by side (most of the time is downloading); any
# failure fails the whole.
installing=()
install_group .local/venv "moto[server]==5.2.5" "cargo-lambda==1.9.2" "pyyaml==6.0.3" &
installing+=($!)
install_group .local/sam "aws-sam-cli==1.170.0" "cfn-lint==1.58.0" &
installing+=($!)
install_group .local/lint "check-jsonschema==0.39.0" "zizmor==1.32.0" &
installing+=($!)
install_group .local/openapi "openapi-spec-validator==0.9.0" "schemathesis==4.32.5" "openapi-python-client==0.29.1" &
installing+=($!)
install_group .local/faults "aiohttp==3.14.5" "locust==2.47.0" "pyyaml==6.0.3" &
installing+=($!)
for group in "${installing[@]}"; do
  wait "$group"
done
