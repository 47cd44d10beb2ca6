"""Encoding of hyperparameter sessions (plugin ``hparams``).

Three summaries, each a value with ``HParamsPluginData`` metadata and an empty
float tensor (TensorBoard's ``NULL_TENSOR``): the experiment (domains and
metrics), a session's start (its hparam values) and its end (status).
"""

from __future__ import annotations

import hashlib
import json
import numbers
import time
from collections.abc import Mapping, Sequence

import numpy as np

from lumiboard.format.proto import hparams_pb2, summary_pb2
from lumiboard.format.values import DataClass, make_metadata, tensor_value

PLUGIN_NAME = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"

HParamValue = bool | float | int | str
_NULL_TENSOR = np.zeros((0,), dtype=np.float32)

STATUSES = {
    "unknown": hparams_pb2.STATUS_UNKNOWN,
    "success": hparams_pb2.STATUS_SUCCESS,
    "failure": hparams_pb2.STATUS_FAILURE,
    "running": hparams_pb2.STATUS_RUNNING,
}


def _value(tag: str, data: hparams_pb2.HParamsPluginData) -> summary_pb2.Summary.Value:
    metadata = make_metadata(PLUGIN_NAME, data.SerializeToString(), DataClass.DATA_CLASS_TENSOR)
    return tensor_value(tag, _NULL_TENSOR, metadata)


def normalize_value(name: str, value: object) -> HParamValue:
    """A Python bool, int, float or str for an hparam value (numpy and 1-element arrays too).

    Ints stay ints so that the default group name (a hash of the values as
    JSON) matches TensorBoard's.
    """
    if isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, np.generic) or (hasattr(value, "item") and hasattr(value, "shape")):
        value = value.item()
        if isinstance(value, (bool, str, int)):
            return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(f"hparam {name!r} must be a bool, number or str, not {type(value).__name__}")


def group_name_for(hparams: Mapping[str, HParamValue]) -> str:
    """TensorBoard's default session group: sha256 of the hparams as compact JSON."""
    text = json.dumps(dict(hparams), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def session_start_value(
    hparams: Mapping[str, HParamValue],
    group_name: str | None = None,
    start_time_secs: float | None = None,
) -> summary_pb2.Summary.Value:
    """``_hparams_/session_start_info`` for one trial."""
    info = hparams_pb2.SessionStartInfo(
        group_name=group_name if group_name is not None else group_name_for(hparams),
        start_time_secs=time.time() if start_time_secs is None else float(start_time_secs),
    )
    for name in sorted(hparams):
        value = hparams[name]
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, str):
            info.hparams[name].string_value = value
        else:
            info.hparams[name].number_value = float(value)
    return _value(SESSION_START_INFO_TAG, hparams_pb2.HParamsPluginData(session_start_info=info))


def session_end_value(
    status: str = "success", end_time_secs: float | None = None
) -> summary_pb2.Summary.Value:
    """``_hparams_/session_end_info``: ``status`` is success, failure, running or unknown."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)}, got {status!r}")
    info = hparams_pb2.SessionEndInfo(
        status=STATUSES[status],
        end_time_secs=time.time() if end_time_secs is None else float(end_time_secs),
    )
    return _value(SESSION_END_INFO_TAG, hparams_pb2.HParamsPluginData(session_end_info=info))


def experiment_value(
    hparam_infos: Sequence[hparams_pb2.HParamInfo],
    metric_infos: Sequence[hparams_pb2.MetricInfo],
    time_created_secs: float | None = None,
) -> summary_pb2.Summary.Value:
    """``_hparams_/experiment``: the hparam domains and the metrics of an experiment."""
    experiment = hparams_pb2.Experiment(
        hparam_infos=hparam_infos,
        metric_infos=metric_infos,
        time_created_secs=time.time() if time_created_secs is None else time_created_secs,
    )
    return _value(EXPERIMENT_TAG, hparams_pb2.HParamsPluginData(experiment=experiment))


def torch_experiment_infos(
    hparam_dict: Mapping[str, HParamValue],
    metric_tags: Sequence[str],
    hparam_domain_discrete: Mapping[str, Sequence[HParamValue]] | None = None,
) -> tuple[list[hparams_pb2.HParamInfo], list[hparams_pb2.MetricInfo]]:
    """The experiment ``add_hparams`` declares: one info per hparam and per metric tag."""
    discrete = hparam_domain_discrete or {}
    infos = []
    for name, value in hparam_dict.items():
        info = hparams_pb2.HParamInfo(name=name, type=_data_type(value))
        if name in discrete:
            for item in discrete[name]:
                _append_list_value(info.domain_discrete.values.add(), item)
        infos.append(info)
    metrics = [hparams_pb2.MetricInfo(name=hparams_pb2.MetricName(tag=tag)) for tag in metric_tags]
    return infos, metrics


def _data_type(value: HParamValue) -> hparams_pb2.HParamDataType:
    if isinstance(value, bool):
        return hparams_pb2.DATA_TYPE_BOOL
    if isinstance(value, str):
        return hparams_pb2.DATA_TYPE_STRING
    return hparams_pb2.DATA_TYPE_FLOAT64


def _append_list_value(target: object, item: HParamValue) -> None:
    if isinstance(item, bool):
        target.bool_value = item  # type: ignore[attr-defined]
    elif isinstance(item, str):
        target.string_value = item  # type: ignore[attr-defined]
    else:
        target.number_value = float(item)  # type: ignore[attr-defined]
