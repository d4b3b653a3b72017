#!/bin/sh
# Sets up everything the tests need and runs every check: lint, types, and the test suite
# (SQLite always; PostgreSQL at 127.0.0.1:5432 when reachable, and required when CI=true;
# browser tests in Debian's Chromium with axe-core from the npm registry).
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
missing=""
command -v chromium >/dev/null 2>&1 || missing="chromium"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "Chromium and npm are needed for the browser tests: apt-get install$missing" >&2
  fi
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
  (cd tests/browser && npm ci --no-audit --no-fund --silent)
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
