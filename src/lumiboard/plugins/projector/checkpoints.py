"""Embeddings without a tensor file: the checkpoint that holds them, or why none can be read.

TensorBoard's projector reads an embedding that has no ``tensor_path`` from a TF checkpoint
(``model_checkpoint_path``, else the latest in ``model_checkpoint_dir`` or the run directory).
lumiboard reads no TF checkpoint (that takes TensorFlow), but it does read the HDF5 weight
files Keras 3's own TensorBoard callback saves instead (``keras_embedding.ckpt-<epoch>.weights.h5``
in ``train/``, see :mod:`.h5_tensors`), which TensorBoard cannot. In order:

1. a ``tensor_path`` naming an ``.h5``/``.hdf5`` file: that file;
2. a ``model_checkpoint_path``: an HDF5 file is read, a TF checkpoint prefix is explained;
3. the latest ``keras_embedding.ckpt-<epoch>.weights.h5`` in ``model_checkpoint_dir``, else in
   ``train/``, else beside the config (the highest epoch: the embedding as training left it);
4. a TF checkpoint there (``<prefix>.index`` with ``<prefix>.data-*``, or TF's ``checkpoint``
   file): a 422 naming it, and why it is not read;
5. nothing: a 400 saying what was looked for.

Every file is resolved as the projector's others are (:func:`.data.resolve`: symlinks
resolved, inside the run or a log directory).
"""

from __future__ import annotations

import logging
import os
import re
import threading

import numpy as np

from lumiboard.format.proto import projector_pb2
from lumiboard.plugins.projector import h5_tensors
from lumiboard.plugins.projector.data import resolve, stat, tensor_cache
from lumiboard.plugins.projector.errors import AssetError, UnreadableError
from lumiboard.writer import fs

logger = logging.getLogger(__name__)

KERAS_CHECKPOINT = re.compile(r"^keras_embedding\.ckpt-(\d+)\.weights\.h5$")
#: Where Keras 3's callback saves them, relative to its log_dir (the config's directory).
KERAS_DIRS = ("train", ".")


def read(
    run_dir: str,
    config: projector_pb2.ProjectorConfig | None,
    embedding: projector_pb2.EmbeddingInfo,
    logdirs: tuple[str, ...],
) -> tuple[np.ndarray, str]:
    """The embedding's matrix and where it came from (``file:dataset, why that dataset``)."""
    location, shown = locate(run_dir, config, embedding, logdirs)
    found = h5_tensors.entries(location, shown)
    position = _position(config, embedding)
    choice = h5_tensors.choose(
        found, embedding.tensor_name, tuple(embedding.tensor_shape), position, shown
    )
    entry = choice.entry
    identity = stat(location)
    if identity is None:  # removed since it was listed
        raise AssetError(f"{shown} does not exist or is not a file")
    key = (location + "\x00" + entry.path, identity.mtime, identity.size, entry.shape)
    matrix = tensor_cache().get(key, lambda: h5_tensors.read_matrix(location, shown, entry))
    source = f"{shown}:{entry.path}, {choice.reason}"
    _report(key[0], f"projector: embedding {embedding.tensor_name!r} reads {source}")
    return matrix, source


