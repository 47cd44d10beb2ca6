"""The projector reads what Keras 3's own TensorBoard callback writes for ``embeddings_freq``.

The fixture (tests/fixtures/keras_embeddings, made by scripts/make_keras_embedding_fixture.py
with TensorFlow 2.21 and Keras 3.15) is two real Keras ``log_dir``s: ``projector_config.pbtxt``
with no tensor_path and ``train/keras_embedding.ckpt-<epoch>.weights.h5``. Values are compared
with the HDF5 datasets read here with h5py, and with the matrices Keras had (``*.values.npz``).
Then damaged checkpoints, a missing h5py, TF checkpoints and nothing at all.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py  # type: ignore[import-untyped]
import numpy as np
import pytest
from route_support import get_ok
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient
from torch.utils import tensorboard as torch_tb

from lumiboard.plugins.projector import data
from lumiboard.plugins.projector.routes import ROUTES
from lumiboard.reader.reload import Reloader
from lumiboard.server import errors
from lumiboard.server.context import Context, ServerOptions
from lumiboard.store.provider import Provider

P = "/data/plugin/projector"
FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "keras_embeddings"
KERAS_NAME = "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"
LATEST = "train/keras_embedding.ckpt-1.weights.h5"


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    data.clear_cache()
    yield
    data.clear_cache()


def _app(root: Path | str) -> TestClient:
    reloader = Reloader(str(root))
    reloader.reload()
    app = Starlette(
        routes=[Mount(P, routes=ROUTES)],  # type: ignore[list-item]
        exception_handlers=errors.HANDLERS,  # type: ignore[arg-type]
    )
    app.state.context = Context(reloader, Provider(reloader.runs), ServerOptions())
    return TestClient(app)


def _copy(name: str, target: Path) -> Path:
    shutil.copytree(FIXTURE / name, target)
    return target


def _dataset(h5: Path, path: str) -> np.ndarray:
    with h5py.File(h5, "r") as file:
        return np.asarray(file[path][()])


def _matrix(client: TestClient, run: str, name: str, **params: Any) -> np.ndarray:
    response = get_ok(client, f"{P}/tensor", run=run, name=name, **params)
    rows, columns = map(int, response.headers["x-tensor-shape"].split(","))
    return np.frombuffer(response.content, "<f4").reshape(rows, columns)


def _error(client: TestClient, status: int, run: str, name: str = KERAS_NAME) -> str:
    response = client.get(f"{P}/tensor", params={"run": run, "name": name})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message: str = response.json()["error"]
    assert "lives in a TF checkpoint" not in message
    return message


# ---- the real fixture ---------------------------------------------------------------------


def test_keras_log_dirs_are_projector_runs(tmp_path: Path) -> None:
    """A Keras log_dir holds no event file (train/ and validation/ do): it is listed itself."""
    logs = tmp_path / "logs"
    _copy("single", logs / "single")
    _copy("two_layers", logs / "exp" / "two_layers")
    with _app(logs) as client:
        assert get_ok(client, f"{P}/runs").json() == ["exp/two_layers", "single"]
    # The log_dir itself as the log directory: the run "." as in TensorBoard.
    with _app(logs / "single") as client:
        assert get_ok(client, f"{P}/runs").json() == ["."]
        assert _matrix(client, ".", KERAS_NAME).shape == (20, 4)


def test_single_embedding_matches_the_h5_and_keras(tmp_path: Path) -> None:
    run = _copy("single", tmp_path / "single")
    keras_values = np.load(FIXTURE / "single.values.npz")
    with _app(tmp_path) as client:
        info = get_ok(client, f"{P}/info", run="single").json()
        assert info == {
            "embeddings": [
                {"tensorName": KERAS_NAME, "metadataPath": "metadata.tsv", "tensorShape": [20, 4]}
            ]
        }
        response = get_ok(client, f"{P}/tensor", run="single", name=KERAS_NAME)
        matrix = np.frombuffer(response.content, "<f4").reshape(20, 4)
        expected = _dataset(run / LATEST, "layers/embedding/vars/0")
        np.testing.assert_array_equal(matrix, expected)
        np.testing.assert_array_equal(matrix, keras_values["words@1"])  # the last epoch's
        assert not np.array_equal(matrix, keras_values["words@0"])
        assert response.headers["x-tensor-shape"] == "20,4"
        source = response.headers["x-tensor-source"]
        assert source.startswith(f"{LATEST}:layers/embedding/vars/0, ")
        assert "'words'" in source
        # The optimizer's momentum and velocity have the same shape; they are never taken.
        assert not np.array_equal(matrix, _dataset(run / LATEST, "optimizer/vars/2"))
        np.testing.assert_array_equal(
            _matrix(client, "single", KERAS_NAME, num_rows=5), expected[:5]
        )
        labels = get_ok(client, f"{P}/metadata", run="single", name=KERAS_NAME).text
        assert labels == "".join(f"word{i}\n" for i in range(20))


def test_two_embedding_layers_are_told_apart(tmp_path: Path) -> None:
    """Keras names both entries alike; the second is "<name> (2)", read from embedding_1."""
    run = _copy("two_layers", tmp_path / "two_layers")
    keras_values = np.load(FIXTURE / "two_layers.values.npz")
    second = f"{KERAS_NAME} (2)"
    with _app(tmp_path) as client:
        info = get_ok(client, f"{P}/info", run="two_layers").json()
        assert [
            (e["tensorName"], e["tensorShape"], e["metadataPath"]) for e in info["embeddings"]
        ] == [
            (KERAS_NAME, [20, 4], "words.tsv"),
            (second, [6, 3], "tags.tsv"),
        ]
        words = get_ok(client, f"{P}/tensor", run="two_layers", name=KERAS_NAME)
        tags = get_ok(client, f"{P}/tensor", run="two_layers", name=second)
        words_matrix = np.frombuffer(words.content, "<f4").reshape(20, 4)
        tags_matrix = np.frombuffer(tags.content, "<f4").reshape(6, 3)
        np.testing.assert_array_equal(
            words_matrix, _dataset(run / LATEST, "layers/embedding/vars/0")
        )
        np.testing.assert_array_equal(
            tags_matrix, _dataset(run / LATEST, "layers/embedding_1/vars/0")
        )
        np.testing.assert_array_equal(words_matrix, keras_values["words@1"])
        np.testing.assert_array_equal(tags_matrix, keras_values["tags@1"])
        # Several candidates: the choice says so.
        assert "1st of 2" in words.headers["x-tensor-source"]
        assert "2nd of 2" in tags.headers["x-tensor-source"]
        assert "place in projector_config.pbtxt" in tags.headers["x-tensor-source"]
        meta = get_ok(client, f"{P}/metadata", run="two_layers", name=second).text
        assert meta.startswith("tag\tkind\ntag0\teven\n")


def test_tensor_name_picks_the_dataset(tmp_path: Path) -> None:
    """A dataset path, a Keras 3 weight path naming the layer, or the config's tensor_shape."""
    run = _copy("two_layers", tmp_path / "run")
    (run / "projector_config.pbtxt").write_text(
        f'embeddings {{ tensor_name: "layers/embedding_1/vars/0" tensor_path: "{LATEST}" }}\n'
        'embeddings { tensor_name: "two_layers/tags/embeddings" }\n'
        f'embeddings {{ tensor_name: "{KERAS_NAME}" tensor_shape: 6 tensor_shape: 3 }}\n'
        'model_checkpoint_path: "train/keras_embedding.ckpt-0.weights.h5"\n'
    )
    epoch0 = _dataset(run / "train/keras_embedding.ckpt-0.weights.h5", "layers/embedding_1/vars/0")
    with _app(tmp_path) as client:
        np.testing.assert_array_equal(
            _matrix(client, "run", "layers/embedding_1/vars/0"),
            _dataset(run / LATEST, "layers/embedding_1/vars/0"),
        )
        # model_checkpoint_path naming an .h5 file: that epoch's.
        np.testing.assert_array_equal(_matrix(client, "run", "two_layers/tags/embeddings"), epoch0)
        np.testing.assert_array_equal(_matrix(client, "run", KERAS_NAME), epoch0)


