"""Bounded samples of a series, as TensorBoard's reservoir keeps them.

Deterministic (seeded per series) reservoir sampling that always keeps the
newest item, so the latest step is always shown (TensorBoard's
``reservoir.py`` with ``always_keep_last=True``). ``None`` as the size keeps
everything. Items are kept in arrival order.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Reservoir(Generic[Item]):
    """At most ``size`` items of a stream, uniformly sampled, the last always kept."""

    __slots__ = ("_random", "items", "seen", "size")

    def __init__(self, size: int | None, seed: int = 0) -> None:
        if size is not None and size < 1:
            raise ValueError(f"a reservoir keeps at least one item, got size={size}")
        self.size = size
        self.items: list[Item] = []
        self.seen = 0
        self._random = random.Random(seed)

    def add(self, item: Item) -> None:
        """Offer one item."""
        if self.size is None or len(self.items) < self.size:
            self.items.append(item)
        else:
            slot = self._random.randint(0, self.seen)
            if slot < self.size:
                del self.items[slot]
                self.items.append(item)
            else:
                self.items[-1] = item
        self.seen += 1

    def purge(self, keep: Callable[[Item], bool]) -> int:
        """Drop the items ``keep`` rejects; return how many were dropped."""
        before = len(self.items)
        self.items = [item for item in self.items if keep(item)]
        # TensorBoard's FilterItems scales the count seen by the fraction kept,
        # so later sampling matches its reservoir exactly.
        remaining = len(self.items) / before if before else 0.0
        self.seen = round(self.seen * remaining)
        return before - len(self.items)
