"""Hyperparameters for the HParams dashboard, with TensorBoard's API.

The names and behaviour of ``tensorboard.plugins.hparams.api``, without
TensorFlow: declare the experiment once with :func:`hparams_config`, then
record each trial's values with :func:`hparams` (and, optionally, its end
with :func:`session_end`). Each function writes to ``writer=`` (a
``SummaryWriter`` or a ``summary.create_file_writer`` writer) or to the
default ``lumiboard.summary`` writer, at step 0, and returns True when written.

Example::

    from lumiboard import hparams as hp, summary

    LR = hp.HParam("lr", hp.RealInterval(1e-4, 1e-1))
    OPT = hp.HParam("optimizer", hp.Discrete(["adam", "sgd"]))
    with summary.create_file_writer("logs").as_default():
        hp.hparams_config([LR, OPT], [hp.Metric("accuracy", group="validation")])
    for trial, (lr, opt) in enumerate([(1e-3, "adam"), (1e-2, "sgd")]):
        with summary.create_file_writer(f"logs/t{trial}").as_default():
            hp.hparams({LR: lr, OPT: opt}, trial_id=f"t{trial}")
            ...  # train; log summary.scalar("accuracy", ...) under logs/t{trial}/validation
"""

from __future__ import annotations

import abc
import numbers
import random
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from lumiboard.format.proto import hparams_pb2, summary_pb2
from lumiboard.plugins.hparams import summary as encode

__all__ = [
    "Discrete",
    "Domain",
    "HParam",
    "IntInterval",
    "Metric",
    "RealInterval",
    "hparams",
    "hparams_config",
    "hparams_config_pb",
    "hparams_pb",
    "session_end",
    "session_end_pb",
]


class _Writer(Protocol):
    # Positional-only: SummaryWriter names the step ``global_step``.
    def write_values(self, values: Sequence[summary_pb2.Summary.Value], step: Any, /) -> None: ...


class Domain(abc.ABC):
    """The set of values an hparam may take."""

    @property
    @abc.abstractmethod
    def dtype(self) -> type:
        """The Python type of the values: int, float, bool or str."""

    @abc.abstractmethod
    def sample_uniform(self, rng: random.Random | Any = random) -> Any:
        """A value drawn uniformly from the domain."""

    @abc.abstractmethod
    def update_hparam_info(self, hparam_info: hparams_pb2.HParamInfo) -> None:
        """Set the proto's type and domain."""


class IntInterval(Domain):
    """Integers in ``[min_value, max_value]``, both inclusive."""

    def __init__(self, min_value: int | None = None, max_value: int | None = None) -> None:
        if not isinstance(min_value, int) or isinstance(min_value, bool):
            raise TypeError(f"min_value must be an int: {min_value!r}")
        if not isinstance(max_value, int) or isinstance(max_value, bool):
            raise TypeError(f"max_value must be an int: {max_value!r}")
        if min_value > max_value:
            raise ValueError(f"{min_value!r} > {max_value!r}")
        self.min_value, self.max_value = min_value, max_value

    @property
    def dtype(self) -> type:
        return int

    def sample_uniform(self, rng: random.Random | Any = random) -> int:
        return int(rng.randint(self.min_value, self.max_value))

    def update_hparam_info(self, hparam_info: hparams_pb2.HParamInfo) -> None:
        # TensorBoard has no int type yet: intervals are FLOAT64 (tensorboard#1998).
        hparam_info.type = hparams_pb2.DATA_TYPE_FLOAT64
        hparam_info.domain_interval.min_value = self.min_value
        hparam_info.domain_interval.max_value = self.max_value

    def __str__(self) -> str:
        return f"[{self.min_value}, {self.max_value}]"

    def __repr__(self) -> str:
        return f"IntInterval({self.min_value!r}, {self.max_value!r})"


class RealInterval(Domain):
    """Floats in ``[min_value, max_value]``, both inclusive."""

    def __init__(self, min_value: float | None = None, max_value: float | None = None) -> None:
        if not isinstance(min_value, float):
            raise TypeError(f"min_value must be a float: {min_value!r}")
        if not isinstance(max_value, float):
            raise TypeError(f"max_value must be a float: {max_value!r}")
        if min_value > max_value:
            raise ValueError(f"{min_value!r} > {max_value!r}")
        self.min_value, self.max_value = min_value, max_value

    @property
    def dtype(self) -> type:
        return float

    def sample_uniform(self, rng: random.Random | Any = random) -> float:
        return float(rng.uniform(self.min_value, self.max_value))

    def update_hparam_info(self, hparam_info: hparams_pb2.HParamInfo) -> None:
        hparam_info.type = hparams_pb2.DATA_TYPE_FLOAT64
        hparam_info.domain_interval.min_value = self.min_value
        hparam_info.domain_interval.max_value = self.max_value

    def __str__(self) -> str:
        return f"[{self.min_value}, {self.max_value}]"

    def __repr__(self) -> str:
        return f"RealInterval({self.min_value!r}, {self.max_value!r})"