def test_tensorboard_itself_cannot_show_them() -> None:
    """Why this exists: TensorBoard's projector finds no checkpoint it can read, and lists no
    run; lumiboard lists the log_dir and serves its tensor (test above)."""
    from test_projector_routes import _tensorboard

    board = _tensorboard(FIXTURE / "single")
    assert json.loads(get_ok(board, f"{P}/runs").text) == []
    assert board.get(f"{P}/tensor?run=.&name={KERAS_NAME}").status_code == 400


# ---- h5py missing ---------------------------------------------------------------------------


def test_without_h5py_the_error_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy("single", tmp_path / "single")
    monkeypatch.setitem(sys.modules, "h5py", None)  # "import h5py" raises ImportError
    with _app(tmp_path) as client:
        message = _error(client, 422, "single")
        assert 'needs h5py: pip install "lumiboard[h5]"' in message
        assert LATEST in message
        info = get_ok(client, f"{P}/info", run="single").json()
        assert "tensorShape" not in info["embeddings"][0]  # /info still answers


# ---- damaged and hostile checkpoints ----------------------------------------------------------


def _rewrite(h5: Path, path: str, values: Any, **options: Any) -> None:
    with h5py.File(h5, "r+") as file:
        del file[path]
        file.create_dataset(path, data=values, **options)


