"""Regenerate tests/fixtures/keras_embeddings/: what Keras 3's own TensorBoard callback writes
for ``embeddings_freq``, which the projector reads (issue 13 item 2).

Usage (needs TensorFlow, which lumiboard never imports; run it once, commit the output)::

    /tmp/tfvenv/bin/python scripts/make_keras_embedding_fixture.py [OUT_DIR]

OUT_DIR defaults to tests/fixtures/keras_embeddings. Generated with tensorflow-cpu 2.21 and
keras 3.15 on the TensorFlow backend. Two Keras log directories, each trained 2 epochs with
``keras.callbacks.TensorBoard(log_dir, embeddings_freq=1, embeddings_metadata=...)``:

- ``single/``: a Sequential model with one ``Embedding(20, 4, name="words")``, validation data
  (so ``train/`` and ``validation/`` runs, as users have them), labels in ``metadata.tsv``;
- ``two_layers/``: a functional model with ``Embedding(20, 4, name="words")`` and
  ``Embedding(6, 3, name="tags")``: Keras writes two config entries with the *same*
  tensor_name, and metadata for each (``words.tsv``, ``tags.tsv``).

Per log directory Keras writes ``projector_config.pbtxt`` (no tensor_path, no
model_checkpoint_path) and ``train/keras_embedding.ckpt-<epoch>.weights.h5`` (the whole
model's weights and the optimizer's slots, via ``model.save_weights``). Event file names hold
a timestamp, a host name and a pid: they are renamed to fixed names so the fixture is stable.
The ``values.npz`` beside each log directory holds every Embedding layer's matrix per epoch as
Keras had it, for the tests to compare with.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np

EPOCHS = 2


class _Recorder(keras.callbacks.Callback):
    """Each Embedding layer's matrix at each epoch's end (what the .h5 of that epoch holds)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, np.ndarray] = {}

    def on_epoch_end(self, epoch: int, logs: object = None) -> None:
        assert self.model is not None
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.Embedding):
                self.values[f"{layer.name}@{epoch}"] = keras.ops.convert_to_numpy(layer.embeddings)


def _fit(
    model: keras.Model, log_dir: Path, metadata: dict[str, str], x: object, y: object, **fit: object
) -> None:
    recorder = _Recorder()
    board = keras.callbacks.TensorBoard(
        str(log_dir), embeddings_freq=1, embeddings_metadata=dict(metadata)
    )
    model.compile(optimizer="adam", loss="mse")
    # The TensorBoard callback first: the recorder then reads the weights it saved.
    model.fit(x, y, epochs=EPOCHS, batch_size=16, callbacks=[board, recorder], verbose=0, **fit)
    np.savez(log_dir.parent / f"{log_dir.name}.values.npz", **recorder.values)


def _rename_event_files(log_dir: Path) -> None:
    for run in sorted(p for p in log_dir.iterdir() if p.is_dir()):
        events = sorted(run.glob("events.out.tfevents.*"))
        for index, path in enumerate(events):
            path.rename(run / f"events.out.tfevents.1700000000.fixture.{index}.v2")


def _single(root: Path, rng: np.random.Generator) -> None:
    log_dir = root / "single"
    log_dir.mkdir(parents=True)
    (log_dir / "metadata.tsv").write_text("".join(f"word{i}\n" for i in range(20)))
    model = keras.Sequential(
        [
            keras.Input((3,), dtype="int32"),
            keras.layers.Embedding(20, 4, name="words"),
            keras.layers.Flatten(name="flat"),
            keras.layers.Dense(1, name="out"),
        ],
        name="single",
    )
    x = rng.integers(0, 20, size=(48, 3))
    y = rng.random((48, 1)).astype("float32")
    _fit(
        model, log_dir, {"words": "metadata.tsv"}, x[:32], y[:32], validation_data=(x[32:], y[32:])
    )
    _rename_event_files(log_dir)


def _two_layers(root: Path, rng: np.random.Generator) -> None:
    log_dir = root / "two_layers"
    log_dir.mkdir(parents=True)
    (log_dir / "words.tsv").write_text("".join(f"word{i}\n" for i in range(20)))
    (log_dir / "tags.tsv").write_text(
        "tag\tkind\n" + "".join(f"tag{i}\t{'odd' if i % 2 else 'even'}\n" for i in range(6))
    )
    words_in = keras.Input((3,), dtype="int32", name="word_ids")
    tags_in = keras.Input((2,), dtype="int32", name="tag_ids")
    words = keras.layers.Flatten()(keras.layers.Embedding(20, 4, name="words")(words_in))
    tags = keras.layers.Flatten()(keras.layers.Embedding(6, 3, name="tags")(tags_in))
    out = keras.layers.Dense(1, name="out")(keras.layers.Concatenate()([words, tags]))
    model = keras.Model([words_in, tags_in], out, name="two_layers")
    x = [rng.integers(0, 20, size=(32, 3)), rng.integers(0, 6, size=(32, 2))]
    y = rng.random((32, 1)).astype("float32")
    _fit(model, log_dir, {"words": "words.tsv", "tags": "tags.tsv"}, x, y)
    _rename_event_files(log_dir)


def main() -> None:
    default = Path(__file__).resolve().parent.parent / "tests/fixtures/keras_embeddings"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    shutil.rmtree(root, ignore_errors=True)
    keras.utils.set_random_seed(13)
    rng = np.random.default_rng(13)
    _single(root, rng)
    _two_layers(root, rng)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            print(f"{path.stat().st_size:>8}  {path.relative_to(root)}")


if __name__ == "__main__":
    main()
