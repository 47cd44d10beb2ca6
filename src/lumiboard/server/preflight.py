"""What a server lacks, said at start-up and in ``/data/status``: the native scanner, the
built web app, log directories that do not exist.

An install built without a compiler or without Node still works, slower or with only the
HTTP API: it must say so, not degrade silently (the page shows the same facts as a banner).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lumiboard.reader import scan
from lumiboard.reader.mlflow_uri import is_mlflow
from lumiboard.server import static
from lumiboard.writer.fs import is_remote

NATIVE_MISSING = (
    "lumiboard's native scanner is not built: event files are read about 100x slower. "
    "Install a lumiboard wheel for this platform (pip install lumiboard), or install a C "
    "compiler (gcc, clang or MSVC) and reinstall lumiboard from source."
)
WEB_APP_MISSING = (
    "lumiboard's web app is not built: the page only says so (the HTTP API under data/ works). "
    "Install a lumiboard wheel (pip install lumiboard), or install Node.js (20.19 or newer) "
    "and reinstall lumiboard from source."
)


def native_scanner() -> bool:
    """Whether the C scanner module was imported."""
    return scan.NATIVE


def web_app() -> bool:
    """Whether the built web app (its index.html) is there to serve."""
    return static.static_dir() is not None


def logdir_states(
    locations: Sequence[str], names: Sequence[str | None] | None = None
) -> list[dict[str, object]]:
    """``[{name, path, exists}]`` per log directory; ``exists`` is None for a URL (a bucket,
    an MLflow server): status is polled, and listing a remote store is not free."""
    return [
        {
            "name": name,
            "path": location,
            "exists": None
            if is_remote(location) or is_mlflow(location)
            else os.path.isdir(location),
        }
        for location, name in zip(locations, names or [None] * len(locations), strict=True)
    ]


def warnings(locations: Sequence[str]) -> list[str]:
    """One line per thing missing, for the start-up output."""
    found = [] if native_scanner() else [NATIVE_MISSING]
    if not web_app():
        found.append(WEB_APP_MISSING)
    found.extend(
        f"log directory {state['path']} does not exist (yet): its runs appear once it is created"
        for state in logdir_states(locations)
        if state["exists"] is False
    )
    return found
