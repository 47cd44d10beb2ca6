"""lumiboard -> MLflow: each run of a log directory becomes an MLflow run.

``lumiboard mlflow-export LOGDIR --tracking-uri URI`` and :meth:`Experiment.to_mlflow`
send, per lumiboard run:

- every scalar point as a metric point (same step; the wall time in milliseconds, MLflow's
  unit), in ``log_batch`` requests within MLflow's limits (``mlflow.utils.validation``:
  1000 metrics, 100 params or tags, 1000 entities and about 1 MB per request);
- its hyperparameters (the hparams session, or a framework's ``hparams.yaml`` / ``args``)
  as params; a value longer than MLflow allows is cut, says so at its end, and is named in
  the tag ``lumiboard.truncated_params``;
- its event files as artifacts under ``tensorboard_logs/``;
- the tags ``lumiboard.run`` (how the run is found again), ``tensorboard.log_dir`` (the
  run's directory) and, given a ``lumiboard_url``, ``lumiboard.url`` (the run in the app).

Idempotent: the MLflow run is found again by its ``lumiboard.run`` tag; a metric gets only
the points after its latest one there (MLflow keeps each metric's latest point with the
run: the highest step, then time) or written after the last export ended (the tag
``lumiboard.sent_until``: a run resumed from a checkpoint writes lower steps again), params
already set are left alone (MLflow refuses to
change one: a different value is counted and logged), an event file is uploaded again only
when its size differs. A tag MLflow does not take as a metric name (characters other than
letters, digits, ``_ - . / :`` and spaces, or a path that resolves elsewhere) is sent with
``_`` for each character it refuses.
"""

from __future__ import annotations

import logging
import os
import posixpath
import re
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import numpy as np

from lumiboard.reader.discover import EventFile, discover_runs
from lumiboard.reader.reload import Reloader
from lumiboard.store.provider import Provider
from lumiboard.writer import fs

logger = logging.getLogger(__name__)

RUN_TAG = "lumiboard.run"
URL_TAG = "lumiboard.url"
#: The latest wall time (ms) of the run's points when its last export ended.
SENT_TAG = "lumiboard.sent_until"
LOG_DIR_TAG = "tensorboard.log_dir"
TRUNCATED_TAG = "lumiboard.truncated_params"
ARTIFACT_PATH = "tensorboard_logs"
#: Runs exported at the same time (requests in flight to the tracking server).
WORKERS = 4
#: A batch's JSON stays under MLflow's request limit (1e6 bytes) with this margin.
_REQUEST_BYTES = 900_000
_NAME = re.compile(r"[^/\w.\- :]")
_INSTALL = 'exporting to MLflow needs MLflow: pip install "lumiboard[mlflow]"'


@dataclass(frozen=True)
class RunExport:
    """What one run sent."""

    run: str
    run_id: str
    created: bool
    points: int
    params: int
    artifacts: int


@dataclass(frozen=True)
class MlflowExport:
    """What an export sent, run by run."""

    tracking_uri: str
    experiment: str
    experiment_id: str
    runs: tuple[RunExport, ...]
    #: Params cut to MLflow's length limit, and params MLflow already had with another value.
    truncated_params: int = 0
    conflicting_params: int = 0
    #: tag -> the metric name it was sent as, where MLflow refused the tag itself.
    renamed: dict[str, str] = field(default_factory=dict)

    @property
    def points(self) -> int:
        return sum(run.points for run in self.runs)

    @property
    def params(self) -> int:
        return sum(run.params for run in self.runs)

    @property
    def artifacts(self) -> int:
        return sum(run.artifacts for run in self.runs)

    @property
    def created(self) -> int:
        return sum(run.created for run in self.runs)

    def __str__(self) -> str:
        return (
            f"{len(self.runs)} runs ({self.created} new) to experiment {self.experiment!r} "
            f"(id {self.experiment_id}): {self.points} points, {self.params} params, "
            f"{self.artifacts} event files sent"
        )


