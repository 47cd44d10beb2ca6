"""Encode images, grids, boxes, figures and videos as TensorBoard image summaries.

Two forms, as TensorBoard has them:

- the PyTorch API's legacy ``Summary.Image`` (``image_value`` and friends), whose
  pixels, header fields and quirks follow ``torch.utils.tensorboard`` exactly;
- the TF2 API's string tensor ``[width, height, png...]`` (``image_tensor_value``).

Inputs are numpy arrays already; Pillow does the PNG and GIF encoding and is
imported where used, so importing this module stays cheap.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lumiboard.format.proto import plugin_data_pb2, summary_pb2, tensor_pb2, types_pb2
from lumiboard.format.tensors import encode_shape
from lumiboard.format.values import make_metadata

if TYPE_CHECKING:
    from PIL import Image

PLUGIN_NAME = "images"

_LETTERS = {4: "NCHW", 3: "HWC", 2: "HW"}
_BOX_COLOR = "Red"  # torch's draw_boxes colour; labels are black on a red band
_BOX_WIDTH = 2  # torch's _draw_single_box thickness


def _check_array(array: npt.NDArray[Any], name: str) -> None:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, not {type(array).__name__}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {list(array.shape)})")


def to_hwc(array: npt.NDArray[Any], dataformats: str) -> npt.NDArray[Any]:
    """Return one image as ``[H, W, C]``, following torch's ``convert_to_HWC``.

    ``dataformats`` names each axis: a permutation of ``NCHW`` (the batch is
    tiled by ``make_grid``), of ``HWC`` or of ``HW`` (case-insensitive). One
    channel is replicated to three, as torch does, so grayscale is stored RGB.
    """
    _check_array(array, "img_tensor")
    if not isinstance(dataformats, str):
        raise TypeError(f"dataformats must be a str, not {type(dataformats).__name__}")
    letters = dataformats.upper()
    expected = _LETTERS.get(len(letters))
    if expected is None or sorted(letters) != sorted(expected):
        raise ValueError(f"dataformats {dataformats!r} is not a permutation of NCHW, HWC or HW")
    if array.ndim != len(letters):
        raise ValueError(
            f"dataformats {dataformats!r} has {len(letters)} axes but img_tensor has shape "
            f"{list(array.shape)}"
        )
    ordered = array.transpose([letters.index(letter) for letter in expected])
    if len(letters) == 4:
        return make_grid(ordered).transpose(1, 2, 0)
    if len(letters) == 2:
        return np.stack([ordered] * 3, axis=2)
    if ordered.shape[2] == 1:
        return np.concatenate([ordered] * 3, axis=2)
    if ordered.shape[2] not in (2, 3, 4):
        raise ValueError(
            f"img_tensor has {ordered.shape[2]} channels under dataformats {dataformats!r} "
            f"(shape {list(array.shape)}); expected 1 to 4"
        )
    return ordered


def make_grid(images_nchw: npt.NDArray[Any], ncols: int = 8) -> npt.NDArray[Any]:
    """Tile ``[N, C, H, W]`` row by row into one ``[C, H*rows, W*cols]`` image.

    torch's layout: ``min(N, ncols)`` columns, no padding between tiles, empty
    cells of the last row black. One channel becomes three; four (RGBA) is
    kept, where torch would refuse it.
    """
    _check_array(images_nchw, "img_tensor")
    if images_nchw.ndim != 4:
        raise ValueError(f"img_tensor must be [N, C, H, W], got shape {list(images_nchw.shape)}")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    count, channels, height, width = images_nchw.shape
    if channels == 1:
        images_nchw = np.concatenate([images_nchw] * 3, axis=1)
        channels = 3
    elif channels not in (3, 4):
        raise ValueError(
            f"img_tensor must have 1, 3 or 4 channels, got shape {list(images_nchw.shape)}"
        )
    ncols = min(count, ncols)
    nrows = math.ceil(count / ncols)
    cells = np.zeros((nrows * ncols, channels, height, width), dtype=images_nchw.dtype)
    cells[:count] = images_nchw
    grid = cells.reshape(nrows, ncols, channels, height, width).transpose(2, 0, 3, 1, 4)
    return grid.reshape(channels, nrows * height, ncols * width)


def to_uint8(array: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """Return pixels as uint8 the way torch does: uint8 as is, anything else ×255.

    torch multiplies in float32 and truncates (0.5 -> 127, not 128) after
    clipping to [0, 255]; NaN, which torch leaves to the platform's cast,
    becomes 0 here.
    """
    if array.dtype == np.uint8:
        return array
    scaled = array.astype(np.float32) * np.float32(255)
    np.nan_to_num(scaled, copy=False, nan=0.0)
    pixels: npt.NDArray[np.uint8] = np.clip(scaled, 0, 255).astype(np.uint8)
    return pixels


def encode_png(hwc_uint8: npt.NDArray[np.uint8]) -> bytes:
    """Encode ``[H, W, C]`` uint8 pixels (C = 1, 2, 3 or 4) as PNG bytes."""
    return _save(_to_pil(hwc_uint8), "PNG")


def _to_pil(hwc_uint8: npt.NDArray[np.uint8]) -> Image.Image:
    from PIL import Image

    if hwc_uint8.dtype != np.uint8:
        raise TypeError(f"hwc_uint8 must have dtype uint8, got {hwc_uint8.dtype}")
    if hwc_uint8.ndim != 3 or hwc_uint8.shape[2] not in (1, 2, 3, 4) or hwc_uint8.size == 0:
        raise ValueError(f"hwc_uint8 must be [H, W, 1|2|3|4], got shape {list(hwc_uint8.shape)}")
    pixels = hwc_uint8[:, :, 0] if hwc_uint8.shape[2] == 1 else hwc_uint8
    return Image.fromarray(np.ascontiguousarray(pixels))


def _save(image: Image.Image, image_format: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, format=image_format, **options)
    return output.getvalue()


def image_value(
    tag: str, array: npt.NDArray[Any], dataformats: str = "CHW", rescale: float = 1.0
) -> summary_pb2.Summary.Value:
    """Return torch's ``add_image`` value: a ``Summary.Image`` PNG, no metadata.

    ``rescale`` resizes the PNG (Lanczos), but ``height``/``width`` keep the
    size before rescaling, as torch writes them.
    """
    pixels = to_uint8(to_hwc(array, dataformats))
    return summary_pb2.Summary.Value(tag=tag, image=_make_image(pixels, rescale))


def images_value(
    tag: str, array: npt.NDArray[Any], dataformats: str = "NCHW"
) -> summary_pb2.Summary.Value:
    """Return torch's ``add_images`` value: the batch tiled into one grid PNG."""
    return image_value(tag, array, dataformats)