def locate(
    run_dir: str,
    config: projector_pb2.ProjectorConfig | None,
    embedding: projector_pb2.EmbeddingInfo,
    logdirs: tuple[str, ...],
) -> tuple[str, str]:
    """The HDF5 file holding ``embedding`` (its location, and its name for messages).

    Raises :class:`UnreadableError` when it is in a TF checkpoint, :class:`AssetError` when
    nothing holds it (each message says what is there).
    """
    name = embedding.tensor_name
    if embedding.tensor_path:  # an .h5 one (data.read_tensor reads the others)
        return resolve(run_dir, embedding.tensor_path, logdirs), embedding.tensor_path
    prefix = config.model_checkpoint_path if config is not None else ""
    if prefix:
        if h5_tensors.is_h5(prefix):
            return resolve(run_dir, prefix, logdirs), prefix
        if stat(resolve(run_dir, prefix + ".index", logdirs)) is not None:
            raise _tf_checkpoint(name, prefix)
        raise AssetError(
            f"embedding {name!r} has no tensor_path, and the config's model_checkpoint_path "
            f"{prefix!r} names no checkpoint: there is no {prefix}.index, nor an HDF5 file"
        )
    folder = config.model_checkpoint_dir if config is not None else ""
    places = (folder,) if folder else KERAS_DIRS
    latest: tuple[int, str] | None = None
    for place in places:
        directory = resolve(run_dir, place, logdirs) if folder else _join(run_dir, place)
        for file in _names(directory):
            match = KERAS_CHECKPOINT.match(file)
            if match and (latest is None or int(match.group(1)) > latest[0]):
                latest = (int(match.group(1)), _shown(place, file))
        if latest is not None:
            return resolve(run_dir, latest[1], logdirs), latest[1]
    for place in places:
        directory = resolve(run_dir, place, logdirs) if folder else _join(run_dir, place)
        tf = _tf_prefix(_names(directory))
        if tf is not None:
            raise _tf_checkpoint(name, _shown(place, tf))
    where = f"in {folder!r} (model_checkpoint_dir)" if folder else "in train/ or beside the config"
    raise AssetError(
        f"embedding {name!r} has no tensor_path, and no checkpoint holds it: there is no Keras "
        f"keras_embedding.ckpt-<epoch>.weights.h5 {where}, and no TF checkpoint (.index and "
        ".data-* files)"
    )


def _tf_checkpoint(name: str, prefix: str) -> UnreadableError:
    return UnreadableError(
        f"embedding {name!r} has no tensor file: its values are in the TF checkpoint "
        f"{prefix!r} ({prefix}.index, {prefix}.data-*), which lumiboard does not read (that "
        "takes TensorFlow); write the embedding as a file (SummaryWriter.add_embedding, or a "
        "tensors.tsv named by tensor_path)"
    )


def _tf_prefix(names: list[str]) -> str | None:
    """A TF checkpoint's prefix among a directory's file names (the latest-named), if any."""
    present = set(names)
    prefixes = sorted(
        file[: -len(".index")]
        for file in names
        if file.endswith(".index")
        and any(other.startswith(file[: -len(".index")] + ".data-") for other in present)
    )
    if prefixes:
        return max(prefixes, key=lambda p: [int(n) for n in re.findall(r"\d+", p)] or [-1])
    return "checkpoint" if "checkpoint" in present else None


def _position(
    config: projector_pb2.ProjectorConfig | None, embedding: projector_pb2.EmbeddingInfo
) -> int:
    """The embedding's place among the config's entries that read the same file.

    Keras writes one entry per Embedding layer, in ``model.layers`` order, all with the same
    tensor_name: this place is what tells them apart.
    """
    if config is None:
        return 0
    same = [e for e in config.embeddings if e.tensor_path == embedding.tensor_path]
    for index, other in enumerate(same):
        if other.tensor_name == embedding.tensor_name:
            return index
    return 0


def _join(run_dir: str, place: str) -> str:
    return run_dir if place == "." else fs.join(run_dir, place)


def _shown(place: str, file: str) -> str:
    return file if place in ("", ".") else f"{place.rstrip('/')}/{file}"


def _names(directory: str) -> list[str]:
    """The file names in a directory; none when it cannot be listed."""
    try:
        if fs.is_remote(directory):
            filesystem, path = fs.filesystem(directory)
            return [
                str(p).rstrip("/").rsplit("/", 1)[-1] for p in filesystem.ls(path, detail=False)
            ]
        return [entry.name for entry in os.scandir(directory) if entry.is_file()]
    except Exception:
        return []


_reported: set[str] = set()
_reported_lock = threading.Lock()


def _report(key: str, message: str) -> None:
    """Log once per file and dataset which dataset an embedding reads, and why."""
    with _reported_lock:
        if key in _reported:
            return
        if len(_reported) > 4096:  # a long-lived server meets many files: forget old ones
            _reported.clear()
        _reported.add(key)
    logger.info("%s", message)
