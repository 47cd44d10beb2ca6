"""Encode audio clips as TensorBoard audio summaries (16-bit PCM WAV).

Two forms, as TensorBoard has them:

- the PyTorch API's legacy ``Summary.Audio`` (``audio_value``), sample for
  sample what ``torch.utils.tensorboard``'s ``add_audio`` writes;
- the TF2 API's string tensor ``[n, 2]`` of (wav, label) (``audio_tensor_value``),
  quantized as TF's ``encode_wav``.

The two quantize differently, and each is kept: torch truncates ``x * 32767``,
TF rounds ``x * 32768`` half away from zero and saturates at 32767.
"""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
import numpy.typing as npt

from lumiboard.format.proto import plugin_data_pb2, summary_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.format.values import make_metadata

PLUGIN_NAME = "audio"
CONTENT_TYPE = "audio/wav"


def _check_array(array: npt.NDArray[Any], name: str) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, not {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {list(array.shape)})")


def _check_sample_rate(sample_rate: float) -> None:
    if not sample_rate > 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")


def encode_wav(samples: npt.NDArray[Any], sample_rate: int) -> bytes:
    """Encode ``[frames]`` or ``[frames, channels]`` samples as a 16-bit PCM WAV file.

    int16 samples are written as they are. Anything else is read as float in
    [-1, 1] and quantized as TF's ``encode_wav``: clipped, ``round(x * 32768)``
    half away from zero, saturated to [-32768, 32767]; NaN becomes 0.
    Channels are interleaved frame by frame, as WAV requires.
    """
    _check_array(samples, "samples")
    _check_sample_rate(sample_rate)
    if samples.ndim not in (1, 2):
        raise ValueError(f"samples must be [frames] or [frames, channels], got {samples.shape}")
    frames = samples if samples.ndim == 2 else samples[:, np.newaxis]
    if frames.dtype != np.int16:
        frames = _quantize_tf(frames)
    return _write_wav(frames, sample_rate)


def _quantize_tf(samples: npt.NDArray[Any]) -> npt.NDArray[np.int16]:
    # Scaling by 2**15 is exact, so float64 arithmetic gives TF's float32 result.
    scaled = np.clip(samples.astype(np.float32), -1, 1).astype(np.float64) * 32768
    np.nan_to_num(scaled, copy=False, nan=0.0)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    pcm: npt.NDArray[np.int16] = np.clip(rounded, -32768, 32767).astype(np.int16)
    return pcm


def _write_wav(frames: npt.NDArray[np.int16], sample_rate: float) -> bytes:
    output = io.BytesIO()
    with wave.open(output, "wb") as wav:
        wav.setnchannels(frames.shape[1])
        wav.setsampwidth(2)
        wav.setframerate(round(sample_rate))
        wav.writeframes(np.ascontiguousarray(frames, dtype="<i2").tobytes())
    return output.getvalue()


def audio_value(
    tag: str, array: npt.NDArray[Any], sample_rate: int = 44100
) -> summary_pb2.Summary.Value:
    """Return torch's ``add_audio`` value: a mono WAV in a ``Summary.Audio``.

    Like torch, the clip is squeezed (``[1, L]`` and ``[L, 1]`` are fine),
    clipped to [-1, 1] and quantized by truncating ``x * 32767`` in the input's
    float precision; a clip with several channels is refused. NaN becomes 0.
    """
    _check_array(array, "snd_tensor")
    _check_sample_rate(sample_rate)
    clip = array.squeeze()
    if clip.ndim != 1:
        raise ValueError(
            f"snd_tensor must be one mono clip [L] (or [1, L]), got shape {list(array.shape)}"
        )
    audio = summary_pb2.Summary.Audio(
        sample_rate=sample_rate,
        num_channels=1,
        length_frames=clip.shape[0],
        encoded_audio_string=_write_wav(_quantize_torch(clip)[:, np.newaxis], sample_rate),
        content_type=CONTENT_TYPE,
    )
    return summary_pb2.Summary.Value(tag=tag, audio=audio)


def _quantize_torch(clip: npt.NDArray[Any]) -> npt.NDArray[np.int16]:
    # torch multiplies in the array's own precision, so float32 stays float32
    # (truncation can differ from float64's); float16 cannot hold 32767.
    if clip.dtype == np.float16:
        clip = clip.astype(np.float32)
    elif clip.dtype not in (np.float32, np.float64):
        clip = clip.astype(np.float64)
    scaled = np.clip(clip, -1, 1) * clip.dtype.type(32767)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    pcm: npt.NDArray[np.int16] = scaled.astype(np.int16)
    return pcm


def audio_tensor_value(
    name: str,
    data: npt.NDArray[Any],
    sample_rate: int,
    max_outputs: int = 3,
    encoding: str | None = None,
    description: str | None = None,
) -> summary_pb2.Summary.Value:
    """Return ``tf.summary.audio``'s value: a string tensor ``[n, 2]`` of (wav, label).

    ``data`` is ``[k, t, c]`` float in [-1, 1]; the first ``max_outputs`` clips
    are encoded, each with an empty label (TF2 dropped labels but kept the
    column, which TensorBoard's audio plugin still reads).
    """
    if encoding not in (None, "wav"):
        raise ValueError(f"encoding must be 'wav' (or None), got {encoding!r}")
    _check_array(data, "data")
    _check_sample_rate(sample_rate)
    if data.ndim != 3:
        raise ValueError(f"data must be [k, t, c], got shape {list(data.shape)}")
    if max_outputs < 0:
        raise ValueError(f"max_outputs must be non-negative, got {max_outputs}")
    clips = data[:max_outputs]
    items: list[bytes] = []
    for clip in clips:
        items.extend((encode_wav(clip, sample_rate), b""))
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, tensor_shape=encode_shape([len(clips), 2]), string_val=items
    )
    content = plugin_data_pb2.AudioPluginData(
        version=0, encoding=plugin_data_pb2.AudioPluginData.WAV
    )
    # data_class left unset, as TensorFlow does: TensorBoard's reader
    # (dataclass_compat._migrate_audio_value) projects [n, 2] onto the clips
    # only when it is unset; with BLOB_SEQUENCE set it would serve each
    # empty label as a clip of its own.
    metadata = make_metadata(PLUGIN_NAME, content.SerializeToString(), description=description)
    return summary_pb2.Summary.Value(tag=name, tensor=tensor, metadata=metadata)
