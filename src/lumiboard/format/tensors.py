"""numpy <-> TensorProto, the way TensorFlow lays tensors out.

Numeric tensors are written as ``tensor_content`` (raw little-endian bytes):
compact, and what TensorFlow itself emits for non-trivial tensors. Readers also
accept the typed ``*_val`` fields, including a single value that stands for a
whole tensor of that shape (TensorFlow's splat form).

numpy has no bfloat16. ``encode_tensor`` accepts ``ml_dtypes.bfloat16`` arrays
(what JAX hands out) and ``decode_tensor`` returns DT_BFLOAT16 as float32, which
holds every bfloat16 value exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lumiboard.format.proto import tensor_pb2, tensor_shape_pb2, types_pb2

_DT = types_pb2.DataType

#: numpy dtype -> TensorFlow DataType, for dtypes numpy has natively.
_TO_DT: dict[np.dtype[np.generic], types_pb2.DataType] = {
    np.dtype(np.float16): _DT.DT_HALF,
    np.dtype(np.float32): _DT.DT_FLOAT,
    np.dtype(np.float64): _DT.DT_DOUBLE,
    np.dtype(np.int8): _DT.DT_INT8,
    np.dtype(np.int16): _DT.DT_INT16,
    np.dtype(np.int32): _DT.DT_INT32,
    np.dtype(np.int64): _DT.DT_INT64,
    np.dtype(np.uint8): _DT.DT_UINT8,
    np.dtype(np.uint16): _DT.DT_UINT16,
    np.dtype(np.uint32): _DT.DT_UINT32,
    np.dtype(np.uint64): _DT.DT_UINT64,
    np.dtype(np.bool_): _DT.DT_BOOL,
    np.dtype(np.complex64): _DT.DT_COMPLEX64,
    np.dtype(np.complex128): _DT.DT_COMPLEX128,
}
_FROM_DT: dict[types_pb2.DataType, np.dtype[np.generic]] = {
    dt: np_dtype for np_dtype, dt in _TO_DT.items()
}

# The typed repeated field each dtype uses when tensor_content is empty.
_VAL_FIELD: dict[types_pb2.DataType, str] = {
    _DT.DT_HALF: "half_val",
    _DT.DT_BFLOAT16: "half_val",
    _DT.DT_FLOAT: "float_val",
    _DT.DT_DOUBLE: "double_val",
    _DT.DT_INT8: "int_val",
    _DT.DT_INT16: "int_val",
    _DT.DT_INT32: "int_val",
    _DT.DT_UINT8: "int_val",
    _DT.DT_UINT16: "int_val",
    _DT.DT_INT64: "int64_val",
    _DT.DT_UINT32: "uint32_val",
    _DT.DT_UINT64: "uint64_val",
    _DT.DT_BOOL: "bool_val",
    _DT.DT_COMPLEX64: "scomplex_val",
    _DT.DT_COMPLEX128: "dcomplex_val",
}


def encode_shape(shape: Sequence[int]) -> tensor_shape_pb2.TensorShapeProto:
    """Return the TensorShapeProto of ``shape``."""
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=int(size)) for size in shape]
    )


def decode_shape(shape: tensor_shape_pb2.TensorShapeProto) -> tuple[int, ...]:
    """Return the dimensions of ``shape`` (-1 for an unknown size)."""
    return tuple(dim.size for dim in shape.dim)


def encode_tensor(value: object) -> tensor_pb2.TensorProto:
    """Encode a numpy array (or anything ``np.asarray`` takes) as a TensorProto.

    Strings (``str``, ``bytes``, numpy ``U``/``S``/object arrays of them) become
    DT_STRING with UTF-8 ``string_val``; numbers keep their exact dtype.

    >>> encode_tensor(np.float32(1.5)).dtype == types_pb2.DT_FLOAT
    True
    """
    array = np.asarray(value)
    shape = encode_shape(array.shape)
    if array.dtype.kind in "USO":
        return tensor_pb2.TensorProto(
            dtype=_DT.DT_STRING,
            tensor_shape=shape,
            string_val=[_to_bytes(item) for item in array.reshape(-1).tolist()],
        )
    if array.dtype.name == "bfloat16":
        dtype: types_pb2.DataType = _DT.DT_BFLOAT16
    else:
        try:
            dtype = _TO_DT[array.dtype]
        except KeyError:
            raise TypeError(f"cannot encode a tensor of dtype {array.dtype}") from None
    content = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<"), copy=False)
    return tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape, tensor_content=content.tobytes())


def _to_bytes(item: object) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    raise TypeError(f"a string tensor holds str or bytes, not {type(item).__name__}")


def decode_tensor(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decode a TensorProto into a numpy array.

    DT_STRING gives an object array of ``bytes``; DT_BFLOAT16 gives float32.
    Raises ``ValueError`` when the element count does not match the shape.
    """
    shape = decode_shape(proto.tensor_shape)
    if proto.dtype == _DT.DT_STRING:
        strings = np.empty(len(proto.string_val), dtype=object)
        strings[:] = list(proto.string_val)
        return _fill(strings, shape)
    if proto.dtype == _DT.DT_BFLOAT16:
        return _decode_bfloat16(proto, shape)
    try:
        np_dtype = _FROM_DT[proto.dtype]
    except KeyError:
        raise ValueError(f"unsupported tensor dtype {proto.dtype}") from None
    if proto.tensor_content:
        flat = np.frombuffer(proto.tensor_content, dtype=np_dtype.newbyteorder("<"))
        return _fill(flat.astype(np_dtype), shape)
    values = getattr(proto, _VAL_FIELD[proto.dtype])
    if proto.dtype == _DT.DT_HALF:
        flat = np.asarray(values, dtype=np.uint16).view(np.float16)
    elif proto.dtype in (_DT.DT_COMPLEX64, _DT.DT_COMPLEX128):
        pairs = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        flat = (pairs[:, 0] + 1j * pairs[:, 1]).astype(np_dtype)
    else:
        flat = np.asarray(values, dtype=np_dtype)
    return _fill(flat, shape)


def _decode_bfloat16(proto: tensor_pb2.TensorProto, shape: tuple[int, ...]) -> np.ndarray:
    # A bfloat16 is the top half of a float32, so widening is a 16-bit shift.
    if proto.tensor_content:
        bits = np.frombuffer(proto.tensor_content, dtype="<u2")
    else:
        bits = np.asarray(proto.half_val, dtype=np.uint32).astype(np.uint16)
    flat = (bits.astype(np.uint32) << 16).view(np.float32)
    return _fill(flat, shape)


def _fill(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    if flat.size == size:
        return flat.reshape(shape)
    # TensorFlow's splat form: fewer values than elements, the last one repeats.
    if 0 < flat.size < size:
        padded = np.concatenate([flat, np.repeat(flat[-1:], size - flat.size)])
        return padded.reshape(shape)
    raise ValueError(f"tensor holds {flat.size} values for shape {list(shape)}")
