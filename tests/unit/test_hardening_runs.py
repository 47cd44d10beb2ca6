"""Runs that change under a running server: vanished, renamed, oddly named, unreadable.

Issue 11 items 7 and 8: a run deleted or renamed while served leaves the listing on the next
reload (its cache file too), a blob whose event file is gone or cut short is a JSON 404, a run
directory whose name is not UTF-8 is listed and served, and an event file that cannot be read
is counted once in ``/data/status`` and logged once.
"""

from __future__ import annotations

import builtins
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

from lumiboard import SummaryWriter
from lumiboard.reader import discover, names
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions
from lumiboard.store.cache import cache_path

IMAGES = "/data/plugin/images"
SCALARS = "/data/plugin/scalars"


def _write_run(directory: Path | str, steps: int = 3, images: bool = False) -> None:
    writer = SummaryWriter(os.fspath(directory))
    for step in range(steps):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        if images:
            pixels = np.full((4, 4, 3), step * 20, dtype=np.uint8)
            writer.add_image("picture", pixels, step, dataformats="HWC")
    writer.close()


@contextmanager
def _served(logdir: Path | str, **reloader: Any) -> Iterator[tuple[Reloader, TestClient]]:
    loader = Reloader(os.fspath(logdir), **reloader)
    loader.reload()
    options = ServerOptions(data_location="logs")
    with TestClient(create_app(loader, options)) as client:
        yield loader, client


def _runs(client: TestClient) -> list[str]:
    response = client.get("/data/runs")
    assert response.status_code == 200, response.text
    runs: list[str] = response.json()
    return runs


def _image_key(client: TestClient, run: str) -> str:
    response = client.get(f"{IMAGES}/images", params={"run": run, "tag": "picture"})
    assert response.status_code == 200, response.text
    query: str = response.json()[-1]["query"]
    return query.removeprefix("blob_key=")


# ---- item 7: ghost runs ------------------------------------------------------------------


def test_a_deleted_run_leaves_the_listing(tmp_path: Path) -> None:
    _write_run(tmp_path / "kept")
    _write_run(tmp_path / "deleted")
    with _served(tmp_path) as (loader, client):
        assert sorted(_runs(client)) == ["deleted", "kept"]
        shutil.rmtree(tmp_path / "deleted")
        loader.reload()
        assert _runs(client) == ["kept"]
        tags = client.get(f"{SCALARS}/tags").json()
        assert list(tags) == ["kept"]
        missing = client.get(f"{SCALARS}/scalars", params={"run": "deleted", "tag": "loss"})
        assert missing.status_code == 404
        assert loader.location("deleted") is None
        assert loader.loader("deleted") is None


def test_a_renamed_run_is_listed_once_under_its_new_name(tmp_path: Path) -> None:
    _write_run(tmp_path / "before")
    with _served(tmp_path) as (loader, client):
        os.rename(tmp_path / "before", tmp_path / "after")
        loader.reload()
        assert _runs(client) == ["after"]
        body = client.get(f"{SCALARS}/scalars", params={"run": "after", "tag": "loss"}).json()
        assert [point[1] for point in body] == [0, 1, 2]


def test_a_run_whose_event_files_vanished_leaves_even_if_its_directory_stays(
    tmp_path: Path,
) -> None:
    _write_run(tmp_path / "emptied")
    _write_run(tmp_path / "full")
    with _served(tmp_path) as (loader, client):
        for event_file in (tmp_path / "emptied").iterdir():
            event_file.unlink()
        loader.reload()
        assert _runs(client) == ["full"]


def test_a_file_renamed_inside_a_run_is_not_read_twice(tmp_path: Path) -> None:
    """rsync writes ``.events...tfevents...XXXX`` and renames it: the run is read again from
    the files there are, not kept with the vanished file's points on top."""
    _write_run(tmp_path / "run")
    (original,) = (tmp_path / "run").iterdir()
    with _served(tmp_path) as (loader, client):
        os.rename(original, original.with_name(original.name + ".synced"))
        loader.reload()
        body = client.get(f"{SCALARS}/scalars", params={"run": "run", "tag": "loss"}).json()
        assert [point[1] for point in body] == [0, 1, 2]


def test_a_gone_run_drops_its_cache_file(tmp_path: Path) -> None:
    logdir, cache = tmp_path / "logs", tmp_path / "cache"
    _write_run(logdir / "gone")
    loader = Reloader(str(logdir), cache_dir=cache)
    loader.reload()
    location = loader.location("gone")
    assert location is not None
    assert os.path.exists(cache_path(cache, location))
    shutil.rmtree(logdir / "gone")
    loader.reload()
    assert "gone" not in loader.runs
    assert not os.path.exists(cache_path(cache, location))


