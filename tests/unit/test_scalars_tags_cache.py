"""The scalars ``/tags`` answer is built once per change of the store and reused while
nothing changed; any change it shows (a run, a tag, a tag's first points, a description,
a purge, a run leaving) builds it again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import pytest
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.plugins.base import DataClass
from lumiboard.plugins.scalars import routes
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.store.provider import Provider
from lumiboard.store.runs import RunData, TagInfo

TAGS = "/data/plugin/scalars/tags"


def _write(root: Path, run: str, tag: str, steps: int = 3) -> None:
    with SummaryWriter(str(root / run)) as writer:
        for step in range(steps):
            writer.add_scalar(tag, 0.5 * step, step, walltime=1_000.0 + step)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Reloader, TestClient]]:
    _write(tmp_path, "a", "loss")
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    with TestClient(create_app(reloader)) as client:
        yield reloader, client


def test_a_new_run_and_tag_appear_after_a_reload(
    served: tuple[Reloader, TestClient], tmp_path: Path
) -> None:
    reloader, client = served
    assert client.get(TAGS).json() == {"a": {"loss": {"displayName": "loss", "description": ""}}}
    _write(tmp_path, "b", "acc")
    _write(tmp_path, "a", "lr")  # a second event file of run a: a new tag
    reloader.reload()
    assert client.get(TAGS).json() == {
        "a": {
            "loss": {"displayName": "loss", "description": ""},
            "lr": {"displayName": "lr", "description": ""},
        },
        "b": {"acc": {"displayName": "acc", "description": ""}},
    }
    shutil.rmtree(tmp_path / "b")
    reloader.reload()
    assert set(client.get(TAGS).json()) == {"a"}


def test_an_unchanged_reload_reuses_the_built_answer(
    served: tuple[Reloader, TestClient], tmp_path: Path
) -> None:
    reloader, client = served
    listing = routes.tag_listing(reloader_provider(client))
    first = client.get(TAGS).content
    builds = listing.builds
    body = listing.answer()
    reloader.reload()  # nothing new on disk
    assert listing.answer() is body
    assert client.get(TAGS).content == first
    assert listing.builds == builds
    _write(tmp_path, "a", "lr")
    reloader.reload()
    assert listing.answer() is not body
    assert listing.builds == builds + 1


def reloader_provider(client: TestClient) -> Provider:
    provider: Provider = client.app.state.context.provider  # type: ignore[attr-defined]
    return provider


def _store() -> tuple[dict[str, RunData], routes.TagListing]:
    runs: dict[str, RunData] = {}
    return runs, routes.TagListing(Provider(runs))


def _points(run: RunData, tag: str, steps: int = 2) -> None:
    run.scalar_series(tag).append(np.arange(steps), np.arange(steps) + 1.0, np.ones(steps))


def test_a_tag_shows_once_its_first_points_are_stored() -> None:
    runs, listing = _store()
    run = runs["r"] = RunData("r")
    # The loader creates a tag just before it stores the tag's points.
    run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t")
    assert listing.answer() == b"{}"
    _points(run, "t")
    assert listing.answer() == b'{"r":{"t":{"displayName":"t","description":""}}}'


def test_a_description_change_and_a_restore_build_again() -> None:
    runs, listing = _store()
    run = runs["r"] = RunData("r")
    run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t")
    _points(run, "t")
    assert b'"description":""' in listing.answer()
    run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t", description="*x*")
    assert b"<em>x</em>" in listing.answer()
    # A cache restore replaces the whole table with a plain dict.
    run.tags = {"u": TagInfo("scalars", DataClass.SCALAR, display_name="U")}
    _points(run, "u")
    assert listing.answer() == b'{"r":{"u":{"displayName":"U","description":""}}}'


def test_a_purge_that_empties_a_series_and_a_run_leaving_build_again() -> None:
    runs, listing = _store()
    for name in ("r", "s"):
        run = runs[name] = RunData(name)
        run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t")
        _points(run, "t")
    assert set(_keys(listing.answer())) == {"r", "s"}
    runs["r"].purge_from(0)
    assert set(_keys(listing.answer())) == {"s"}
    del runs["s"]
    assert listing.answer() == b"{}"


def test_runs_are_listed_in_start_time_order() -> None:
    runs, listing = _store()
    for name in ("r", "s"):
        run = runs[name] = RunData(name)
        run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t")
        _points(run, "t")
    runs["r"].start_time = 2.0
    runs["s"].start_time = 1.0
    assert _keys(listing.answer()) == ["s", "r"]
    runs["r"].start_time = 0.5
    assert _keys(listing.answer()) == ["r", "s"]


def _keys(body: bytes) -> list[str]:
    return list(orjson.loads(body))


def test_a_change_lists_again_only_the_runs_it_touched(monkeypatch: pytest.MonkeyPatch) -> None:
    runs, listing = _store()
    for name in ("r", "s", "u"):
        run = runs[name] = RunData(name)
        run.tags["t"] = TagInfo("scalars", DataClass.SCALAR, display_name="t")
        _points(run, "t")
    listing.answer()
    listed: list[str] = []
    original = routes._run_part

    def counted(name: str, run: RunData) -> routes._RunPart:
        listed.append(name)
        return original(name, run)

    monkeypatch.setattr(routes, "_run_part", counted)
    runs["s"].tags["v"] = TagInfo("scalars", DataClass.SCALAR, display_name="v")
    _points(runs["s"], "v")
    body = listing.answer()
    assert listed == ["s"]
    # The same bytes as a listing built from nothing.
    assert body == routes.TagListing(Provider(runs)).answer()
    assert orjson.loads(body)["s"] == {
        "t": {"displayName": "t", "description": ""},
        "v": {"displayName": "v", "description": ""},
    }
    # A tag created without points is re-checked in its run only; once it has points,
    # that run alone is listed again.
    listed.clear()
    runs["u"].tags["w"] = TagInfo("scalars", DataClass.SCALAR, display_name="w")
    assert "w" not in orjson.loads(listing.answer())["u"]
    _points(runs["u"], "w")
    assert "w" in orjson.loads(listing.answer())["u"]
    assert listed == ["u", "u"]
    # A run replaced by another of the same name (a reload reading it again) is listed anew.
    listed.clear()
    runs["r"] = RunData("r")
    runs["r"].tags["x"] = TagInfo("scalars", DataClass.SCALAR, display_name="x")
    _points(runs["r"], "x")
    assert list(orjson.loads(listing.answer())["r"]) == ["x"]
    assert listed == ["r"]
