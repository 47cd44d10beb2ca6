"""Embedding matrices inside HDF5 weight files, as Keras 3 saves them.

Keras 3's own ``keras.callbacks.TensorBoard(embeddings_freq=k)`` (3.15, every backend) writes,
in its ``log_dir``:

- ``projector_config.pbtxt``: one ``embeddings`` entry per top-level ``Embedding`` layer (and
  subclass), in ``model.layers`` order, each with ``tensor_name:
  "layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE"`` (a TF-checkpoint key, the
  *same* for every layer), ``metadata_path`` when ``embeddings_metadata`` names the layer, and
  no ``tensor_path`` nor ``model_checkpoint_path``;
- ``train/keras_embedding.ckpt-<epoch>.weights.h5`` every ``k`` epochs (0-based), the whole
  model by ``model.save_weights``, which TensorBoard's projector cannot read. Its tree::

      layers/<snake_case class name>[_<n>]/vars/<i>  a layer's variables, in order
      layers/<model>/layers/...                     a nested model's layers
      layers/<...>/vars                             attribute ``name``: the layer's name
      optimizer/vars/<i>                            the optimizer's slots (Adam: iterations,
                                                    learning rate, then a momentum and a
                                                    velocity of each weight's shape)
      vars                                          attribute ``name``: the model's name

  Groups are named after the *class* (``embedding``, ``embedding_1`` in ``model.layers``
  order), not the layer; an ``Embedding``'s matrix is its ``vars/0``, ``[input_dim,
  output_dim]`` float32 (int8 plus a scale when quantized). The optimizer's momentum and
  velocity have the matrix's shape too: they are never taken for it.

:func:`choose` maps a config's ``tensor_name`` to a dataset: a dataset path itself, else a
layer named in it (Keras 3 weight paths such as ``model/words/embeddings``), else the
Embedding layers' matrices (filtered by ``tensor_shape`` when the config gives one; several
left: the one at the embedding's place among the config's entries, and the choice says so).

h5py is an optional extra (``lumiboard[h5]``), imported only when an HDF5 tensor is read.
Reads are bounded: only the chosen dataset is read, its size is checked against
``data.MAX_BYTES["tensor"]`` before reading, and a listing stops at :data:`MAX_OBJECTS`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from lumiboard.plugins.projector.data import MAX_BYTES, stat
from lumiboard.plugins.projector.errors import AssetError, TooLargeError, UnreadableError
from lumiboard.writer import fs

INSTALL_HINT = 'pip install "lumiboard[h5]"'
#: Objects (groups and datasets) listed in one file at most; a hostile file stops there.
MAX_OBJECTS = 100_000
#: Datasets a message lists before "... and N more".
LISTED = 24

#: An Embedding layer's (or subclass's: ``token_embedding``) matrix, at any nesting depth.
_EMBEDDING = re.compile(r"(?:^|/)layers/(?:[A-Za-z0-9_]*_)?embedding(?:_\d+)?/vars/0$")


@dataclass(frozen=True)
class Entry:
    """One dataset of the file."""

    path: str
    shape: tuple[int, ...]
    dtype: str
    #: The ``name`` attribute of its ``vars`` group (the Keras layer's name), if any.
    layer: str | None
    #: numpy's dtype kind ("f" for floats) and item size, as h5py gives them.
    kind: str = "f"
    itemsize: int = 4
    #: Its values are in other files (HDF5 external storage, a virtual dataset).
    elsewhere: bool = False

    def describe(self) -> str:
        shape = "x".join(map(str, self.shape)) or "scalar"
        return f"{self.path} ({shape} {self.dtype})"


@dataclass(frozen=True)
class Choice:
    """The dataset an embedding reads, and why that one."""

    entry: Entry
    reason: str


def is_h5(path: str) -> bool:
    """Whether a config's path names an HDF5 file (by its suffix)."""
    return path.lower().endswith((".h5", ".hdf5"))


def _h5py(shown: str) -> Any:
    try:
        import h5py  # type: ignore[import-untyped]
    except ImportError:
        raise UnreadableError(
            f"reading {shown} (HDF5, as Keras 3 saves embeddings) needs h5py: {INSTALL_HINT}"
        ) from None
    return h5py


@contextmanager
def _open(location: str, shown: str) -> Iterator[Any]:
    """The file, read-only; anything h5py cannot read is an :class:`AssetError` naming it."""
    h5py = _h5py(shown)
    remote = fs.is_remote(location)
    handle: Any = None
    try:
        if remote:
            filesystem, path = fs.filesystem(location)
            handle = filesystem.open(path, "rb")
        with h5py.File(handle if remote else location, "r") as file:
            yield file
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
        if isinstance(error, (AssetError, TooLargeError)):
            raise
        # h5py says "Unable to synchronously open file (truncated file: eof = ...)": keep
        # that, without the server's path.
        reason = str(error).replace(location, shown) or type(error).__name__
        raise AssetError(f"{shown} is not a readable HDF5 file: {reason}") from None
    finally:
        if handle is not None:
            handle.close()


_lock = threading.Lock()
_listings: OrderedDict[tuple[str, float, int], tuple[Entry, ...]] = OrderedDict()