def image_with_boxes_value(
    tag: str,
    array: npt.NDArray[Any],
    boxes: npt.NDArray[Any],
    dataformats: str = "CHW",
    rescale: float = 1.0,
    labels: list[str] | str | None = None,
) -> summary_pb2.Summary.Value:
    """Return torch's ``add_image_with_boxes`` value: red ``[x1, y1, x2, y2]`` boxes.

    Boxes are in pixels of the image before ``rescale``; each label is drawn
    black on a red band above its box's bottom-left corner, in Pillow's
    default font. torch drops labels whose count does not match; we refuse.
    """
    pixels = to_uint8(to_hwc(array, dataformats))
    if not isinstance(boxes, np.ndarray) or boxes.dtype.kind not in "biuf":
        raise TypeError("box_tensor must be a numeric numpy array")
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"box_tensor must be [N, 4] (x1, y1, x2, y2), got {list(boxes.shape)}")
    if isinstance(labels, str):
        labels = [labels]
    if labels is not None and len(labels) != boxes.shape[0]:
        raise ValueError(f"labels has {len(labels)} entries for {boxes.shape[0]} boxes")
    return summary_pb2.Summary.Value(
        tag=tag, image=_make_image(pixels, rescale, boxes.astype(np.float64), labels)
    )


def _make_image(
    pixels: npt.NDArray[np.uint8],
    rescale: float,
    boxes: npt.NDArray[np.float64] | None = None,
    labels: list[str] | None = None,
) -> summary_pb2.Summary.Image:
    from PIL import Image

    height, width, channels = pixels.shape
    size = (int(width * rescale), int(height * rescale))
    if size[0] < 1 or size[1] < 1:
        raise ValueError(f"rescale {rescale} leaves no pixels of a {height}x{width} image")
    image = _to_pil(pixels)
    for index, box in enumerate(boxes if boxes is not None else ()):
        _draw_box(image, box, labels[index] if labels is not None else "")
    if size != image.size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return summary_pb2.Summary.Image(
        height=height, width=width, colorspace=channels, encoded_image_string=_save(image, "PNG")
    )


