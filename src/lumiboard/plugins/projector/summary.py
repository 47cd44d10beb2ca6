"""Embeddings for the projector (plugin ``projector``): files, not events.

Layout, as ``torch.utils.tensorboard`` writes it and TensorBoard's projector
reads it::

    <logdir>/projector_config.pbtxt            every embedding of the run
    <logdir>/<step:05d>/<tag>/tensors.tsv      one row per point
    <logdir>/<step:05d>/<tag>/metadata.tsv     labels (a header row when >1 column)
    <logdir>/<step:05d>/<tag>/sprite.png       thumbnails in a square grid
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import numpy as np
from google.protobuf import text_format

from lumiboard.format.proto import projector_pb2
from lumiboard.writer import fs

CONFIG_NAME = "projector_config.pbtxt"


def encode_tag(tag: str) -> str:
    """A tag as one path segment, escaped as torch does: ``%25``, ``%2f``, ``%5c``.

    torch's lowercase hex is kept, so a run resumed with torch finds the same folders.
    """
    return tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def tensors_tsv(mat: np.ndarray) -> bytes:
    """One line per row, values tab-separated, full float precision."""
    return "".join("\t".join(repr(float(x)) for x in row) + "\n" for row in mat).encode("utf-8")


def metadata_tsv(metadata: Sequence[object], header: Sequence[str] | None) -> bytes:
    """Labels one per line; with a header, each item is a row of columns."""
    if header is None:
        lines = [_cell(item) for item in metadata]
    else:
        lines = ["\t".join(_cell(h) for h in header)]
        for row in metadata:
            cells = row if isinstance(row, (list, tuple)) else [row]
            if len(cells) != len(header):
                raise ValueError(
                    f"each metadata row needs {len(header)} columns to match metadata_header"
                )
            lines.append("\t".join(_cell(c) for c in cells))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _cell(item: object) -> str:
    # Tabs and newlines would break the TSV; TensorBoard has no escaping for them.
    return str(item).replace("\t", " ").replace("\n", " ")


def sprite_png(label_img: np.ndarray) -> bytes:
    """Tile N thumbnails (NCHW, floats in [0, 1] or uint8) into a square PNG."""
    from PIL import Image

    from lumiboard.plugins.images.summary import make_grid, to_uint8

    count = label_img.shape[0]
    columns = math.ceil(math.sqrt(count))
    grid = to_uint8(make_grid(label_img, ncols=columns)).transpose(1, 2, 0)
    side = grid.shape[1]
    square = np.zeros((side, side, grid.shape[2]), dtype=np.uint8)
    square[: grid.shape[0]] = grid[:side]
    buffer = io.BytesIO()
    Image.fromarray(square.squeeze(-1) if square.shape[2] == 1 else square).save(buffer, "PNG")
    return buffer.getvalue()


def write_embedding(
    logdir: str,
    config: projector_pb2.ProjectorConfig,
    mat: np.ndarray,
    metadata: Sequence[object] | None,
    label_img: np.ndarray | None,
    global_step: int,
    tag: str,
    metadata_header: Sequence[str] | None,
) -> None:
    """Write one embedding's files and add it to ``config`` (rewritten whole)."""
    if mat.ndim != 2:
        raise ValueError(f"mat must be 2-D [N, D], got shape {list(mat.shape)}")
    if metadata is not None and len(metadata) != mat.shape[0]:
        raise ValueError(f"metadata has {len(metadata)} rows, mat has {mat.shape[0]}")
    if label_img is not None and (label_img.ndim != 4 or label_img.shape[0] != mat.shape[0]):
        raise ValueError(f"label_img must be [N, C, H, W] with N={mat.shape[0]}")
    subdir = f"{global_step:05d}/{encode_tag(tag)}"
    target = fs.join(logdir, subdir)
    info = projector_pb2.EmbeddingInfo(
        tensor_name=f"{tag}:{global_step:05d}",
        tensor_path=f"{subdir}/tensors.tsv",
        tensor_shape=list(mat.shape),
    )
    fs.write_file(fs.join(target, "tensors.tsv"), tensors_tsv(mat))
    if metadata is not None:
        fs.write_file(fs.join(target, "metadata.tsv"), metadata_tsv(metadata, metadata_header))
        info.metadata_path = f"{subdir}/metadata.tsv"
    if label_img is not None:
        fs.write_file(fs.join(target, "sprite.png"), sprite_png(label_img))
        info.sprite.image_path = f"{subdir}/sprite.png"
        info.sprite.single_image_dim.extend([label_img.shape[3], label_img.shape[2]])
    # Replace an embedding written before under the same name (same tag and step).
    kept = [e for e in config.embeddings if e.tensor_name != info.tensor_name]
    del config.embeddings[:]
    config.embeddings.extend([*kept, info])
    fs.write_file(fs.join(logdir, CONFIG_NAME), text_format.MessageToString(config).encode("utf-8"))


def read_config(logdir: str) -> projector_pb2.ProjectorConfig:
    """The run's existing projector config, so a new writer adds to it."""
    config = projector_pb2.ProjectorConfig()
    data = fs.read_file(fs.join(logdir, CONFIG_NAME))
    if data:
        text_format.Parse(data.decode("utf-8"), config)
    return config
