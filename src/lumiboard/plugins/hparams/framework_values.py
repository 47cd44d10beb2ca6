"""Hyperparameter values from a framework's own config (a YAML or JSON tree) as hparams.

The rules (the ones Lightning's TensorBoardLogger applies before it writes an hparams
summary, ``_flatten_dict`` then ``_sanitize_params``, so that a run read from its
``hparams.yaml`` shows the names and values its summary would have shown):

- nested mappings are flattened with ``/`` (``optimizer: {lr: 0.1}`` -> ``optimizer/lr``),
  and so are lists whose items are all mappings (``blocks/0/width``) — with ``flatten``;
  without it (transformers' ``TrainingArguments``, which ``to_sanitized_dict`` never
  flattens) a mapping is one value, shown as text;
- bools stay bools, ints and floats become numbers (hparams are doubles), strings stay;
- anything else is shown as Python's ``str()`` of it (``[4, 2]``, ``None``, a date), as
  both frameworks do;
- every walk has a budget: a value longer than :data:`MAX_VALUE_CHARS` characters, a name
  longer than :data:`MAX_NAME_CHARS`, more than :data:`MAX_HPARAMS` hyperparameters, a tree
  deeper than :data:`MAX_DEPTH` or one with more than :data:`MAX_NODES` nodes (a YAML alias
  "billion laughs" shares nodes, which a naive walk would visit exponentially often; a
  self-referencing one never ends) is cut, and :class:`Budget` counts what was left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: A plain hparam value.
HParamValue = float | str | bool

#: Longest text value kept (a longer string, or a list shown as text, is left out).
MAX_VALUE_CHARS = 500
#: Longest hparam name kept.
MAX_NAME_CHARS = 256
#: Most hparams kept from one config.
MAX_HPARAMS = 1000
#: Deepest nesting followed.
MAX_DEPTH = 16
#: Most tree nodes visited in one config (every visit counts, shared nodes included).
MAX_NODES = 20_000


class TooLargeError(ValueError):
    """The config is too deep or too large to walk: none of it is used."""


@dataclass
class Budget:
    """Nodes left to visit, and how many hparams were left out and why."""

    nodes: int = MAX_NODES
    dropped: dict[str, int] = field(default_factory=dict)

    def visit(self) -> None:
        self.nodes -= 1
        if self.nodes < 0:
            raise TooLargeError(f"more than {MAX_NODES} nodes")

    def drop(self, why: str) -> None:
        self.dropped[why] = self.dropped.get(why, 0) + 1


def flatten_config(
    config: Mapping[object, object], *, flatten: bool, budget: Budget | None = None
) -> dict[str, HParamValue]:
    """The hparams of a config (see the module's rules); :class:`TooLargeError` when it is
    too deep or too large to walk at all."""
    spent = budget if budget is not None else Budget()
    found: dict[str, HParamValue] = {}
    _walk(config, "", found, spent, flatten, 0)
    return found


def _walk(
    config: Mapping[object, object],
    prefix: str,
    found: dict[str, HParamValue],
    budget: Budget,
    flatten: bool,
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        raise TooLargeError(f"nested deeper than {MAX_DEPTH}")
    for key, value in config.items():
        budget.visit()
        name = f"{prefix}/{key}" if prefix else str(key)
        if flatten and isinstance(value, Mapping):
            _walk(value, name, found, budget, flatten, depth + 1)
        elif (
            flatten
            and isinstance(value, list)
            and value
            and all(isinstance(item, Mapping) for item in value)
        ):
            for index, item in enumerate(value):
                _walk(item, f"{name}/{index}", found, budget, flatten, depth + 1)
        else:
            _keep(name, value, found, budget)


def _keep(name: str, value: object, found: dict[str, HParamValue], budget: Budget) -> None:
    if len(name) > MAX_NAME_CHARS:
        budget.drop("name too long")
        return
    if name not in found and len(found) >= MAX_HPARAMS:
        budget.drop("too many hparams")
        return
    plain = plain_value(value, budget)
    if plain is None:
        budget.drop("value too long")
        return
    found[name] = plain


def plain_value(value: object, budget: Budget) -> HParamValue | None:
    """A bool, number or string for one leaf; None when its text would be too long."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Doubles: an int too large for one is shown as its digits (if short enough).
        return float(value) if abs(value) < 2**1023 else _text(value, budget)
    if isinstance(value, float):
        return value  # NaN and infinities too: the routes write them as TensorBoard does
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE_CHARS else None
    return _text(value, budget)


def _text(value: object, budget: Budget) -> str | None:
    """``str(value)``, once a budgeted walk shows it is small: ``str()`` of a list that
    repeats one alias at every level would take exponential time."""
    if not _small(value, budget, 0, [0]):
        return None
    try:
        text = str(value)
    except (ValueError, RecursionError):  # e.g. int digit limits
        return None
    return text if len(text) <= MAX_VALUE_CHARS else None


def _small(value: object, budget: Budget, depth: int, items: list[int]) -> bool:
    budget.visit()
    items[0] += 1
    if depth > MAX_DEPTH or items[0] > MAX_VALUE_CHARS:
        return False
    if isinstance(value, Mapping):
        return all(
            _small(key, budget, depth + 1, items) and _small(item, budget, depth + 1, items)
            for key, item in value.items()
        )
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_small(item, budget, depth + 1, items) for item in value)
    return True
