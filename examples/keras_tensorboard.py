"""Log a Keras 3 training with lumiboard on the PyTorch or JAX backend: no TensorFlow.

Run it (a few seconds on a CPU), then open the logs::

    KERAS_BACKEND=torch python examples/keras_tensorboard.py   # or jax; writes logs/keras
    lumiboard --logdir logs/keras      # Scalars, Histograms, Images, Graphs, Projector, Profile

``pip install "lumiboard[keras]"`` plus the backend (``torch`` or ``jax``) installs what it needs.
``lumiboard.keras.TensorBoard`` takes the arguments of ``keras.callbacks.TensorBoard`` and
writes the same runs (``train``, ``validation``) and tags.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras reads it once, at import

import keras
import numpy as np

from lumiboard.keras import TensorBoard


def main(log_dir: str = "logs/keras") -> None:
    # A toy task: is the sum of 4 tokens (0..19) above the mean?
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 20, size=(512, 4))
    labels = (tokens.sum(axis=1) > 38).astype("float32")

    model = keras.Sequential(
        [
            keras.Input((4,), dtype="int32"),
            keras.layers.Embedding(20, 8, name="token_embedding"),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(1, activation="sigmoid", name="output"),
        ],
        name="classifier",
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

    # Labels for the Projector: one per row of the embedding (relative to log_dir, as in Keras).
    os.makedirs(log_dir, exist_ok=True)
    with open(os.path.join(log_dir, "tokens.tsv"), "w") as metadata:
        metadata.writelines(f"token {i}\n" for i in range(20))

    callback = TensorBoard(
        log_dir,
        histogram_freq=1,  # weight histograms every epoch, named <model>/<layer>/<weight>
        write_images=True,  # and the weights as images
        write_steps_per_second=True,
        update_freq=4,  # batch_* scalars every 4 batches (global batch number)
        profile_batch=(3, 5),  # the backend's own profiler, into <log_dir>/train
        embeddings_freq=1,
        embeddings_metadata={"token_embedding": "tokens.tsv"},
    )
    model.fit(
        tokens,
        labels,
        batch_size=32,
        epochs=3,
        validation_split=0.25,
        verbose=0,
        callbacks=[callback],
    )
    print(f"{keras.backend.backend()} backend; logs in {log_dir}: lumiboard --logdir {log_dir}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
