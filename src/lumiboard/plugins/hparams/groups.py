"""Session groups as TensorBoard's ``/session_groups`` lists them (``list_session_groups.py``).

Sessions sharing a ``group_name`` form a group (its hparams are its first
session's); the group's metrics aggregate its sessions' (the mean by default,
or the median / min / max session by ``aggregation_metric``). Groups are
filtered by status and by each column filter, sorted by name and then by
every sorted column, and sliced by ``start_index`` and ``slice_size``.

A ``filterRegexp`` is a user's regex: it is checked and matched within
:mod:`lumiboard.store.patterns`' bounds (one time budget for the request's
regexes); one refused or too slow is a 400 that says why.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lumiboard.format.proto import hparams_pb2
from lumiboard.plugins.hparams.requests import ColParam, Filter, GroupsRequest
from lumiboard.plugins.hparams.sessions import (
    HParamValue,
    MetricKey,
    MetricValue,
    Session,
    Sweep,
    hparam_json,
    json_number,
)
from lumiboard.server.errors import BadRequestError
from lumiboard.store.patterns import Budget, PatternError, compile_pattern

STATUS_JSON: dict[int, str] = {
    hparams_pb2.STATUS_UNKNOWN: "STATUS_UNKNOWN",
    hparams_pb2.STATUS_SUCCESS: "STATUS_SUCCESS",
    hparams_pb2.STATUS_FAILURE: "STATUS_FAILURE",
    hparams_pb2.STATUS_RUNNING: "STATUS_RUNNING",
}


@dataclass
class Group:
    """A session group: its name, hparams, aggregated metrics and sessions."""

    name: str
    hparams: dict[str, HParamValue]
    monitor_url: str
    sessions: list[Session] = field(default_factory=list)
    metrics: dict[MetricKey, MetricValue] = field(default_factory=dict)


def list_groups(sweep: Sweep, request: GroupsRequest) -> tuple[list[Group], int]:
    """The requested slice of groups, and how many passed the filters."""
    metrics = sweep.metric_keys if request.include_metrics else []
    by_name: dict[str, Group] = {}
    for session in sweep.sessions:
        if session.status not in request.allowed_statuses:
            continue
        kept = {key: session.metrics[key] for key in metrics if key in session.metrics}
        member = _with_metrics(session, kept)
        group = by_name.get(member.group)
        if group is None:
            group = by_name[member.group] = Group(member.group, member.hparams, member.monitor_url)
        group.sessions.append(member)
    groups = list(by_name.values())
    for group in groups:
        group.sessions.sort(key=lambda s: s.run)
        group.metrics = _aggregate(group.sessions, request)
    extractors = [_extractor(param) for param in request.col_params]
    budget = Budget.start()  # for all the request's regexes
    for param, extract in zip(request.col_params, extractors, strict=True):
        keep = _filter_fn(param, extract, budget)
        if keep is not None:
            groups = [group for group in groups if keep(group)]
    groups.sort(key=lambda group: group.name)
    for param, extract in reversed(list(zip(request.col_params, extractors, strict=True))):
        if param.order == 1:
            groups.sort(key=_sort_key(extract, none_largest=not param.missing_values_first))
        elif param.order == 2:
            groups.sort(
                key=_sort_key(extract, none_largest=param.missing_values_first), reverse=True
            )
    if any(param.include_in_result is not None for param in request.col_params):
        wanted = {
            param.hparam
            for param in request.col_params
            if param.hparam is not None and param.include_in_result is not False
        }
        for group in groups:
            group.hparams = {k: v for k, v in group.hparams.items() if k in wanted}
    start = request.start_index
    return groups[start : start + request.slice_size], len(groups)


def _with_metrics(session: Session, metrics: dict[MetricKey, MetricValue]) -> Session:
    if metrics == session.metrics:
        return session
    return Session(**{**session.__dict__, "metrics": metrics})


def _aggregate(sessions: list[Session], request: GroupsRequest) -> dict[MetricKey, MetricValue]:
    if request.aggregation_type in (0, 1) or len(sessions) == 1:
        return _mean(sessions)
    metric = request.aggregation_metric
    if metric is None:
        raise BadRequestError("aggregationMetric is required for this aggregationType")
    measured = [s for s in sessions if metric in s.metrics]
    if not measured:
        return {}
    measured.sort(key=lambda s: _order_value(s.metrics[metric].value))
    if request.aggregation_type == 2:
        chosen = measured[(len(measured) - 1) // 2]
    elif request.aggregation_type == 3:
        chosen = measured[0]
    else:
        # The first session with the largest value, as TensorBoard's max() picks it.
        chosen = max(measured, key=lambda s: _order_value(s.metrics[metric].value))
    return dict(chosen.metrics)


def _order_value(value: float) -> float:
    return math.inf if math.isnan(value) else value


def _mean(sessions: list[Session]) -> dict[MetricKey, MetricValue]:
    values: dict[MetricKey, list[MetricValue]] = {}
    for session in sessions:
        for key, value in session.metrics.items():
            values.setdefault(key, []).append(value)
    result = {}
    for key, found in values.items():
        count = len(found)
        result[key] = MetricValue(
            value=sum(v.value for v in found) / count,
            step=sum(v.step for v in found) // count,
            wall_time=sum(v.wall_time for v in found) / count,
            min=min((v.min for v in found), default=math.nan),
            max=max((v.max for v in found), default=math.nan),
        )
    return result


Extractor = Callable[[Group], "HParamValue | None"]


def _extractor(param: ColParam) -> Extractor:
    if param.metric is not None:
        metric = param.metric

        def metric_value(group: Group) -> HParamValue | None:
            found = group.metrics.get(metric)
            return found.value if found is not None else None

        return metric_value
    name = param.hparam or ""
    return lambda group: group.hparams.get(name)


def _filter_fn(
    param: ColParam, extract: Extractor, budget: Budget
) -> Callable[[Group], bool] | None:
    include_missing = not param.exclude_missing_values
    test = _value_test(param.filter, budget) if param.filter is not None else None
    if test is None and include_missing:
        return None

    def keep(group: Group) -> bool:
        value = extract(group)
        if value is None:
            return include_missing
        return test(value) if test is not None else True

    return keep


def _value_test(spec: Filter, budget: Budget) -> Callable[[HParamValue], bool]:
    if spec.regexp is not None:
        source = spec.regexp
        try:
            pattern = compile_pattern(source)
        except PatternError as error:
            raise BadRequestError(f"invalid filterRegexp {source!r}: {error}") from None

        def matches(value: HParamValue) -> bool:
            # TensorBoard refuses a regexp on a number; lumiboard matches its text.
            try:
                return pattern.search(value if isinstance(value, str) else _text(value), budget)
            except PatternError as error:
                raise BadRequestError(f"filterRegexp {source!r}: {error}") from None

        return matches
    if spec.interval is not None:
        low, high = spec.interval

        def inside(value: HParamValue) -> bool:
            if isinstance(value, (str, bool)):
                raise BadRequestError(f"an interval filter cannot test the value {value!r}")
            return low <= value <= high

        return inside
    allowed = spec.discrete or ()
    return lambda value: any(_same(value, item) for item in allowed)


def _same(value: HParamValue, item: HParamValue) -> bool:
    # Python's ==, but True is not 1.0 (TensorBoard compares protobuf values by kind, too).
    return isinstance(value, bool) == isinstance(item, bool) and value == item


def _text(value: HParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _sort_key(extract: Extractor, none_largest: bool) -> Callable[[Group], tuple[Any, ...]]:
    # Values of different kinds sort by kind (numbers, then strings) instead of raising.
    def key(group: Group) -> tuple[Any, ...]:
        value = extract(group)
        if value is None:
            return (none_largest, 0, 0.0)
        if isinstance(value, str):
            return (not none_largest, 1, value)
        number = float(value)
        if math.isnan(number):  # a diverged run: missing, not the best (nor the worst)
            return (none_largest, 0, 0.0)
        return (not none_largest, 0, number)

    return key


# ---- JSON, in protobuf's mapping of api.proto (as TensorBoard's MessageToJson) ----------


def metric_value_json(key: MetricKey, value: MetricValue) -> dict[str, Any]:
    return {
        "name": {"group": key[0], "tag": key[1]},
        "value": json_number(value.value),
        "trainingStep": value.step,
        "wallTimeSecs": json_number(value.wall_time),
    }


def session_json(session: Session, metrics: list[MetricKey]) -> dict[str, Any]:
    return {
        "name": session.run,
        "startTimeSecs": json_number(session.start_time),
        "endTimeSecs": json_number(session.end_time or 0.0),
        "status": STATUS_JSON.get(session.status, "STATUS_UNKNOWN"),
        "metricValues": [
            metric_value_json(key, session.metrics[key])
            for key in metrics
            if key in session.metrics
        ],
        "modelUri": session.model_uri,
        "monitorUrl": session.monitor_url,
    }


def groups_json(groups: list[Group], total: int, metrics: list[MetricKey]) -> dict[str, Any]:
    """``ListSessionGroupsResponse``."""
    return {
        "sessionGroups": [
            {
                "name": group.name,
                "hparams": hparam_json(group.hparams),
                "metricValues": [
                    metric_value_json(key, group.metrics[key])
                    for key in metrics
                    if key in group.metrics
                ],
                "sessions": [session_json(session, metrics) for session in group.sessions],
                "monitorUrl": group.monitor_url,
            }
            for group in groups
        ],
        "totalSize": total,
    }
