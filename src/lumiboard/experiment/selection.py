"""Choosing runs and tags: a regular expression, or a list of exact names.

Regexes are matched as the server matches a user's regex
(:mod:`lumiboard.store.patterns`): ``re``'s syntax, bounded repeats and a time
budget, so a catastrophic pattern raises ``ValueError`` instead of hanging.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias

from lumiboard.store.patterns import Budget, filter_names

#: ``None`` (everything), a regex matched with ``re.search``, or exact names.
Selector: TypeAlias = "str | re.Pattern[str] | Iterable[str] | None"


def select(names: Iterable[str], selector: Selector, what: str) -> list[str]:
    """The names ``selector`` picks from ``names``, in the order of ``names``.

    A string (or compiled pattern) keeps every name it matches anywhere
    (``re.search``), so ``"loss"`` keeps ``"loss/train"``; anchor it
    (``"^loss$"``) for one name. A list keeps exactly the names it holds and
    raises ``KeyError`` for a name that is not there (``what`` describes the
    names in the message): a typo fails loudly instead of giving an empty table.
    A regex that is invalid, too big or too slow raises ``ValueError`` saying why.
    """
    available = list(names)
    if selector is None:
        return available
    if isinstance(selector, (str, re.Pattern)):
        return filter_names(selector, available, Budget.start(), anchored=False)
    wanted = list(selector)
    for name in wanted:
        if not isinstance(name, str):
            raise TypeError(f"{what} names must be strings, got {name!r}")
    present = set(available)
    missing = [name for name in wanted if name not in present]
    if missing:
        raise KeyError(f"no {what} named {', '.join(map(repr, missing))}")
    chosen = set(wanted)
    return [name for name in available if name in chosen]
