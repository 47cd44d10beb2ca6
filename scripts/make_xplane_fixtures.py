"""Write TensorFlow and Keras profiles (``*.xplane.pb``) under ``tests/fixtures/xplane``.

Usage (TensorFlow is not a dependency of lumiboard; use a separate venv)::

    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tensorboard  # Keras 3.15 with it
    /tmp/tfvenv/bin/python scripts/make_xplane_fixtures.py [keras] [tf] [multi]

With no argument all three are written; name some to rewrite only those (each run
profiles anew, so a rewritten fixture's bytes change; the tests compute what they
expect from the file itself). The JAX fixture has its own script and venv:
scripts/make_jax_profile_fixtures.py.

- ``keras``: a tiny dense model trained on CPU with
  ``keras.callbacks.TensorBoard(log_dir, profile_batch=(2, 4))``, the guide's way to
  profile a Keras model. Keras writes
  ``<log_dir>/train/plugins/profile/<timestamp>/<host>.xplane.pb``.
- ``tf``: the same model trained with a custom loop (a ``tf.function`` step) between
  ``tf.profiler.experimental.start(log_dir)`` and ``stop()``, each step in
  ``tf.profiler.experimental.Trace("train", step_num=step, _r=1)``, the guide's way
  to mark steps. TensorFlow writes ``<log_dir>/plugins/profile/<timestamp>/<host>.xplane.pb``.
- ``multi``: two such profiling sessions, filed as the hosts ``host-a`` and ``host-b``
  of one session directory, as a two-worker job's profile is.

Only the ``.xplane.pb`` files are copied into the fixtures, the timestamp directory
and the host renamed to fixed names (the host name is the machine's, the timestamp
today's); the host name recorded inside the file is left as it is.
tests/unit/test_profile_xplane*.py read them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU only: the fixture must not vary
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "xplane"
SPAN = "2026_01_01_00_00_00"
HOST = "host"
#: Steps profiled by the custom loop (``tf``, ``multi``).
STEPS = 5
#: A committed fixture stays under this size.
MAX_BYTES = 2 << 20


def _data() -> tuple[np.ndarray, np.ndarray]:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    return x, y


def _model() -> keras.Model:
    return keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )


def train_keras(log_dir: Path) -> None:
    x, y = _data()
    model = _model()
    model.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.TensorBoard(str(log_dir), profile_batch=(2, 4))
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[callback], verbose=0)


def train_custom_loop(log_dir: Path) -> None:
    x, y = _data()
    model = _model()
    optimizer = keras.optimizers.SGD(0.01)
    loss_fn = keras.losses.MeanSquaredError()

    @tf.function
    def train_step(inputs: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model(inputs, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    batches = iter(tf.data.Dataset.from_tensor_slices((x, y)).batch(8))
    train_step(*next(batches))  # traced and compiled before profiling, as the guide advises
    tf.profiler.experimental.start(str(log_dir))
    for step in range(STEPS):
        inputs, targets = next(batches)
        with tf.profiler.experimental.Trace("train", step_num=step, _r=1):
            train_step(inputs, targets)
    tf.profiler.experimental.stop()


def _one_profile(log_dir: Path, pattern: str) -> Path:
    profiles = sorted(log_dir.glob(pattern))
    if len(profiles) != 1:
        raise SystemExit(f"expected one xplane.pb under {log_dir}, found {profiles}")
    return profiles[0]


def _store(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    size = target.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{target} is {size} bytes, over {MAX_BYTES}")
    print(target, size)


def _fresh(name: str) -> Path:
    out = FIXTURES / name
    if out.exists():
        shutil.rmtree(out)
    return out


def make_keras(tmp: Path) -> None:
    log_dir = tmp / "keras"
    train_keras(log_dir)
    profile = _one_profile(log_dir, "train/plugins/profile/*/*.xplane.pb")
    target = _fresh("keras") / "train" / "plugins" / "profile" / SPAN / f"{HOST}.xplane.pb"
    _store(profile, target)


def make_tf(tmp: Path) -> None:
    log_dir = tmp / "tf"
    train_custom_loop(log_dir)
    profile = _one_profile(log_dir, "plugins/profile/*/*.xplane.pb")
    _store(profile, _fresh("tf") / "plugins" / "profile" / SPAN / f"{HOST}.xplane.pb")


def make_multi(tmp: Path) -> None:
    session = _fresh("multi") / "plugins" / "profile" / SPAN
    for host in ("host-a", "host-b"):
        log_dir = tmp / f"multi-{host}"
        train_custom_loop(log_dir)
        _store(
            _one_profile(log_dir, "plugins/profile/*/*.xplane.pb"), session / f"{host}.xplane.pb"
        )


MAKERS = {"keras": make_keras, "tf": make_tf, "multi": make_multi}


def main(names: list[str]) -> None:
    unknown = [name for name in names if name not in MAKERS]
    if unknown:
        raise SystemExit(f"unknown fixture {unknown}; choose from {list(MAKERS)}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names or list(MAKERS):
            MAKERS[name](Path(tmp))


if __name__ == "__main__":
    main(sys.argv[1:])
