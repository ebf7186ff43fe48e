#!/usr/bin/env bash
# Installs Redocly CLI (npm, pinned by scripts/redocly/package-lock.json) into
# .local/redocly, once; again only when the lock file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
target=.local/redocly
if [ -x "$target/node_modules/.bin/redocly" ] && cmp -s scripts/redocly/package-lock.json "$target/package-lock.json"; then
  exit 0
fi
echo "Installing Redocly CLI into $target (once)"
mkdir -p "$target"
cp scripts/redocly/package.json scripts/redocly/package-lock.json "$target/"
# From inside the folder: with --prefix, npm misreads a .local that is a symlink.
(cd "$target" && npm ci --no-audit --no-fund --loglevel=error)
