"""numpy <-> TensorProto, checked against TensorBoard's own tensor_util."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tensorboard.compat.proto import tensor_pb2 as tb_tensor_pb2
from tensorboard.util import tensor_util

from lumiboard.format.proto import tensor_pb2, types_pb2
from lumiboard.format.tensors import decode_tensor, encode_tensor

NUMERIC = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.bool_,
]


def _to_tb(proto: tensor_pb2.TensorProto) -> tb_tensor_pb2.TensorProto:
    return tb_tensor_pb2.TensorProto.FromString(proto.SerializeToString())


def _from_tb(proto: tb_tensor_pb2.TensorProto) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto.FromString(proto.SerializeToString())


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: np.dtype(d).name)
@given(data=st.data())
def test_round_trip_and_tensorboard_reads_it(dtype: type, data: st.DataObject) -> None:
    array = data.draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
    proto = encode_tensor(array)
    ours = decode_tensor(proto)
    theirs = tensor_util.make_ndarray(_to_tb(proto))
    assert ours.dtype == array.dtype
    assert ours.shape == array.shape
    np.testing.assert_array_equal(ours, array)
    np.testing.assert_array_equal(theirs, array)


@pytest.mark.parametrize("dtype", NUMERIC, ids=lambda d: np.dtype(d).name)
def test_reads_what_tensorboard_writes(dtype: type) -> None:
    array = np.arange(6).reshape(2, 3).astype(dtype)
    for proto in (
        tensor_util.make_tensor_proto(array),
        tensor_util.make_tensor_proto(array.reshape(-1)[0], shape=[2, 3]),  # splat form
    ):
        decoded = decode_tensor(_from_tb(proto))
        assert decoded.shape == (2, 3)
    np.testing.assert_array_equal(
        decode_tensor(_from_tb(tensor_util.make_tensor_proto(array))), array
    )


def test_typed_value_fields_are_read() -> None:
    proto = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.5, 2.5])
    proto.tensor_shape.dim.add(size=2)
    np.testing.assert_array_equal(decode_tensor(proto), np.array([1.5, 2.5], np.float32))
    half = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_HALF, half_val=[int(np.float16(0.5).view(np.uint16))]
    )
    assert decode_tensor(half) == np.float16(0.5)


def test_strings() -> None:
    array = np.array([["a", "é"], ["<script>", ""]])
    proto = encode_tensor(array)
    assert proto.dtype == types_pb2.DT_STRING
    decoded = decode_tensor(proto)
    assert decoded.shape == (2, 2)
    assert decoded[0, 1] == "é".encode()
    np.testing.assert_array_equal(tensor_util.make_ndarray(_to_tb(proto)), decoded.astype(bytes))
    assert decode_tensor(encode_tensor(b"raw\x00bytes")) == b"raw\x00bytes"


def test_bfloat16_round_trips_as_float32() -> None:
    values = np.array([0.5, -2.0, 3.140625, 1e30], dtype=ml_dtypes.bfloat16)
    proto = encode_tensor(values)
    assert proto.dtype == types_pb2.DT_BFLOAT16
    decoded = decode_tensor(proto)
    assert decoded.dtype == np.float32
    np.testing.assert_array_equal(decoded, values.astype(np.float32))
    # The bit layout is TensorFlow's: the top 16 bits of the float32.
    assert proto.tensor_content == values.view(np.uint16).astype("<u2").tobytes()


def test_complex() -> None:
    array = np.array([1 + 2j, -3.5j], dtype=np.complex64)
    np.testing.assert_array_equal(decode_tensor(encode_tensor(array)), array)


def test_errors_are_clear() -> None:
    with pytest.raises(TypeError, match="dtype"):
        encode_tensor(np.array([np.datetime64("2020-01-01")]))
    bad = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, float_val=[1.0, 2.0, 3.0])
    bad.tensor_shape.dim.add(size=2)
    with pytest.raises(ValueError, match="3 values for shape"):
        decode_tensor(bad)
    with pytest.raises(ValueError, match="unsupported"):
        decode_tensor(tensor_pb2.TensorProto(dtype=types_pb2.DT_RESOURCE))