def test_truncated_and_garbage_files_are_400(tmp_path: Path) -> None:
    run = _copy("single", tmp_path / "single")
    whole = (run / LATEST).read_bytes()
    with _app(tmp_path) as client:
        (run / LATEST).write_bytes(whole[:3000])
        message = _error(client, 400, "single")
        assert message.startswith(f"{LATEST} is not a readable HDF5 file: ")
        assert str(tmp_path) not in message  # no server path
        (run / LATEST).write_bytes(b"not hdf5 at all" * 100)
        assert "is not a readable HDF5 file" in _error(client, 400, "single")
        (run / LATEST).write_bytes(b"")
        assert "is not a readable HDF5 file" in _error(client, 400, "single")


def test_integer_and_odd_datasets(tmp_path: Path) -> None:
    run = _copy("single", tmp_path / "single")
    h5 = run / LATEST
    with _app(tmp_path) as client:
        _rewrite(h5, "layers/embedding/vars/0", np.ones((20, 4), dtype=np.int8))
        message = _error(client, 422, "single")
        assert "layers/embedding/vars/0 of train/keras_embedding.ckpt-1.weights.h5" in message
        assert "holds int8 values, not floats" in message
        values = np.ones((20, 4), dtype=np.float32)
        values[3, 1] = np.nan
        _rewrite(h5, "layers/embedding/vars/0", values)
        assert "row 4 holds NaN or infinity" in _error(client, 400, "single")
        _rewrite(
            h5, "layers/embedding/vars/0", np.zeros((20, 4), dtype=[("a", "<f4"), ("b", "<i4")])
        )
        assert "holds [('a', '<f4'), ('b', '<i4')] values, not floats" in _error(
            client, 422, "single"
        )
        _rewrite(h5, "layers/embedding/vars/0", np.ones((20, 4), dtype=np.float64) / 3)
        np.testing.assert_allclose(_matrix(client, "single", KERAS_NAME), 1 / 3, rtol=1e-6)


def test_values_in_other_files_are_not_read(tmp_path: Path) -> None:
    """HDF5 external storage reads any file named in the dataset's header (here one outside
    the log directory), and a virtual dataset maps other files: both refused."""
    secret = tmp_path / "secret.bin"
    np.arange(80, dtype="<f4").tofile(secret)
    run = _copy("single", tmp_path / "logs" / "single")
    with h5py.File(run / LATEST, "r+") as file:
        del file["layers/embedding/vars/0"]
        file.create_dataset(
            "layers/embedding/vars/0", shape=(20, 4), dtype="<f4", external=[(str(secret), 0, 320)]
        )
    with _app(tmp_path / "logs") as client:
        message = _error(client, 400, "single")
        assert "keeps its values in other files (HDF5 external storage" in message
        assert str(secret) not in message
        with h5py.File(run / LATEST, "r+") as file:
            del file["layers/embedding/vars/0"]
            layout = h5py.VirtualLayout(shape=(20, 4), dtype="f4")
            layout[:] = h5py.VirtualSource(str(run / "train/keras_embedding.ckpt-0.weights.h5"),
                                           "layers/embedding/vars/0", shape=(20, 4))  # fmt: skip
            file.create_virtual_dataset("layers/embedding/vars/0", layout)
        assert "keeps its values in other files" in _error(client, 400, "single")


