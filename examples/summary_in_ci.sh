#!/usr/bin/env bash
# Gate a CI job on a metric: fail when a run's last TAG value is under MIN, or when a run has a
# health flag at level "error" (a NaN/Inf loss). Reads the log directory without a server.
#
#   examples/summary_in_ci.sh runs accuracy 0.9
#
# LUMIBOARD and PYTHON name the commands to use (default: lumiboard, python3).
set -euo pipefail
logdir=${1:?usage: summary_in_ci.sh LOGDIR TAG MIN}
tag=${2:?usage: summary_in_ci.sh LOGDIR TAG MIN}
min=${3:?usage: summary_in_ci.sh LOGDIR TAG MIN}

${LUMIBOARD:-lumiboard} summary "$logdir" --json --tags "^${tag}\$" |
  TAG="$tag" MIN="$min" "${PYTHON:-python3}" -c '
import json, os, sys

doc = json.load(sys.stdin)  # the schema: lumiboard summary --help
tag, least = os.environ["TAG"], float(os.environ["MIN"])
failed = False
for name, run in doc["runs"].items():
    entry = run["tags"].get(tag)
    last = entry["last_value"] if entry else None  # a number, or "NaN", "Infinity" ...
    if not isinstance(last, (int, float)) or last < least:
        print(f"{name}: last {tag} is {last}, under {least}", file=sys.stderr)
        failed = True
    if run["health_counts"]["error"]:
        print(f"{name}: {run['health'][0]['message']}", file=sys.stderr)
        failed = True
print("failed" if failed else f"ok: every run has {tag} >= {least} and no health error")
sys.exit(1 if failed else 0)
'
