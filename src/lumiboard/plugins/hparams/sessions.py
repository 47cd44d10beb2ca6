"""The sweep: every session (trial) of a log directory, its hparams, status and metrics.

Follows TensorBoard's hparams backend (``backend_context.py``):

- a **session** is a run holding ``_hparams_/session_start_info`` (written by
  ``hp.hparams``, or by torch's ``add_hparams`` into a sub-run named by time);
  its status comes from ``_hparams_/session_end_info`` (Unknown without one);
- the **experiment** is the declared ``_hparams_/experiment`` (several, as
  ``add_hparams`` writes one per trial, are merged), or, without one, inferred:
  a type per hparam from its values (mixed types become strings), a discrete
  domain for strings and bools, an interval for numbers; metrics are the
  scalar tags of session runs and the runs below them (``MetricName.group`` =
  the sub-directory), as ``_compute_metric_names``;
- a metric's value is the last point (highest step) of tag ``tag`` in run
  ``session/group``;
- a run with no session start of its own is a session too when its framework's logger
  kept hparams elsewhere (Lightning's ``hparams.yaml``, transformers' ``args`` text):
  :mod:`lumiboard.plugins.hparams.framework`.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.data import (
    EXPERIMENT_TAG,
    PLUGIN_NAME,
    SESSION_END_INFO_TAG,
    SESSION_START_INFO_TAG,
    parse_plugin_data,
)
from lumiboard.plugins.hparams.framework import RunFiles, framework_starts
from lumiboard.store.provider import Provider

#: A plain hparam value (None for a value of no supported kind).
HParamValue = float | str | bool
#: (group, tag) of a metric, as ``MetricName``.
MetricKey = tuple[str, str]

STATUS_NAMES: dict[int, str] = {
    hparams_pb2.STATUS_UNKNOWN: "unknown",
    hparams_pb2.STATUS_SUCCESS: "success",
    hparams_pb2.STATUS_FAILURE: "failure",
    hparams_pb2.STATUS_RUNNING: "running",
}


@dataclass(frozen=True)
class MetricValue:
    """A metric of one session: its last point, and the extremes of the series."""

    value: float
    step: int
    wall_time: float
    #: The lowest and highest finite values (NaN when the series has none).
    min: float
    max: float


@dataclass(frozen=True)
class Session:
    """One trial: a run with a session start."""

    run: str
    #: ``SessionStartInfo.group_name``, or the run when empty (TensorBoard's group).
    group: str
    hparams: dict[str, HParamValue]
    status: int
    start_time: float
    end_time: float | None
    model_uri: str
    monitor_url: str
    metrics: dict[MetricKey, MetricValue]


@dataclass(frozen=True)
class Sweep:
    """The experiment (declared or inferred) and its sessions, sorted by run."""

    experiment: hparams_pb2.Experiment
    #: Whether ``experiment`` was declared (``_hparams_/experiment``) rather than inferred.
    declared: bool
    sessions: list[Session]

    @property
    def metric_keys(self) -> list[MetricKey]:
        return [(info.name.group, info.name.tag) for info in self.experiment.metric_infos]


def read_sweep(provider: Provider, files: RunFiles | None = None) -> Sweep:
    """Every session of the provider's runs, with the experiment they belong to; with
    ``files``, runs with an ``hparams.yaml`` beside their event files are sessions too."""
    runs = provider.list_runs()
    starts, ends, experiments = _read_plugin_data(provider)
    starts.update(framework_starts(provider, runs, starts, files))
    if experiments:
        experiment = merge_experiments(experiments)
        declared = True
    else:
        experiment = hparams_pb2.Experiment(hparam_infos=infer_hparam_infos(starts.values()))
        if experiment.hparam_infos:
            # Here, not at the top: lumiboard.experiment imports pandas, which a server
            # pays for only when a run has hparams but no declared experiment.
            from lumiboard.experiment.sessions import _infer_metrics

            for group, tag in _infer_metrics(provider, runs, starts):
                experiment.metric_infos.add(name=hparams_pb2.MetricName(group=group, tag=tag))
        declared = False
    metrics = [(info.name.group, info.name.tag) for info in experiment.metric_infos]
    sessions = []
    for run in sorted(starts):
        start, end = starts[run], ends.get(run)
        sessions.append(
            Session(
                run=run,
                group=start.group_name or run,
                hparams={
                    name: plain
                    for name, value in start.hparams.items()
                    if (plain := plain_value(value)) is not None
                },
                status=end.status if end is not None else hparams_pb2.STATUS_UNKNOWN,
                start_time=start.start_time_secs,
                end_time=end.end_time_secs if end is not None else None,
                model_uri=start.model_uri,
                monitor_url=start.monitor_url,
                metrics=_read_metrics(provider, run, metrics),
            )
        )
    return Sweep(experiment=experiment, declared=declared, sessions=sessions)


def _read_plugin_data(
    provider: Provider,
) -> tuple[
    dict[str, hparams_pb2.SessionStartInfo],
    dict[str, hparams_pb2.SessionEndInfo],
    list[hparams_pb2.Experiment],
]:
    starts: dict[str, hparams_pb2.SessionStartInfo] = {}
    ends: dict[str, hparams_pb2.SessionEndInfo] = {}
    experiments: list[hparams_pb2.Experiment] = []
    listing = provider.list_tags(plugin=PLUGIN_NAME)
    for run in sorted(listing):
        for tag, info in listing[run].items():
            try:
                parsed = parse_plugin_data(info.plugin_content)
            except (DecodeError, ValueError):
                continue  # TensorBoard skips what it cannot parse, too
            if tag == SESSION_START_INFO_TAG and parsed.HasField("session_start_info"):
                starts[run] = parsed.session_start_info
            elif tag == SESSION_END_INFO_TAG and parsed.HasField("session_end_info"):
                ends[run] = parsed.session_end_info
            elif tag == EXPERIMENT_TAG and parsed.HasField("experiment"):
                experiments.append(parsed.experiment)
    return starts, ends, experiments


def merge_experiments(experiments: list[hparams_pb2.Experiment]) -> hparams_pb2.Experiment:
    """One experiment from several (TensorBoard takes the first it meets; ``add_hparams``
    writes one per trial): hparams and metrics in first-seen order, discrete domains joined."""
    merged = hparams_pb2.Experiment()
    merged.CopyFrom(experiments[0])
    hparams = {info.name: info for info in merged.hparam_infos}
    metrics = {(info.name.group, info.name.tag) for info in merged.metric_infos}
    for experiment in experiments[1:]:
        for info in experiment.hparam_infos:
            known = hparams.get(info.name)
            if known is None:
                hparams[info.name] = merged.hparam_infos.add()
                hparams[info.name].CopyFrom(info)
            elif known.HasField("domain_discrete") and info.HasField("domain_discrete"):
                present = {_key(value) for value in known.domain_discrete.values}
                for value in info.domain_discrete.values:
                    if _key(value) not in present:
                        known.domain_discrete.values.add().CopyFrom(value)
                        present.add(_key(value))
        for metric in experiment.metric_infos:
            if (metric.name.group, metric.name.tag) not in metrics:
                merged.metric_infos.add().CopyFrom(metric)
                metrics.add((metric.name.group, metric.name.tag))
    return merged


def _key(value: struct_pb2.Value) -> tuple[str, object]:
    kind = value.WhichOneof("kind") or ""
    return kind, getattr(value, kind) if kind else None


def infer_hparam_infos(
    starts: Iterable[hparams_pb2.SessionStartInfo],
) -> list[hparams_pb2.HParamInfo]:
    """HParam infos from observed values, as TensorBoard's ``_compute_hparam_infos``."""
    values: dict[str, list[struct_pb2.Value]] = {}
    for start in starts:
        for name, value in start.hparams.items():
            values.setdefault(name, []).append(value)
    infos = [info_from_values(name, found) for name, found in sorted(values.items())]
    return [info for info in infos if info is not None]