def test_a_source_that_cannot_be_listed_keeps_its_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory that cannot be listed now (permissions, a network blip) is not a deletion:
    its runs keep their data until a listing says they are gone."""
    _write_run(tmp_path / "a" / "run")
    loader = Reloader(str(tmp_path))
    loader.reload()
    blocked = str(tmp_path / "a")
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if os.fspath(path) == blocked:
            raise PermissionError(13, "Permission denied", blocked)
        return real_scandir(path)

    monkeypatch.setattr(discover.os, "scandir", scandir)
    loader.reload()
    assert list(loader.runs) == ["a/run"]
    monkeypatch.undo()
    shutil.rmtree(tmp_path / "a")
    loader.reload()
    assert list(loader.runs) == []


@pytest.mark.parametrize("damage", ["delete", "truncate", "rewrite"])
def test_a_blob_of_a_vanished_or_cut_file_is_a_json_404(tmp_path: Path, damage: str) -> None:
    _write_run(tmp_path / "run", images=True)
    (event_file,) = (tmp_path / "run").iterdir()
    with _served(tmp_path) as (_, client):
        key = _image_key(client, "run")
        assert client.get(f"{IMAGES}/individualImage", params={"blob_key": key}).status_code == 200
        if damage == "delete":
            event_file.unlink()
        elif damage == "truncate":
            event_file.write_bytes(event_file.read_bytes()[:40])
        else:  # the same size, other bytes (a file replaced in place)
            event_file.write_bytes(b"\xff" * event_file.stat().st_size)
        response = client.get(f"{IMAGES}/individualImage", params={"blob_key": key})
        assert response.status_code == 404, response.text
        assert "error" in response.json()
        # The listing (which peeks into the values for their sizes) still answers.
        assert (
            client.get(f"{IMAGES}/images", params={"run": "run", "tag": "picture"}).status_code
            == 200
        )


# ---- item 8: odd names and permissions --------------------------------------------------


@pytest.fixture
def odd_logdir(tmp_path: Path) -> Path:
    """A log directory with a run whose directory name is not UTF-8 (``run\\xff``)."""
    try:
        odd = os.path.join(os.fsencode(tmp_path), b"run\xff")
        os.mkdir(odd)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    _write_run(os.fsdecode(odd), images=True)
    _write_run(tmp_path / "plain")
    return tmp_path


def test_a_run_named_in_bytes_that_are_not_utf8_is_listed_and_served(odd_logdir: Path) -> None:
    with _served(odd_logdir) as (loader, client):
        runs = _runs(client)
        assert sorted(runs) == ["plain", "run\\xff"]
        tags = client.get(f"{SCALARS}/tags")
        assert tags.status_code == 200, tags.text
        assert set(tags.json()) == {"plain", "run\\xff"}
        scalars = client.get(f"{SCALARS}/scalars", params={"run": "run\\xff", "tag": "loss"})
        assert scalars.status_code == 200, scalars.text
        assert [point[1] for point in scalars.json()] == [0, 1, 2]
        key = _image_key(client, "run\\xff")
        image = client.get(f"{IMAGES}/individualImage", params={"blob_key": key})
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")
        assert client.get("/data/status").status_code == 200
        assert client.get("/data/plugins_listing").status_code == 200
        # The real directory is still the one read.
        location = loader.location("run\\xff")
        assert location is not None
        assert os.fsencode(location).endswith(b"run\xff")


def test_display_names_are_text_and_distinct() -> None:
    assert names.safe_text("plain/run") == "plain/run"
    assert names.safe_text(os.fsdecode(b"run\xff")) == "run\\xff"
    assert names.safe_text("lone\ud800") == "lone\\ud800"
    odd = {"x": os.fsdecode(b"a\xff"), "y": "a\\xff"}  # a real name that looks escaped
    shown = names.safe_names(odd.values())
    assert shown[odd["y"]] == "a\\xff"
    assert shown[odd["x"]] != "a\\xff"
    for name in shown.values():
        name.encode("utf-8")


def _refuse_open(monkeypatch: pytest.MonkeyPatch, refused: set[str]) -> None:
    """Opening any path in ``refused`` raises PermissionError, as a mode-000 file does for a
    user that is not root (the tests may run as root, who may read anything)."""
    real_open = builtins.open

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and os.fspath(file) in refused:
            raise PermissionError(13, "Permission denied", os.fspath(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)


def test_an_unreadable_event_file_is_counted_once_and_logged_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _write_run(tmp_path / "run", steps=2)
    writer = SummaryWriter(str(tmp_path / "run"), filename_suffix=".second")
    writer.add_scalar("loss", 0.25, 5)
    writer.close()
    first, _second = sorted(str(path) for path in (tmp_path / "run").iterdir())
    refused = {first}
    _refuse_open(monkeypatch, refused)
    caplog.set_level(logging.WARNING)
    with _served(tmp_path) as (loader, client):
        for _ in range(3):
            loader.reload()
        status = client.get("/data/status").json()
        assert status["skipped"] == {"run": {"": 1}}
        warnings = [r for r in caplog.records if first in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
        # The run's other file is read all the same.
        body = client.get(f"{SCALARS}/scalars", params={"run": "run", "tag": "loss"}).json()
        assert [point[1] for point in body] == [5]
        # Readable again (permissions fixed): read, and no longer counted.
        refused.clear()
        loader.reload()
        body = client.get(f"{SCALARS}/scalars", params={"run": "run", "tag": "loss"}).json()
        assert sorted(point[1] for point in body) == [0, 1, 5]
        assert client.get("/data/status").json()["skipped"] == {}


_MODE_000_CHECK = """
import os, sys
from pathlib import Path
from starlette.testclient import TestClient
from lumiboard.reader.reload import Reloader
from lumiboard.server.app import create_app
from lumiboard.server.context import ServerOptions