@dataclass(frozen=True)
class _Limits:
    metrics: int = 1000
    params_tags: int = 100
    entities: int = 1000
    param_value: int = 6000
    tag_value: int = 8000
    key: int = 250


def export_runs(
    reloader: Reloader,
    provider: Provider,
    tracking_uri: str,
    experiment: str | None = None,
    *,
    runs: Sequence[str] | None = None,
    lumiboard_url: str | None = None,
) -> MlflowExport:
    """Send ``runs`` (default: all) of a loaded log directory to MLflow (see the module)."""
    try:
        from mlflow import MlflowClient
    except ImportError as error:
        raise ImportError(_INSTALL) from error
    from lumiboard.plugins.hparams.framework import RunFiles
    from lumiboard.plugins.hparams.sessions import read_sweep

    client = MlflowClient(tracking_uri=tracking_uri)
    name = experiment or _default_experiment(reloader)
    found = client.get_experiment_by_name(name)
    if found is not None and found.lifecycle_stage != "active":
        raise ValueError(f"the MLflow experiment {name!r} is deleted: restore it or pick another")
    experiment_id = str(found.experiment_id if found else client.create_experiment(name))
    existing = _existing_runs(client, experiment_id)
    roots = tuple(source.location for source in reloader.sources)
    sweep = read_sweep(provider, RunFiles(reloader.location, roots))
    hparams = {session.run: session.hparams for session in sweep.sessions}
    listed = discover_runs(reloader.sources).runs
    names = sorted(reloader.runs) if runs is None else list(runs)
    job = _Job(client, experiment_id, provider, reloader, hparams, listed, lumiboard_url, _limits())
    with ThreadPoolExecutor(WORKERS, thread_name_prefix="lumiboard-mlflow-export") as pool:
        done = list(pool.map(lambda run: job.export(run, existing.get(run)), names))
    return MlflowExport(
        tracking_uri, name, experiment_id, tuple(done), job.truncated, job.conflicting, job.renamed
    )


