"""``lumiboard.keras.TensorBoard`` on the torch and jax backends, against Keras's own callback.

The trainings of scripts/make_keras_reference.py (fixed weights, fixed data, SGD) run with
lumiboard's callback in two subprocesses, ``KERAS_BACKEND=torch`` and ``jax``, where
TensorFlow is not installed; TensorBoard's own ``EventAccumulator`` reads what they wrote
and it is compared with ``tests/fixtures/keras_reference/reference.json``, what
``keras.callbacks.TensorBoard`` wrote on the TensorFlow backend: same runs, tags, plugins,
steps; the same values up to float rounding (the backends compute the same losses).
Then the dashboards that show the rest: Graphs (the conceptual graph, in lumiboard and in
TensorBoard), Projector (the Embedding layer, checked against Keras's HDF5 checkpoint)
and Profile (each backend's own profiler).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from route_support import get_json, get_ok, lumiboard_client, tensorboard_client

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "make_keras_reference.py"
REFERENCE = json.loads((ROOT / "tests/fixtures/keras_reference/reference.json").read_text())
BACKENDS = ("torch", "jax")
#: Float rounding between backends (the losses agree to ~1e-7 in practice).
TOLERANCE = 1e-5
#: Scenarios whose runs, tags and steps must be Keras's exactly.
SAME_AS_KERAS = ("batch", "defaults", "evaluate", "embeddings", "profile")
#: Keras's TensorFlow backend exports the profiled tf.function graph; no other backend has one.
TENSORFLOW_ONLY = {"profile": {"batch_2"}}


def load_script() -> ModuleType:
    """scripts/make_keras_reference.py as a module (its scenarios and its reader)."""
    spec = importlib.util.spec_from_file_location("make_keras_reference", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT_MODULE = load_script()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{backend: log root}``: every scenario trained on each backend, both at once."""
    root = tmp_path_factory.mktemp("keras")
    processes = {}
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        env["CUDA_VISIBLE_DEVICES"] = ""
        command = [sys.executable, str(SCRIPT), "--callback", "lumiboard"]
        processes[backend] = subprocess.Popen(
            [*command, "--log-dir", str(root / backend)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    reports = {}
    for backend, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{backend}:\n{out}\n{err}"
        reports[backend] = json.loads(out.strip().splitlines()[-1])
    for backend in BACKENDS:
        assert reports[backend] == {"backend": backend, "tensorflow": False}
    return {backend: root / backend for backend in BACKENDS}


def describe(root: Path, name: str) -> dict[str, Any]:
    described: dict[str, Any] = SCRIPT_MODULE.describe(str(root), [name])[name]
    return described


def assert_point(tag: str, plugin: str, got: Any, want: Any) -> None:
    if plugin == "scalars":
        if tag.endswith("steps_per_second"):
            assert got > 0, tag  # a rate measured on this machine
        else:
            assert got == pytest.approx(want, abs=TOLERANCE), tag
    elif plugin == "histograms":
        assert (got["buckets"], got["count"]) == (want["buckets"], want["count"]), tag
        assert (got["min"], got["max"]) == pytest.approx((want["min"], want["max"]), abs=TOLERANCE)
    elif plugin == "graph_keras_model":
        # The layers are the same; compile_config names the backend's own optimizer class.
        assert (got["class_name"], got["config"]) == (want["class_name"], want["config"])
    else:
        assert got == want, tag


def assert_same_run(ours: dict[str, Any], keras: dict[str, Any], skip: set[str]) -> None:
    expected = {tag: series for tag, series in keras.items() if tag not in skip}
    assert sorted(ours) == sorted(expected)
    for tag, want in expected.items():
        got = ours[tag]
        assert (got["kind"], got["plugin"]) == (want["kind"], want["plugin"]), tag
        assert [p[0] for p in got["points"]] == [p[0] for p in want["points"]], tag
        for (_, value), (_, wanted) in zip(got["points"], want["points"], strict=True):
            assert_point(tag, want["plugin"], value, wanted)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scenario", SAME_AS_KERAS)
def test_tags_steps_and_values_match_keras(
    trained: dict[str, Path], backend: str, scenario: str
) -> None:
    ours = describe(trained[backend], scenario)["runs"]
    keras = REFERENCE["scenarios"][scenario]["runs"]
    assert sorted(ours) == sorted(keras)
    for run in keras:
        assert_same_run(ours[run], keras[run], TENSORFLOW_ONLY.get(scenario, set()))


@pytest.mark.parametrize("backend", BACKENDS)
def test_integer_update_freq_keeps_every_epoch_summary(
    trained: dict[str, Path], backend: str
) -> None:
    """update_freq=3: batch scalars at batches 3 and 6 as Keras; epoch summaries at each epoch.

    Keras drops an epoch's summaries unless its last batch is a multiple of update_freq
    (tensorflow/tensorboard#4975): here only epoch 2 (batch 6). Where Keras has a point,
    ours is the same.
    """
    ours = describe(trained[backend], "every3")["runs"]
    keras = REFERENCE["scenarios"]["every3"]["runs"]
    assert sorted(ours) == sorted(keras)
    for run, tags in keras.items():
        assert sorted(ours[run]) == sorted(tags)
        for tag, want in tags.items():
            got = dict(ours[run][tag]["points"])
            for step, wanted in want["points"]:
                assert_point(tag, want["plugin"], got[step], wanted)
            if tag.startswith("batch_") or tag == "keras":
                assert sorted(got) == [p[0] for p in want["points"]], tag
            elif tag.endswith("/histogram"):
                assert sorted(got) == [0, 2], tag  # histogram_freq=2
            elif tag.startswith("evaluation_"):
                assert sorted(got) == [2, 4, 6], tag  # optimizer.iterations
            else:
                assert sorted(got) == [0, 1, 2], tag


@pytest.mark.parametrize("backend", BACKENDS)
def test_event_files_are_where_keras_writes_them(trained: dict[str, Path], backend: str) -> None:
    for scenario in ("batch", "defaults", "evaluate", "every3"):
        files = describe(trained[backend], scenario)["files"]
        assert files == REFERENCE["scenarios"][scenario]["files"], scenario


@pytest.mark.parametrize("backend", BACKENDS)
def test_graphs_dashboard_draws_the_conceptual_graph(
    trained: dict[str, Path], backend: str
) -> None:
    logdir = trained[backend] / "batch"
    query = {"run": "train", "tag": "keras", "conceptual": "true"}
    with lumiboard_client(logdir) as client:
        info = get_json(client, "/data/plugin/graphs/info")
        assert info["train"]["tags"]["keras"]["conceptual_graph"] is True
        ours = get_ok(client, "/data/plugin/graphs/graph", **query).text
    theirs = get_ok(tensorboard_client(logdir), "/data/plugin/graphs/graph", **query)
    for text in (ours, theirs.get_data(as_text=True)):
        assert 'name: "model/hidden"' in text
        assert 'name: "model/out"' in text
        assert 's: "Dense"' in text


@pytest.mark.parametrize("backend", BACKENDS)
def test_projector_shows_the_embedding_layer(trained: dict[str, Path], backend: str) -> None:
    logdir = trained[backend] / "embeddings"
    (logdir / "labels.tsv").write_text("".join(f"token {i}\n" for i in range(10)))
    with lumiboard_client(logdir) as client:
        assert get_json(client, "/data/plugin/projector/runs") == ["train"]
        info = get_json(client, "/data/plugin/projector/info", run="train")
        names = [embedding["tensorName"] for embedding in info["embeddings"]]
        assert names == ["embed:00000", "embed:00001"]
        for epoch in (0, 1):
            name = f"embed:{epoch:05d}"
            data = get_ok(client, "/data/plugin/projector/tensor", run="train", name=name)
            matrix = np.frombuffer(data.content, dtype=np.float32).reshape(10, 3)
            # The weights Keras's own callback saved (HDF5) after the same epoch.
            want = np.array(REFERENCE["embeddings"][str(epoch)])
            np.testing.assert_allclose(matrix, want, atol=TOLERANCE)
        metadata = get_ok(client, "/data/plugin/projector/metadata", run="train", name=name)
        assert metadata.text.splitlines()[:2] == ["token 0", "token 1"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_profile_dashboard_lists_the_backend_profile(
    trained: dict[str, Path], backend: str
) -> None:
    """profile_batch=2: torch's trace or JAX's xplane under train/, one profiled step."""
    with lumiboard_client(trained[backend] / "profile") as client:
        runs = get_json(client, "/data/plugin/profile/runs")["runs"]
        assert list(runs) == ["train"]
        ((worker, spans),) = runs["train"].items()
        (span,) = spans
        suffix = ".pt.trace.json.gz" if backend == "torch" else ".xplane.pb"
        assert span["file"].endswith(suffix)
        query = {"run": "train", "worker": worker, "span": span["span"]}
        overview = get_json(client, "/data/plugin/profile/overview", **query)
    # Batch 2 is the epoch's second batch: Keras numbers the mark by its index in the epoch.
    assert [step["step"] for step in overview["breakdown"]["steps"]] == ["1"]