root = Path(sys.argv[1])
try:
    (root / "run" / sys.argv[2]).read_bytes()
except PermissionError:
    pass
else:
    sys.exit("the file is readable: the check would prove nothing")
loader = Reloader(os.fspath(root))
loader.reload()
loader.reload()
with TestClient(create_app(loader, ServerOptions(data_location="logs"))) as client:
    print(client.get("/data/status").json()["skipped"])
"""


def test_a_mode_000_event_file_is_counted(tmp_path: Path) -> None:
    # A real mode-000 file, not a simulated refusal. Root reads any file, so as root the
    # check runs in a child without the capabilities that let it (as CI runs).
    import subprocess
    import sys

    _write_run(tmp_path / "run")
    (event_file,) = (tmp_path / "run").iterdir()
    event_file.chmod(0)
    command = [sys.executable, "-c", _MODE_000_CHECK, os.fspath(tmp_path), event_file.name]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file capabilities"
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    finally:
        event_file.chmod(0o644)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "{'run': {'': 1}}"


def test_an_event_file_named_in_bytes_that_are_not_utf8_is_served(tmp_path: Path) -> None:
    """Blob keys fingerprint the event file's name: one that is not UTF-8 must not break them."""
    _write_run(tmp_path / "run", images=True)
    (event_file,) = (tmp_path / "run").iterdir()
    try:
        os.rename(
            event_file, os.path.join(os.fsencode(event_file.parent), b"events.out.tfevents.\xfe")
        )
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    with _served(tmp_path) as (_, client):
        key = _image_key(client, "run")
        image = client.get(f"{IMAGES}/individualImage", params={"blob_key": key})
        assert image.status_code == 200
        assert image.content.startswith(b"\x89PNG")


def test_a_log_directory_named_in_bytes_that_are_not_utf8_is_shown(tmp_path: Path) -> None:
    try:
        odd = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"logs\xff"))
        os.mkdir(odd)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    _write_run(os.path.join(odd, "run"))
    loader = Reloader(odd)
    loader.reload()
    with TestClient(create_app(loader)) as client:
        for route in ("/data/environment", "/data/logdir", "/data/runs"):
            response = client.get(route)
            assert response.status_code == 200, (route, response.text)
        assert client.get("/data/environment").json()["data_location"].endswith("logs\\xff")


# ---- one symlink policy for the files beside event files --------------------------------

PROJECTOR = "/data/plugin/projector"
PROFILE = "/data/plugin/profile"
TRACE = '{"traceEvents": [{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "pid": 1, "tid": 1, "ts": 0, "dur": 5, "args": {}}]}'  # noqa: E501


def _projector_run(run: Path, tensor_path: str) -> None:
    _write_run(run, steps=1)
    (run / "projector_config.pbtxt").write_text(
        f'embeddings {{ tensor_name: "t" tensor_path: "{tensor_path}" }}\n'
    )