def test_huge_dataset_is_refused_before_reading(tmp_path: Path) -> None:
    """A tiny file may claim 10^10 values (chunked, never written): 413 from its shape alone."""
    run = _copy("single", tmp_path / "single")
    with h5py.File(run / LATEST, "r+") as file:
        del file["layers/embedding/vars/0"]
        file.create_dataset(
            "layers/embedding/vars/0", shape=(10**6, 10**4), dtype="f4", chunks=(1, 1024)
        )
    assert (run / LATEST).stat().st_size < 100_000
    with _app(tmp_path) as client:
        message = _error(client, 413, "single")
        assert "holds 10,000,000,000 values" in message
        assert "-byte limit" in message


def test_no_embedding_says_what_the_checkpoint_holds(tmp_path: Path) -> None:
    run = _copy("single", tmp_path / "single")
    with h5py.File(run / LATEST, "r+") as file:
        del file["layers/embedding"]
    with _app(tmp_path) as client:
        message = _error(client, 400, "single")
    assert message.startswith(
        f"the checkpoint {LATEST} holds no dataset named '{KERAS_NAME}' and no Embedding layer's"
    )
    assert (
        "it has: [layers/dense/vars/0 (12x1 float32), layers/dense/vars/1 (1 float32)," in message
    )


def test_symlink_outside_the_log_directory_is_refused(tmp_path: Path) -> None:
    run = _copy("single", tmp_path / "logs" / "single")
    outside = tmp_path / "outside.h5"
    shutil.copy(run / LATEST, outside)
    (run / "train" / "keras_embedding.ckpt-7.weights.h5").symlink_to(outside)
    with _app(tmp_path / "logs") as client:
        assert "outside" in _error(client, 400, "single")
        # A symlink to another run's checkpoint, inside the log directory, is fine.
        (run / "train" / "keras_embedding.ckpt-7.weights.h5").unlink()
        (run / "train" / "keras_embedding.ckpt-7.weights.h5").symlink_to(run / LATEST)
        assert _matrix(client, "single", KERAS_NAME).shape == (20, 4)


# ---- no HDF5: a TF checkpoint, or nothing -----------------------------------------------------


def _bare_run(run: Path, config: str) -> None:
    run.mkdir(parents=True)
    with torch_tb.SummaryWriter(str(run)) as writer:  # an event file: a run
        writer.add_scalar("x", 1.0, 0)
    (run / "projector_config.pbtxt").write_text(config)


def test_tf_checkpoint_is_named_accurately(tmp_path: Path) -> None:
    _bare_run(tmp_path / "tf", 'embeddings { tensor_name: "emb" }\n')
    for name in ("model.ckpt-5.index", "model.ckpt-5.data-00000-of-00001", "checkpoint"):
        (tmp_path / "tf" / name).write_bytes(b"x")
    _bare_run(
        tmp_path / "named",
        'model_checkpoint_path: "model.ckpt-5"\nembeddings { tensor_name: "emb" }\n',
    )
    for name in ("model.ckpt-5.index", "model.ckpt-5.data-00000-of-00001"):
        (tmp_path / "named" / name).write_bytes(b"x")
    # Keras 2 saved TF checkpoints under the same name in train/.
    keras2 = tmp_path / "keras2"
    _bare_run(keras2, 'embeddings { tensor_name: "emb" }\n')
    (keras2 / "train").mkdir()
    for name in ("keras_embedding.ckpt-3.index", "keras_embedding.ckpt-3.data-00000-of-00001"):
        (keras2 / "train" / name).write_bytes(b"x")
    with _app(tmp_path) as client:
        for run, prefix in (
            ("tf", "model.ckpt-5"),
            ("named", "model.ckpt-5"),
            ("keras2", "train/keras_embedding.ckpt-3"),
        ):
            message = _error(client, 422, run, "emb")
            assert message.startswith(
                f"embedding 'emb' has no tensor file: its values are in the TF checkpoint "
                f"'{prefix}' ({prefix}.index, {prefix}.data-*), which lumiboard does not read"
            ), message