def entries(location: str, shown: str) -> tuple[Entry, ...]:
    """Every dataset of the file (cached by the file's identity; at most MAX_OBJECTS)."""
    found = stat(location)
    if found is None:
        raise AssetError(f"{shown} does not exist or is not a file")
    key = (location, found.mtime, found.size)
    with _lock:
        cached = _listings.get(key)
    if cached is not None:
        return cached
    listed: list[Entry] = []
    with _open(location, shown) as file:
        h5py = _h5py(shown)
        seen = 0

        def visit(name: str, item: Any) -> bool | None:
            nonlocal seen
            seen += 1
            if seen > MAX_OBJECTS:
                return True  # stop: a listing this long is no Keras model's
            if isinstance(item, h5py.Dataset):
                dtype = item.dtype
                listed.append(
                    Entry(
                        name,
                        tuple(int(n) for n in item.shape),
                        str(dtype)[:80],
                        _layer(item),
                        dtype.kind,
                        int(dtype.itemsize),
                        bool(item.external) or bool(item.is_virtual),
                    )
                )
            return None

        file.visititems(visit)
    result = tuple(sorted(listed, key=lambda entry: _natural(entry.path)))
    with _lock:
        _listings[key] = result
        while len(_listings) > 64:
            _listings.popitem(last=False)
    return result


def _layer(dataset: Any) -> str | None:
    parent = dataset.parent
    if not parent.name.endswith("/vars"):
        return None
    name = parent.attrs.get("name")
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return name[:200] if isinstance(name, str) else None


def _natural(path: str) -> list[Any]:
    """``embedding_2`` before ``embedding_10``: Keras numbers groups in ``model.layers`` order."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", path)
    ]


def listing(found: tuple[Entry, ...]) -> str:
    """The datasets, for a message: ``[path (shape dtype), ...]``, at most LISTED of them."""
    if not found:
        return "no datasets"
    shown = ", ".join(entry.describe() for entry in found[:LISTED])
    more = f", ... and {len(found) - LISTED} more" if len(found) > LISTED else ""
    return f"[{shown}{more}]"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def choose(
    found: tuple[Entry, ...],
    tensor_name: str,
    shape: tuple[int, ...],
    position: int,
    shown: str,
) -> Choice:
    """The dataset holding the embedding ``tensor_name`` (see the module's docstring).

    ``shape`` is the config's ``tensor_shape`` (may be empty); ``position`` the embedding's
    place among the config's entries that read this file.
    """
    name = tensor_name[:-2] if tensor_name.endswith(":0") else tensor_name
    name = name.strip("/")
    for entry in found:
        if entry.path == name:
            return Choice(entry, "named by tensor_name")
    parts = set(name.split("/"))
    weights = [e for e in found if not e.path.startswith("optimizer/") and len(e.shape) == 2]
    pool = [e for e in weights if e.layer in parts and e.path.endswith("/vars/0")]
    kind = "layer named in tensor_name"
    if not pool:
        pool = [e for e in weights if _EMBEDDING.search(e.path)]
        kind = "Embedding layer"
    if not pool:
        raise AssetError(
            f"the checkpoint {shown} holds no dataset named {name!r} and no Embedding layer's "
            f"matrix (layers/.../embedding/vars/0); it has: {listing(found)}"
        )
    if len(shape) == 2:
        fitting = [e for e in pool if e.shape == shape]
        if not fitting:
            raise AssetError(
                f"the checkpoint {shown} holds no {kind}'s matrix of the config's tensor_shape "
                f"{shape[0]}x{shape[1]}; it has: {listing(tuple(pool))}"
            )
        pool = fitting
    if len(pool) == 1:
        return Choice(pool[0], f"the {kind} {_label(pool[0])}, the only one")
    if position >= len(pool):
        raise AssetError(
            f"the checkpoint {shown} holds {len(pool)} {kind}s' matrices, and the config's "
            f"{_ordinal(position + 1)} embedding has none left: {listing(tuple(pool))}"
        )
    picked = pool[position]
    others = ", ".join(_label(e) for e in pool)
    return Choice(
        picked,
        f"the {kind} {_label(picked)}, {_ordinal(position + 1)} of {len(pool)} ({others}), "
        "by the embedding's place in projector_config.pbtxt",
    )


def _label(entry: Entry) -> str:
    """The layer's name, else its dataset's path (the source names the path anyway)."""
    return repr(entry.layer) if entry.layer else entry.path


def read_matrix(location: str, shown: str, entry: Entry) -> np.ndarray:
    """The dataset as a C-contiguous, read-only ``[N, D]`` float32 matrix of finite values."""
    where = f"dataset {entry.path} of {shown}"
    if len(entry.shape) != 2 or 0 in entry.shape:
        raise AssetError(
            f"{where} has shape {list(entry.shape)}: the projector needs a 2-D "
            "[points, dimensions] matrix"
        )
    if entry.elsewhere:
        # External storage reads any file the server can (a path in the dataset's header):
        # that would get around the log directory's confinement.
        raise AssetError(
            f"{where} keeps its values in other files (HDF5 external storage or a virtual "
            "dataset), which are not read"
        )
    if entry.kind != "f":
        raise UnreadableError(
            f"{where} holds {entry.dtype} values, not floats (a quantized layer?): the "
            "projector shows float matrices"
        )
    count = entry.shape[0] * entry.shape[1]
    size = count * max(4, entry.itemsize)  # what it is read as, or into
    limit = MAX_BYTES["tensor"]
    if size > limit:
        raise TooLargeError(
            f"{where} holds {count:,} values ({size:,} bytes), over the {limit:,}-byte limit"
        )
    with _open(location, shown) as file:
        dataset = file.get(entry.path)
        h5py = _h5py(shown)
        if not isinstance(dataset, h5py.Dataset) or tuple(dataset.shape) != entry.shape:
            raise AssetError(f"{where} changed while it was read")  # rewritten since the listing
        matrix = np.ascontiguousarray(dataset[()], dtype=np.float32)
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if bad.size:
        raise AssetError(f"{where}: row {int(bad[0]) + 1} holds NaN or infinity")
    matrix.setflags(write=False)
    return matrix


def clear_cache() -> None:
    """Forget every listing (tests)."""
    with _lock:
        _listings.clear()