def info_from_values(name: str, values: list[struct_pb2.Value]) -> hparams_pb2.HParamInfo | None:
    """The type and domain of one hparam from its values; None when none is usable."""
    data_type: hparams_pb2.HParamDataType = hparams_pb2.DATA_TYPE_UNSET
    for value in values:
        kind = _value_type(value)
        if kind == hparams_pb2.DATA_TYPE_UNSET:
            continue
        if data_type == hparams_pb2.DATA_TYPE_UNSET:
            data_type = kind
        elif data_type != kind:
            data_type = hparams_pb2.DATA_TYPE_STRING
    if data_type == hparams_pb2.DATA_TYPE_UNSET:
        return None
    info = hparams_pb2.HParamInfo(name=name, type=data_type)
    if data_type == hparams_pb2.DATA_TYPE_STRING:
        strings = sorted(
            {
                value_text(value)
                for value in values
                if _value_type(value) != hparams_pb2.DATA_TYPE_UNSET and _serializable(value)
            }
        )
        info.domain_discrete.extend(strings)
        info.differs = len(strings) > 1
    elif data_type == hparams_pb2.DATA_TYPE_BOOL:
        flags = sorted({value.bool_value for value in values})
        info.domain_discrete.extend(flags)
        info.differs = len(flags) > 1
    else:
        numbers = [value.number_value for value in values if value.HasField("number_value")]
        finite = sorted(number for number in numbers if math.isfinite(number))
        if finite:
            info.domain_interval.min_value = finite[0]
            info.domain_interval.max_value = finite[-1]
        info.differs = len(set(finite)) > 1 or 0 < len(finite) < len(numbers)
    return info


