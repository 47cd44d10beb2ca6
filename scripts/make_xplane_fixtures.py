"""Write ``tests/fixtures/xplane/keras``: a real Keras 3 profile (``*.xplane.pb``).

Usage (TensorFlow is not a dependency of lumiboard; use a separate venv)::

    python -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tensorboard  # Keras 3.15 with it
    /tmp/tfvenv/bin/python scripts/make_xplane_fixtures.py

A tiny dense model is trained on CPU with
``keras.callbacks.TensorBoard(log_dir, profile_batch=(2, 4))``, the guide's way
to profile a Keras model. Keras writes the profile to
``<log_dir>/train/plugins/profile/<timestamp>/<host>.xplane.pb``; only that file
is copied into the fixture, the timestamp directory and the host renamed to fixed
names (the host name is the machine's, the timestamp today's).
tests/unit/test_profile_xplane.py reads it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU only: the fixture must not vary
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "xplane" / "keras"
SPAN = "2026_01_01_00_00_00"
HOST = "host"
#: A committed fixture stays under this size.
MAX_BYTES = 2 << 20


def train(log_dir: Path) -> None:
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 8)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.TensorBoard(str(log_dir), profile_batch=(2, 4))
    model.fit(x, y, batch_size=8, epochs=1, callbacks=[callback], verbose=0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log_dir = Path(tmp) / "logs"
        train(log_dir)
        profiles = sorted(log_dir.glob("train/plugins/profile/*/*.xplane.pb"))
        if len(profiles) != 1:
            raise SystemExit(f"expected one xplane.pb, found {profiles}")
        if OUT.exists():
            shutil.rmtree(OUT)
        target = OUT / "train" / "plugins" / "profile" / SPAN / f"{HOST}.xplane.pb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(profiles[0], target)
        size = target.stat().st_size
        if size > MAX_BYTES:
            raise SystemExit(f"{target} is {size} bytes, over {MAX_BYTES}")
        print(target, size)


if __name__ == "__main__":
    main()
