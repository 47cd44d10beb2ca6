"""Image encoders, checked pixel for pixel against torch.utils.tensorboard."""

from __future__ import annotations

import io
import sys
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageSequence

from lumiboard.format.proto import plugin_data_pb2, summary_pb2, types_pb2
from lumiboard.plugins.images import summary

torch_summary = pytest.importorskip("torch.utils.tensorboard.summary")
torch_utils = pytest.importorskip("torch.utils.tensorboard._utils")

RNG = np.random.default_rng(1234)


def decode_png(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image)


def torch_image(array: np.ndarray, **kwargs: Any) -> summary_pb2.Summary.Image:
    """torch's Summary.Image, re-parsed into our wire-compatible class."""
    value = torch_summary.image("t", array, **kwargs).value[0]
    return summary_pb2.Summary.Image.FromString(value.image.SerializeToString())


def assert_same_image(ours: summary_pb2.Summary.Image, theirs: summary_pb2.Summary.Image) -> None:
    assert (ours.height, ours.width, ours.colorspace) == (
        theirs.height,
        theirs.width,
        theirs.colorspace,
    )
    np.testing.assert_array_equal(
        decode_png(ours.encoded_image_string), decode_png(theirs.encoded_image_string)
    )


def floats(*shape: int) -> np.ndarray:
    # Some values outside [0, 1] to exercise clipping.
    return RNG.uniform(-0.2, 1.2, size=shape).astype(np.float32)


def bytes_(*shape: int) -> np.ndarray:
    return RNG.integers(0, 256, size=shape, dtype=np.uint8)


CASES = [
    ("CHW", floats(3, 6, 9)),
    ("CHW", bytes_(3, 6, 9)),
    ("CHW", floats(1, 5, 7)),
    ("chw", floats(3, 4, 4)),
    ("HWC", floats(6, 9, 3)),
    ("HWC", bytes_(6, 9, 1)),
    ("HWC", bytes_(6, 9, 4)),
    ("HWC", floats(6, 9, 4).astype(np.float64)),
    ("WHC", bytes_(9, 6, 3)),
    ("HW", floats(5, 8)),
    ("HW", bytes_(5, 8)),
    ("WH", floats(8, 5)),
    ("NCHW", floats(5, 3, 4, 6)),
    ("NCHW", bytes_(11, 1, 3, 2)),
    ("NCHW", floats(1, 3, 4, 6)),
    ("NHWC", bytes_(9, 4, 6, 3)),
    ("NHWC", floats(3, 4, 6, 1)),
    ("HWNC", floats(4, 6, 2, 3)),
]


@pytest.mark.parametrize(("dataformats", "array"), CASES)
def test_image_value_matches_torch(dataformats: str, array: np.ndarray) -> None:
    value = summary.image_value("tag", array, dataformats=dataformats)
    assert value.tag == "tag"
    assert value.WhichOneof("value") == "image"
    assert not value.HasField("metadata")
    assert_same_image(value.image, torch_image(array, dataformats=dataformats))


@pytest.mark.parametrize(("dataformats", "array"), CASES)
def test_to_hwc_matches_torch(dataformats: str, array: np.ndarray) -> None:
    np.testing.assert_array_equal(
        summary.to_hwc(array, dataformats), torch_utils.convert_to_HWC(array, dataformats)
    )


@pytest.mark.parametrize("rescale", [0.5, 2, 1.7])
def test_rescale_matches_torch_and_keeps_original_size_in_header(rescale: float) -> None:
    array = floats(3, 10, 14)
    value = summary.image_value("t", array, rescale=rescale)
    # torch writes the size before rescaling into the header; the PNG is rescaled.
    assert (value.image.height, value.image.width) == (10, 14)
    assert decode_png(value.image.encoded_image_string).shape == (
        int(10 * rescale),
        int(14 * rescale),
        3,
    )
    assert_same_image(value.image, torch_image(array, rescale=rescale, dataformats="CHW"))


def test_images_value_tiles_batch_like_torch() -> None:
    array = floats(10, 3, 4, 5)
    value = summary.images_value("batch", array)
    # 10 images, 8 columns: 2 rows, last row has 2 images then black.
    assert (value.image.height, value.image.width) == (8, 40)
    pixels = decode_png(value.image.encoded_image_string)
    assert not pixels[4:, 10:].any()
    assert_same_image(value.image, torch_image(array, dataformats="NCHW"))


