"""The Embedding layers of a Keras model, for the Projector (``TensorBoard(embeddings_freq=...)``).

Keras 3's own callback writes ``<log_dir>/projector_config.pbtxt`` naming a TF
checkpoint tensor, but saves the weights as ``keras_embedding.ckpt-N.weights.h5``,
which TensorBoard's projector cannot read. Here each Embedding layer's matrix is
written as the Projector reads it (``lumiboard.plugins.projector.summary``, the
files ``SummaryWriter.add_embedding`` writes) into the ``train`` run, where the
Projector finds it whether the dashboard is opened on ``log_dir`` or on a parent::

    <log_dir>/train/projector_config.pbtxt             one embedding per layer and epoch
    <log_dir>/train/<epoch:05d>/<layer name>/tensors.tsv

The embedding is named ``<layer name>:<epoch:05d>``. ``embeddings_metadata`` works
as in Keras: a path per layer name (or one path for every layer), relative to
``log_dir`` unless absolute; the config refers to it from ``train`` (``../<path>``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from google.protobuf import text_format

from lumiboard.plugins.projector import summary as projector
from lumiboard.writer import fs


def check_metadata(embeddings_metadata: Any, layer_names: list[str]) -> None:
    """Raise Keras's ``ValueError`` when ``embeddings_metadata`` names no Embedding layer."""
    if isinstance(embeddings_metadata, Mapping):
        unknown = [name for name in embeddings_metadata if name not in layer_names]
        if unknown:
            raise ValueError(
                "Unrecognized `Embedding` layer names passed to "
                "`keras.callbacks.TensorBoard` `embeddings_metadata` "
                f"argument: {unknown}"
            )


def metadata_path(embeddings_metadata: Any, layer_name: str, log_dir: str) -> str | None:
    """The ``metadata_path`` a layer's embedding gets in the ``train`` run's config."""
    if isinstance(embeddings_metadata, (str, os.PathLike)):
        path: Any = embeddings_metadata
    elif isinstance(embeddings_metadata, Mapping):
        path = embeddings_metadata.get(layer_name)
    else:
        path = None
    if path is None:
        return None
    text = str(os.fspath(path))
    if fs.is_remote(text) or os.path.isabs(text):
        return text
    # Keras (and TensorBoard) read it relative to log_dir, where its config lies.
    if fs.is_remote(log_dir):
        return "../" + text
    return os.path.relpath(os.path.join(log_dir, text), os.path.join(log_dir, "train"))


def write_embeddings(
    train_dir: str, matrices: list[tuple[str, np.ndarray, str | None]], epoch: int
) -> None:
    """Write each ``(layer name, matrix, metadata path)`` at ``epoch`` and the run's config."""
    config = projector.read_config(train_dir)
    for name, matrix, metadata in matrices:
        projector.write_embedding(
            train_dir, config, matrix.reshape(matrix.shape[0], -1), None, None, epoch, name, None
        )
        if metadata is not None:
            tensor_name = f"{name}:{epoch:05d}"
            for info in config.embeddings:
                if info.tensor_name == tensor_name:
                    info.metadata_path = metadata
    if any(metadata is not None for _, _, metadata in matrices):
        text = text_format.MessageToString(config).encode("utf-8")
        fs.write_file(fs.join(train_dir, projector.CONFIG_NAME), text)
