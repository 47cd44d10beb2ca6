"""Health flags of an experiment: what :mod:`.health_rules` finds in every scalar series,
and the alerts training code recorded (:func:`lumiboard.alerts.alert`).

:class:`HealthIndex` keeps, per (run, tag), what the rules know of the series and the
column it read (a weak reference: the store's columns are replaced, never changed, when
points arrive), so a report after a reload reads only the series that changed, and of
those only the points appended (a purge or a re-read starts the series over). One index
serves a :class:`~.provider.Provider` (:func:`index_for`): the ``/data/health`` route and
the webhook share its work.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from lumiboard.alerts import is_alert_description, parse_alert
from lumiboard.store import health_messages, health_state
from lumiboard.store.health_rules import rules_for
from lumiboard.store.health_state import SeriesState
from lumiboard.store.provider import NotFoundError, Provider
from lumiboard.store.runs import RunData, TensorPoint

logger = logging.getLogger(__name__)

#: Worst first.
LEVELS = ("error", "warning", "info")
#: An alert's message (title and text) is cut to this many characters.
MAX_ALERT_MESSAGE = 1_000


@dataclass(frozen=True, slots=True)
class HealthFlag:
    """One flag: where (run, tag, step), what (kind, level), and a sentence saying it.

    ``value`` is the series' value at the flag's point (NaN or +-Inf for ``nonfinite``),
    None for an alert.
    """

    run: str
    tag: str
    kind: str
    level: str
    step: int
    wall_time: float
    value: float | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """The flag as ``/data/health`` sends it (non-finite values as TensorBoard's
        strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``)."""
        return {
            "run": self.run,
            "tag": self.tag,
            "kind": self.kind,
            "level": self.level,
            "step": self.step,
            "wall_time": self.wall_time,
            "value": _json_number(self.value),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every flag of the runs asked for, ordered by run (as the run list), then step."""

    flags: list[HealthFlag]
    computed_at: float

    def counts(self) -> dict[str, dict[str, int]]:
        """``{run: {"error": n, "warning": n, "info": n}}`` for the runs with flags."""
        counts: dict[str, dict[str, int]] = {}
        for flag in self.flags:
            counts.setdefault(flag.run, dict.fromkeys(LEVELS, 0))[flag.level] += 1
        return counts

    def to_frame(self) -> Any:
        """A pandas DataFrame: ``run``, ``tag`` (categoricals, as lumiboard's other tables),
        ``kind``, ``level``, ``step``, ``wall_time``, ``value`` (float: NaN for alerts),
        ``message``; one row per flag."""
        import pandas as pd  # only for Experiment.health(): the server does without

        flags = self.flags
        return pd.DataFrame(
            {
                "run": pd.Categorical([flag.run for flag in flags]),
                "tag": pd.Categorical([flag.tag for flag in flags]),
                "kind": pd.Series([flag.kind for flag in flags], dtype=object),
                "level": pd.Series([flag.level for flag in flags], dtype=object),
                "step": np.asarray([flag.step for flag in flags], dtype=np.int64),
                "wall_time": np.asarray([flag.wall_time for flag in flags], dtype=np.float64),
                "value": np.asarray(
                    [math.nan if flag.value is None else flag.value for flag in flags],
                    dtype=np.float64,
                ),
                "message": pd.Series([flag.message for flag in flags], dtype=object),
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "flags": [flag.to_json() for flag in self.flags],
            "counts": self.counts(),
            "computed_at": self.computed_at,
        }


#: Columns read for a report are processed (and let go) once this many points are held:
#: series are decoded to be read (and read back from the cache under a memory budget),
#: so holding every series' columns at once would cost ~20 bytes a point of the logdir.
REFRESH_POINTS = 1 << 20


@dataclass(slots=True)
class _Series:
    state: SeriesState
    column: weakref.ref[np.ndarray] | None
    flags: tuple[HealthFlag, ...]


class HealthIndex:
    """The health flags of the runs ``provider`` serves, kept up to date lazily."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._series: dict[tuple[str, str], _Series] = {}
        # One report at a time: two requests after a reload would read the same series.
        self._lock = threading.Lock()

    def report(self, runs: Collection[str] | None = None) -> HealthReport:
        """The flags of ``runs`` (default: every run); :class:`NotFoundError` for a run
        named that does not exist."""
        names = self._provider.list_runs()
        if runs is not None:
            known = set(names)
            for name in runs:
                if name not in known:
                    raise NotFoundError(f"no run named {name!r}")
            wanted = set(runs)
            names = [name for name in names if name in wanted]
        flags: list[HealthFlag] = []
        with self._lock:
            seen: set[tuple[str, str]] = set()
            plan: list[tuple[RunData, list[_Series]]] = []
            changed: list[_Change] = []
            pending = 0
            for name in names:
                try:
                    run = self._provider.run(name)
                except NotFoundError:
                    continue  # dropped by a reload since it was listed
                before = len(changed)
                plan.append((run, self._look(run, seen, changed)))
                pending += sum(len(change.value) for change in changed[before:])
                if pending >= REFRESH_POINTS:  # the columns read so far, decoded: let go
                    self._refresh(changed)
                    changed, pending = [], 0
            self._refresh(changed)
            for run, entries in plan:
                run_flags = [flag for entry in entries for flag in entry.flags]
                run_flags += _alert_flags(run)
                run_flags.sort(key=lambda flag: (flag.step, flag.tag, flag.kind))
                flags += run_flags
            if runs is None and len(self._series) > len(seen):  # forget the series gone
                for key in [key for key in self._series if key not in seen]:
                    del self._series[key]
        return HealthReport(flags, time.time())

    def _look(
        self, run: RunData, seen: set[tuple[str, str]], changed: list[_Change]
    ) -> list[_Series]:
        """The entries of ``run``'s scalar series; those whose column changed go to ``changed``."""
        with run.lock:  # the loader adds tags under it
            series_by_tag = list(run.scalars.items())
        entries = []
        for tag, series in series_by_tag:
            key = (run.name, tag)
            seen.add(key)
            step, wall_time, value = series.columns()
            entry = self._series.get(key)
            if entry is None:
                entry = self._series[key] = _Series(SeriesState(rules_for(tag)), None, ())
            if entry.column is None or entry.column() is not value:
                changed.append(_Change(entry, run.name, tag, step, wall_time, value))
            entries.append(entry)
        return entries

    def _refresh(self, changed: list[_Change]) -> None:
        """Read what is new in the ``changed`` series (in batches) and redo their flags."""
        try:
            health_state.update_all((c.entry.state, c.step, c.value) for c in changed)
        except Exception:  # a rule's bug: read them one by one, so it costs only its series
            logger.exception("health rules failed on a batch of %d series", len(changed))
            for change in changed:
                try:
                    change.entry.state.reset()
                    change.entry.state.update(change.step, change.value)
                except Exception:
                    logger.exception("health rules failed on %s %s", change.run, change.tag)
                    change.entry.state.reset()
        for change in changed:
            entry, step, wall_time = change.entry, change.step, change.wall_time
            try:
                found = health_messages.findings(entry.state, change.tag, step, change.value)
            except Exception:  # a rule's bug costs its series' flags, never the report
                logger.exception("health flags failed on %s %s", change.run, change.tag)
                found = []
            entry.column = weakref.ref(change.value) if len(change.value) else None
            entry.flags = tuple(
                HealthFlag(
                    change.run,
                    change.tag,
                    finding.kind,
                    finding.level,
                    int(step[finding.index]),
                    float(wall_time[finding.index]),
                    finding.value,
                    finding.message,
                )
                for finding in found
            )


@dataclass(frozen=True, slots=True)
class _Change:
    """A series whose column is not the one its flags were made from."""

    entry: _Series
    run: str
    tag: str
    step: np.ndarray
    wall_time: np.ndarray
    value: np.ndarray


_PROVIDER_INDEXES: weakref.WeakKeyDictionary[Provider, HealthIndex] = weakref.WeakKeyDictionary()
_PROVIDER_LOCK = threading.Lock()


def index_for(provider: Provider) -> HealthIndex:
    """The health index of ``provider``, made on first use (one per provider)."""
    with _PROVIDER_LOCK:
        index = _PROVIDER_INDEXES.get(provider)
        if index is None:
            index = _PROVIDER_INDEXES[provider] = HealthIndex(provider)
        return index


def _alert_flags(run: RunData) -> list[HealthFlag]:
    """One flag per alert the run recorded (text tags marked by their description)."""
    with run.lock:
        points = [
            (tag, list(reservoir.items))
            for tag, reservoir in run.tensors.items()
            if (info := run.tags.get(tag)) is not None
            and info.plugin_name == "text"
            and is_alert_description(info.description)
        ]
    flags = []
    for tag, items in points:
        for point in items:
            level, title, text = parse_alert(_text_of(point))
            message = f"{title}: {text}" if text else title
            if len(message) > MAX_ALERT_MESSAGE:
                message = message[: MAX_ALERT_MESSAGE - 1] + "\u2026"
            flags.append(
                HealthFlag(
                    run.name, tag, "alert", level, point.step, point.wall_time, None, message
                )
            )
    return flags


def _text_of(point: TensorPoint) -> str:
    """An alert's markdown: the value's first string (alerts are rank 0)."""
    array = np.asarray(point.array)
    if not array.size:
        return ""
    item = array.reshape(-1)[0]
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