@pytest.mark.parametrize("count", [1, 2, 7, 8, 9, 17])
@pytest.mark.parametrize("ncols", [1, 3, 8])
def test_make_grid_matches_torch(count: int, ncols: int) -> None:
    images = bytes_(count, 3, 2, 3)
    np.testing.assert_array_equal(
        summary.make_grid(images, ncols=ncols), torch_utils.make_grid(images, ncols=ncols)
    )


def test_make_grid_replicates_gray_and_keeps_rgba() -> None:
    gray = bytes_(3, 1, 2, 2)
    grid = summary.make_grid(gray)
    assert grid.shape == (3, 2, 6)
    np.testing.assert_array_equal(grid[0], grid[2])
    assert summary.make_grid(bytes_(3, 4, 2, 2)).shape == (4, 2, 6)


def test_to_uint8() -> None:
    pixels = bytes_(2, 3)
    assert summary.to_uint8(pixels) is pixels
    values = np.array([0.5, 1.0, 2.0, -1.0, np.nan, np.inf, -np.inf, 0.999])
    # float32 multiply, clip, truncate: 0.5 -> 127 (not 128).
    np.testing.assert_array_equal(
        summary.to_uint8(values), np.array([127, 255, 255, 0, 0, 255, 0, 254], dtype=np.uint8)
    )
    np.testing.assert_array_equal(summary.to_uint8(np.array([0, 1, 2])), [0, 255, 255])


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_encode_png_round_trips(channels: int) -> None:
    pixels = bytes_(5, 7, channels)
    decoded = decode_png(summary.encode_png(pixels))
    np.testing.assert_array_equal(decoded.reshape(5, 7, channels), pixels)


