"""What a mirrored MLflow run asks its tracking server for: metric histories read on from
where the last read ended, and the TensorBoard event files among the run's artifacts.

MLflow orders a metric's history by (timestamp, step, value) and pages it by offset
(``SearchUtils.create_page_token``), so the page starting one point before the end of what
was read must begin with the last point read (:func:`read_new_points`); when it does not,
the history changed under the reader (:class:`HistoryChangedError`). A store that cannot
start a page at an offset is read whole and the known points skipped.
"""

from __future__ import annotations

import importlib
import os
import posixpath
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from lumiboard.reader.discover import is_event_file

#: Points asked for per request (the MLflow client's own page size).
PAGE = 25_000
#: A run's artifact tree is walked this deep, with at most this many listings per look.
ARTIFACT_DEPTH = 5
ARTIFACT_LISTINGS = 64
#: (timestamp ms, step, repr(value)): a metric point as compared (NaN equals NaN).
PointKey = tuple[int, int, str]
STATE_FILE = "mlflow_state.json"
HPARAMS_FILE = "hparams.yaml"
#: Names a mirror keeps in a run directory: no artifact may take them.
RESERVED: Collection[str] = (STATE_FILE, HPARAMS_FILE)


class HistoryChangedError(Exception):
    """A metric's history no longer continues where the last read ended."""


@dataclass
class Cursor:
    """How far one metric was read."""

    count: int = 0
    #: The last point read, in the server's order.
    last: PointKey | None = None
    #: The run's latest point (``search_runs``) when the metric was last read.
    latest: PointKey | None = None


def point_key(metric: Any) -> PointKey:
    return (int(metric.timestamp), int(metric.step), repr(float(metric.value)))


def download_quietly(client: Any, run: Any, path: str, scratch: str) -> str:
    """Download one artifact file into ``scratch``; return its local path.

    Through the run's artifact repository when it can, since the client's
    ``download_artifacts`` draws a progress bar on stderr for every file (a server's log
    would fill with them); the client's way otherwise.
    """
    try:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        repo: Any = get_artifact_repository(run.info.artifact_uri, tracking_uri=client.tracking_uri)
        fetch = repo._download_file
    except Exception:  # another MLflow, a scheme it resolves otherwise (databricks)
        return str(client.download_artifacts(run.info.run_id, path, scratch))
    local = os.path.join(scratch, *path.split("/"))
    os.makedirs(os.path.dirname(local), exist_ok=True)
    fetch(remote_file_path=path, local_path=local)
    return local


def read_new_points(client: Any, run_id: str, key: str, cursor: Cursor) -> list[Any]:
    """The points of ``key`` after the ``cursor.count`` already read, in the server's order;
    :class:`HistoryChangedError` when the history no longer continues from ``cursor.last``."""
    if not cursor.count:
        return _history(client, run_id, key, 0)
    start = cursor.count - 1  # one point back: it must be the last one read
    try:
        points = _history(client, run_id, key, start)
    except _NoOffsetsError:
        points = list(client.get_metric_history(run_id, key))[start:]
    if not points or point_key(points[0]) != cursor.last:
        raise HistoryChangedError(f"metric {key!r} changed before its last point read")
    return points[1:]


class _NoOffsetsError(Exception):
    """The store cannot start a page at an offset."""


def _history(client: Any, run_id: str, key: str, start: int) -> list[Any]:
    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    if store is None or not hasattr(store, "get_metric_history"):
        if start:
            raise _NoOffsetsError
        return list(client.get_metric_history(run_id, key))
    token: str | None = None
    if start:
        # MLflow's page token is an offset (SearchUtils.create_page_token); a store that
        # reads it otherwise refuses it or returns a page that fails the caller's check.
        try:
            search_utils: Any = importlib.import_module("mlflow.utils.search_utils")
            raw = search_utils.SearchUtils.create_page_token(start)
        except (ImportError, AttributeError):
            raise _NoOffsetsError from None
        token = raw.decode() if isinstance(raw, bytes) else str(raw)
    points: list[Any] = []
    while True:
        try:
            page = store.get_metric_history(run_id, key, max_results=PAGE, page_token=token)
        except Exception as error:
            if start and token is not None and _is_refusal(error):
                raise _NoOffsetsError from error
            raise
        points.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return points


def _is_refusal(error: Exception) -> bool:
    """An MLflow error the server answered (a bad page token), not a network failure."""
    code = getattr(error, "error_code", "")
    return bool(code) and code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


def find_event_artifacts(
    list_artifacts: Callable[[str, str | None], Any], run_id: str
) -> dict[str, int]:
    """``{artifact path: size}`` of the TensorBoard event files among a run's artifacts
    (:data:`ARTIFACT_DEPTH` deep, :data:`ARTIFACT_LISTINGS` listings at most)."""
    found: dict[str, int] = {}
    pending: list[tuple[str | None, int]] = [(None, 0)]
    listings = 0
    while pending and listings < ARTIFACT_LISTINGS:
        path, depth = pending.pop(0)
        listings += 1
        for info in list_artifacts(run_id, path):
            name = str(info.path)
            if not _safe_artifact_path(name):
                continue
            if info.is_dir:
                if depth + 1 < ARTIFACT_DEPTH:
                    pending.append((name, depth + 1))
            elif is_event_file(posixpath.basename(name)):
                found[name] = int(info.file_size or 0)
    return found


def _safe_artifact_path(path: str) -> bool:
    """A relative path that stays inside the run directory, whatever the server says."""
    parts = path.split("/")
    return (
        bool(path)
        and "\\" not in path
        and not path.startswith("/")
        and all(part not in ("", ".", "..") for part in parts)
        and not (len(parts) == 1 and parts[0] in RESERVED)
    )
