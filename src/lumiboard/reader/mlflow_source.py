"""MLflow runs as lumiboard runs: ``--logdir mlflow+URI`` (see :mod:`.mlflow_uri`).

Each MLflow run is mirrored into a directory under the lumiboard cache
(``~/.cache/lumiboard/mlflow/<source>/<experiment id>/<run id>``, see
:mod:`.mlflow_mirror`), which the reader then reads like any run: its metrics (every
point), its params as hyperparameters, the TensorBoard event files among its artifacts.
Runs are named ``<experiment>/<run name>`` (``~<id>`` added to a name taken by an older
run of the experiment; the run id when it has no name), their event-file directories
``<experiment>/<run name>/<artifact path>``. A run without event files in its artifacts
whose ``tensorboard.log_dir`` tag names a directory this machine can read shows that
directory as ``<experiment>/<run name>/tensorboard_logs[/<sub-directory>]``.

**Syncing.** Each listing (one per reload pass) starts a sync on a thread of its own,
unless one is running or the last one started less than :data:`MIN_INTERVAL_SECONDS` ago,
and waits for it at most :data:`FIRST_WAIT_SECONDS` the first time, then
:data:`WAIT_SECONDS`: a slow or unreachable server delays a pass, never stops it (MLflow's
client retries a failing request for minutes). A sync lists the experiments and their
runs (paged), then brings at most :data:`WORKERS` runs up to date at a time.

**Failures.** A server that cannot be reached (an HTTP server is probed at ``/health``
first, :data:`PROBE_TIMEOUT_SECONDS`) or fails to list runs is logged once (and once
more when it is back); the runs mirrored so far stay as they are, marked failed. A run
whose sync fails keeps what it had and is marked failed: ``/data/status`` counts it like
an unreadable event file (:mod:`.mlflow_runs`). Nothing here raises into the reload pass,
except ``ImportError`` when MLflow is not installed (a configuration error, as a URL
scheme without its fsspec backend).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import math
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from lumiboard.reader import mlflow_runs
from lumiboard.reader.discover import EventFile, Source, discover_runs
from lumiboard.reader.mlflow_mirror import RunMirror
from lumiboard.reader.mlflow_uri import is_http, parse_mlflow, run_page, shown
from lumiboard.writer.fs import is_remote

logger = logging.getLogger(__name__)

FIRST_WAIT_SECONDS = 120.0
WAIT_SECONDS = 10.0
MIN_INTERVAL_SECONDS = 2.0
#: Runs synced at the same time (requests in flight to the tracking server).
WORKERS = 4
#: Runs (and experiments) asked for per request.
SEARCH_PAGE = 1000
#: Experiment ids per ``search_runs`` request.
EXPERIMENTS_PER_SEARCH = 50
PROBE_TIMEOUT_SECONDS = 5.0
INDEX_FILE = "index.json"
#: What a run read from its ``tensorboard.log_dir`` tag is named under its MLflow run.
LOG_DIR_NAME = "tensorboard_logs"

#: (relative name, run directory, event files), as :mod:`.discover` lists a source.
Listing = list[tuple[str, str, tuple[EventFile, ...]]]


@dataclass(frozen=True)
class RunEntry:
    """An MLflow run as listed: its ids, its lumiboard name and its MLflow page."""

    run_id: str
    experiment_id: str
    name: str
    page: str | None


def list_mlflow(location: str, unlisted: list[str]) -> Listing:
    """The runs of an ``mlflow+...`` log directory (see the module's docstring); the
    location is added to ``unlisted`` when the tracking server could not be read."""
    if importlib.util.find_spec("mlflow") is None:
        where = location.split("?", maxsplit=1)[0]
        raise ImportError(f'reading {where!r} needs MLflow: pip install "lumiboard[mlflow]"')
    from lumiboard.store.cache import default_dir

    root = os.path.join(default_dir(), "mlflow", _digest(location))
    with _sources_lock:
        source = _sources.get((location, root))
        if source is None:
            source = _sources[(location, root)] = MlflowSource(location, root)
    return source.listing(unlisted)


_sources: dict[tuple[str, str], MlflowSource] = {}
_sources_lock = threading.Lock()


class MlflowSource:
    """One ``mlflow+...`` log directory and its mirrored runs."""

    def __init__(self, location: str, root: str) -> None:
        self.location = location
        self.where = parse_mlflow(location)
        self.root = root
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._started = -math.inf
        self._synced = False
        self._client: Any = None
        #: Why the last sync could not list runs (None: it could).
        self.down: str | None = None
        self._failed: set[str] = set()
        #: Points read from MLflow since this process started.
        self.points_read = 0
        self._entries: dict[str, RunEntry] = {}
        self._mirrors: dict[str, RunMirror] = {}
        self._load_index()

    # ---- listing ------------------------------------------------------------------

    def listing(self, unlisted: list[str]) -> Listing:
        thread = self._kick()
        if thread is not None:
            thread.join(WAIT_SECONDS if self._synced else FIRST_WAIT_SECONDS)
        if self.down is not None:
            unlisted.append(self.location)
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda entry: entry.name)
            failed = set(self._failed)
            log_dirs = {
                run_id: mirror.state.log_dir
                for run_id, mirror in self._mirrors.items()
                if mirror.state.log_dir
            }
        listing: Listing = []
        for entry in entries:
            broken = entry.run_id in failed or self.down is not None
            places = [(entry.name, self._directory(entry))]
            log_dir = log_dirs.get(entry.run_id)
            if log_dir is not None and _readable(log_dir):
                places.append((f"{entry.name}/{LOG_DIR_NAME}", log_dir))
            for name, place in places:
                try:
                    runs = discover_runs([Source(None, place)]).runs
                except (ImportError, ValueError) as error:  # a URL no backend reads
                    _report_once(("log_dir", place), "mlflow: cannot read %s: %s", place, error)
                    continue
                for relative, run in runs.items():
                    listing.append(
                        (name if relative == "." else f"{name}/{relative}", run.location, run.files)
                    )
                    mlflow_runs.publish(run.location, entry.page, broken)
        return listing

    def _kick(self) -> threading.Thread | None:
        """The sync to wait for: the one running, a new one, or none (too soon)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self._thread
            if time.monotonic() - self._started < MIN_INTERVAL_SECONDS:
                return None
            self._started = time.monotonic()
            self._thread = threading.Thread(target=self._sync, name="lumiboard-mlflow", daemon=True)
            self._thread.start()
            return self._thread

    # ---- syncing ------------------------------------------------------------------

    def _sync(self) -> None:
        try:
            client = self._connect()
            experiments = self._experiments(client)
            runs = self._runs(client, list(experiments))
        except Exception as error:
            self._report_down(error)
            return
        finally:
            self._synced = True
        if self.down is not None:
            logger.warning("mlflow: %s is readable again", shown(self.where.tracking_uri))
            self.down = None
            _reported.discard(("down", self.location))
        entries = self._name(runs, experiments)
        with ThreadPoolExecutor(WORKERS, thread_name_prefix="lumiboard-mlflow-run") as pool:
            added = sum(
                pool.map(lambda run: self._sync_run(client, entries[run.info.run_id], run), runs)
            )
        with self._lock:
            self.points_read += added
            gone = [run_id for run_id in self._entries if run_id not in entries]
            self._entries = entries
            for run_id in gone:
                self._mirrors.pop(run_id, None)
                self._failed.discard(run_id)
        for run_id in gone:
            self._drop(run_id)
        self._save_index()

    def _connect(self) -> Any:
        if is_http(self.where.tracking_uri):
            _probe(self.where.tracking_uri)
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(tracking_uri=self.where.tracking_uri)
        return self._client

    def _experiments(self, client: Any) -> dict[str, str]:
        """``{experiment id: name}`` of the experiments read."""
        if self.where.experiments:
            found = {}
            for name in self.where.experiments:
                experiment = client.get_experiment_by_name(name)
                if experiment is None or experiment.lifecycle_stage != "active":
                    _report_once(("experiment", self.location, name),
                                 "mlflow: %s has no experiment named %r",
                                 shown(self.where.tracking_uri), name)  # fmt: skip
                    continue
                found[str(experiment.experiment_id)] = str(experiment.name)
            return found
        found, token = {}, None
        while True:
            page = client.search_experiments(max_results=SEARCH_PAGE, page_token=token)
            found.update((str(e.experiment_id), str(e.name)) for e in page)
            token = page.token
            if not token:
                return found

    def _runs(self, client: Any, experiment_ids: list[str]) -> list[Any]:
        runs: list[Any] = []
        for start in range(0, len(experiment_ids), EXPERIMENTS_PER_SEARCH):
            ids, token = experiment_ids[start : start + EXPERIMENTS_PER_SEARCH], None
            while True:
                page = client.search_runs(ids, max_results=SEARCH_PAGE, page_token=token)
                runs.extend(page)
                token = page.token
                if not token:
                    break
        return runs

    def _name(self, runs: list[Any], experiments: dict[str, str]) -> dict[str, RunEntry]:
        """Names: ``<experiment>/<run name>``; a name an older run of the experiment has
        gets ``~<first 8 of the id>``."""
        entries: dict[str, RunEntry] = {}
        taken: set[str] = set()
        for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.run_id)):
            info = run.info
            experiment = experiments.get(str(info.experiment_id), "").strip("/")
            experiment = experiment or f"experiment {info.experiment_id}"
            label = (info.run_name or "").strip("/") or info.run_id
            name = f"{experiment}/{label}"
            if name in taken:
                name = f"{name}~{info.run_id[:8]}"
            taken.add(name)
            page = run_page(self.where.tracking_uri, str(info.experiment_id), info.run_id)
            entries[info.run_id] = RunEntry(info.run_id, str(info.experiment_id), name, page)
        return entries

    def _sync_run(self, client: Any, entry: RunEntry, run: Any) -> int:
        try:
            with self._lock:
                mirror = self._mirrors.get(entry.run_id)
            if mirror is None:
                mirror = RunMirror(self._directory(entry), entry.run_id, self._scratch)
                with self._lock:
                    self._mirrors[entry.run_id] = mirror
            added = mirror.sync(client, run)
        except Exception as error:
            with self._lock:
                self._failed.add(entry.run_id)
            _report_once(("run", self.location, entry.run_id),
                         "mlflow: run %s (%s) not synced: %s", entry.name, entry.run_id,
                         _describe(error))  # fmt: skip
            return 0
        with self._lock:
            self._failed.discard(entry.run_id)
        _reported.discard(("run", self.location, entry.run_id))
        return added

    def _report_down(self, error: Exception) -> None:
        self.down = _describe(error)
        with self._lock:
            self._failed.update(self._entries)
        _report_once(("down", self.location),
                     "mlflow: cannot read %s (%s); showing the runs read before, if any",
                     shown(self.where.tracking_uri), self.down)  # fmt: skip

    # ---- the mirror's files -------------------------------------------------------

    @property
    def _scratch(self) -> str:
        return os.path.join(self.root, ".downloads")

    def _directory(self, entry: RunEntry) -> str:
        return os.path.join(self.root, _safe(entry.experiment_id), _safe(entry.run_id))

    def _drop(self, run_id: str) -> None:
        """A run deleted in MLflow: its copy goes (the reader then drops the run)."""
        for experiment in _subdirectories(self.root):
            directory = os.path.join(self.root, experiment, _safe(run_id))
            if os.path.isdir(directory):
                mlflow_runs.forget(_tree(directory))
                shutil.rmtree(directory, ignore_errors=True)

    def _load_index(self) -> None:
        try:
            with open(os.path.join(self.root, INDEX_FILE), "rb") as file:
                raw = orjson.loads(file.read())
            entries = {
                str(run_id): RunEntry(
                    str(run_id), str(item["experiment_id"]), str(item["name"]), item.get("page")
                )
                for run_id, item in raw.items()
            }
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            logger.warning("mlflow: index of %s unreadable (%s): starting afresh", self.root, error)
            return
        for entry in entries.values():
            directory = self._directory(entry)
            if os.path.isdir(directory):
                self._entries[entry.run_id] = entry
                self._mirrors[entry.run_id] = RunMirror(directory, entry.run_id, self._scratch)

    def _save_index(self) -> None:
        with self._lock:
            raw = {
                run_id: {"experiment_id": e.experiment_id, "name": e.name, "page": e.page}
                for run_id, e in self._entries.items()
            }
        os.makedirs(self.root, exist_ok=True)
        path = os.path.join(self.root, INDEX_FILE)
        with open(f"{path}.tmp", "wb") as file:
            file.write(orjson.dumps(raw))
        os.replace(f"{path}.tmp", path)


def _probe(tracking_uri: str) -> None:
    """Fail fast (no retries) when an HTTP tracking server does not answer; a server that
    answers anything below 500 (even 404: no ``/health`` route) is up."""
    url = tracking_uri.split("?", maxsplit=1)[0].rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS):
            pass
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise ConnectionError(f"the server answers {error.code} at /health") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise ConnectionError(f"no answer ({reason})") from None


def _readable(log_dir: str) -> bool:
    return is_remote(log_dir) or os.path.isdir(log_dir)


def _digest(location: str) -> str:
    return hashlib.sha256(location.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _safe(identifier: str) -> str:
    text = re.sub(r"[^A-Za-z0-9_.-]", "_", identifier)
    return text if text not in ("", ".", "..") else f"_{text}"


def _subdirectories(root: str) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(root) if entry.is_dir()]
    except OSError:
        return []


def _tree(directory: str) -> Iterable[str]:
    for path, _, _ in os.walk(directory):
        yield path


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:300]}" if text else type(error).__name__


_reported: set[tuple[str, ...]] = set()


def _report_once(key: tuple[str, ...], message: str, *args: object) -> None:
    if key not in _reported:
        _reported.add(key)
        logger.warning(message, *args)