def test_encode_png_rejects_non_uint8() -> None:
    with pytest.raises(TypeError, match="hwc_uint8"):
        summary.encode_png(np.zeros((2, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="hwc_uint8"):
        summary.encode_png(np.zeros((2, 2, 5), dtype=np.uint8))


BOX_CASES = [
    (np.array([[1, 1, 20, 15], [5.5, 3.2, 28, 22]], dtype=np.float32), None),
    (np.array([[2, 18, 25, 28], [10, 4, 30, 20]]), ["cat", "dog 0.93"]),
    (np.zeros((0, 4)), None),
    (np.array([[0, 0, 31, 29]]), "one"),
]


@pytest.mark.parametrize(("boxes", "labels"), BOX_CASES)
@pytest.mark.parametrize("rescale", [1, 1.5])
def test_image_with_boxes_matches_torch(boxes: np.ndarray, labels: Any, rescale: float) -> None:
    array = floats(3, 30, 32)
    value = summary.image_with_boxes_value("boxes", array, boxes, rescale=rescale, labels=labels)
    theirs = torch_summary.image_boxes(
        "boxes",
        array,
        boxes,
        rescale=rescale,
        dataformats="CHW",
        labels=[labels] if isinstance(labels, str) else labels,
    ).value[0]
    assert_same_image(
        value.image, summary_pb2.Summary.Image.FromString(theirs.image.SerializeToString())
    )


def test_image_with_boxes_draws_red_lines_on_rgba() -> None:
    array = np.zeros((20, 20, 4), dtype=np.uint8)
    value = summary.image_with_boxes_value(
        "b", array, np.array([[2, 2, 15, 15]]), dataformats="HWC"
    )
    pixels = decode_png(value.image.encoded_image_string)
    assert value.image.colorspace == 4
    np.testing.assert_array_equal(pixels[8, 2], [255, 0, 0, 255])
    assert not pixels[8, 8].any()


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"boxes": np.zeros((2, 3))}, ValueError, "box_tensor"),
        ({"boxes": np.zeros(4)}, ValueError, "box_tensor"),
        ({"boxes": np.array([["a"] * 4])}, TypeError, "box_tensor"),
        ({"boxes": np.zeros((2, 4)), "labels": ["a"]}, ValueError, "labels"),
        ({"boxes": np.zeros((1, 4)), "dataformats": "HWC"}, ValueError, "dataformats"),
    ],
)
def test_image_with_boxes_rejects_bad_input(
    kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        summary.image_with_boxes_value("b", floats(3, 8, 8), **kwargs)


@pytest.mark.parametrize(
    ("array", "dataformats", "error", "name"),
    [
        (floats(3, 4, 4), "CHWX", ValueError, "dataformats"),
        (floats(3, 4, 4), "CHX", ValueError, "dataformats"),
        (floats(3, 4, 4), "CCH", ValueError, "dataformats"),
        (floats(3, 4, 4), "NCHW", ValueError, "dataformats"),
        (floats(3, 4), "CHW", ValueError, "dataformats"),
        (floats(3, 4), 3, TypeError, "dataformats"),
        (np.zeros((3, 0, 4)), "CHW", ValueError, "img_tensor"),
        (np.zeros((3, 4, 4), dtype=object), "CHW", TypeError, "img_tensor"),
        (np.zeros((3, 4, 4), dtype=np.complex64), "CHW", TypeError, "img_tensor"),
        ([[0.0, 1.0]], "HW", TypeError, "img_tensor"),
        (floats(5, 4, 4), "CHW", ValueError, "img_tensor"),
        (floats(2, 2, 4, 4), "NCHW", ValueError, "img_tensor"),
    ],
)
def test_image_value_rejects_bad_input(
    array: Any, dataformats: Any, error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        summary.image_value("t", array, dataformats=dataformats)


def test_image_value_rejects_rescale_to_nothing() -> None:
    with pytest.raises(ValueError, match="rescale"):
        summary.image_value("t", floats(3, 4, 4), rescale=0.1)


def test_nan_pixels_become_black() -> None:
    array = np.full((3, 2, 2), np.nan, dtype=np.float32)
    pixels = decode_png(summary.image_value("t", array).image.encoded_image_string)
    assert not pixels.any()


# --- figures -----------------------------------------------------------------


@pytest.fixture
def pyplot() -> Any:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_figure_to_array_renders_and_closes(pyplot: Any) -> None:
    figure = pyplot.figure(figsize=(3, 2), dpi=50)
    pyplot.plot([0, 1, 2], [2, 0, 1], color="red")
    pixels = summary.figure_to_array(figure)
    assert pixels.shape == (100, 150, 3)
    assert pixels.dtype == np.uint8
    assert (pixels != 255).any()  # something was drawn on the white background
    assert not pyplot.fignum_exists(figure.number)


def test_figure_to_array_matches_torch_and_can_stay_open(pyplot: Any) -> None:
    figure = pyplot.figure(figsize=(2, 2), dpi=40)
    pyplot.bar([1, 2, 3], [3, 1, 2])
    pixels = summary.figure_to_array(figure, close=False)
    assert pyplot.fignum_exists(figure.number)
    theirs = torch_utils.figure_to_image(figure, close=True)
    np.testing.assert_array_equal(pixels, theirs.transpose(1, 2, 0))


def test_figure_to_array_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"pip install matplotlib.*lumiboard\[figures\]"):
        summary.figure_to_array(object())


# --- video -------------------------------------------------------------------


def torch_frames(video: np.ndarray) -> np.ndarray:
    """What torch's video() hands to moviepy: _prepare_video, then x255 in float32."""
    frames = torch_utils._prepare_video(video)
    return (frames.astype(np.float32) * 255).clip(0, 255).astype(np.uint8)


def palette_video(count: int, steps: int, channels: int, dtype: type) -> np.ndarray:
    # Few levels per channel, so each GIF frame fits 256 colours and is lossless.
    levels = RNG.integers(0, 6, size=(count, steps, channels, 3, 4)) * 51
    video = levels.astype(np.uint8) if dtype is np.uint8 else (levels / 255).astype(dtype)
    video[:, :, :, 0, 0] = np.arange(steps)[None, :, None]  # frames differ from each other
    return video


def decode_gif(data: bytes) -> tuple[Image.Image, list[np.ndarray]]:
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF"
    frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(gif)]
    return gif, frames


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 16])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_video_value_matches_torch_frames(count: int, dtype: type) -> None:
    video = palette_video(count, 4, 3, dtype)
    value = summary.video_value("v", video, fps=4)
    expected = torch_frames(video)
    gif, frames = decode_gif(value.image.encoded_image_string)
    assert (value.image.height, value.image.width, value.image.colorspace) == expected.shape[1:]
    assert gif.info["loop"] == 0
    assert gif.info["duration"] == 250
    np.testing.assert_array_equal(np.stack(frames), expected)


def test_video_value_grayscale_and_fps() -> None:
    video = palette_video(2, 3, 1, np.float64)
    value = summary.video_value("v", video, fps=3)
    expected = torch_frames(video)
    gif, frames = decode_gif(value.image.encoded_image_string)
    assert value.image.colorspace == 1
    assert gif.info["duration"] == 330  # 1000/3 ms, stored in whole centiseconds
    np.testing.assert_array_equal(np.stack(frames)[..., :1], expected)


