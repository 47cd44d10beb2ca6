"""The hparams table: one row per session run, its hyperparameters and final metrics.

Follows TensorBoard's hparams plugin (``backend_context.py``,
``list_session_groups.py``):

- a **session** is a run holding ``_hparams_/session_start_info``;
- the **metrics** are those of the experiment configs (``_hparams_/experiment``,
  the union when there are several, as ``add_hparams`` writes one per trial);
  without a config, every scalar tag of a session run or of a run below it
  (``MetricName.group`` = the sub-directory, e.g. ``validation``);
- a metric's value for a session is the last point (highest step) of tag
  ``tag`` in run ``session/group``; NaN when that series does not exist.

One deliberate difference: a session at the log directory's root (run ``.``)
is the parent of every run when inferring metrics (TensorBoard finds none).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.data import (
    EXPERIMENT_TAG,
    PLUGIN_NAME,
    SESSION_START_INFO_TAG,
    parse_plugin_data,
)
from lumiboard.store.provider import Provider

#: (group, tag) of a metric, as ``MetricName``.
Metric = tuple[str, str]


def hparams_frame(provider: Provider, runs: Sequence[str]) -> pd.DataFrame:
    """One row per session run (sorted by name): ``run``, each hparam, each metric.

    ``frame.attrs["hparams"]`` and ``frame.attrs["metrics"]`` name the columns
    of each kind. An hparam named ``run`` gets the column ``"run (hparam)"``, and a
    metric named like an hparam ``"<name> (metric)"``.
    """
    sessions, experiments = _read_plugin_data(provider, runs)
    hparam_names = _hparam_names(sessions, experiments)
    metrics = (
        _metric_names(experiments) if experiments else _infer_metrics(provider, runs, sessions)
    )
    columns: dict[str, Any] = {"run": list(sessions)}
    hparam_columns = [f"{name} (hparam)" if name == "run" else name for name in hparam_names]
    for name, label in zip(hparam_names, hparam_columns, strict=True):
        columns[label] = [
            _plain(info.hparams[name]) if name in info.hparams else None
            for info in sessions.values()
        ]
    metric_columns = []
    for group, tag in metrics:
        label = f"{group}/{tag}" if group else tag
        if label in columns:
            label = f"{label} (metric)"
        metric_columns.append(label)
        columns[label] = np.asarray(
            [_last_value(provider, session, group, tag) for session in sessions], dtype=np.float64
        )
    frame = pd.DataFrame(columns)
    frame.attrs["hparams"] = hparam_columns
    frame.attrs["metrics"] = metric_columns
    return frame


def _read_plugin_data(
    provider: Provider, runs: Sequence[str]
) -> tuple[dict[str, hparams_pb2.SessionStartInfo], list[hparams_pb2.Experiment]]:
    sessions: dict[str, hparams_pb2.SessionStartInfo] = {}
    experiments: list[hparams_pb2.Experiment] = []
    for run in sorted(runs):
        data = provider.run(run)
        with data.lock:
            contents = {
                tag: info.plugin_content
                for tag, info in data.tags.items()
                if info.plugin_name == PLUGIN_NAME
                and tag in (SESSION_START_INFO_TAG, EXPERIMENT_TAG)
            }
        for tag, content in contents.items():
            try:
                parsed = parse_plugin_data(content)
            except (DecodeError, ValueError):
                continue  # TensorBoard skips what it cannot parse, too
            if tag == SESSION_START_INFO_TAG and parsed.HasField("session_start_info"):
                sessions[run] = parsed.session_start_info
            elif tag == EXPERIMENT_TAG and parsed.HasField("experiment"):
                experiments.append(parsed.experiment)
    return sessions, experiments


def _hparam_names(
    sessions: dict[str, hparams_pb2.SessionStartInfo], experiments: list[hparams_pb2.Experiment]
) -> list[str]:
    # The configs' order first (as declared), then any other hparam a session has.
    names = [info.name for experiment in experiments for info in experiment.hparam_infos]
    names += sorted({name for info in sessions.values() for name in info.hparams})
    return list(dict.fromkeys(names))


def _metric_names(experiments: list[hparams_pb2.Experiment]) -> list[Metric]:
    names = [
        (info.name.group, info.name.tag)
        for experiment in experiments
        for info in experiment.metric_infos
    ]
    return list(dict.fromkeys(names))


def _infer_metrics(
    provider: Provider, runs: Sequence[str], sessions: dict[str, Any]
) -> list[Metric]:
    """Every scalar tag of a session run or a run below it (TensorBoard's
    ``_compute_metric_names``: the group is the path below the nearest session)."""
    found: set[Metric] = set()
    for run, tags in provider.list_tags("scalars", list(runs)).items():
        session = _nearest_session(run, sessions)
        if session is None:
            continue
        group = "" if run == session else run if session == "." else run[len(session) + 1 :]
        found.update((group, tag) for tag in tags)
    return sorted(found, key=lambda metric: (metric[1], metric[0]))  # (tag, group), as TensorBoard


def _nearest_session(run: str, sessions: dict[str, Any]) -> str | None:
    path = run
    while path:
        if path in sessions:
            return path
        path = posixpath.dirname(path)
    return "." if "." in sessions else None


def _last_value(provider: Provider, session: str, group: str, tag: str) -> float:
    run = posixpath.normpath(posixpath.join(session, group))
    try:
        data = provider.run(run)
    except LookupError:
        return float("nan")
    series = data.scalars.get(tag)
    last = series.last() if series is not None else None
    return last[2] if last is not None else float("nan")


def _plain(value: struct_pb2.Value) -> Any:
    """An hparam value as Python: float, str or bool (None for anything else)."""
    kind = value.WhichOneof("kind")
    if kind in ("number_value", "string_value", "bool_value"):
        return getattr(value, kind)
    return None
