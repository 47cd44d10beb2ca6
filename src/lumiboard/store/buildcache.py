"""An LRU of values that are costly to build (parsed traces, tensors, converted graphs), where
each is built once even when several requests ask for it at the same moment.

A dashboard asks several routes about the same file at once, and a big file takes seconds to
parse: the first request builds (on a worker thread), the others wait on that key's lock and
get its result, instead of each parsing the file again. Entries are dropped oldest first past
``max_entries`` or past ``max_bytes`` as ``size`` measures them (the newest always stays).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BuildCache(Generic[K, V]):
    """``get(key, build)``: the value kept for ``key``, else ``build()``'s, kept."""

    def __init__(self, max_entries: int, max_bytes: int, size: Callable[[V], int]) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._building: dict[K, threading.Lock] = {}

    def get(self, key: K, build: Callable[[], V]) -> V:
        """Blocking (it may build): call it from a worker thread. An exception of ``build``
        propagates and keeps nothing (a caller that wants failures kept returns them)."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            try:
                value = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:
                self._building.pop(key, None)
                self._entries[key] = value
                self._evict()
        return value

    def _evict(self) -> None:
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_entries
            or sum(map(self._size, self._entries.values())) > self._max_bytes
        ):
            self._entries.popitem(last=False)

    def values(self) -> list[V]:
        """The values kept, oldest first."""
        with self._lock:
            return list(self._entries.values())

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
