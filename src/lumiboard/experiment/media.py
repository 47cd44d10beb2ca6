"""Images and audio clips by reference: a table row points into an event file,
and the bytes are read only when asked (``ref.bytes()``, ``ref.to_numpy()``)."""

from __future__ import annotations

import builtins
import io
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lumiboard.experiment.tables import Pairs, build_frame, object_column
from lumiboard.plugins.images.data import detect_mime_type
from lumiboard.store.provider import Provider
from lumiboard.store.runs import BlobRef

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True)
class MediaRef:
    """One image or clip: where it lives in an event file. Reading happens on demand."""

    ref: BlobRef
    #: The blob's position among the step's samples (``sample`` in the table).
    index: int
    _provider: Provider = field(repr=False, compare=False)

    def bytes(self) -> builtins.bytes:
        """The encoded blob (PNG/GIF/JPEG for images, WAV for audio), read from disk now.

        Raises :class:`~lumiboard.store.provider.NotFoundError` when the event
        file no longer holds it (deleted, or replaced since it was read).
        """
        return self._provider.read_blob(self.ref, self.index)


@dataclass(frozen=True)
class ImageRef(MediaRef):
    """An image of an ``images`` series (``SummaryWriter.add_image`` and friends)."""

    @property
    def mime_type(self) -> str:
        """``image/png``, ``image/gif`` (videos), ``image/jpeg`` ..., from the bytes."""
        return detect_mime_type(self.bytes())

    def to_pil(self) -> Image.Image:
        """The image opened with Pillow (decoding is lazy in Pillow too)."""
        from PIL import Image

        return Image.open(io.BytesIO(self.bytes()))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height), from the image header."""
        width, height = self.to_pil().size
        return int(width), int(height)

    def to_numpy(self) -> np.ndarray:
        """The pixels: ``[height, width, channels]`` uint8 (``[height, width]`` for grayscale).

        Palette images (GIF) are converted to RGB (RGBA with transparency);
        of an animation (``add_video``), the first frame.
        """
        image = self.to_pil()
        if image.mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        return np.asarray(image)


@dataclass(frozen=True)
class AudioRef(MediaRef):
    """A clip of an ``audio`` series, as WAV."""

    @property
    def sample_rate(self) -> int:
        """Frames per second, from the WAV header."""
        with wave.open(io.BytesIO(self.bytes()), "rb") as wav:
            return int(wav.getframerate())

    def to_numpy(self) -> np.ndarray:
        """The samples as float32 in [-1, 1], ``[frames, channels]`` (PCM WAV)."""
        with wave.open(io.BytesIO(self.bytes()), "rb") as wav:
            width, channels = wav.getsampwidth(), wav.getnchannels()
            raw = wav.readframes(wav.getnframes())
        if width == 1:  # 8-bit WAV is unsigned
            samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128) / 128
        elif width in (2, 4):
            kind = np.dtype(f"<i{width}")
            samples = np.frombuffer(raw, dtype=kind).astype(np.float32) / 2 ** (8 * width - 1)
        else:
            raise ValueError(f"{8 * width}-bit WAV samples are not supported")
        return samples.reshape(-1, channels)


def media_frame(
    provider: Provider, pairs: Pairs, kind: type[MediaRef], column: str
) -> pd.DataFrame:
    """One row per blob: run, tag, step, wall_time, sample, and ``column`` (the reference)."""
    lengths: list[int] = []
    steps: list[int] = []
    wall_times: list[float] = []
    samples: list[int] = []
    refs: list[Any] = []
    for run, tag in pairs:
        points = sorted(provider.read_blob_sequence(run, tag), key=lambda point: point.step)
        lengths.append(sum(point.count for point in points))
        for point in points:
            for index in range(point.count):
                steps.append(point.step)
                wall_times.append(point.wall_time)
                samples.append(index)
                refs.append(kind(point.ref, index, provider))
    return build_frame(
        pairs,
        lengths,
        {
            "step": np.asarray(steps, dtype=np.int64),
            "wall_time": np.asarray(wall_times, dtype=np.float64),
            "sample": np.asarray(samples, dtype=np.int64),
            column: object_column(refs),
        },
    )
