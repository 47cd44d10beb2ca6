#!/usr/bin/env bash
# lumiboard at its minimum dependency versions (issue 17 item 6): the wheel installed into a
# clean venv with every runtime dependency pinned at its pyproject.toml floor
# (scripts/min_versions.txt), then the wheel smoke test (a logdir written and read back in
# Python, the server's page, /data/status and a scalar series). Usage:
#   bash scripts/min_versions_smoke.sh [--python PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${LUMIBOARD_VENV:-.venv}/bin/python"
# Every runtime dependency must have its line in the pins.
"$PY" - <<'PYEOF'
import re
import sys
import tomllib

deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
pins = {}
for line in open("scripts/min_versions.txt"):
    line = line.split("#", 1)[0].strip()
    if line:
        name, version = line.split("==")
        pins[name.strip().lower()] = version.strip()
missing = []
for dep in deps:
    name, floor = re.match(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9.]+)", dep).groups()
    pin = pins.get(name.lower())
    if pin is None:
        missing.append(dep)
    elif pin.rstrip(".*") and not (floor.startswith(pin.rstrip(".*")) or pin.startswith(floor)):
        missing.append(f"{dep} (pinned {pin})")
if missing:
    sys.exit(f"scripts/min_versions.txt does not pin these at their floor: {missing}")
print(f"[min-versions] {len(deps)} dependencies pinned at their floor")
PYEOF
exec "$PY" scripts/wheel_smoke.py --constraints scripts/min_versions.txt "$@"
