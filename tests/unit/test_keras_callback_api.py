"""``lumiboard.keras.TensorBoard`` in this process: constructor, checks, a fit on its backend.

Keras picks its backend once, at import: these tests use whatever this process has (the
``KERAS_BACKEND`` of the run, else Keras's configured one; torch when that is TensorFlow and
TensorFlow is not installed). test_keras_callback.py covers torch and jax in subprocesses.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

# Keras's Variable.numpy() on torch warns with numpy 2 (model.to_json reads the learning rate so).
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = json.loads((ROOT / "tests/fixtures/keras_reference/reference.json").read_text())


def _import_keras() -> ModuleType:
    if "keras" in sys.modules:
        return sys.modules["keras"]
    with pytest.MonkeyPatch.context() as patch:
        if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
            patch.setenv("KERAS_BACKEND", "torch")
        return importlib.import_module("keras")


keras = _import_keras()

from lumiboard.integrations.keras_callback import weight_image  # noqa: E402
from lumiboard.integrations.keras_profiler import parse_profile_batch  # noqa: E402
from lumiboard.keras import TensorBoard  # noqa: E402


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_keras_reference", ROOT / "scripts" / "make_keras_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_constructor_is_keras() -> None:
    """Same parameters, in the same order, with the same defaults."""

    def parameters(init: Any) -> list[tuple[str, Any]]:
        return [(p.name, p.default) for p in inspect.signature(init).parameters.values()]

    assert parameters(TensorBoard.__init__) == parameters(keras.callbacks.TensorBoard.__init__)
    assert issubclass(TensorBoard, keras.callbacks.Callback)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, (0, 0)), (3, (3, 3)), ((2, 4), (2, 4)), ([2, 4], (2, 4)), ("2,4", (2, 4)), ("3", (3, 3))],
)
def test_profile_batch_forms(value: Any, expected: tuple[int, int]) -> None:
    assert parse_profile_batch(value) == expected


@pytest.mark.parametrize("value", [-1, (3, 2), (1, 2, 3), (-1, 2), 1.5, None])
def test_profile_batch_refused_with_keras_message(value: Any) -> None:
    with pytest.raises(ValueError, match="profile_batch must be a non-negative integer"):
        TensorBoard(profile_batch=value)


@pytest.mark.parametrize("value", [0, -2, "often", 1.5])
def test_update_freq_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="update_freq must be"):
        TensorBoard(update_freq=value)


def test_update_freq_batch_is_one() -> None:
    assert TensorBoard(update_freq="batch").update_freq == 1


def test_unknown_embedding_layer_in_metadata_refused(tmp_path: Path) -> None:
    script = _script()
    model = script.build_model("dense")
    callback = TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"nope": "x.tsv"})
    with pytest.raises(ValueError, match="Unrecognized `Embedding` layer names"):
        callback.set_model(model)


@pytest.mark.parametrize(
    ("shape", "image_shape"),
    [
        ((3,), (1, 3, 1, 1)),  # a bias: one column
        ((4, 3), (1, 3, 4, 1)),  # a kernel: the longer side across
        ((3, 5), (1, 3, 5, 1)),
        ((3, 3, 2), (2, 3, 3, 1)),  # a 1-D conv kernel, channels last: one image per channel
        ((3, 3, 2, 4), (3, 3, 2, 4)),  # taken as it is, as Keras does
        ((1,), None),  # squeezed to a scalar
        ((2, 2, 2, 2, 2), None),
    ],
)
def test_weight_image_shapes_as_keras(
    shape: tuple[int, ...], image_shape: tuple[int, ...] | None
) -> None:
    image = weight_image(np.zeros(shape, dtype=np.float32), "channels_last")
    assert (None if image is None else image.shape) == image_shape


def test_fit_in_this_process_matches_keras(tmp_path: Path) -> None:
    """The everything-at-once scenario on this process's backend, read by TensorBoard."""
    script = _script()
    script.run_scenario(TensorBoard, str(tmp_path), script.SCENARIOS["batch"])
    if keras.backend.backend() != "tensorflow":
        assert "tensorflow" not in sys.modules
    keras_runs = REFERENCE["scenarios"]["batch"]["runs"]
    for run, tags in keras_runs.items():
        ours = script.summarize(str(tmp_path / run))
        assert sorted(ours) == sorted(tags)
        for tag, want in tags.items():
            steps = [point[0] for point in ours[tag]["points"]]
            assert steps == [point[0] for point in want["points"]], tag
            if want["plugin"] == "scalars" and not tag.endswith("per_second"):
                values = [point[1] for point in ours[tag]["points"]]
                assert values == pytest.approx([p[1] for p in want["points"]], abs=1e-5)


def test_profile_refused_on_a_backend_without_profiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keras.backend, "backend", lambda: "numpy")
    with pytest.raises(ValueError, match="not available with the numpy backend"):
        TensorBoard(profile_batch=2)


def test_missing_keras_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)
    for name in ("lumiboard.keras", "lumiboard.integrations.keras_callback"):
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match=r'pip install "lumiboard\[keras\]"'):
        importlib.import_module("lumiboard.keras")


@pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is not None,
    reason="TensorFlow is installed: Keras's default backend imports",
)
def test_default_tensorflow_backend_without_tensorflow_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_HOME"] = str(tmp_path)  # no keras.json: Keras's default, tensorflow
    done = subprocess.run(
        [sys.executable, "-c", "import lumiboard.keras"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "set KERAS_BACKEND=jax or KERAS_BACKEND=torch" in done.stderr