class _Job:
    """One export: what every run shares, and the counts they add to."""

    def __init__(
        self,
        client: Any,
        experiment_id: str,
        provider: Provider,
        reloader: Reloader,
        hparams: dict[str, dict[str, float | str | bool]],
        listed: dict[str, Any],
        lumiboard_url: str | None,
        limits: _Limits,
    ) -> None:
        self.client = client
        self.experiment_id = experiment_id
        self.provider = provider
        self.reloader = reloader
        self.hparams = hparams
        self.listed = listed
        self.lumiboard_url = lumiboard_url
        self.limits = limits
        self.truncated = 0
        self.conflicting = 0
        self.renamed: dict[str, str] = {}

    def export(self, name: str, mlflow_run: Any) -> RunExport:
        from mlflow.entities import Param, RunTag

        data = self.provider.run(name)
        tags = {RUN_TAG: name, LOG_DIR_TAG: self.reloader.location(name) or ""}
        if self.lumiboard_url:
            separator = "&" if "?" in self.lumiboard_url else "?"
            tags[URL_TAG] = f"{self.lumiboard_url}{separator}runs={quote(name, safe='')}"
        tags = {key: value[: self.limits.tag_value] for key, value in tags.items() if value}
        created = mlflow_run is None
        if mlflow_run is None:
            start = round((data.start_time or 0.0) * 1000)
            mlflow_run = self.client.create_run(
                self.experiment_id,
                start_time=start or None,
                tags=tags,
                run_name=name[: self.limits.key],
            )
        run_id = mlflow_run.info.run_id
        known = mlflow_run.data
        new_tags = [RunTag(k, v) for k, v in tags.items() if known.tags.get(k) != v]
        params, truncated = self._params(name, dict(known.params))
        if truncated:
            names = ",".join(truncated)[: self.limits.tag_value]
            new_tags.append(RunTag(TRUNCATED_TAG, names))
        latest = {m.key: (m.step, m.timestamp) for m in known.to_proto().metrics}
        sent_until = _integer(known.tags.get(SENT_TAG))
        metrics, last_time, until = self._metrics(name, latest, sent_until)
        self._send(run_id, metrics, [Param(k, v) for k, v in params.items()], new_tags)
        if until != sent_until:  # after the points: an export cut short sends them again
            self.client.set_tag(run_id, SENT_TAG, str(until))
        artifacts = self._artifacts(name, run_id)
        if created or metrics:
            end = max(last_time, round((data.start_time or 0.0) * 1000))
            self.client.set_terminated(run_id, "FINISHED", end_time=end or None)
        return RunExport(name, run_id, created, len(metrics), len(params), artifacts)

    def _params(self, name: str, known: dict[str, str]) -> tuple[dict[str, str], list[str]]:
        limit = self.limits.param_value
        new: dict[str, str] = {}
        truncated = []
        for key, value in self.hparams.get(name, {}).items():
            text = _param_text(value)
            cut = len(text) > limit
            if cut:
                note = f" [cut by lumiboard from {len(text)} characters]"
                text = text[: limit - len(note)] + note
            mlflow_key = _mlflow_name(key, self.limits.key)
            if mlflow_key in known:
                if known[mlflow_key] != text:
                    self.conflicting += 1
                    logger.warning("mlflow-export: run %s: param %r is %r in MLflow, not %r; "
                                   "left as it is", name, mlflow_key, known[mlflow_key][:80],
                                   text[:80])  # fmt: skip
                continue
            new[mlflow_key] = text
            if cut:
                truncated.append(mlflow_key)
        if truncated:
            self.truncated += len(truncated)
            logger.warning("mlflow-export: run %s: params %s cut to %d characters",
                           name, ", ".join(truncated), limit)  # fmt: skip
        return new, truncated

    def _metrics(
        self, name: str, latest: dict[str, tuple[int, int]], sent_until: int | None
    ) -> tuple[list[Any], int, int]:
        """The points MLflow does not have yet, the last wall time (ms) among them, and
        the last wall time of every point of the run.

        New: after the metric's latest point in MLflow (by step, then time), or written
        after the last export ended (``sent_until``): a run resumed from a checkpoint
        writes steps below the latest one again. A point sent twice (an export cut short)
        is stored once by MLflow's SQL stores ((key, time, step, value) is their key).
        """
        from mlflow.entities import Metric

        out: list[Any] = []
        last_time = until = 0
        taken: dict[str, str] = {}
        for tag in sorted(self.provider.run(name).scalars):
            key = _mlflow_name(tag, self.limits.key)
            while key in taken.values():
                key = f"{key}_"[-self.limits.key :]
            taken[tag] = key
            if key != tag:
                self.renamed[tag] = key
            columns = self.provider.read_scalars(name, tag)
            steps = columns.step.astype(np.int64)
            times = np.clip(np.round(columns.wall_time * 1000.0), 0, None).astype(np.int64)
            values = columns.value.astype(np.float64)
            until = max(until, int(times.max(initial=0)))
            keep = np.ones(len(steps), dtype=bool)
            if key in latest:
                step, time = latest[key]
                keep = (steps > step) | ((steps == step) & (times > time))
                if sent_until is not None:
                    keep |= times > sent_until
            # MLflow stores a point once: (key, timestamp, step, value) is its key.
            seen: set[tuple[int, int, bytes]] = set()
            for index in np.flatnonzero(keep):
                point = (int(steps[index]), int(times[index]), values[index].tobytes())
                if point in seen:
                    continue
                seen.add(point)
                out.append(Metric(key, float(values[index]), point[1], point[0]))
                last_time = max(last_time, point[1])
        return out, last_time, until

    def _send(self, run_id: str, metrics: list[Any], params: list[Any], tags: list[Any]) -> None:
        limits = self.limits
        per_metric = max((len(m.key) for m in metrics), default=0) + 120  # JSON, generously
        metric_chunk = max(1, min(limits.metrics, limits.entities, _REQUEST_BYTES // per_metric))
        rest = [("param", p) for p in params] + [("tag", t) for t in tags]
        for start in range(0, len(rest), limits.params_tags):
            chunk = rest[start : start + limits.params_tags]
            self.client.log_batch(
                run_id,
                params=[item for kind, item in chunk if kind == "param"],
                tags=[item for kind, item in chunk if kind == "tag"],
            )
        for start in range(0, len(metrics), metric_chunk):
            self.client.log_batch(run_id, metrics=metrics[start : start + metric_chunk])

    def _artifacts(self, name: str, run_id: str) -> int:
        listed = self.listed.get(name)
        if listed is None:
            return 0
        there = {
            posixpath.basename(str(info.path)): int(info.file_size or 0)
            for info in self.client.list_artifacts(run_id, ARTIFACT_PATH)
            if not info.is_dir
        }
        sent = 0
        for event_file in listed.files:
            base = posixpath.basename(event_file.path.replace("\\", "/"))
            if there.get(base) == event_file.size:
                continue
            self._upload(run_id, event_file, base)
            sent += 1
        return sent

    def _upload(self, run_id: str, event_file: EventFile, base: str) -> None:
        if not fs.is_remote(event_file.path):
            self.client.log_artifact(run_id, event_file.path, ARTIFACT_PATH)
            return
        with tempfile.TemporaryDirectory(prefix="lumiboard-mlflow-") as scratch:
            local = os.path.join(scratch, base)
            remote, path = fs.filesystem(event_file.path)
            remote.get_file(path, local)
            self.client.log_artifact(run_id, local, ARTIFACT_PATH)


def _existing_runs(client: Any, experiment_id: str) -> dict[str, Any]:
    """``{lumiboard run: MLflow run}`` of the experiment's active runs with the tag."""
    found: dict[str, Any] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        for run in page:
            name = run.data.tags.get(RUN_TAG)
            if name is not None and name not in found:
                found[name] = run
        token = page.token
        if not token:
            return found


def _default_experiment(reloader: Reloader) -> str:
    location = reloader.sources[0].location.rstrip("/\\")
    base = re.split(r"[\\/]", location)[-1] if location else ""
    return base or "lumiboard"


def _integer(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None


def _param_text(value: float | str | bool) -> str:
    if isinstance(value, bool | str):
        return str(value)
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def _mlflow_name(name: str, limit: int) -> str:
    """``name`` as MLflow takes a metric or param name: refused characters become ``_``,
    and the path it is normalized (no empty, ``.`` or ``..`` part, no leading ``/``)."""
    text = _NAME.sub("_", name)
    parts = [part if part != ".." else "__" for part in text.split("/") if part not in ("", ".")]
    return ("/".join(parts) or "_")[:limit]


def _limits() -> _Limits:
    """MLflow's own limits when it says them (they differ between versions), else 3.x's."""
    try:
        from mlflow.utils import validation as v
    except ImportError:
        return _Limits()
    default = _Limits()
    return _Limits(
        metrics=int(getattr(v, "MAX_METRICS_PER_BATCH", default.metrics)),
        params_tags=int(getattr(v, "MAX_PARAMS_TAGS_PER_BATCH", default.params_tags)),
        entities=int(getattr(v, "MAX_ENTITIES_PER_BATCH", default.entities)),
        param_value=int(getattr(v, "MAX_PARAM_VAL_LENGTH", default.param_value)),
        tag_value=int(getattr(v, "MAX_TAG_VAL_LENGTH", default.tag_value)),
        key=int(getattr(v, "MAX_ENTITY_KEY_LENGTH", default.key)),
    )
