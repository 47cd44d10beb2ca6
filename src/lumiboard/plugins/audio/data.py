"""Reading audio (plugin ``audio``, data class BLOB_SEQUENCE).

``tf.summary.audio`` writes a string tensor ``[n, 2]`` of (wav, label) without
a data class; TensorBoard's ``dataclass_compat._migrate_audio_value`` keeps the
first column only, giving ``[n]`` clips (its audio plugin serves every label
as ""). torch and tensorboardX write a legacy ``Summary.Audio``, which
``data_compat`` turns into ``[[wav, ""]]`` and the projection into ``[wav]``.
:func:`migrate` does both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lumiboard.format.proto import plugin_data_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.plugins.base import (
    DataClass,
    PluginData,
    Value,
    legacy_metadata,
    with_data_class,
)

PLUGIN_NAME = "audio"
_CONTENT = plugin_data_pb2.AudioPluginData(
    version=0, encoding=plugin_data_pb2.AudioPluginData.WAV, converted_to_tensor=True
).SerializeToString()
# TensorBoard's audio plugin: a MIME type per encoding, anything else octet-stream.
_MIME_TYPES = {plugin_data_pb2.AudioPluginData.WAV: "audio/wav"}
DEFAULT_MIME_TYPE = "application/octet-stream"


def migrate(value: Value) -> Value | None:
    """``audio`` -> ``[wav]`` string tensor; a tensor gets its data class and
    is projected onto its first axis. None for a shape with a zero-sized inner
    axis, on which TensorBoard's projection raises."""
    if value.WhichOneof("value") == "audio":
        tensor = tensor_pb2.TensorProto(
            dtype=types_pb2.DT_STRING,
            tensor_shape=encode_shape([1]),
            string_val=[value.audio.encoded_audio_string],
        )
        metadata = legacy_metadata(value, PLUGIN_NAME, _CONTENT, DataClass.BLOB_SEQUENCE)
        return Value(tag=value.tag, metadata=metadata, tensor=tensor)
    fixed = with_data_class(value, DataClass.BLOB_SEQUENCE)
    dims = fixed.tensor.tensor_shape.dim
    if len(dims) <= 1:
        return fixed
    stride = math.prod(dim.size for dim in dims[1:])
    if stride <= 0:
        return None
    if fixed is value:
        fixed = Value()
        fixed.CopyFrom(value)
    del fixed.tensor.tensor_shape.dim[1:]
    if stride != 1:
        fixed.tensor.string_val[:] = fixed.tensor.string_val[::stride]
    return fixed


def _stride(tensor: tensor_pb2.TensorProto) -> int:
    # [n] after TensorBoard's projection; [n, 2] (wav, label) when a writer set
    # the data class itself, where TensorBoard would serve labels as clips.
    return max(1, math.prod(int(dim.size) for dim in tensor.tensor_shape.dim[1:]))


def blob_count(tensor: tensor_pb2.TensorProto) -> int:
    """The number of clips: the first axis."""
    return len(tensor.string_val) // _stride(tensor)


def read_blob(tensor: tensor_pb2.TensorProto, index: int) -> bytes:
    """Clip ``index`` (0-based), encoded as the plugin content says (WAV)."""
    if not 0 <= index < blob_count(tensor):
        raise IndexError(f"clip {index} of {blob_count(tensor)}")
    blob: bytes = tensor.string_val[index * _stride(tensor)]
    return blob


def parse_plugin_data(content: bytes) -> plugin_data_pb2.AudioPluginData:
    """The ``AudioPluginData`` of a series' metadata."""
    parsed: plugin_data_pb2.AudioPluginData = plugin_data_pb2.AudioPluginData.FromString(content)
    return parsed


def mime_type(content: bytes) -> str:
    """The MIME type TensorBoard serves a series' clips with, from its content."""
    return _MIME_TYPES.get(parse_plugin_data(content).encoding, DEFAULT_MIME_TYPE)


PLUGIN_DATA = PluginData(
    name=PLUGIN_NAME,
    data_class=DataClass.BLOB_SEQUENCE,
    default_samples=1000,
    legacy_field="audio",
    migrate=migrate,
    blob_count=blob_count,
    read_blob=read_blob,
)


@dataclass(frozen=True)
class WavHeader:
    """What a WAV file's header says about its clip."""

    sample_rate: int
    channels: int
    bits_per_sample: int
    #: Frames in the ``data`` chunk (its declared size, capped by the bytes there are).
    frames: int

    @property
    def duration(self) -> float:
        """Seconds of sound."""
        return self.frames / self.sample_rate


def parse_wav_header(head: bytes, total_size: int) -> WavHeader | None:
    """The header of a RIFF/WAVE file from its first bytes (``head``, 512 suffice
    for the usual ``fmt `` then ``data`` layout); ``total_size`` is the file's
    length. None when ``head`` is not a WAV header this can read."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    position = 12
    fmt: tuple[int, int, int, int] | None = None
    while position + 8 <= len(head):
        chunk, size = (
            head[position : position + 4],
            int.from_bytes(head[position + 4 : position + 8], "little"),
        )
        body = position + 8
        if chunk == b"fmt " and body + 16 <= len(head):
            channels = int.from_bytes(head[body + 2 : body + 4], "little")
            sample_rate = int.from_bytes(head[body + 4 : body + 8], "little")
            block_align = int.from_bytes(head[body + 12 : body + 14], "little")
            bits = int.from_bytes(head[body + 14 : body + 16], "little")
            fmt = (channels, sample_rate, block_align, bits)
        elif chunk == b"data":
            if fmt is None:
                return None
            channels, sample_rate, block_align, bits = fmt
            if channels <= 0 or sample_rate <= 0 or block_align <= 0:
                return None
            size = min(size, max(0, total_size - body))
            return WavHeader(sample_rate, channels, bits, size // block_align)
        position = body + size + (size & 1)  # chunks are padded to even sizes
    return None