class Discrete(Domain):
    """A finite set of values of one type (kept sorted)."""

    def __init__(self, values: Sequence[Any], dtype: type | None = None) -> None:
        self._values = list(values)
        if dtype is None:
            if not self._values:
                raise ValueError("Empty domain with no dtype specified")
            dtype = type(self._values[0])
        if dtype not in (int, float, bool, str):
            raise ValueError(f"Unknown dtype: {dtype!r}")
        for value in self._values:
            if not isinstance(value, dtype):
                raise TypeError(f"dtype mismatch: not isinstance({value!r}, {dtype.__name__})")
        self._dtype = dtype
        self._values.sort()

    @property
    def dtype(self) -> type:
        return self._dtype

    @property
    def values(self) -> list[Any]:
        """The values, sorted."""
        return list(self._values)

    def sample_uniform(self, rng: random.Random | Any = random) -> Any:
        return rng.choice(self._values)

    def update_hparam_info(self, hparam_info: hparams_pb2.HParamInfo) -> None:
        hparam_info.type = {
            int: hparams_pb2.DATA_TYPE_FLOAT64,
            float: hparams_pb2.DATA_TYPE_FLOAT64,
            bool: hparams_pb2.DATA_TYPE_BOOL,
            str: hparams_pb2.DATA_TYPE_STRING,
        }[self._dtype]
        hparam_info.ClearField("domain_discrete")
        hparam_info.domain_discrete.extend(self._values)

    def __str__(self) -> str:
        return "{" + ", ".join(repr(value) for value in self._values) + "}"

    def __repr__(self) -> str:
        return f"Discrete({self._values!r})"


class HParam:
    """A hyperparameter: a name, an optional domain and how to show it."""

    def __init__(
        self,
        name: str,
        domain: Domain | None = None,
        display_name: str | None = None,
        description: str | None = None,
    ) -> None:
        if not isinstance(domain, (Domain, type(None))):
            raise ValueError(f"not a domain: {domain!r}")
        self.name, self.domain = name, domain
        self.display_name, self.description = display_name, description

    def __str__(self) -> str:
        return f"<HParam {self.name!r}: {self.domain}>"

    def __repr__(self) -> str:
        return (
            f"HParam(name={self.name!r}, domain={self.domain!r}, "
            f"display_name={self.display_name!r}, description={self.description!r})"
        )


class Metric:
    """A metric: a scalar tag, in the run sub-directory ``group`` if given."""

    TRAINING = hparams_pb2.DATASET_TRAINING
    VALIDATION = hparams_pb2.DATASET_VALIDATION

    def __init__(
        self,
        tag: str,
        group: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        dataset_type: int | None = None,
    ) -> None:
        if dataset_type not in (None, Metric.TRAINING, Metric.VALIDATION):
            raise ValueError(f"invalid dataset type: {dataset_type!r}")
        self.tag, self.group = tag, group
        self.display_name, self.description = display_name, description
        self.dataset_type = dataset_type

    def as_proto(self) -> hparams_pb2.MetricInfo:
        """The ``MetricInfo`` of this metric."""
        return hparams_pb2.MetricInfo(
            name=hparams_pb2.MetricName(group=self.group or "", tag=self.tag),
            display_name=self.display_name or "",
            description=self.description or "",
            dataset_type=self.dataset_type or hparams_pb2.DATASET_UNKNOWN,  # type: ignore[arg-type]
        )


def _normalize(hparams: Mapping[HParam | str, Any]) -> dict[str, encode.HParamValue]:
    result: dict[str, encode.HParamValue] = {}
    for key, value in hparams.items():
        name = key.name if isinstance(key, HParam) else key
        if not isinstance(name, str):
            raise TypeError(f"hparam keys must be HParam or str, not {type(key).__name__}")
        if name in result:
            raise ValueError(f"multiple values specified for hparam {name!r}")
        result[name] = _normalize_value(name, value)
    return result


