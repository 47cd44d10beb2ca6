"""store/buildcache.py: one build per key at a time, LRU eviction by count and bytes."""

from __future__ import annotations

import threading
import time

import pytest

from lumiboard.store.buildcache import BuildCache


def test_concurrent_requests_build_once() -> None:
    cache: BuildCache[str, bytes] = BuildCache(4, 1 << 20, len)
    calls = []

    def build() -> bytes:
        calls.append(1)
        time.sleep(0.2)
        return b"parsed"

    results: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", build))) for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"parsed"] * 5
    assert len(calls) == 1


def test_eviction_by_count_and_bytes_keeps_the_newest() -> None:
    cache: BuildCache[int, bytes] = BuildCache(3, 10, len)
    for key in range(5):
        cache.get(key, lambda key=key: bytes([key]) * 2)
    assert cache.values() == [b"\x02" * 2, b"\x03" * 2, b"\x04" * 2]  # 3 at most
    cache.get(9, lambda: b"x" * 50)  # over the byte budget alone: still kept, the rest go
    assert cache.values() == [b"x" * 50]
    cache.get(9, lambda: pytest.fail("kept: not built again"))


def test_a_failed_build_keeps_nothing_and_can_be_retried() -> None:
    cache: BuildCache[str, int] = BuildCache(2, 100, lambda value: 1)

    def broken() -> int:
        raise ValueError("bad file")

    with pytest.raises(ValueError, match="bad file"):
        cache.get("k", broken)
    assert cache.get("k", lambda: 7) == 7
    cache.clear()
    assert cache.values() == []