@pytest.mark.parametrize(
    ("video", "fps", "error", "name"),
    [
        (np.zeros((2, 3, 4, 4)), 4, ValueError, "vid_tensor"),
        (np.zeros((1, 2, 2, 4, 4)), 4, ValueError, "vid_tensor"),
        (np.zeros((1, 0, 3, 4, 4)), 4, ValueError, "vid_tensor"),
        (np.zeros((1, 2, 3, 4, 4), dtype=object), 4, TypeError, "vid_tensor"),
        (np.zeros((1, 2, 3, 4, 4)), 0, ValueError, "fps"),
    ],
)
def test_video_value_rejects_bad_input(
    video: np.ndarray, fps: float, error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        summary.video_value("v", video, fps=fps)


# --- TF2 image tensor --------------------------------------------------------


def test_image_tensor_value_layout_and_metadata() -> None:
    data = RNG.uniform(0, 1, size=(5, 6, 9, 3)).astype(np.float32)
    value = summary.image_tensor_value("img", data, max_outputs=3, description="some *md*")
    tensor = value.tensor
    assert tensor.dtype == types_pb2.DT_STRING
    assert [dim.size for dim in tensor.tensor_shape.dim] == [5]
    assert tensor.string_val[:2] == [b"9", b"6"]  # width first, then height
    # TF's convert_image_dtype: x * 255.5, saturate, truncate.
    expected = np.clip(data * np.float32(255.5), 0, 255).astype(np.uint8)
    for index, png in enumerate(tensor.string_val[2:]):
        np.testing.assert_array_equal(decode_png(png), expected[index])
    metadata = value.metadata
    assert metadata.plugin_data.plugin_name == "images"
    plugin = plugin_data_pb2.ImagePluginData.FromString(metadata.plugin_data.content)
    assert plugin.version == 0
    assert metadata.data_class == summary_pb2.DATA_CLASS_BLOB_SEQUENCE
    assert metadata.summary_description == "some *md*"


def test_image_tensor_value_reads_in_tensorboard() -> None:
    tb_summary_pb2 = pytest.importorskip("tensorboard.compat.proto.summary_pb2")
    tensor_util = pytest.importorskip("tensorboard.util.tensor_util")
    tb_metadata = pytest.importorskip("tensorboard.plugins.image.metadata")
    data = bytes_(2, 4, 7, 1)
    ours = summary.image_tensor_value("img", data, max_outputs=5)
    theirs = tb_summary_pb2.Summary.Value.FromString(ours.SerializeToString())
    array = tensor_util.make_ndarray(theirs.tensor)
    assert array.shape == (4,)
    assert list(array[:2]) == [b"7", b"4"]
    np.testing.assert_array_equal(decode_png(array[3]), data[1, :, :, 0])
    assert tb_metadata.parse_plugin_metadata(theirs.metadata.plugin_data.content).version == 0
    assert theirs.metadata.data_class == 3


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            np.array([0.5, 1.0, 0.999, -0.1, np.nan, 2.0], dtype=np.float32),
            [127, 255, 255, 0, 0, 255],
        ),
        (np.array([0, 255], dtype=np.uint8), [0, 255]),
        (np.array([-1, 0, 127], dtype=np.int8), [0, 0, 254]),
        (np.array([-5, 128, 32767], dtype=np.int16), [0, 1, 255]),
        (np.array([65535, 256], dtype=np.uint16), [255, 1]),
    ],
)
def test_image_tensor_value_converts_dtypes_like_tf(data: np.ndarray, expected: list[int]) -> None:
    image = data.reshape(1, 1, -1, 1)
    value = summary.image_tensor_value("img", image)
    np.testing.assert_array_equal(decode_png(value.tensor.string_val[2])[0], expected)


def test_image_tensor_value_defaults_and_limits() -> None:
    value = summary.image_tensor_value("img", bytes_(2, 3, 3, 4), max_outputs=0)
    assert list(value.tensor.string_val) == [b"3", b"3"]
    assert value.metadata.summary_description == ""
    with pytest.raises(ValueError, match="data"):
        summary.image_tensor_value("img", bytes_(3, 3, 4))
    with pytest.raises(ValueError, match="data"):
        summary.image_tensor_value("img", bytes_(1, 3, 3, 5))
    with pytest.raises(ValueError, match="max_outputs"):
        summary.image_tensor_value("img", bytes_(1, 3, 3, 3), max_outputs=-1)
    with pytest.raises(TypeError, match="data"):
        summary.image_tensor_value("img", np.zeros((1, 2, 2, 3), dtype=bool))
