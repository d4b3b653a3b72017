#!/bin/sh
# Sets up a virtual environment and runs every check: lint, types, and the test suite
# (SQLite always; PostgreSQL at 127.0.0.1:5432 when reachable, and required when CI=true).
set -eu
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