def _value_type(value: struct_pb2.Value) -> hparams_pb2.HParamDataType:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return hparams_pb2.DATA_TYPE_FLOAT64
    if kind == "string_value":
        return hparams_pb2.DATA_TYPE_STRING
    if kind == "bool_value":
        return hparams_pb2.DATA_TYPE_BOOL
    return hparams_pb2.DATA_TYPE_UNSET


def _serializable(value: struct_pb2.Value) -> bool:
    # JSON has no NaN or Infinity: TensorBoard leaves such values out (json_format_compat).
    return not value.HasField("number_value") or math.isfinite(value.number_value)


def value_text(value: struct_pb2.Value) -> str:
    """A value as TensorBoard writes it in an inferred string domain (protobuf JSON)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    return repr(value.number_value)


def plain_value(value: struct_pb2.Value) -> HParamValue | None:
    """An hparam value as Python: float, str or bool (None for other kinds)."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        return float(value.number_value)
    if kind == "string_value":
        return str(value.string_value)
    if kind == "bool_value":
        return bool(value.bool_value)
    return None


def metric_run(session: str, group: str) -> str:
    """The run holding a session's metric of ``group`` (TensorBoard's
    ``run_tag_from_session_and_metric``)."""
    return posixpath.normpath(posixpath.join(session, group)) if group else session


def _read_metrics(
    provider: Provider, session: str, metrics: list[MetricKey]
) -> dict[MetricKey, MetricValue]:
    found: dict[MetricKey, MetricValue] = {}
    for group, tag in metrics:
        try:
            data = provider.run(metric_run(session, group))
        except LookupError:
            continue
        series = data.scalars.get(tag)
        if series is None:
            continue
        step, wall_time, value = series.columns()
        if not len(step):
            continue
        finite = value[np.isfinite(value)]
        # The value written last (TensorBoard's read_last_scalars), not the one of the
        # highest step: a run resumed from a checkpoint writes lower steps again, later.
        last = len(wall_time) - 1 - int(np.argmax(wall_time[::-1]))
        found[(group, tag)] = MetricValue(
            value=float(value[last]),
            step=int(step[last]),
            wall_time=float(wall_time[last]),
            min=float(finite.min()) if len(finite) else math.nan,
            max=float(finite.max()) if len(finite) else math.nan,
        )
    return found


def status_name(status: int) -> str:
    """``unknown``, ``success``, ``failure`` or ``running``."""
    return STATUS_NAMES.get(status, "unknown")


def hparam_columns(sweep: Sweep) -> list[hparams_pb2.HParamInfo]:
    """The table's hparam columns: the experiment's, then any other hparam a session has
    (inferred from its values), each with ``differs`` set from the observed values."""
    values: dict[str, list[struct_pb2.Value]] = {}
    for session in sweep.sessions:
        for name, plain in session.hparams.items():
            values.setdefault(name, []).append(_struct(plain))
    columns = []
    for declared in sweep.experiment.hparam_infos:
        info = hparams_pb2.HParamInfo()
        info.CopyFrom(declared)
        observed = info_from_values(info.name, values.get(info.name, []))
        if observed is not None:
            info.differs = observed.differs
            if info.type == hparams_pb2.DATA_TYPE_UNSET:
                info.type = observed.type
            elif info.type != observed.type:
                # Declarations disagree with the values (torch's add_hparams declares each
                # call's own types): the column takes the values' type and domain.
                info.type = observed.type
                info.ClearField("domain_discrete")
                info.ClearField("domain_interval")
            if info.WhichOneof("domain") is None:
                _copy_domain(observed, info)
        columns.append(info)
    declared_names = {info.name for info in columns}
    for name in sorted(values):
        if name not in declared_names:
            inferred = info_from_values(name, values[name])
            if inferred is not None:
                columns.append(inferred)
    return columns


def _copy_domain(source: hparams_pb2.HParamInfo, target: hparams_pb2.HParamInfo) -> None:
    if source.HasField("domain_discrete"):
        target.domain_discrete.CopyFrom(source.domain_discrete)
    elif source.HasField("domain_interval"):
        target.domain_interval.CopyFrom(source.domain_interval)


def hparam_text(value: HParamValue) -> str:
    """An hparam value as it appears in an inferred string domain."""
    return value_text(_struct(value))


def _struct(value: HParamValue) -> struct_pb2.Value:
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value)
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value)
    return struct_pb2.Value(number_value=value)


def json_number(value: float) -> float | str:
    """A float for JSON: non-finite ones as TensorBoard's strings ``NaN``, ``Infinity``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def struct_json(value: struct_pb2.Value) -> object:
    """A ``google.protobuf.Value`` as protobuf's JSON mapping writes it."""
    plain = plain_value(value)
    return json_number(plain) if isinstance(plain, float) else plain


def hparam_json(values: Mapping[str, HParamValue]) -> dict[str, object]:
    """Session hparams as JSON, leaving out NaN and infinities (as TensorBoard does)."""
    return {
        name: value
        for name, value in values.items()
        if not isinstance(value, float) or math.isfinite(value)
    }
