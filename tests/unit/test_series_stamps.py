"""Stamps on the ``/series`` route: each run's columns come with a stamp of the points they
were made from; a request naming a run's stamp in ``known`` gets that run in ``unchanged``
(no columns) until its points change. Checked against a live log directory, both answers."""

from __future__ import annotations

import json
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
