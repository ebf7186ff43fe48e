#!/usr/bin/env bash
# What a client team does with openapi/: generate a Python client from the
# family P document with openapi-python-client (PyPI, pinned in
# scripts/tools.sh), then use it against the local stack
# (scripts/client_demo.py: P1 → email → P2, P6, P5, a 401). Uses the stack on
# API_PORT if one runs there, else starts `make dev` and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/tools.sh
source scripts/local_stack.sh
mkdir -p .local/clients
use_local_stack .local/clients/dev.log

# One request media type per body, for the generator's open bug (see the script).
.local/openapi/bin/python scripts/openapi_for_generator.py openapi/p-user-api.yaml .local/clients/p-user-api.yaml
PATH="$PWD/.local/openapi/bin:$PATH" openapi-python-client generate \
  --path .local/clients/p-user-api.yaml --output-path .local/clients/p_user_api_client --meta none --overwrite
DEMO_BASE_URL=$base_url PYTHONPATH=.local/clients .local/openapi/bin/python scripts/client_demo.py
