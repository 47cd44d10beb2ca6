"""Audio encoders, checked sample for sample against torch.utils.tensorboard."""

from __future__ import annotations

import io
import wave
from typing import Any

import numpy as np
import pytest

from lumiboard.format.proto import plugin_data_pb2, summary_pb2, types_pb2
from lumiboard.plugins.audio import summary

torch_summary = pytest.importorskip("torch.utils.tensorboard.summary")

RNG = np.random.default_rng(99)


def decode_wav(data: bytes) -> tuple[int, int, np.ndarray]:
    """(sample rate, channels, int16 samples as [frames, channels])."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        assert wav.getsampwidth() == 2
        channels = wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return wav.getframerate(), channels, samples.reshape(-1, channels)


def torch_audio(array: np.ndarray, sample_rate: int) -> summary_pb2.Summary.Audio:
    value = torch_summary.audio("t", array, sample_rate=sample_rate).value[0]
    return summary_pb2.Summary.Audio.FromString(value.audio.SerializeToString())


CLIPS = [
    RNG.uniform(-1, 1, 1000).astype(np.float32),
    RNG.uniform(-1, 1, 777),
    RNG.uniform(-1, 1, (1, 300)).astype(np.float32),
    RNG.uniform(-1, 1, (300, 1)),
    RNG.uniform(-1, 1, (1, 50, 1)).astype(np.float32),
    np.array([0.5, 1.0, -1.0, 1 / 32767, -0.99999, 0.0]),
    np.array([0.5, 1.0, -1.0, 1 / 32767, -0.99999, 0.0], dtype=np.float32),
]


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("sample_rate", [44100, 16000])
def test_audio_value_matches_torch(clip: np.ndarray, sample_rate: int) -> None:
    value = summary.audio_value("sound", clip, sample_rate=sample_rate)
    assert value.tag == "sound"
    assert not value.HasField("metadata")
    ours, theirs = value.audio, torch_audio(clip, sample_rate)
    assert ours.sample_rate == theirs.sample_rate == sample_rate
    assert ours.num_channels == theirs.num_channels == 1
    assert ours.length_frames == theirs.length_frames == clip.size
    assert ours.content_type == theirs.content_type == "audio/wav"
    rate, channels, samples = decode_wav(ours.encoded_audio_string)
    assert (rate, channels) == (sample_rate, 1)
    np.testing.assert_array_equal(samples, decode_wav(theirs.encoded_audio_string)[2])


def test_audio_value_clips_like_torch(capsys: pytest.CaptureFixture[str]) -> None:
    clip = np.array([2.0, -3.0, 0.25, 1.5], dtype=np.float32)
    samples = decode_wav(summary.audio_value("s", clip).audio.encoded_audio_string)[2]
    np.testing.assert_array_equal(samples[:, 0], [32767, -32767, 8191, 32767])
    assert capsys.readouterr().out == ""  # torch prints a warning; we stay quiet
    theirs = torch_audio(clip, 44100)
    np.testing.assert_array_equal(samples, decode_wav(theirs.encoded_audio_string)[2])


def test_audio_value_nan_is_silence() -> None:
    clip = np.array([np.nan, 0.5])
    samples = decode_wav(summary.audio_value("s", clip).audio.encoded_audio_string)[2]
    np.testing.assert_array_equal(samples[:, 0], [0, 16383])


@pytest.mark.parametrize(
    ("clip", "sample_rate", "error", "name"),
    [
        (np.zeros((2, 100)), 44100, ValueError, "snd_tensor"),
        (np.zeros((100, 2)), 44100, ValueError, "snd_tensor"),
        (np.zeros((1, 1)), 44100, ValueError, "snd_tensor"),
        (np.zeros(0), 44100, ValueError, "snd_tensor"),
        (np.array(["a", "b"]), 44100, TypeError, "snd_tensor"),
        (np.zeros(10), 0, ValueError, "sample_rate"),
    ],
)
def test_audio_value_rejects_bad_input(
    clip: np.ndarray, sample_rate: int, error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        summary.audio_value("s", clip, sample_rate=sample_rate)


def test_encode_wav_quantizes_like_tf() -> None:
    # TF's encode_wav: round(x * 32768) half away from zero, saturated to int16.
    clip = np.array([0.5, 1.0, -1.0, 1 / 65536, -1 / 65536, 3 / 65536, 2.0, -2.0, np.nan])
    rate, channels, samples = decode_wav(summary.encode_wav(clip, 8000))
    assert (rate, channels) == (8000, 1)
    np.testing.assert_array_equal(samples[:, 0], [16384, 32767, -32768, 1, -1, 2, 32767, -32768, 0])


def test_encode_wav_interleaves_channels_and_keeps_int16() -> None:
    pcm = RNG.integers(-32768, 32768, size=(50, 3), dtype=np.int16)
    rate, channels, samples = decode_wav(summary.encode_wav(pcm, 22050))
    assert (rate, channels) == (22050, 3)
    np.testing.assert_array_equal(samples, pcm)


def test_encode_wav_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="samples"):
        summary.encode_wav(np.zeros((2, 3, 4)), 100)
    with pytest.raises(ValueError, match="samples"):
        summary.encode_wav(np.zeros(0), 100)
    with pytest.raises(ValueError, match="sample_rate"):
        summary.encode_wav(np.zeros(3), -1)


def test_audio_tensor_value_layout_and_metadata() -> None:
    data = RNG.uniform(-1, 1, size=(5, 200, 2)).astype(np.float32)
    value = summary.audio_tensor_value("a", data, 16000, max_outputs=3, description="desc")
    tensor = value.tensor
    assert tensor.dtype == types_pb2.DT_STRING
    assert [dim.size for dim in tensor.tensor_shape.dim] == [3, 2]
    assert len(tensor.string_val) == 6
    for index in range(3):
        wav, label = tensor.string_val[2 * index], tensor.string_val[2 * index + 1]
        assert label == b""
        rate, channels, samples = decode_wav(wav)
        assert (rate, channels) == (16000, 2)
        expected = np.sign(data[index]) * np.floor(
            np.abs(data[index].astype(np.float64)) * 32768 + 0.5
        )
        np.testing.assert_array_equal(samples, np.clip(expected, -32768, 32767))
    metadata = value.metadata
    assert metadata.plugin_data.plugin_name == "audio"
    plugin = plugin_data_pb2.AudioPluginData.FromString(metadata.plugin_data.content)
    assert (plugin.version, plugin.encoding) == (0, plugin_data_pb2.AudioPluginData.WAV)
    # Unset, as TensorFlow leaves it: TensorBoard then projects [n, 2] onto the clips.
    assert metadata.data_class == summary_pb2.DATA_CLASS_UNKNOWN
    assert metadata.summary_description == "desc"


def test_audio_tensor_value_reads_in_tensorboard() -> None:
    tb_summary_pb2 = pytest.importorskip("tensorboard.compat.proto.summary_pb2")
    tensor_util = pytest.importorskip("tensorboard.util.tensor_util")
    tb_metadata = pytest.importorskip("tensorboard.plugins.audio.metadata")
    data = RNG.uniform(-1, 1, size=(2, 30, 1))
    ours = summary.audio_tensor_value("a", data, 8000, encoding="wav")
    theirs = tb_summary_pb2.Summary.Value.FromString(ours.SerializeToString())
    array = tensor_util.make_ndarray(theirs.tensor)
    assert array.shape == (2, 2)
    assert list(array[:, 1]) == [b"", b""]
    assert decode_wav(array[1, 0])[2].shape == (30, 1)
    parsed = tb_metadata.parse_plugin_metadata(theirs.metadata.plugin_data.content)
    assert parsed.encoding == tb_metadata.Encoding.Value("WAV")
    assert theirs.metadata.data_class == 0  # unset: TensorBoard migrates it to BLOB_SEQUENCE


def test_audio_tensor_value_empty_outputs_keep_two_columns() -> None:
    value = summary.audio_tensor_value("a", np.zeros((2, 10, 1)), 8000, max_outputs=0)
    assert [dim.size for dim in value.tensor.tensor_shape.dim] == [0, 2]
    assert list(value.tensor.string_val) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"encoding": "mp3"}, ValueError, "encoding"),
        ({"data": np.zeros((10, 1))}, ValueError, "data"),
        ({"data": np.zeros((1, 0, 1))}, ValueError, "data"),
        ({"max_outputs": -1}, ValueError, "max_outputs"),
        ({"sample_rate": 0}, ValueError, "sample_rate"),
    ],
)
def test_audio_tensor_value_rejects_bad_input(
    kwargs: dict[str, Any], error: type[Exception], name: str
) -> None:
    arguments: dict[str, Any] = {"data": np.zeros((1, 10, 1)), "sample_rate": 8000, **kwargs}
    with pytest.raises(error, match=name):
        summary.audio_tensor_value("a", **arguments)
