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
