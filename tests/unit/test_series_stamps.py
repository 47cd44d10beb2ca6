"""Stamps on the ``/series`` route: each run's columns come with a stamp of the points they
were made from; a request naming a run's stamp in ``known`` gets that run in ``unchanged``
(no columns) until its points change. Checked against a live log directory, both answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.plugins.scalars.series_binary import MEDIA_TYPE
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.store.columns import ScalarSeries

SERIES = "/data/plugin/scalars/series"
BINARY = {"Accept": MEDIA_TYPE}


def _binary_meta(body: bytes) -> dict[str, Any]:
    assert body[:4] == b"LBS1"
    length = int.from_bytes(body[4:8], "little")
    meta: dict[str, Any] = json.loads(body[8 : 8 + length])
    return meta


class _Board:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.reloader = Reloader(str(root))

    def write(self, run: str, steps: range, tag: str = "loss") -> None:
        with SummaryWriter(str(self.root / run)) as writer:
            for step in steps:
                writer.add_scalar(tag, 1.0 / (step + 1), step)
        self.reloader.reload()


@pytest.fixture
def board(tmp_path: Path) -> Iterator[tuple[_Board, TestClient]]:
    board = _Board(tmp_path)
    board.write("a", range(100))
    board.write("b", range(50))
    with TestClient(create_app(board.reloader)) as client:
        yield board, client


def _ask(client: TestClient, known: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"tag": "loss", "runs": ["a", "b", "missing"], "buckets": 100, **extra}
    if known is not None:
        body["known"] = known
    response = client.post(SERIES, json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_unchanged_runs_are_named_not_sent(board: tuple[_Board, TestClient]) -> None:
    state, client = board
    first = _ask(client)
    assert set(first["runs"]) == {"a", "b"}
    assert "unchanged" not in first
    stamps = {run: columns["stamp"] for run, columns in first["runs"].items()}
    assert stamps["a"] != stamps["b"]

    # Nothing written: both named unchanged, no columns sent; a stamp for a run without the tag
    # is ignored (the run is left out as always).
    again = _ask(client, {**stamps, "missing": stamps["a"]})
    assert again["runs"] == {}
    assert again["unchanged"] == ["a", "b"]

    # New points in "a": only "a" comes, with a new stamp and every point.
    state.write("a", range(100, 130))
    after = _ask(client, stamps)
    assert list(after["runs"]) == ["a"]
    assert after["runs"]["a"]["total"] == 130
    assert after["runs"]["a"]["stamp"] not in stamps.values()
    assert after["unchanged"] == ["b"]
    # A stamp the server never gave (another process's, a made-up one): the run is sent.
    other = _ask(client, {"a": "00000000.1", "b": "x"})
    assert set(other["runs"]) == {"a", "b"}
    assert "unchanged" not in other


def test_the_binary_answer_carries_the_same(board: tuple[_Board, TestClient]) -> None:
    _, client = board
    body = {"tag": "loss", "runs": ["a", "b"], "buckets": 100}
    plain = client.post(SERIES, json=body).json()
    stamps = {run: columns["stamp"] for run, columns in plain["runs"].items()}
    first = client.post(SERIES, json=body, headers=BINARY)
    meta = _binary_meta(first.content)
    assert {r["run"]: r["stamp"] for r in meta["runs"]} == stamps
    assert "unchanged" not in meta
    again = client.post(SERIES, json={**body, "known": {"b": stamps["b"]}}, headers=BINARY)
    meta = _binary_meta(again.content)
    assert [r["run"] for r in meta["runs"]] == ["a"]
    assert meta["unchanged"] == ["b"]


@pytest.mark.parametrize(
    "known", [["a"], {"a": 3}, "a", {"a": None}], ids=["list", "number", "text", "null"]
)
def test_a_malformed_known_is_a_400(board: tuple[_Board, TestClient], known: Any) -> None:
    _, client = board
    body = {"tag": "loss", "runs": ["a"], "buckets": 10, "known": known}
    response = client.post(SERIES, json=body)
    assert response.status_code == 400
    assert "known" in response.json()["error"]


def test_a_series_version_changes_with_its_points_only() -> None:
    series = ScalarSeries()
    versions = {series.version}
    series.append(np.arange(10), np.arange(10.0), np.ones(10, dtype=np.float32))
    assert series.version not in versions
    versions.add(series.version)
    same = series.version
    series.columns()  # reading, consolidating: the same points
    series.blocks()
    assert series.version == same
    series.spill(lambda: (np.arange(10), np.arange(10.0), np.ones(10, dtype=np.float32)))
    assert series.version == same  # spilled: the same points, read elsewhere
    assert series.purge_from(100) == 0  # nothing dropped: the same points
    assert series.version == same
    assert series.purge_from(5) == 5
    assert series.version not in versions
    versions.add(series.version)
    # Another series never has a version this one had, even with the same points.
    other = ScalarSeries()
    other.append(np.arange(10), np.arange(10.0), np.ones(10, dtype=np.float32))
    assert other.version not in versions


def test_a_purge_a_restart_and_a_spill(board: tuple[_Board, TestClient], tmp_path: Path) -> None:
    state, client = board
    stamps = {run: columns["stamp"] for run, columns in _ask(client)["runs"].items()}
    # A resumed run purges the steps after its checkpoint: "b" changes, "a" does not.
    with SummaryWriter(str(state.root / "b"), purge_step=20) as writer:
        writer.add_scalar("loss", 5.0, 20)
    state.reloader.reload()
    after = _ask(client, stamps)
    assert list(after["runs"]) == ["b"]
    assert after["runs"]["b"]["total"] == 21
    assert after["unchanged"] == ["a"]
    stamps["b"] = after["runs"]["b"]["stamp"]
    # Spilled out of memory (the memory budget), the points and the stamp stay.
    series = state.reloader.runs["a"].scalars["loss"]
    columns = series.columns()
    series.spill(lambda: tuple(np.array(c) for c in columns))
    assert _ask(client, stamps)["unchanged"] == ["a", "b"]
    # Another server process over the same files: same points, other stamps, all sent.
    other = Reloader(str(state.root))
    other.reload()
    with TestClient(create_app(other)) as second:
        fresh = _ask(second, stamps)
    assert set(fresh["runs"]) == {"a", "b"}
    assert "unchanged" not in fresh


def test_the_stamp_is_read_before_the_points(
    board: tuple[_Board, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A point appended while the answer is made is sent again on the next reload: the stamp
    sent names the points before it, so it cannot hide the new one."""
    state, client = board
    series = state.reloader.runs["a"].scalars["loss"]
    provider_type = type(client.app.state.context.provider)  # type: ignore[attr-defined]
    reduce = provider_type.read_scalars_reduced

    def appending(self: Any, run: str, *args: Any, **kwargs: Any) -> Any:
        if run == "a":
            series.append(np.array([1_000]), np.array([9.0]), np.array([0.5], dtype=np.float32))
        return reduce(self, run, *args, **kwargs)

    monkeypatch.setattr(provider_type, "read_scalars_reduced", appending)
    raced = _ask(client)
    monkeypatch.undo()
    stamps = {run: columns["stamp"] for run, columns in raced["runs"].items()}
    after = _ask(client, stamps)
    assert list(after["runs"]) == ["a"]
    assert after["runs"]["a"]["total"] == 101


_FORKED = """
import os
import numpy as np
from lumiboard.store.provider import Provider
from lumiboard.store.runs import RunData

run = RunData("a")
run.scalar_series("loss").append(np.arange(3), np.arange(3.0), np.ones(3, dtype=np.float32))
provider = Provider({"a": run})
mine = provider.scalar_stamp("a", "loss")
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(writer, provider.scalar_stamp("a", "loss").encode())
    os._exit(0)
os.close(writer)
os.waitpid(pid, 0)
print(mine, os.read(reader, 100).decode())
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_process_draws_its_own_stamps() -> None:
    """A child forked from a server process would repeat its versions: its stamps differ.
    (In a fresh interpreter: forking pytest's own threaded process is not safe.)"""
    done = subprocess.run(
        [sys.executable, "-c", _FORKED], capture_output=True, text=True, timeout=60, check=True
    )
    mine, theirs = done.stdout.split()
    assert theirs.split(".")[1] == mine.split(".")[1]  # the same version ...
    assert theirs != mine  # ... under another process's prefix
