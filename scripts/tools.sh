#!/usr/bin/env bash
# Installs the local tools into ignored folders of the repository, once:
# the emulator (moto, pinned) and cargo-lambda (from PyPI, which brings zig).
# Re-runs are no-ops until the pinned versions change.
set -euo pipefail
cd "$(dirname "$0")/.."

requirements=("moto[server]==5.2.5" "cargo-lambda==1.9.2" "pyyaml==6.0.3")
venv=.local/venv
stamp="$venv/.installed"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "${requirements[*]}" ]; then
  exit 0
fi
echo "Installing the local tools into $venv (once; about a minute)…"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}"
echo "${requirements[*]}" >"$stamp"
