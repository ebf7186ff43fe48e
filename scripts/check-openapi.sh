#!/usr/bin/env bash
# Checks the OpenAPI documents (openapi/*.yaml), offline once the tools are
# installed, each document on its own: the OpenAPI 3.1 schema
# (openapi-spec-validator), Redocly's recommended rules with every example
# checked against its schema, and a Python client generated from it and
# imported (openapi-python-client). Part of `make test`; ends with
# "openapi: N passed, M failed" (one check per document and tool). That the
# documents describe exactly the template's routes is a test of the
# integration binary (tests/tests/api/openapi.rs).
# Installs its tools on first use: scripts/tools.sh (.local/openapi) and
# Redocly CLI from npm, pinned by scripts/redocly/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
scripts/redocly-install.sh

passed=0
failed=0
check() {
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name" >&2
  fi
}

redocly_lint() {
  local output status=0
  output=$(.local/redocly/node_modules/.bin/redocly lint --config scripts/redocly/redocly.yaml "$1" 2>&1) || status=$?
  # Without Redocly's banner about future Node.js versions.
  grep -v '^ *[╔║╚]' <<<"$output" || true
  return "$status"
}

generate_client() {
  local document=$1 name package log
  name=$(basename "$document" .yaml)
  package=${name//-/_}_client
  mkdir -p .local/clients
  .local/openapi/bin/python scripts/openapi_for_generator.py "$document" ".local/clients/$name.yaml" || return 1
  log=$(PATH="$PWD/.local/openapi/bin:$PATH" .local/openapi/bin/openapi-python-client generate \
    --path ".local/clients/$name.yaml" --output-path ".local/clients/$package" --meta none --overwrite 2>&1) || {
    echo "$log"
    return 1
  }
  if grep -qi warning <<<"$log"; then
    echo "$log"
    echo "openapi-python-client could not generate all of $document" >&2
    return 1
  fi
  PYTHONPATH=.local/clients .local/openapi/bin/python -c "
import importlib, pkgutil, $package as client
for module in pkgutil.walk_packages(client.__path__, client.__name__ + '.'):
    importlib.import_module(module.name)" || return 1
  echo "$document: a client generated and imported"
}

for document in openapi/*.yaml; do
  echo "== $document"
  check "openapi-spec-validator $document" .local/openapi/bin/openapi-spec-validator "$document"
  check "redocly lint $document" redocly_lint "$document"
  check "client generation $document" generate_client "$document"
done
echo "openapi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
