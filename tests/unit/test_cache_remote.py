"""Replicas share a cache in an object store: a new one starts warm, answers the same.

Against a local S3 endpoint (moto, ``conftest.s3_server``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from lumiboard.reader.reload import Reloader
from lumiboard.store import cache
from lumiboard.writer.summary_writer import SummaryWriter

if TYPE_CHECKING:
    from conftest import S3Server  # the s3_server and s3_run fixtures

WALL = 1_700_000_000.0


def write_logdir(logdir: str) -> None:
    for run in ("train", "eval"):
        with SummaryWriter(f"{logdir}/{run}") as writer:
            for step in range(200):
                writer.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
                writer.add_scalar("lr", step * 0.25, step, new_style=True, walltime=WALL + step)


def scalars(reloader: Reloader) -> dict[tuple[str, str], list[list[float]]]:
    return {
        (name, tag): [np.asarray(column).tolist() for column in series.columns()]
        for name, run in reloader.runs.items()
        for tag, series in run.scalars.items()
    }


def replica(logdir: str, cache_url: str, mirror: Path, monkeypatch: pytest.MonkeyPatch) -> Reloader:
    """A server's reloader on its own machine: its own local cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(mirror))
    reloader = Reloader(logdir, cache_dir=cache_url)
    reloader.reload()
    return reloader


@pytest.fixture
def shared(s3_run: str) -> tuple[str, str]:
    """A log directory written in the object store, and the cache URL the replicas share."""
    logdir, cache_url = f"{s3_run}/logs", f"{s3_run}/cache"
    write_logdir(logdir)
    return logdir, cache_url


def test_a_new_replica_restores_from_the_shared_cache(
    s3_server: S3Server,
    shared: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    logdir, cache_url = shared
    first = replica(logdir, cache_url, tmp_path / "a", monkeypatch)
    assert first.progress().bytes_done > 0  # parsed the event files
    first.stop()  # saves (already saved after its load: nothing left to write)
    keys = s3_server.client.ls(cache_url.removeprefix("s3://"))
    assert len(keys) == 2
    assert all(key.endswith(".arrow") for key in keys)  # no temporary key left

    with caplog.at_level(logging.INFO, logger="lumiboard.reader.reload"):
        second = replica(logdir, cache_url, tmp_path / "b", monkeypatch)
    assert "2 of 2 new runs restored from the cache" in caplog.text
    assert second.progress().bytes_done == 0  # not one byte of the event files parsed
    assert len(os.listdir(cache.default_dir() + "/remote")) == 1  # its own local mirror
    assert scalars(second) == scalars(first)
    assert len(scalars(second)) == 4


def test_a_damaged_remote_cache_is_not_served(
    s3_server: S3Server, shared: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logdir, cache_url = shared
    first = replica(logdir, cache_url, tmp_path / "a", monkeypatch)
    for key in s3_server.client.ls(cache_url.removeprefix("s3://")):
        data = bytearray(s3_server.client.cat_file(key))
        data[len(data) // 2] ^= 0xFF  # one flipped bit in a column or the footer
        s3_server.client.pipe_file(key, bytes(data))
    second = replica(logdir, cache_url, tmp_path / "b", monkeypatch)
    assert second.progress().bytes_done > 0  # read from the event files instead
    assert scalars(second) == scalars(first)


def test_a_run_that_grew_reads_only_its_new_bytes(
    s3_server: S3Server, shared: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logdir, cache_url = shared
    replica(logdir, cache_url, tmp_path / "a", monkeypatch)
    with SummaryWriter(f"{logdir}/late") as writer:
        writer.add_scalar("loss", 0.5, 0, walltime=WALL)
    second = replica(logdir, cache_url, tmp_path / "b", monkeypatch)
    late = second.runs["late"].scalars["loss"].columns()
    assert np.asarray(late[2]).tolist() == [0.5]
    assert second.progress().bytes_done < 1000  # only the new run's file


def test_a_replica_under_a_memory_budget_reads_spilled_series_from_its_mirror(
    s3_server: S3Server, shared: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    logdir, cache_url = shared
    first = replica(logdir, cache_url, tmp_path / "a", monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "b"))
    second = Reloader(logdir, cache_dir=cache_url, memory_budget=1)  # everything spills
    second.reload()
    assert second.progress().bytes_done == 0
    assert all(s.spilled for run in second.runs.values() for s in run.scalars.values())
    assert scalars(second) == scalars(first)
