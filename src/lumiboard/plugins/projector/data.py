"""Reading the projector's files: configs, tensors, metadata, bookmarks, sprites.

The projector keeps no events: a run directory holds ``projector_config.pbtxt``
and the files it names (see ``summary.py``). This module finds them safely and
reads them with bounds:

- every path in a config is resolved against the config's directory
  (TensorBoard's ``_rel_to_abs_asset_path``) and must lead, symlinks
  resolved, inside the run directory or a log directory, the rule of every
  file beside event files (:mod:`lumiboard.reader.assets`); the config
  itself too. ``..`` and absolute paths are refused for URLs;
- every read is capped (:data:`MAX_BYTES`), so an absurd file is refused with
  a 413 naming it instead of filling the server's memory;
- parsed tensors are cached by (file, mtime, size) under a byte budget: a file
  rewritten by a new ``add_embedding`` is read again, an unchanged one never.

Unlike TensorBoard, tensors are never sampled (it keeps 10,000 points for
t-SNE and 5,000 for UMAP client-side; users want them all, tensorboard#3647),
and a bad TSV is refused with the line that is wrong rather than a 500.
An embedding without a tensor file is read from the HDF5 checkpoint Keras 3 saves
(:mod:`.checkpoints`, :mod:`.h5_tensors`); TF checkpoints are not read, and said so.
"""

from __future__ import annotations

import logging
import os
import posixpath
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from google.protobuf import json_format, text_format

from lumiboard.format.proto import projector_pb2
from lumiboard.plugins.projector.errors import AssetError, TooLargeError
from lumiboard.plugins.projector.summary import CONFIG_NAME
from lumiboard.plugins.projector.tensor_files import decode_tensor
from lumiboard.reader.assets import OutsideError, confine
from lumiboard.store.buildcache import BuildCache
from lumiboard.writer import fs

logger = logging.getLogger(__name__)

#: Largest file read, by kind (bytes). Module constants, so tests can lower them.
MAX_BYTES = {
    "config": 4 << 20,
    "tensor": 2 << 30,
    "metadata": 512 << 20,
    "bookmarks": 16 << 20,
    "sprite": 128 << 20,
}
#: Parsed tensors kept in memory, in bytes (least recently used dropped first).
CACHE_BYTES = 2 << 30


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime: float


# ---- files: local paths and fsspec URLs alike ---------------------------------------


def stat(location: str) -> FileStat | None:
    """Size and modification time of a regular file, None when there is none."""
    try:
        if fs.is_remote(location):
            filesystem, path = fs.filesystem(location)
            info = filesystem.info(path)
            if info.get("type") != "file":
                return None
            mtime = info.get("mtime") or info.get("LastModified") or info.get("updated") or 0
            return FileStat(int(info.get("size") or 0), _timestamp(mtime))
        result = os.stat(location)
    except OSError:
        # Not found, not a directory, no permission, a symlink loop (ELOOP)...: no file here.
        return None
    except Exception:  # a remote backend's own errors: no file to read either
        logger.warning("projector: cannot stat %s", location, exc_info=True)
        return None
    if not os.path.isfile(location):
        return None
    return FileStat(result.st_size, result.st_mtime)


