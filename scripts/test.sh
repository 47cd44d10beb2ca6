#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it all:
# lint (ruff), types (mypy), tests (pytest). Exit status is non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${LUMIBOARD_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --upgrade pip
# torch 2.13.0 CPU: a local wheel on these machines (see ../shared/reference/TOOLCHAIN.md).
"$PY" -m pip install --quiet "torch==2.13.0"
# Browser tests drive Debian's chromium (a downloaded browser is never used).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2
    exit 1
  fi
fi
# The install builds the native scanner (C) and the web app (npm ci + vite build). Failing
# without them is the default; the REQUIRE variables also override an opt-out
# (LUMIBOARD_ALLOW_PURE_PYTHON, LUMIBOARD_SKIP_FRONTEND) left in the environment.
export LUMIBOARD_REQUIRE_NATIVE=1 LUMIBOARD_REQUIRE_FRONTEND=1
"$PY" -m pip install --quiet -e ".[test]"
(cd frontend && npm run --silent typecheck && npm test --silent)

"$VENV/bin/ruff" check src tests scripts benchmarks hatch_build.py
"$VENV/bin/ruff" format --check src tests scripts benchmarks hatch_build.py
"$VENV/bin/mypy"

# The wheel as a user without Node or a compiler gets it (sdist -> wheel, a clean venv, a PATH
# with no node, npm or cc): the real app page, /data/status's native scanner, a scalar series.
# Then the same for every other CPython 3.10-3.14 this machine has (pyenv's included).
"$PY" scripts/wheel_smoke.py
"$PY" scripts/wheel_smoke.py --other-pythons
# And with every dependency at its pyproject floor (numpy 1.24, pandas 2.0, pyarrow 14, ...).
bash scripts/min_versions_smoke.sh

set +e
"$PY" -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "pytest collected no tests: failing" >&2
  exit 1
fi
exit "$status"
