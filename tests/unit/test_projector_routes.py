"""The projector's routes, against TensorBoard's own projector plugin on the same log directory.

Embeddings are written by ``lumiboard.SummaryWriter.add_embedding`` and by
``torch.utils.tensorboard``'s; then hand-made configs test paths that escape the
run, broken TSVs, raw float32 tensors, size caps and hostile query strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from route_support import get_ok
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from tensorboard import default, program  # type: ignore[import-untyped]
from tensorboard.backend import application  # type: ignore[import-untyped]
from tensorboard.backend.event_processing import data_ingester  # type: ignore[import-untyped]
from torch.utils import tensorboard as torch_tb
from werkzeug.test import Client

from lumiboard import SummaryWriter
from lumiboard.plugins.projector import data
from lumiboard.plugins.projector.routes import ROUTES
from lumiboard.reader.reload import Reloader
from lumiboard.server import errors
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider

P = "/data/plugin/projector"
N, D = 40, 6


def _data() -> tuple[np.ndarray, list[str], torch.Tensor]:
    rng = np.random.default_rng(7)
    mat = rng.normal(size=(N, D)).astype(np.float32)
    labels = [f"class{i % 4}" for i in range(N)]
    images = torch.rand(N, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    return mat, labels, images


def _write_logdir(root: Path) -> None:
    mat, labels, images = _data()
    for run, writer_class in (("lumi", SummaryWriter), ("torch", torch_tb.SummaryWriter)):
        writer: Any = writer_class(str(root / run))
        writer.add_embedding(mat, metadata=labels, label_img=images, tag="emb", global_step=3)
        rows = [[label, str(i)] for i, label in enumerate(labels)]
        writer.add_embedding(
            mat * 2, metadata=rows, metadata_header=["label", "index"], tag="deep/emb"
        )
        writer.close()


def _app(root: Path) -> TestClient:
    reloader = Reloader(str(root))
    reloader.reload()
    app = Starlette(
        routes=[Mount(P, routes=ROUTES)],  # type: ignore[list-item]
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    return TestClient(app)


def _tensorboard(root: Path) -> Client:
    board = program.TensorBoard(plugins=default.get_plugins())
    board.configure(
        argv=[
            "tensorboard",
            "--logdir",
            str(root),
            "--load_fast=false",
            "--reload_task=blocking",
            "--reload_interval=0",
        ]
    )
    ingester = data_ingester.LocalDataIngester(board.flags)
    ingester.start()
    app = application.TensorBoardWSGIApp(
        board.flags,
        board.plugin_loaders,
        ingester.data_provider,
        board.assets_zip_provider,
        ingester.deprecated_multiplexer,
    )
    return Client(app)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("projector")
    _write_logdir(root)
    return root


@pytest.fixture(scope="module")
def ours(logdir: Path) -> Iterator[TestClient]:
    data.clear_cache()
    with _app(logdir) as client:
        yield client


@pytest.fixture(scope="module")
def theirs(logdir: Path) -> Client:
    return _tensorboard(logdir)


def test_runs_match_tensorboard(ours: TestClient, theirs: Client) -> None:
    assert get_ok(ours, f"{P}/runs").json() == ["lumi", "torch"]
    assert sorted(json.loads(get_ok(theirs, f"{P}/runs").text)) == ["lumi", "torch"]


@pytest.mark.parametrize("run", ["lumi", "torch"])
def test_info_matches_tensorboard(ours: TestClient, theirs: Client, run: str) -> None:
    mine = get_ok(ours, f"{P}/info", run=run).json()
    tb = json.loads(get_ok(theirs, f"{P}/info", run=run).text)
    assert mine == tb
    first = mine["embeddings"][0]
    assert first["tensorName"] == "emb:00003"
    assert first["tensorPath"] == "00003/emb/tensors.tsv"  # relative to the run
    assert first["tensorShape"] == [N, D]
    assert first["sprite"] == {"imagePath": "00003/emb/sprite.png", "singleImageDim": [6, 6]}


@pytest.mark.parametrize("run", ["lumi", "torch"])
@pytest.mark.parametrize("name", ["emb:00003", "deep/emb:00000"])
def test_tensor_matches_tensorboard(ours: TestClient, theirs: Client, run: str, name: str) -> None:
    mat = _data()[0] * (2 if name.startswith("deep") else 1)
    mine = get_ok(ours, f"{P}/tensor", run=run, name=name)
    assert mine.headers["content-type"] == "application/octet-stream"
    assert np.array_equal(np.frombuffer(mine.content, "<f4").reshape(N, D), mat)
    assert mine.content == get_ok(theirs, f"{P}/tensor", run=run, name=name).data
    cut = get_ok(ours, f"{P}/tensor", run=run, name=name, num_rows=5).content
    assert cut == get_ok(theirs, f"{P}/tensor", run=run, name=name, num_rows=5).data
    assert len(cut) == 5 * D * 4


@pytest.mark.parametrize("run", ["lumi", "torch"])
def test_metadata_and_sprite_match_tensorboard(ours: TestClient, theirs: Client, run: str) -> None:
    for name in ("emb:00003", "deep/emb:00000"):
        for rows in ({}, {"num_rows": 3}):
            mine = get_ok(ours, f"{P}/metadata", run=run, name=name, **rows).text
            assert mine == get_ok(theirs, f"{P}/metadata", run=run, name=name, **rows).text
    assert get_ok(ours, f"{P}/metadata", run=run, name="deep/emb:00000", num_rows=2).text == (
        "label\tindex\nclass0\t0\nclass1\t1\n"
    )
    sprite = get_ok(ours, f"{P}/sprite_image", run=run, name="emb:00003")
    assert sprite.headers["content-type"] == "image/png"
    assert sprite.content == get_ok(theirs, f"{P}/sprite_image", run=run, name="emb:00003").data


def test_every_row_is_served(tmp_path: Path) -> None:
    """No 10,000-point sample: 25,000 rows come back whole."""
    mat = np.arange(25_000 * 3, dtype=np.float32).reshape(-1, 3) / 7
    with SummaryWriter(str(tmp_path / "big")) as writer:
        writer.add_embedding(mat, tag="big")
    with _app(tmp_path) as client:
        body = get_ok(client, f"{P}/tensor", run="big", name="big:00000").content
    assert np.array_equal(np.frombuffer(body, "<f4").reshape(-1, 3), mat)


# ---- hand-made configs: escapes, bad files, binary tensors -----------------------------------


def _config(run_dir: Path, **fields: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    with torch_tb.SummaryWriter(str(run_dir)) as writer:  # an event file: a run
        writer.add_scalar("x", 1.0, 0)
    body = "".join(f'  {key}: "{value}"\n' for key, value in fields.items())
    (run_dir / "projector_config.pbtxt").write_text(f"embeddings {{\n{body}}}\n")


def _error(client: TestClient, route: str, status: int, **params: Any) -> str:
    response = client.get(f"{P}/{route}", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["error"]
    return message


def test_paths_outside_the_run_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.tsv"
    secret.write_text("1\t2\n")
    run = tmp_path / "logs" / "run"
    _config(
        run,
        tensor_name="t",
        tensor_path="../../secret.tsv",
        metadata_path="/etc/passwd",
        bookmarks_path="../../../../../../etc/passwd",
    )
    (run / "linked.tsv").symlink_to(secret)
    (run / "sprite").mkdir()
    with _app(tmp_path / "logs") as client:
        assert "outside" in _error(client, "tensor", 400, run="run", name="t")
        assert "outside" in _error(client, "metadata", 400, run="run", name="t")
        assert "outside" in _error(client, "bookmarks", 400, run="run", name="t")
        # /info still answers; the shape of a tensor it cannot read stays unknown.
        info = get_ok(client, f"{P}/info", run="run").json()
        assert info["embeddings"][0]["tensorPath"] == "../../secret.tsv"
        assert "tensorShape" not in info["embeddings"][0]
    # A symlink out of the run is resolved, and refused too.
    _config(run, tensor_name="t", tensor_path="linked.tsv", metadata_path="sprite")
    with _app(tmp_path / "logs") as client:
        assert "outside" in _error(client, "tensor", 400, run="run", name="t")
        assert "not a file" in _error(client, "metadata", 400, run="run", name="t")
        assert "no sprite" in _error(client, "sprite_image", 400, run="run", name="t")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1\t2\n3\t4\t5\n", "line 2: 3 values, but line 1 has 2"),
        ("1\t2\n\n3\tx\n", "line 3, column 2: 'x' is not a number"),
        ("1\t2\n3\tnan\n", "line 2, column 2: 'nan' is not a finite"),
        ("1\t2\ninf\t4\n", "line 2, column 1: 'inf' is not a finite"),
        ("1\t1e40\n", "line 1, column 2: '1e40' is not a finite float32"),
        ("1\t\n", "line 1, column 2: '' is not a number"),
        ("\n\n", "holds no rows"),
        ("\xff\xfe", "not a UTF-8 TSV"),
    ],
)
def test_bad_tsv_names_the_line(tmp_path: Path, text: str, expected: str) -> None:
    run = tmp_path / "run"
    _config(run, tensor_name="t", tensor_path="t.tsv")
    (run / "t.tsv").write_bytes(text.encode("latin-1"))
    with _app(tmp_path) as client:
        assert expected in _error(client, "tensor", 400, run="run", name="t")


def test_binary_tensor_and_blank_lines(tmp_path: Path) -> None:
    mat = np.zeros((3, 4), dtype=np.float32)
    mat[1, 2] = 2.5
    run = tmp_path / "run"
    _config(run, tensor_name="bin:0", tensor_path="t.bytes")
    text = (run / "projector_config.pbtxt").read_text()
    (run / "projector_config.pbtxt").write_text(
        text.replace("}", "  tensor_shape: 3\n  tensor_shape: 4\n}")
    )
    (run / "t.bytes").write_bytes(mat.tobytes())
    _config(tmp_path / "tsv", tensor_path="sub/vectors.tsv")  # named after the file
    (tmp_path / "tsv" / "sub").mkdir()
    (tmp_path / "tsv" / "sub" / "vectors.tsv").write_text("\n0.0\t0.0\r\n\n1\t-2e-3\n")
    with _app(tmp_path) as client:
        # ":0" is dropped from names, and both spellings find the embedding.
        assert get_ok(client, f"{P}/info", run="run").json()["embeddings"][0]["tensorName"] == "bin"
        for name in ("bin", "bin:0"):
            body = get_ok(client, f"{P}/tensor", run="run", name=name).content
            assert np.array_equal(np.frombuffer(body, "<f4").reshape(3, 4), mat)
        body = get_ok(client, f"{P}/tensor", run="tsv", name="vectors.tsv").content
        assert np.frombuffer(body, "<f4").tolist() == [0.0, 0.0, 1.0, np.float32(-2e-3)]


def test_size_cap_is_a_413(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    _config(run, tensor_name="t", tensor_path="t.tsv", metadata_path="m.tsv")
    (run / "t.tsv").write_text("1\t2\n" * 100)
    (run / "m.tsv").write_text("a\n" * 100)
    monkeypatch.setitem(data.MAX_BYTES, "tensor", 50)
    monkeypatch.setitem(data.MAX_BYTES, "metadata", 50)
    data.clear_cache()
    with _app(tmp_path) as client:
        assert "over the 50-byte limit" in _error(client, "tensor", 413, run="run", name="t")
        assert "over the 50-byte limit" in _error(client, "metadata", 413, run="run", name="t")


def test_cache_follows_rewrites(tmp_path: Path) -> None:
    with SummaryWriter(str(tmp_path / "run")) as writer:
        writer.add_embedding(np.ones((2, 2)), tag="e")
        with _app(tmp_path) as client:
            first = get_ok(client, f"{P}/tensor", run="run", name="e:00000").content
            assert np.frombuffer(first, "<f4").tolist() == [1.0] * 4
            writer.add_embedding(np.full((3, 2), 5.0), tag="e")
            again = get_ok(client, f"{P}/tensor", run="run", name="e:00000").content
            assert np.frombuffer(again, "<f4").tolist() == [5.0] * 6


def test_root_of_the_logdir_counts(tmp_path: Path) -> None:
    """As TensorBoard: a config in the log directory itself is the run ``.``."""
    (tmp_path / "projector_config.pbtxt").write_text(
        'embeddings { tensor_name: "r" tensor_path: "r.tsv" }\n'
    )
    (tmp_path / "r.tsv").write_text("1\t2\n")
    with _app(tmp_path) as client:
        assert get_ok(client, f"{P}/runs").json() == ["."]
        assert len(get_ok(client, f"{P}/tensor", run=".", name="r").content) == 8


def test_bookmarks(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _config(run, tensor_name="t", tensor_path="t.tsv", bookmarks_path="b.json")
    (run / "t.tsv").write_text("1\t2\n")
    (run / "b.json").write_text('[{"label": "view 1"}]')
    with _app(tmp_path) as client:
        assert get_ok(client, f"{P}/bookmarks", run="run", name="t").json() == [{"label": "view 1"}]
        (run / "b.json").write_text("{nope")
        assert "not JSON" in _error(client, "bookmarks", 400, run="run", name="t")


@pytest.mark.parametrize(
    ("route", "params", "status"),
    [
        ("info", {}, 400),
        ("info", {"run": "nope"}, 404),
        ("info", {"run": "../.."}, 404),
        ("tensor", {"run": "lumi"}, 400),
        ("tensor", {"run": "lumi", "name": "nope"}, 404),
        ("tensor", {"run": "lumi", "name": "emb:00003", "num_rows": "0"}, 400),
        ("tensor", {"run": "lumi", "name": "emb:00003", "num_rows": "x"}, 400),
        ("tensor", {"run": "lumi", "name": "emb:00003", "num_rows": "-3"}, 400),
        ("metadata", {"run": "lumi", "name": "\x00"}, 404),
        ("sprite_image", {"run": "lumi", "name": "deep/emb:00000"}, 400),
        ("bookmarks", {"run": "lumi", "name": "emb:00003"}, 400),
        ("bookmarks", {"run": "", "name": ""}, 404),
    ],
)
def test_hostile_queries(ours: TestClient, route: str, params: dict[str, str], status: int) -> None:
    _error(ours, route, status, **params)


def test_broken_config_is_no_run(tmp_path: Path) -> None:
    _config(tmp_path / "run", tensor_name="t", tensor_path="t.tsv")
    (tmp_path / "run" / "projector_config.pbtxt").write_text("embeddings { oops")
    with _app(tmp_path) as client:
        assert get_ok(client, f"{P}/runs").json() == []


def test_is_active_and_demo(tmp_path: Path) -> None:
    from lumiboard.plugins.projector import routes
    from lumiboard.plugins.projector.demo import write_demo

    with _app(tmp_path) as client:
        ctx = client.app.state.context  # type: ignore[attr-defined]
        assert routes.is_active(ctx) is False
    write_demo(tmp_path)
    with _app(tmp_path) as client:
        ctx = client.app.state.context  # type: ignore[attr-defined]
        assert routes.is_active(ctx) is True
        info = get_ok(client, f"{P}/info", run="projector").json()
        assert info["embeddings"][0]["tensorShape"] == [600, 64]
        meta = get_ok(client, f"{P}/metadata", run="projector", name="word_clusters:00000").text
        assert meta.startswith("group\tsize\nanimal\t")


def test_config_symlink_loop_is_no_config(tmp_path: Path) -> None:
    """A config that is a symlink to itself (ELOOP) is no config: the listing still answers."""
    from lumiboard.server.app import create_app

    run = tmp_path / "run"
    run.mkdir()
    (run / "projector_config.pbtxt").symlink_to(run / "projector_config.pbtxt")
    reloader = Reloader(str(tmp_path))
    reloader.reload()
    with TestClient(create_app(reloader), raise_server_exceptions=False) as app:
        listing = app.get("/data/plugins_listing")
        assert listing.status_code == 200
        assert listing.json()["projector"]["enabled"] is False
        assert app.get("/data/plugin/projector/runs").json() == []


def test_metadata_rows_end_at_newlines_only() -> None:
    """num_rows counts "\\n"-ended rows (as TensorBoard and the browser), so labels holding
    other line-break characters (\\x0b, \\u2028) do not shift the cut."""
    raw = "label\tsize\nv\x0btab\t1\nline\u2028sep\t2\nthird\t3\n".encode()
    assert data.metadata_text(raw, 2, "m.tsv") == "label\tsize\nv\x0btab\t1\nline\u2028sep\t2\n"
    assert data.metadata_text(b"a\nb\nc", 2, "m.tsv") == "a\nb\n"  # no header: no tab
    assert data.metadata_text(b"a\nb\nc", 9, "m.tsv") == "a\nb\nc"


def test_parsed_tensors_are_row_major(tmp_path: Path) -> None:
    """The cached matrix is C-contiguous: each /tensor answer is a plain copy."""
    with SummaryWriter(tmp_path / "run") as writer:
        writer.add_embedding(np.arange(12, dtype=np.float32).reshape(4, 3), tag="t")
    config = data.read_config(str(tmp_path / "run"))
    assert config is not None
    matrix = data.read_tensor(str(tmp_path / "run"), config.embeddings[0])
    assert matrix.flags.c_contiguous
    assert matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, np.arange(12, dtype=np.float32).reshape(4, 3))