def _normalize_value(name: str, value: object) -> encode.HParamValue:
    # numpy scalars (and one-element arrays or tensors) become Python values, as
    # TensorBoard's _normalize_numpy_value does. Ints stay ints: the default
    # group name hashes the values' JSON, where 3 and 3.0 differ.
    if isinstance(value, np.generic) or (
        hasattr(value, "item") and getattr(value, "shape", None) in ((), (1,))
    ):
        value = value.item()
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(
        f"hparams[{name!r}] = {value!r}: must be a bool, int, float or str, "
        f"not {type(value).__name__}"
    )


def _summary(value: summary_pb2.Summary.Value) -> summary_pb2.Summary:
    return summary_pb2.Summary(value=[value])


def hparams_pb(
    hparams: Mapping[HParam | str, Any],
    trial_id: str | None = None,
    start_time_secs: float | None = None,
) -> summary_pb2.Summary:
    """The session-start ``Summary`` of one trial (without writing it)."""
    if trial_id is not None and not isinstance(trial_id, str):
        raise TypeError(f"trial_id must be a str, not {type(trial_id).__name__}")
    values = _normalize(hparams)
    return _summary(encode.session_start_value(values, trial_id, start_time_secs))


def hparams_config_pb(
    hparams: Sequence[HParam],
    metrics: Sequence[Metric],
    time_created_secs: float | None = None,
) -> summary_pb2.Summary:
    """The experiment ``Summary`` (without writing it)."""
    infos = []
    for hparam in hparams:
        info = hparams_pb2.HParamInfo(
            name=hparam.name,
            display_name=hparam.display_name or "",
            description=hparam.description or "",
        )
        if hparam.domain is not None:
            hparam.domain.update_hparam_info(info)
        infos.append(info)
    metric_infos = [metric.as_proto() for metric in metrics]
    return _summary(encode.experiment_value(infos, metric_infos, time_created_secs))


def session_end_pb(
    status: str = "success", end_time_secs: float | None = None
) -> summary_pb2.Summary:
    """The session-end ``Summary``; ``status`` is success, failure, running or unknown."""
    return _summary(encode.session_end_value(status, end_time_secs))


def _write(summary: summary_pb2.Summary, writer: _Writer | None) -> bool:
    if writer is None:
        from lumiboard.writer.functional import get_default_writer

        writer = get_default_writer()
        if writer is None:
            return False
    writer.write_values(list(summary.value), 0)
    return True


def hparams(
    hparams: Mapping[HParam | str, Any],
    trial_id: str | None = None,
    start_time_secs: float | None = None,
    *,
    writer: _Writer | None = None,
) -> bool:
    """Record the hyperparameter values of one trial (run).

    Keys are :class:`HParam` objects or names; values are bools, numbers
    (numpy scalars too) or strings. ``trial_id`` names the session group; by
    default it is TensorBoard's: the sha256 of the values as compact JSON.
    Written at step 0 to ``writer`` or the default writer; returns False when
    there is neither.

    Example::

        with summary.create_file_writer("logs/trial-3").as_default():
            hp.hparams({"lr": 0.01, "optimizer": "adam"}, trial_id="trial-3")
    """
    return _write(hparams_pb(hparams, trial_id, start_time_secs), writer)


def hparams_config(
    hparams: Sequence[HParam],
    metrics: Sequence[Metric],
    time_created_secs: float | None = None,
    *,
    writer: _Writer | None = None,
) -> bool:
    """Declare the experiment: its hparams with their domains, and its metrics.

    Written once, usually in the parent directory of the trials' runs. A
    metric's ``group`` is the sub-directory of a trial's run holding its scalars.

    Example::

        hp.hparams_config(
            [hp.HParam("lr", hp.RealInterval(1e-4, 1e-1))],
            [hp.Metric("loss", group="validation")],
            writer=SummaryWriter("logs"),
        )
    """
    return _write(hparams_config_pb(hparams, metrics, time_created_secs), writer)


def session_end(
    status: str = "success",
    end_time_secs: float | None = None,
    *,
    writer: _Writer | None = None,
) -> bool:
    """Mark the trial finished (``status``: success, failure, running, unknown).

    Example::

        hp.session_end("failure", writer=writer)   # e.g. after a NaN loss
    """
    return _write(session_end_pb(status, end_time_secs), writer)