def test_no_checkpoint_at_all_says_so(tmp_path: Path) -> None:
    """Before: "tensors in TF checkpoints are not supported", with no TF checkpoint anywhere."""
    _bare_run(tmp_path / "none", f'embeddings {{ tensor_name: "{KERAS_NAME}" }}\n')
    _bare_run(
        tmp_path / "wrong", 'model_checkpoint_path: "gone.ckpt"\nembeddings { tensor_name: "e" }\n'
    )
    with _app(tmp_path) as client:
        message = _error(client, 400, "none")
        assert "TF checkpoints are not supported" not in message
        assert message == (
            f"embedding '{KERAS_NAME}' has no tensor_path, and no checkpoint holds it: there is no "
            "Keras keras_embedding.ckpt-<epoch>.weights.h5 in train/ or beside the config, and "
            "no TF checkpoint (.index and .data-* files)"
        )
        assert "names no checkpoint: there is no gone.ckpt.index" in _error(
            client, 400, "wrong", "e"
        )


# ---- choosing among datasets, and remote log directories --------------------------------------


def test_choose_prefers_names_then_shape_then_position() -> None:
    from lumiboard.plugins.projector import h5_tensors

    entries = (
        h5_tensors.Entry("layers/embedding/vars/0", (20, 4), "float32", "words"),
        h5_tensors.Entry("layers/token_embedding/vars/0", (6, 3), "float32", "tags"),
        h5_tensors.Entry("optimizer/vars/2", (20, 4), "float32", "adam"),
    )
    pick = h5_tensors.choose
    assert pick(entries, "m/tags/embeddings", (), 0, "f").entry.layer == "tags"
    assert pick(entries, "optimizer/vars/2:0", (), 0, "f").entry.path == "optimizer/vars/2"
    assert pick(entries, KERAS_NAME, (6, 3), 0, "f").entry.layer == "tags"
    assert "the only one" in pick(entries, KERAS_NAME, (6, 3), 0, "f").reason
    assert pick(entries, KERAS_NAME, (), 1, "f").entry.layer == "tags"
    with pytest.raises(data.AssetError, match="config's 3rd embedding has none left"):
        pick(entries, KERAS_NAME, (), 2, "f")
    with pytest.raises(data.AssetError, match="of the config's tensor_shape 7x7"):
        pick(entries, KERAS_NAME, (7, 7), 0, "f")


def test_remote_log_directory(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    memory = fsspec.filesystem("memory")
    base = f"lumiboard-keras-h5/{uuid.uuid4().hex[:12]}"
    try:
        for path in (FIXTURE / "single").rglob("*"):
            if path.is_file():
                memory.pipe(f"/{base}/{path.relative_to(FIXTURE / 'single')}", path.read_bytes())
        with _app(f"memory://{base}") as client:
            assert get_ok(client, f"{P}/runs").json() == ["."]
            np.testing.assert_array_equal(
                _matrix(client, ".", KERAS_NAME),
                _dataset(FIXTURE / "single" / LATEST, "layers/embedding/vars/0"),
            )
    finally:
        memory.rm(f"/{base}", recursive=True)


def test_fixture_is_what_keras_writes() -> None:
    """The committed config is Keras's own (no tensor_path, one entry per Embedding layer)."""
    config = (FIXTURE / "two_layers" / "projector_config.pbtxt").read_text()
    assert config.count(f'tensor_name: "{KERAS_NAME}"') == 2
    assert "tensor_path" not in config
    assert "model_checkpoint" not in config
    assert sorted(p.name for p in (FIXTURE / "two_layers" / "train").iterdir()) == [
        "events.out.tfevents.1700000000.fixture.0.v2",
        "keras_embedding.ckpt-0.weights.h5",
        "keras_embedding.ckpt-1.weights.h5",
    ]
