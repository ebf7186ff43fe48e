#!/usr/bin/env bash
# Checks the OpenAPI documents (openapi/*.yaml), offline once the tools are
# installed: the OpenAPI 3.1 schema (openapi-spec-validator), Redocly's
# recommended rules with every example checked against its schema, and that
# the documents describe exactly the routes template.yaml deploys.
# Installs its tools on first use: scripts/tools.sh (.local/openapi) and
# Redocly CLI from npm, pinned by scripts/redocly/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
scripts/redocly-install.sh

echo "== openapi-spec-validator"
.local/openapi/bin/openapi-spec-validator openapi/*.yaml
echo "== redocly lint"
.local/redocly/node_modules/.bin/redocly lint --config scripts/redocly/redocly.yaml openapi/*.yaml 2>&1 |
  grep -v '^ *[╔║╚]' # Redocly's banner about future Node.js versions
echo "== routes"
.local/openapi/bin/python scripts/openapi_routes.py
echo "== a client generates and imports (openapi-python-client)"
mkdir -p .local/clients
for document in openapi/*.yaml; do
  name=$(basename "$document" .yaml)
  package=${name//-/_}_client
  .local/openapi/bin/python scripts/openapi_for_generator.py "$document" ".local/clients/$name.yaml"
  log=$(PATH="$PWD/.local/openapi/bin:$PATH" .local/openapi/bin/openapi-python-client generate \
    --path ".local/clients/$name.yaml" --output-path ".local/clients/$package" --meta none --overwrite 2>&1)
  if grep -qi warning <<<"$log"; then
    echo "$log"
    echo "openapi-python-client could not generate all of $document" >&2
    exit 1
  fi
  PYTHONPATH=.local/clients .local/openapi/bin/python -c "
import importlib, pkgutil, $package as client
for module in pkgutil.walk_packages(client.__path__, client.__name__ + '.'):
    importlib.import_module(module.name)"
  echo "$document: generated and imported"
done
