"""``lumiboard.watch`` on Keras 3 models (torch and jax backends, each in a subprocess).

Keras picks its backend at import, so each backend trains in its own process, where
TensorFlow is not installed; TensorBoard's ``EventAccumulator`` reads what it wrote.
A recording callback placed before the watch keeps the weights each logged batch
starts from and (torch) the gradients it ends with: the logged norms must be theirs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is not installed", allow_module_level=True)
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

BACKENDS = ("torch", "jax")

TRAINING = """
import json, sys
import numpy as np
import keras
import lumiboard
from lumiboard import SummaryWriter
from lumiboard.keras import WatchCallback

log_dir = sys.argv[1]
model = keras.Sequential([
    keras.Input((2,)),
    keras.layers.Dense(3, activation="relu", name="hidden"),
    keras.layers.Dense(1, activation="tanh", name="out"),
])
model.layers[0].set_weights([np.array([[1, 0, -1], [0, 1, -1]], "float32"),
                             np.array([0, 0, -10], "float32")])
model.layers[1].set_weights([np.array([[3], [0], [1]], "float32"), np.zeros(1, "float32")])
model.compile(keras.optimizers.SGD(0.1), "mse")
x = np.array([[1, 2], [-1, 0.5]] * 2, "float32")
y = np.array([[0], [1]] * 2, "float32")
recorded = {"weights": {}, "gradients": {}}

class Record(keras.callbacks.Callback):
    step = 0
    def on_train_batch_begin(self, batch, logs=None):
        recorded["weights"][self.step] = {
            w.path.split("/", 1)[1]: float(np.linalg.norm(keras.ops.convert_to_numpy(w)))
            for w in self.model.trainable_weights}
    def on_train_batch_end(self, batch, logs=None):
        if keras.backend.backend() == "torch":
            recorded["gradients"][self.step] = {
                w.path.split("/", 1)[1]: float(w.value.grad.norm())
                for w in self.model.trainable_weights}
        self.step += 1

record = Record()
writer = SummaryWriter(log_dir)
watch = lumiboard.watching.watch(model, writer, log_freq=2)
assert isinstance(watch, WatchCallback)
watch.sample = x[:2]
model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[record, watch])
lumiboard.watching.unwatch(model)
model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[record, watch])
writer.close()
recorded["tensorflow"] = "tensorflow" in sys.modules
recorded["step"] = watch.step
print(json.dumps(recorded))
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """``{backend: (log dir, what the recording callback saw)}``, both trained at once."""
    root = tmp_path_factory.mktemp("keras_watch")
    processes = {}
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
        env["CUDA_VISIBLE_DEVICES"] = ""
        processes[backend] = subprocess.Popen(
            [sys.executable, "-c", TRAINING, str(root / backend)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for backend, process in processes.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{backend}:\n{out}\n{err}"
        results[backend] = (root / backend, json.loads(out.strip().splitlines()[-1]))
    return results


def read(log_dir: Path) -> Any:
    accumulator = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0}
    )
    accumulator.Reload()
    return accumulator


def points(run: Any, tag: str) -> dict[int, float]:
    return {event.step: event.value for event in run.Scalars(tag)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_watch_logs_the_weights_it_trains_with(
    trained: dict[str, tuple[Path, dict[str, Any]]], backend: str
) -> None:
    log_dir, recorded = trained[backend]
    assert recorded["tensorflow"] is False
    assert recorded["step"] == 4  # unwatched before the third epoch: it counts no more
    run = read(log_dir)
    names = ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]
    for name in names:
        want = {step: recorded["weights"][str(step)][name] for step in (0, 2)}
        assert points(run, f"parameter_norm/{name}") == pytest.approx(want, rel=1e-5)
        assert sorted(points(run, f"update_ratio/{name}")) == [2]
    histogram = {e.step: e.histogram_value for e in run.Histograms("parameters/hidden/kernel")}
    assert (histogram[0].min, histogram[0].max, histogram[0].num) == (-1.0, 1.0, 6.0)
    # The sample's activations at step 0: ReLU unit 2 is dead, tanh(3) saturates.
    assert points(run, "dead_fraction/hidden")[0] == pytest.approx(1 / 3)
    assert points(run, "saturated_fraction/out")[0] == 0.5
    assert points(run, "saturated_fraction/hidden")[0] == 0.0
    assert "activations/out" in run.Tags()["histograms"]
    gradient_tags = [tag for tag in run.Tags()["scalars"] if tag.startswith("gradient_norm/")]
    if backend != "torch":
        assert gradient_tags == []  # out of a callback's reach on JAX
        return
    for name in names:
        want = {step: recorded["gradients"][str(step)][name] for step in (0, 2)}
        assert points(run, f"gradient_norm/{name}") == pytest.approx(want, rel=1e-5)
    total = {
        step: math.sqrt(sum(v**2 for v in recorded["gradients"][str(step)].values()))
        for step in (0, 2)
    }
    assert points(run, "gradient_norm/(total)") == pytest.approx(total, rel=1e-5)
