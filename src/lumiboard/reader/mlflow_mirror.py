"""One MLflow run mirrored into a local directory that the reader reads as a run.

The directory holds:

- ``events.out.tfevents.<generation>.mlflow``: every point of every metric
  (:mod:`.mlflow_events`), appended as MLflow gets new ones;
- ``hparams.yaml``: the run's params, typed (``"0.1"`` -> 0.1, ``"True"`` -> true), which
  :mod:`lumiboard.plugins.hparams.framework` turns into an hparams session as it does
  Lightning's file;
- the TensorBoard event files found among the run's artifacts, at their artifact path
  (``tensorboard_logs/train/events...``; one at the artifact root under ``artifacts/``),
  so each of their directories is a run with every dashboard;
- ``mlflow_state.json``: how far each metric was read, the params and artifacts written.

**Incremental reads.** A metric is fetched only when its latest point (which
``search_runs`` returns with the run) changed since the last fetch, and then only from
where the last fetch ended (:mod:`.mlflow_fetch`). When its history no longer continues
from there (a point logged with an older timestamp), the run's file is written again from
every metric's whole history, as a new generation: the reader drops the old file's points
with the file.

**Crash safety.** Points are appended first, then the state saved (renamed into place)
with the file's new size; a file longer than its state says (a crash between the two) is
cut back to that size when the mirror is loaded, one shorter is rebuilt.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from lumiboard.reader.mlflow_events import ScalarEncoder, file_version_record
from lumiboard.reader.mlflow_fetch import (
    HPARAMS_FILE,
    STATE_FILE,
    Cursor,
    HistoryChangedError,
    PointKey,
    download_quietly,
    find_event_artifacts,
    point_key,
    read_new_points,
)

logger = logging.getLogger(__name__)

#: Where event files logged at the artifact root go (the run directory holds the metrics).
ROOT_ARTIFACTS = "artifacts"
#: How often a running run's artifacts are looked at again (a finished one: when it changes).
ARTIFACT_RECHECK_SECONDS = 60.0
#: How often every metric of a running run is read on, latest point changed or not: a point
#: below the latest step (a run resumed from a checkpoint) leaves MLflow's latest as it was.
METRIC_RECHECK_SECONDS = 30.0
#: MLflow's tag for the TensorBoard log directory of a run.
LOG_DIR_TAG = "tensorboard.log_dir"

_INTEGER = re.compile(r"[-+]?[0-9]{1,18}")


@dataclass
class MirrorState:
    generation: int = 0
    size: int = 0
    cursors: dict[str, Cursor] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    #: artifact path -> size of the copy downloaded.
    artifacts: dict[str, int] = field(default_factory=dict)
    #: (status, end_time) of the run when its artifacts were last looked at, and when.
    artifacts_seen: tuple[str, int] | None = None
    artifacts_checked: float = 0.0
    #: The ``tensorboard.log_dir`` tag, read directly when no artifact is an event file.
    log_dir: str | None = None


def typed_param(value: str) -> bool | int | float | str:
    """An MLflow param (always text) as the value it was: a number, a bool, else text."""
    text = value.strip()
    if text in ("True", "true", "False", "false"):
        return text in ("True", "true")
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return value
    return number if math.isfinite(number) else value


class RunMirror:
    """The local copy of one MLflow run (see the module's docstring)."""

    def __init__(self, directory: str, run_id: str, scratch: str) -> None:
        self.directory = directory
        self.run_id = run_id
        self._scratch = scratch  # downloads land here first (never inside a run directory)
        os.makedirs(directory, exist_ok=True)
        self._saved = b""
        #: The run's status when every metric was last read on, and when.
        self._status = ""
        self._read_all = -math.inf
        self.state = self._load()

    # ---- state ------------------------------------------------------------------

    @property
    def metrics_path(self) -> str:
        return os.path.join(
            self.directory, f"events.out.tfevents.{self.state.generation:010d}.mlflow"
        )

    def _load(self) -> MirrorState:
        state = MirrorState()
        try:
            with open(os.path.join(self.directory, STATE_FILE), "rb") as file:
                raw = orjson.loads(file.read())
            state = MirrorState(
                generation=int(raw["generation"]),
                size=int(raw["size"]),
                cursors={
                    key: Cursor(
                        int(c["count"]),
                        _key(c.get("last")),
                        _key(c.get("latest")),
                    )
                    for key, c in raw["cursors"].items()
                },
                params={str(k): str(v) for k, v in raw.get("params", {}).items()},
                artifacts={str(k): int(v) for k, v in raw.get("artifacts", {}).items()},
                artifacts_seen=tuple(raw["artifacts_seen"]) if raw.get("artifacts_seen") else None,
                log_dir=raw.get("log_dir"),
            )
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("mlflow: mirror state of run %s unreadable (%s): reading it again",
                           self.run_id, error)  # fmt: skip
            state = MirrorState()
        self.state = state
        try:
            actual = os.path.getsize(self.metrics_path)
        except OSError:
            actual = 0
        if actual > state.size:
            with open(self.metrics_path, "r+b") as file:  # a crash after the append
                file.truncate(state.size)
        elif actual < state.size:
            self._restart()
        return self.state

    def _save(self) -> None:
        s = self.state
        raw = {
            "run_id": self.run_id,
            "generation": s.generation,
            "size": s.size,
            "cursors": {
                key: {"count": c.count, "last": c.last, "latest": c.latest}
                for key, c in s.cursors.items()
            },
            "params": s.params,
            "artifacts": s.artifacts,
            "artifacts_seen": s.artifacts_seen,
            "log_dir": s.log_dir,
        }
        data = orjson.dumps(raw)
        if data != self._saved:  # most passes change nothing: no write
            _write_atomically(os.path.join(self.directory, STATE_FILE), data)
            self._saved = data

    def _restart(self) -> None:
        """Drop the metrics file and read every metric again into a new generation."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.metrics_path)
        self.state.generation += 1
        self.state.size = 0
        self.state.cursors = {}

    # ---- syncing ----------------------------------------------------------------

    def sync(self, client: Any, run: Any) -> int:
        """Bring the copy up to date with ``run`` (an ``mlflow.entities.Run`` from
        ``search_runs``); return the number of new points. Raises what MLflow raises."""
        latest = {m.key: point_key(m) for m in run.data.to_proto().metrics}
        status = str(run.info.status)
        every = status != self._status or (
            status in ("RUNNING", "SCHEDULED")
            and time.monotonic() - self._read_all >= METRIC_RECHECK_SECONDS
        )
        try:
            added = self._sync_metrics(client, run, latest, every)
        except HistoryChangedError as why:
            logger.info("mlflow: run %s: %s; reading its metrics again", self.run_id, why)
            self._restart()
            added = self._sync_metrics(client, run, latest, every)
        if every:
            self._status, self._read_all = status, time.monotonic()
        self._sync_params(dict(run.data.params))
        self._sync_artifacts(client, run)
        self._save()
        return added

    def _sync_metrics(self, client: Any, run: Any, latest: dict[str, PointKey], every: bool) -> int:
        """Append the new points of the metrics whose latest point changed (``every``: of
        every metric)."""
        if self.state.size == 0:
            # First, so that the run is listed (and a failure counted) before any request.
            started = run.info.start_time or 0
            self._append([file_version_record(started / 1000.0)])
        cursors = self.state.cursors
        fetched: dict[str, list[Any]] = {}
        for key, point in sorted(latest.items()):
            cursor = cursors.get(key, Cursor())
            if cursor.latest == point and cursor.count and not every:
                continue
            fetched[key] = read_new_points(client, self.run_id, key, cursor)
        records: list[bytes] = []
        added = 0
        for key, points in fetched.items():
            if points:
                cursor = cursors.get(key, Cursor())
                rows = ((p.timestamp / 1000.0, int(p.step), float(p.value)) for p in points)
                records.extend(ScalarEncoder(key).records(rows, with_metadata=not cursor.count))
                added += len(points)
        self._append(records)
        for key, points in fetched.items():
            cursor = cursors.setdefault(key, Cursor())
            if points:
                cursor.count += len(points)
                cursor.last = point_key(points[-1])
            cursor.latest = latest[key]
        return added

    def _append(self, records: list[bytes]) -> None:
        if records:
            data = b"".join(records)
            with open(self.metrics_path, "ab") as file:
                file.write(data)
            self.state.size += len(data)

    def _sync_params(self, params: dict[str, str]) -> None:
        if params == self.state.params:
            return
        path = os.path.join(self.directory, HPARAMS_FILE)
        if not params:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        else:
            yaml: Any = importlib.import_module("yaml")  # MLflow's own dependency (no stubs)
            typed = {key: typed_param(value) for key, value in sorted(params.items())}
            text = yaml.safe_dump(typed, sort_keys=False, allow_unicode=True, width=1 << 20)
            _write_atomically(path, text.encode("utf-8"))
        self.state.params = dict(params)

    def _sync_artifacts(self, client: Any, run: Any) -> None:
        s = self.state
        seen = (str(run.info.status), int(run.info.end_time or 0))
        running = seen[0] in ("RUNNING", "SCHEDULED")
        due = s.artifacts_seen != seen or (
            running and time.monotonic() - s.artifacts_checked >= ARTIFACT_RECHECK_SECONDS
        )
        if due:
            found = find_event_artifacts(client.list_artifacts, self.run_id)
            for path, size in found.items():
                if s.artifacts.get(path) != size or not os.path.exists(self._local(path)):
                    self._download(client, run, path)
                    s.artifacts[path] = size
            for path in [path for path in s.artifacts if path not in found]:
                _remove(self._local(path))
                del s.artifacts[path]
            s.artifacts_seen = seen
            s.artifacts_checked = time.monotonic()
        tag = run.data.tags.get(LOG_DIR_TAG)
        s.log_dir = tag.strip() if tag and tag.strip() and not s.artifacts else None

    def _local(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) == 1:
            parts = [ROOT_ARTIFACTS, *parts]
        return os.path.join(self.directory, *parts)

    def _download(self, client: Any, run: Any, path: str) -> None:
        os.makedirs(self._scratch, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix="download-", dir=self._scratch)
        try:
            local = download_quietly(client, run, path, scratch)
            target = self._local(path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(local, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _key(value: object) -> PointKey | None:
    if not isinstance(value, list | tuple) or len(value) != 3:
        return None
    return (int(value[0]), int(value[1]), str(value[2]))


def _write_atomically(path: str, data: bytes) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)
