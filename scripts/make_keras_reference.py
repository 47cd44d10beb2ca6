"""Write ``tests/fixtures/keras_reference/reference.json``: what Keras's own callback logs.

Usage (TensorFlow is not a dependency of lumiboard; use a separate venv)::

    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tensorboard  # Keras 3.15 with it
    KERAS_BACKEND=tensorflow /tmp/tfvenv/bin/python scripts/make_keras_reference.py

The same few tiny trainings (:data:`SCENARIOS`: fixed weights, fixed data, plain SGD,
no shuffling, so every backend computes the same losses up to float rounding) run
with ``keras.callbacks.TensorBoard``; what TensorBoard's own ``EventAccumulator``
reads back from each run (tags, plugin, steps, values; histograms and images as
their sizes and counts; the conceptual graph as its JSON) and the files written
are saved as JSON. tests/unit/test_keras_callback.py runs the same trainings with
``lumiboard.keras.TensorBoard`` on the torch and jax backends, reads them the same
way (:func:`summarize`) and compares.

The tests also run this file as a program, with ``--callback lumiboard --log-dir
DIR``: then it trains with lumiboard's callback on whatever backend
``KERAS_BACKEND`` names, writes the logs under ``DIR`` and prints one JSON line
saying which backend ran and whether TensorFlow was imported.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "keras_reference"
REFERENCE = OUT / "reference.json"

#: name -> (callback arguments, model kind, epochs, with validation data, evaluate only).
SCENARIOS: dict[str, dict[str, Any]] = {
    # Everything at once: batch-level scalars, histograms, images, steps per second.
    "batch": {
        "callback": {
            "histogram_freq": 1,
            "write_images": True,
            "write_steps_per_second": True,
            "update_freq": "batch",
        },
        "model": "dense",
        "epochs": 2,
        "validation": True,
    },
    # The defaults: epoch scalars and the conceptual graph only; no validation run.
    "defaults": {"callback": {}, "model": "dense", "epochs": 2, "validation": False},
    # update_freq=N: batch scalars every N global batches (2 batches an epoch here).
    "every3": {
        "callback": {"update_freq": 3, "histogram_freq": 2},
        "model": "dense",
        "epochs": 3,
        "validation": True,
    },
    # model.evaluate alone: evaluation_*_vs_iterations at iteration 0.
    "evaluate": {"callback": {}, "model": "dense", "epochs": 0, "validation": True},
    # Embedding layers for the projector, with a metadata file for one of them.
    "embeddings": {
        "callback": {"embeddings_freq": 1, "embeddings_metadata": {"embed": "labels.tsv"}},
        "model": "embedding",
        "epochs": 2,
        "validation": False,
    },
}
#: Profiled separately: each backend profiles with its own profiler (files differ).
PROFILE_SCENARIO = {
    "callback": {"profile_batch": 2},
    "model": "dense",
    "epochs": 1,
    "validation": False,
}


def _data(kind: str) -> tuple[Any, Any, Any, Any]:
    import numpy as np

    if kind == "embedding":
        x = (np.arange(16).reshape(8, 2) % 10).astype("int32")
        y = np.linspace(-1, 1, 8, dtype="float32").reshape(8, 1)
        return x, y, x[:4], y[:4]
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    y = (x @ np.array([[0.5], [-1.0], [0.25], [2.0]], dtype="float32")) + 0.1
    xv = np.linspace(0.5, -0.5, 16, dtype="float32").reshape(4, 4)
    yv = xv.sum(axis=1, keepdims=True)
    return x, y, xv, yv


def build_model(kind: str) -> Any:
    """A named 2-layer model with fixed weights, compiled with SGD, MSE and MAE."""
    import keras
    import numpy as np

    if kind == "embedding":
        model = keras.Sequential(
            [
                keras.Input((2,), dtype="int32"),
                keras.layers.Embedding(10, 3, name="embed"),
                keras.layers.Flatten(name="flat"),
                keras.layers.Dense(1, name="out"),
            ],
            name="model",
        )
        weights = [
            np.linspace(-1, 1, 30, dtype="float32").reshape(10, 3),
            np.linspace(0.5, -0.5, 6, dtype="float32").reshape(6, 1),
            np.zeros(1, dtype="float32"),
        ]
    else:
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(3, activation="relu", name="hidden"),
                keras.layers.Dense(1, name="out"),
            ],
            name="model",
        )
        weights = [
            np.linspace(-0.5, 0.5, 12, dtype="float32").reshape(4, 3),
            np.array([0.1, -0.1, 0.05], dtype="float32"),
            np.array([[0.3], [-0.2], [0.1]], dtype="float32"),
            np.zeros(1, dtype="float32"),
        ]
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    return model


def run_scenario(callback_class: Any, log_dir: str, scenario: dict[str, Any]) -> None:
    """Train (or evaluate) one scenario with ``callback_class(log_dir, **arguments)``."""
    import keras

    keras.utils.set_random_seed(0)
    x, y, xv, yv = _data(scenario["model"])
    model = build_model(scenario["model"])
    arguments = dict(scenario["callback"])
    if isinstance(arguments.get("embeddings_metadata"), dict):
        arguments["embeddings_metadata"] = dict(arguments["embeddings_metadata"])
    callback = callback_class(log_dir=log_dir, **arguments)
    if not scenario["epochs"]:
        model.evaluate(xv, yv, batch_size=4, verbose=0, callbacks=[callback])
        return
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=scenario["epochs"],
        validation_data=(xv, yv) if scenario["validation"] else None,
        shuffle=False,
        verbose=0,
        callbacks=[callback],
    )


def run_all(callback_class: Any, root: str, profile: bool = True) -> None:
    """Every scenario into ``<root>/<name>``, and the profile one into ``<root>/profile``."""
    for name, scenario in SCENARIOS.items():
        run_scenario(callback_class, os.path.join(root, name), scenario)
    if profile:
        run_scenario(callback_class, os.path.join(root, "profile"), PROFILE_SCENARIO)


# ---- reading back, with TensorBoard's own reader ---------------------------------------------


def _point(plugin: str, array: Any) -> Any:
    if plugin == "scalars":
        return float(array)
    if plugin == "histograms":
        return {
            "buckets": int(array.shape[0]),
            "count": float(array[:, 2].sum()),
            "min": float(array[0, 0]),
            "max": float(array[-1, 1]),
        }
    if plugin == "images":
        return {"width": int(array[0]), "height": int(array[1]), "images": len(array) - 2}
    if plugin == "graph_keras_model":
        return json.loads(array.item())
    return None


def summarize(run_dir: str) -> dict[str, Any]:
    """What TensorBoard's ``EventAccumulator`` reads from one run directory."""
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.util import tensor_util

    accumulator = ea.EventAccumulator(
        run_dir, size_guidance={ea.TENSORS: 0, ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0}
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    out: dict[str, Any] = {}
    for tag in tags["tensors"]:
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        points = [
            [event.step, _point(plugin, tensor_util.make_ndarray(event.tensor_proto))]
            for event in accumulator.Tensors(tag)
        ]
        out[tag] = {"kind": "tensor", "plugin": plugin, "points": points}
    for tag in tags["scalars"]:
        points = [[event.step, event.value] for event in accumulator.Scalars(tag)]
        out[tag] = {"kind": "legacy", "plugin": "scalars", "points": points}
    for kind in ("histograms", "images"):
        for tag in tags[kind]:
            out[tag] = {"kind": "legacy", "plugin": kind, "points": []}
    if tags["graph"]:
        out["__op_graph__"] = {"kind": "graph", "plugin": "graphs", "points": []}
    return out


def _normal_file(relative: str) -> str:
    relative = re.sub(
        r"events\.out\.tfevents\.[^/]*?(\.v2)?$", r"events.out.tfevents.*\1", relative
    )
    relative = re.sub(r"plugins/profile/[^/]+/[^/]+?\.", "plugins/profile/<time>/<host>.", relative)
    return re.sub(r"/[^/]+?(\.\d+)?\.pt\.trace\.json", "/<worker>.pt.trace.json", relative)


def files(root: str) -> list[str]:
    """The files under ``root``, relative, with times, hosts and workers replaced by markers."""
    found = {
        _normal_file(str(path.relative_to(root)).replace(os.sep, "/"))
        for path in Path(root).rglob("*")
        if path.is_file()
    }
    return sorted(found)


def describe(root: str, names: list[str]) -> dict[str, Any]:
    """``{scenario: {"files": [...], "runs": {run: summary}}}`` for the scenarios under ``root``."""
    out: dict[str, Any] = {}
    for name in names:
        base = os.path.join(root, name)
        runs = {
            run: summarize(os.path.join(base, run))
            for run in ("train", "validation")
            if os.path.isdir(os.path.join(base, run))
        }
        out[name] = {"files": files(base), "runs": runs}
    return out


def _embedding_matrices(train_dir: Path) -> dict[str, list[list[float]]]:
    """``{epoch: matrix}`` of the Embedding layer, from Keras's HDF5 checkpoints."""
    import h5py

    out = {}
    for path in sorted(train_dir.glob("keras_embedding.ckpt-*.weights.h5")):
        epoch = path.name.split("-")[1].split(".")[0]
        with h5py.File(path, "r") as checkpoint:
            out[epoch] = checkpoint["layers/embedding/vars/0"][()].tolist()
    return out


def _make_reference() -> None:
    import keras
    import tensorflow as tf

    if keras.backend.backend() != "tensorflow":
        sys.exit("run the reference on the tensorflow backend: KERAS_BACKEND=tensorflow")
    with tempfile.TemporaryDirectory() as root:
        run_all(keras.callbacks.TensorBoard, root)
        names = [*SCENARIOS, "profile"]
        reference = {
            "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
            "scenarios": describe(root, names),
        }
        projector = Path(root, "embeddings", "projector_config.pbtxt")
        reference["embeddings_projector_config"] = projector.read_text()
        reference["embeddings"] = _embedding_matrices(Path(root, "embeddings", "train"))
    OUT.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(reference, indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes)")


def _run_lumiboard(log_dir: str, profile: bool) -> None:
    import keras

    from lumiboard.keras import TensorBoard

    run_all(TensorBoard, log_dir, profile=profile)
    report = {"backend": keras.backend.backend(), "tensorflow": "tensorflow" in sys.modules}
    print(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--callback", choices=("keras", "lumiboard"), default="keras")
    parser.add_argument("--log-dir", help="with --callback lumiboard: where to write")
    parser.add_argument("--no-profile", action="store_true", help="skip the profile scenario")
    arguments = parser.parse_args()
    if arguments.callback == "keras":
        _make_reference()
    else:
        if not arguments.log_dir:
            parser.error("--callback lumiboard needs --log-dir")
        _run_lumiboard(arguments.log_dir, not arguments.no_profile)


if __name__ == "__main__":
    main()
