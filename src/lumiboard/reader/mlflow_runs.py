"""What the server shows of runs read from MLflow, by run directory: their page in
MLflow's UI and whether their last sync failed.

Filled by :mod:`lumiboard.reader.mlflow_source` when it lists runs; read by the status
route (``links`` and the skipped-records count) without importing MLflow or the mirror.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

_lock = threading.Lock()
#: run directory -> the MLflow run's page.
_pages: dict[str, str] = {}
#: run directory -> 1 while the MLflow run it mirrors could not be synced.
_failures: dict[str, int] = {}


def publish(directory: str, page: str | None, failed: bool) -> None:
    """Record ``directory``'s MLflow page (None: none to link to) and sync outcome."""
    with _lock:
        if page:
            _pages[directory] = page
        else:
            _pages.pop(directory, None)
        if failed:
            _failures[directory] = 1
        else:
            _failures.pop(directory, None)


def forget(directories: Iterable[str]) -> None:
    with _lock:
        for directory in directories:
            _pages.pop(directory, None)
            _failures.pop(directory, None)


def page_of(directory: str | None) -> str | None:
    """The MLflow page of the run read from ``directory``, if it came from MLflow."""
    if directory is None:
        return None
    with _lock:
        return _pages.get(directory)


def failures_of(directory: str | None) -> int:
    """1 when the MLflow run behind ``directory`` could not be synced at its last try."""
    if directory is None:
        return 0
    with _lock:
        return _failures.get(directory, 0)