def _timestamp(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    timestamp = getattr(value, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else hash(str(value)) * 1.0


def read_bytes(location: str, kind: str, shown: str) -> bytes:
    """A whole file, refused (:class:`TooLargeError`) past ``MAX_BYTES[kind]``.

    ``shown`` is the name the error messages use (the path as the config gives it).
    """
    found = stat(location)
    if found is None:
        raise AssetError(f"{kind} file {shown!r} does not exist or is not a file")
    limit = MAX_BYTES[kind]
    if found.size > limit:
        raise TooLargeError(
            f"{kind} file {shown!r} holds {found.size:,} bytes, over the {limit:,}-byte limit"
        )
    if fs.is_remote(location):
        filesystem, path = fs.filesystem(location)
        data = bytes(filesystem.cat_file(path, start=0, end=limit + 1))
    else:
        with open(location, "rb") as handle:
            data = handle.read(limit + 1)
    if len(data) > limit:  # it grew since the stat
        raise TooLargeError(f"{kind} file {shown!r} is over the {limit:,}-byte limit")
    return data


def resolve(run_dir: str, relative: str, logdirs: Sequence[str] = ()) -> str:
    """``relative`` (a path from a config in ``run_dir``) as the location to read.

    As TensorBoard: ``~`` is expanded and a relative path is taken from the
    config's directory. Then the rule of every file beside event files
    (:func:`lumiboard.reader.assets.confine`): symlinks resolved, the file must
    lie inside ``run_dir`` or one of the log directories ``logdirs``. A URL
    must stay inside ``run_dir``. Anything else is an :class:`AssetError`.
    """
    if not relative or "\x00" in relative:
        raise AssetError(f"asset path {relative!r} is empty or invalid")
    if fs.is_remote(run_dir):
        parts = relative.replace("\\", "/")
        normal = posixpath.normpath(parts)
        if "://" in relative or parts.startswith("/") or normal == ".." or normal.startswith("../"):
            raise AssetError(f'asset path "{relative}" resolves outside the config directory')
        return run_dir.rstrip("/") + "/" + normal
    candidate = os.path.expanduser(relative)
    if not os.path.isabs(candidate):
        candidate = os.path.join(os.path.realpath(run_dir), candidate)
    try:
        return confine(candidate, (run_dir, *logdirs))
    except OutsideError:
        raise AssetError(
            f'asset path "{relative}" resolves outside the config directory and the log directory'
        ) from None


# ---- configs --------------------------------------------------------------------------


def read_config(run_dir: str, logdirs: Sequence[str] = ()) -> projector_pb2.ProjectorConfig | None:
    """The run's config as TensorBoard normalizes it; None when it has none (or it is broken,
    or is a symlink leading outside ``run_dir`` and the log directories ``logdirs``).

    Normalized as TensorBoard's plugin does: an embedding without a name is
    named after its ``tensor_path``'s basename, and a trailing ``:0`` is dropped.
    A config naming no embedding counts as none.
    """
    location = fs.join(run_dir, CONFIG_NAME)
    if not fs.is_remote(location):
        try:
            location = confine(location, (run_dir, *logdirs))
        except OutsideError:
            _report_outside(location)
            return None
    found = stat(location)
    if found is None:
        return None
    key = (location, found.mtime, found.size)
    with _lock:
        cached = _configs.get(key)
    if cached is None:
        cached = _parse_config(location)
        with _lock:
            _configs[key] = cached
            while len(_configs) > 256:
                _configs.popitem(last=False)
    if cached is None or not cached.embeddings:
        return None
    config = projector_pb2.ProjectorConfig()
    config.CopyFrom(cached)
    return config


def _parse_config(location: str) -> projector_pb2.ProjectorConfig | None:
    config = projector_pb2.ProjectorConfig()
    try:
        text = read_bytes(location, "config", CONFIG_NAME).decode("utf-8")
        text_format.Parse(text, config)
    except (OSError, ValueError, text_format.ParseError, UnicodeDecodeError):
        # OSError: a file that can be seen but not opened (permissions, a vanished file).
        return None
    seen: dict[str, int] = {}
    for embedding in config.embeddings:
        if not embedding.tensor_name and embedding.tensor_path:
            embedding.tensor_name = posixpath.basename(embedding.tensor_path.replace("\\", "/"))
        if embedding.tensor_name.endswith(":0"):
            embedding.tensor_name = embedding.tensor_name[:-2]
        # Keras 3 names every Embedding layer's entry alike: "<name> (2)" for the second makes
        # it one a URL can ask for (TensorBoard only ever finds the first).
        count = seen[embedding.tensor_name] = seen.get(embedding.tensor_name, 0) + 1
        if count > 1:
            embedding.tensor_name = f"{embedding.tensor_name} ({count})"
    return config


def config_json(config: projector_pb2.ProjectorConfig) -> dict[str, Any]:
    """The config as TensorBoard's ``/info`` sends it (``MessageToJson``: camelCase keys)."""
    result: dict[str, Any] = json_format.MessageToDict(config)
    return result


def find_embedding(
    config: projector_pb2.ProjectorConfig, name: str
) -> projector_pb2.EmbeddingInfo | None:
    """The embedding called ``name`` (``x`` and ``x:0`` are the same, as in TensorBoard)."""
    wanted = name if ":" in name else name + ":0"
    for embedding in config.embeddings:
        own = embedding.tensor_name
        if (own if ":" in own else own + ":0") == wanted:
            found: projector_pb2.EmbeddingInfo = embedding
            return found
    return None


# ---- tensors ----------------------------------------------------------------------------

_lock = threading.Lock()
_configs: OrderedDict[tuple[str, float, int], projector_pb2.ProjectorConfig | None] = OrderedDict()
_tensors: BuildCache[tuple[str, float, int, tuple[int, ...]], np.ndarray] = BuildCache(
    1 << 20, CACHE_BYTES, lambda tensor: int(tensor.nbytes)
)


def tensor_cache() -> BuildCache[tuple[str, float, int, tuple[int, ...]], np.ndarray]:
    """The parsed tensors, shared with the HDF5 reader (:mod:`.checkpoints`)."""
    return _tensors


def read_tensor(
    run_dir: str,
    embedding: projector_pb2.EmbeddingInfo,
    logdirs: Sequence[str] = (),
    config: projector_pb2.ProjectorConfig | None = None,
) -> np.ndarray:
    """The embedding's ``[N, D]`` float32 matrix, every row (cached by file identity).

    ``tensor_path`` is a TSV (one row per line, tab-separated) or raw
    little-endian float32 of ``tensor_shape``: a file of exactly that size
    that is not all TSV characters is read as binary, anything else as TSV
    (TensorBoard tries TSV and falls back to binary only when the bytes are
    not UTF-8, so an all-zeros binary file would fool it). No ``tensor_path``,
    or an HDF5 one: see :func:`read_tensor_and_source`.
    """
    return read_tensor_and_source(run_dir, embedding, logdirs, config)[0]


def read_tensor_and_source(
    run_dir: str,
    embedding: projector_pb2.EmbeddingInfo,
    logdirs: Sequence[str] = (),
    config: projector_pb2.ProjectorConfig | None = None,
) -> tuple[np.ndarray, str | None]:
    """:func:`read_tensor`, and for a matrix from an HDF5 checkpoint which dataset it is.

    An embedding without ``tensor_path`` (Keras 3's) or with an ``.h5`` one is read by
    :mod:`.checkpoints` (``config`` gives its checkpoint path and the entries' order).
    """
    path = embedding.tensor_path
    if not path or path.lower().endswith((".h5", ".hdf5")):
        # Imported here: checkpoints (and h5_tensors) import this module.
        from lumiboard.plugins.projector import checkpoints

        return checkpoints.read(run_dir, config, embedding, tuple(logdirs))
    return _read_tensor_file(run_dir, embedding, logdirs), None


def _read_tensor_file(
    run_dir: str, embedding: projector_pb2.EmbeddingInfo, logdirs: Sequence[str]
) -> np.ndarray:
    shown = embedding.tensor_path
    location = resolve(run_dir, shown, logdirs)
    found = stat(location)
    if found is None:
        raise AssetError(f"tensor file {shown!r} does not exist or is not a file")
    shape = tuple(int(n) for n in embedding.tensor_shape)
    key = (location, found.mtime, found.size, shape)

    def parse() -> np.ndarray:
        tensor = decode_tensor(read_bytes(location, "tensor", shown), shape, shown)
        # Row-major once (the TSV parser may hand back column-major): every /tensor answer's
        # tobytes() is then a plain copy, not a strided transpose.
        tensor = np.ascontiguousarray(tensor, dtype=np.float32)
        tensor.setflags(write=False)
        return tensor

    # One parse per file at a time: /info and /tensor (and other clients) asking for the same
    # big TSV at once wait for the first parse instead of each parsing it again.
    return _tensors.get(key, parse)


_outside_reported: set[str] = set()


def _report_outside(location: str) -> None:
    """Log once that a config leads outside (it is then no config)."""
    if location not in _outside_reported:
        _outside_reported.add(location)
        logger.warning("projector: not reading %s: it leads outside the log directory", location)


def clear_cache() -> None:
    """Forget every parsed config and tensor (tests)."""
    with _lock:
        _configs.clear()
    _tensors.clear()
    from lumiboard.plugins.projector import h5_tensors  # it imports this module

    h5_tensors.clear_cache()


# ---- metadata ---------------------------------------------------------------------------


def metadata_text(data: bytes, num_rows: int | None, shown: str) -> str:
    """The metadata TSV as served: the first ``num_rows`` points (plus the header), or all.

    A header is there when the first line has a tab, as in TensorBoard.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise AssetError(f"metadata file {shown!r} is not UTF-8 text: {error}") from None
    if num_rows is None:
        return text
    # Rows end at "\n" only, as TensorBoard and the browser split them (str.splitlines would
    # also cut at \x0b, \x1c, \u2028 ... inside a label, and shift the cut).
    first = text.split("\n", 1)[0]
    keep = num_rows + (1 if "\t" in first else 0)
    end = -1
    for _ in range(keep):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[: end + 1]