def test_projector_files_may_link_inside_the_log_directory_not_outside(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    (tmp_path / "outside.tsv").write_text("1\t2\n3\t4\n")
    _projector_run(logdir / "a", "shared.tsv")
    (logdir / "a" / "shared.tsv").write_text("5\t6\n7\t8\n")
    _projector_run(logdir / "b", "linked.tsv")
    (logdir / "b" / "linked.tsv").symlink_to(logdir / "a" / "shared.tsv")  # another run's
    _projector_run(logdir / "c", "escape.tsv")
    (logdir / "c" / "escape.tsv").symlink_to(tmp_path / "outside.tsv")
    (logdir / "d").mkdir()
    _write_run(logdir / "d", steps=1)
    (tmp_path / "outside.pbtxt").write_text('embeddings { tensor_name: "t" tensor_path: "x" }\n')
    (logdir / "d" / "projector_config.pbtxt").symlink_to(tmp_path / "outside.pbtxt")
    with _served(logdir) as (_, client):
        # A config leading outside is no config.
        assert client.get(f"{PROJECTOR}/runs").json() == ["a", "b", "c"]
        inside = client.get(f"{PROJECTOR}/tensor", params={"run": "b", "name": "t"})
        assert inside.status_code == 200, inside.text
        assert np.frombuffer(inside.content, "<f4").tolist() == [5, 6, 7, 8]
        outside = client.get(f"{PROJECTOR}/tensor", params={"run": "c", "name": "t"})
        assert outside.status_code == 400
        assert "outside" in outside.json()["error"]


def test_profile_traces_may_link_inside_the_log_directory_not_outside(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    (tmp_path / "secret.pt.trace.json").write_text(TRACE)
    (logdir / "real").mkdir(parents=True)
    (logdir / "real" / "w0.1.pt.trace.json").write_text(TRACE)
    (logdir / "inside").mkdir()
    (logdir / "inside" / "w0.1.pt.trace.json").symlink_to(logdir / "real" / "w0.1.pt.trace.json")
    (logdir / "escape").mkdir()
    (logdir / "escape" / "w0.1.pt.trace.json").symlink_to(tmp_path / "secret.pt.trace.json")
    with _served(logdir) as (_, client):
        for run in ("real", "inside"):
            ok = client.get(f"{PROFILE}/operators", params={"run": run, "worker": "w0"})
            assert ok.status_code == 200, ok.text
        refused = client.get(f"{PROFILE}/operators", params={"run": "escape", "worker": "w0"})
        assert refused.status_code == 422, refused.text
        assert "outside" in refused.json()["error"]
        assert refused.json()["file"] == "w0.1.pt.trace.json"
        spread = client.get(f"{PROFILE}/distributed", params={"run": "escape"}).json()
        assert "outside" in spread["workers"][0]["error"]


def test_profile_names_that_are_not_utf8_are_listed(tmp_path: Path) -> None:
    try:
        odd = os.path.join(os.fsencode(tmp_path), b"run\xff")
        os.mkdir(odd)
        with open(os.path.join(odd, b"w\xfe.1.pt.trace.json"), "w") as handle:
            handle.write(TRACE)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses non-UTF-8 names")
    with _served(tmp_path) as (_, client):
        runs = client.get(f"{PROFILE}/runs")
        assert runs.status_code == 200, runs.text
        assert runs.json()["runs"] == {
            "run\\xff": {
                "w\\xfe": [
                    {
                        "span": "1",
                        "file": "w\\xfe.1.pt.trace.json",
                        "size": len(TRACE),
                        "mtime": runs.json()["runs"]["run\\xff"]["w\\xfe"][0]["mtime"],
                    }
                ]
            }
        }
        params = {"run": "run\\xff", "worker": "w\\xfe"}
        assert client.get(f"{PROFILE}/operators", params=params).status_code == 200


def test_a_profile_trace_unreadable_for_a_while_is_read_once_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """chmod changes neither size nor mtime (the parsed-trace cache's key): a permission
    error must not be kept as the file's answer."""
    (tmp_path / "run").mkdir()
    trace = tmp_path / "run" / "w0.1.pt.trace.json"
    trace.write_text(TRACE)
    params = {"run": "run", "worker": "w0"}
    with _served(tmp_path) as (_, client):
        with monkeypatch.context() as patch:
            _refuse_open(patch, {str(trace)})
            refused = client.get(f"{PROFILE}/operators", params=params)
            assert refused.status_code == 422, refused.text
        assert client.get(f"{PROFILE}/operators", params=params).status_code == 200


def test_a_cache_that_cannot_be_saved_never_fails_the_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache is only a cache: a save that raises (a bug, a full disk) must not stop the
    # reload pass at `passes: 0` nor keep the run's points from being served.
    _write_run(tmp_path / "logs" / "a", steps=4)
    from lumiboard.store import cache as cache_module

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("cache writer bug")

    monkeypatch.setattr(cache_module.RunCache, "save", broken)
    loader = Reloader(os.fspath(tmp_path / "logs"), cache_dir=tmp_path / "cache")
    loader.reload()
    loader.reload()
    assert loader.progress().passes == 2
    assert loader.runs["a"].num_scalar_points == 4
