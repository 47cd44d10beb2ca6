"""The JSON requests of TensorBoard's hparams routes (``api.proto``), read without protobuf.

TensorBoard parses them with ``json_format.Parse``: field names in camelCase or
snake_case, enums by name or number, 64-bit integers as numbers or strings,
doubles as numbers or ``"NaN"``/``"Infinity"``. So do we; unknown fields are
ignored, and a field of the wrong type is a :class:`BadRequestError` (400).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson

from lumiboard.plugins.hparams.sessions import HParamValue, MetricKey
from lumiboard.server.errors import BadRequestError

ORDERS = {"ORDER_UNSPECIFIED": 0, "ORDER_ASC": 1, "ORDER_DESC": 2}
AGGREGATIONS = {
    "AGGREGATION_UNSET": 0,
    "AGGREGATION_AVG": 1,
    "AGGREGATION_MEDIAN": 2,
    "AGGREGATION_MIN": 3,
    "AGGREGATION_MAX": 4,
}
STATUSES = {"STATUS_UNKNOWN": 0, "STATUS_SUCCESS": 1, "STATUS_FAILURE": 2, "STATUS_RUNNING": 3}


@dataclass(frozen=True)
class Filter:
    """One column filter: a regexp, a closed interval, or a set of values."""

    regexp: str | None = None
    interval: tuple[float, float] | None = None
    discrete: tuple[HParamValue, ...] | None = None


@dataclass(frozen=True)
class ColParam:
    """``ListSessionGroupsRequest.ColParams``: a column, its sort and its filter."""

    metric: MetricKey | None
    hparam: str | None
    order: int = 0
    missing_values_first: bool = False
    filter: Filter | None = None
    exclude_missing_values: bool = False
    include_in_result: bool | None = None


@dataclass(frozen=True)
class GroupsRequest:
    """``ListSessionGroupsRequest``."""

    col_params: tuple[ColParam, ...] = ()
    allowed_statuses: frozenset[int] = frozenset()
    aggregation_type: int = 0
    aggregation_metric: MetricKey | None = None
    start_index: int = 0
    slice_size: int = 0
    include_metrics: bool = True


@dataclass(frozen=True)
class ExperimentRequest:
    """``GetExperimentRequest``."""

    include_metrics: bool = True
    hparams_limit: int = 0


def load_json(text: str | bytes | None) -> dict[str, Any]:
    """A request object; TensorBoard's message when it is missing or not JSON."""
    if text is None or text in ("", b""):
        raise BadRequestError("expected a JSON request: a POST body, or ?request=<json>")
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(f"the request must be JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise BadRequestError("the request must be a JSON object")
    return parsed


def _field(body: dict[str, Any], name: str) -> Any:
    """A field by its snake_case name or its camelCase JSON name."""
    head, *rest = name.split("_")
    camel = head + "".join(part.title() for part in rest)
    if camel in body:
        return body[camel]
    return body.get(name)


def _int(value: Any, name: str) -> int:
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise BadRequestError(f"{name!r} must be an integer") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{name!r} must be an integer")
    if not -(2**31) <= value < 2**31:
        raise BadRequestError(f"{name!r} is out of range")
    return value


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequestError(f"{name!r} must be true or false")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadRequestError(f"{name!r} must be a string")
    return value


def _double(value: Any, name: str) -> float:
    if isinstance(value, str):
        special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
        if value in special:
            return special[value]
        try:
            return float(value)
        except ValueError:
            raise BadRequestError(f"{name!r} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequestError(f"{name!r} must be a number")
    return float(value)


def _enum(value: Any, names: dict[str, int], name: str) -> int:
    if isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in names.values():
        return value
    raise BadRequestError(f"{name!r} must be one of {', '.join(names)}")


def _metric_name(value: Any, name: str) -> MetricKey:
    if not isinstance(value, dict):
        raise BadRequestError(f"{name!r} must be an object with 'group' and 'tag'")
    group = value.get("group", "")
    tag = value.get("tag", "")
    return _str(group, f"{name}.group"), _str(tag, f"{name}.tag")


def _optional(body: dict[str, Any], name: str) -> Any:
    value = _field(body, name)
    return None if value is None else value


def parse_experiment_request(body: dict[str, Any]) -> ExperimentRequest:
    include = _optional(body, "include_metrics")
    limit = _optional(body, "hparams_limit")
    return ExperimentRequest(
        include_metrics=True if include is None else _bool(include, "includeMetrics"),
        hparams_limit=0 if limit is None else _int(limit, "hparamsLimit"),
    )


def parse_groups_request(body: dict[str, Any]) -> GroupsRequest:
    statuses = _optional(body, "allowed_statuses") or []
    if not isinstance(statuses, list):
        raise BadRequestError("'allowedStatuses' must be a list")
    col_params = _optional(body, "col_params") or []
    if not isinstance(col_params, list):
        raise BadRequestError("'colParams' must be a list")
    aggregation_metric = _optional(body, "aggregation_metric")
    include = _optional(body, "include_metrics")
    start = _optional(body, "start_index")
    size = _optional(body, "slice_size")
    aggregation = _optional(body, "aggregation_type")
    return GroupsRequest(
        col_params=tuple(_col_param(item, index) for index, item in enumerate(col_params)),
        allowed_statuses=frozenset(_enum(s, STATUSES, "allowedStatuses") for s in statuses),
        aggregation_type=0
        if aggregation is None
        else _enum(aggregation, AGGREGATIONS, "aggregationType"),
        aggregation_metric=None
        if aggregation_metric is None
        else _metric_name(aggregation_metric, "aggregationMetric"),
        start_index=0 if start is None else max(0, _int(start, "startIndex")),
        slice_size=0 if size is None else max(0, _int(size, "sliceSize")),
        include_metrics=True if include is None else _bool(include, "includeMetrics"),
    )


def _col_param(item: Any, index: int) -> ColParam:
    where = f"colParams[{index}]"
    if not isinstance(item, dict):
        raise BadRequestError(f"{where} must be an object")
    metric = _optional(item, "metric")
    hparam = _optional(item, "hparam")
    if (metric is None) == (hparam is None or hparam == ""):
        raise BadRequestError(f"{where} must name exactly one of 'metric' and 'hparam'")
    order = _optional(item, "order")
    include = _optional(item, "include_in_result")
    return ColParam(
        metric=None if metric is None else _metric_name(metric, f"{where}.metric"),
        hparam=None if metric is not None else _str(hparam, f"{where}.hparam"),
        order=0 if order is None else _enum(order, ORDERS, f"{where}.order"),
        missing_values_first=_bool(_optional(item, "missing_values_first") or False, where),
        filter=_filter(item, where),
        exclude_missing_values=_bool(_optional(item, "exclude_missing_values") or False, where),
        include_in_result=None if include is None else _bool(include, where),
    )


def _filter(item: dict[str, Any], where: str) -> Filter | None:
    regexp = _optional(item, "filter_regexp")
    interval = _optional(item, "filter_interval")
    discrete = _optional(item, "filter_discrete")
    if sum(value is not None for value in (regexp, interval, discrete)) > 1:
        raise BadRequestError(f"{where} has more than one filter")
    if regexp is not None:
        return Filter(regexp=_str(regexp, f"{where}.filterRegexp"))
    if interval is not None:
        if not isinstance(interval, dict):
            raise BadRequestError(f"{where}.filterInterval must be an object")
        low = _double(_optional(interval, "min_value") or 0.0, f"{where}.filterInterval")
        high = _double(_optional(interval, "max_value") or 0.0, f"{where}.filterInterval")
        return Filter(interval=(low, high))
    if discrete is not None:
        if not isinstance(discrete, list):
            raise BadRequestError(f"{where}.filterDiscrete must be a list of values")
        for value in discrete:
            if not isinstance(value, (bool, int, float, str)):
                raise BadRequestError(f"{where}.filterDiscrete holds a value of no hparam type")
        return Filter(
            discrete=tuple(
                float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in discrete
            )
        )
    return None


def parse_metric_evals_request(body: dict[str, Any]) -> tuple[str, MetricKey]:
    """``ListMetricEvalsRequest``: the session's name and the metric."""
    session = _str(_optional(body, "session_name") or "", "sessionName")
    metric = _optional(body, "metric_name")
    if metric is None:
        raise BadRequestError("'metricName' is required")
    return session, _metric_name(metric, "metricName")