def _draw_box(image: Image.Image, box: npt.NDArray[np.float64], label: str) -> None:
    from PIL import ImageDraw, ImageFont

    left, top, right, bottom = (float(value) for value in box)
    draw = ImageDraw.Draw(image)
    corners = [(left, top), (left, bottom), (right, bottom), (right, top), (left, top)]
    draw.line(corners, width=_BOX_WIDTH, fill=_BOX_COLOR)
    if not label:
        return
    font = ImageFont.load_default()
    text_left, text_top, text_right, text_bottom = font.getbbox(label)
    text_width, text_height = text_right - text_left, text_bottom - text_top
    margin = math.ceil(0.05 * text_height)
    band_top = bottom - text_height - 2 * margin
    draw.rectangle([(left, band_top), (left + text_width, bottom)], fill=_BOX_COLOR)
    draw.text((left + margin, bottom - text_height - margin), label, fill="black", font=font)


def figure_to_array(figure: Any, close: bool = True) -> npt.NDArray[np.uint8]:
    """Render a matplotlib figure with an Agg canvas to ``[H, W, 3]`` RGB uint8.

    The alpha channel is dropped, as torch's ``figure_to_image`` does. With
    ``close`` the figure is closed in pyplot afterwards.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
    except ImportError as error:
        raise ImportError(
            "rendering figures needs matplotlib: pip install matplotlib "
            "(or pip install 'lumiboard[figures]')"
        ) from error
    canvas: Any = FigureCanvasAgg(figure)  # matplotlib's canvas methods are untyped
    canvas.draw()
    pixels = np.array(np.asarray(canvas.buffer_rgba())[:, :, :3], dtype=np.uint8)
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return pixels


def video_value(tag: str, array: npt.NDArray[Any], fps: float = 4) -> summary_pb2.Summary.Value:
    """Return torch's ``add_video`` value: an animated GIF in a ``Summary.Image``.

    ``array`` is ``[N, T, C, H, W]``; each frame tiles the N clips into a grid
    as torch's ``_prepare_video`` does. Pillow writes the GIF, so moviepy is not
    needed. GIF limits apply: at most 256 colours per frame (more are
    quantized), alpha dropped, delays in whole centiseconds, and identical
    consecutive frames merged into one longer frame.
    """
    _check_array(array, "vid_tensor")
    if array.ndim != 5:
        raise ValueError(f"vid_tensor must be [N, T, C, H, W], got shape {list(array.shape)}")
    if array.shape[2] not in (1, 3, 4):
        raise ValueError(f"vid_tensor must have 1, 3 or 4 channels, got {list(array.shape)}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    frames = to_uint8(_tile_video(array))
    _, height, width, channels = frames.shape
    image = summary_pb2.Summary.Image(
        height=height,
        width=width,
        colorspace=channels,
        encoded_image_string=_encode_gif(frames, fps),
    )
    return summary_pb2.Summary.Value(tag=tag, image=image)


def _tile_video(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """``[N, T, C, H, W]`` -> ``[T, rows*H, cols*W, C]``, torch's ``_prepare_video`` grid.

    N is padded with black clips to a power of two; rows is the largest power
    of two with rows*rows <= N (from the unpadded N), so 5 clips make 2x4.
    """
    count, steps, channels, height, width = array.shape
    cells = 1 << (count - 1).bit_length()
    nrows = 1 << ((count.bit_length() - 1) // 2)
    ncols = cells // nrows
    padded = np.zeros((cells, steps, channels, height, width), dtype=array.dtype)
    padded[:count] = array
    grid = padded.reshape(nrows, ncols, steps, channels, height, width)
    return grid.transpose(2, 0, 4, 1, 5, 3).reshape(steps, nrows * height, ncols * width, channels)


def _encode_gif(frames: npt.NDArray[np.uint8], fps: float) -> bytes:
    from PIL import Image

    if frames.shape[3] == 1:
        images = [Image.fromarray(np.ascontiguousarray(frame[:, :, 0])) for frame in frames]
    else:
        images = [Image.fromarray(np.ascontiguousarray(frame[:, :, :3])) for frame in frames]
    return _save(
        images[0],
        "GIF",
        save_all=True,
        append_images=images[1:],
        duration=round(1000 / fps),
        loop=0,
    )


def image_tensor_value(
    name: str, data: npt.NDArray[Any], max_outputs: int = 3, description: str | None = None
) -> summary_pb2.Summary.Value:
    """Return ``tf.summary.image``'s value: a string tensor ``[width, height, png...]``.

    ``data`` is ``[k, h, w, c]`` with c in 1..4. Width comes first (TensorBoard's
    images plugin reads it so); the sizes are of ``data``, the PNGs of its
    first ``max_outputs`` images, converted as TF's ``convert_image_dtype``.
    """
    _check_array(data, "data")
    if data.ndim != 4 or data.shape[3] not in (1, 2, 3, 4):
        raise ValueError(f"data must be [k, h, w, c] with c in 1..4, got {list(data.shape)}")
    if max_outputs < 0:
        raise ValueError(f"max_outputs must be non-negative, got {max_outputs}")
    pixels = _convert_image_dtype(data[:max_outputs])
    items = [str(data.shape[2]).encode(), str(data.shape[1]).encode()]
    items.extend(encode_png(image) for image in pixels)
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING, tensor_shape=encode_shape([len(items)]), string_val=items
    )
    metadata = make_metadata(
        PLUGIN_NAME,
        plugin_data_pb2.ImagePluginData(version=0).SerializeToString(),
        summary_pb2.DATA_CLASS_BLOB_SEQUENCE,
        description=description,
    )
    return summary_pb2.Summary.Value(tag=name, tensor=tensor, metadata=metadata)


def _convert_image_dtype(data: npt.NDArray[Any]) -> npt.NDArray[np.uint8]:
    """TF's ``convert_image_dtype(data, uint8, saturate=True)``.

    Floats are multiplied by 255.5 (TF's guard against rounding in the cast),
    clipped and truncated; wider integers are floor-divided down to 8 bits and
    narrower ones scaled up, negatives saturating at 0. NaN becomes 0.
    """
    if data.dtype == np.uint8:
        return data
    if data.dtype.kind == "f":
        scaled = data * data.dtype.type(255.5)
        np.nan_to_num(scaled, copy=False, nan=0.0)
        saturated = np.clip(scaled, 0, 255)
    elif data.dtype.kind in "iu":
        span = int(np.iinfo(data.dtype).max) + 1
        if span > 256:
            saturated = np.clip(data // (span // 256), 0, 255)
        else:
            saturated = np.clip(data, 0, 255).astype(np.uint16) * (256 // span)
    else:
        raise TypeError(f"data must be float or integer, got dtype {data.dtype}")
    pixels: npt.NDArray[np.uint8] = saturated.astype(np.uint8)
    return pixels
