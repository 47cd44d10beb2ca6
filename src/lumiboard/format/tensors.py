"""numpy <-> TensorProto, the way TensorFlow lays tensors out.

Numeric tensors are written as ``tensor_content`` (raw little-endian bytes):
compact, and what TensorFlow itself emits for non-trivial tensors. Readers also
accept the typed ``*_val`` fields, including a single value that stands for a
whole tensor of that shape (TensorFlow's splat form).

numpy has no bfloat16. ``encode_tensor`` accepts ``ml_dtypes.bfloat16`` arrays
(what JAX hands out) and ``decode_tensor`` returns DT_BFLOAT16 as float32, which
holds every bfloat16 value exactly.

Decoding is bounded by the bytes a tensor holds, never by the shape it claims
(a shape is a few bytes in a file, its expansion may not be):

- ``tensor_content`` must hold exactly ``product(shape) * itemsize`` bytes;
- typed values (``float_val``...) may be fewer than the elements, TensorFlow's
  splat form (the last value repeats; TensorBoard's ``make_ndarray`` reads a
  single value), but such an expansion may make at most
  :data:`MAX_SPLAT_ELEMENTS` elements (and, for strings, add at most
  :data:`MAX_SPLAT_BYTES` bytes); no values for a non-empty shape, more
  values than elements, or a value out of its dtype's range (an 8-bit integer
  in ``int_val``) are damage, as TensorBoard fails on them too;
- a negative dimension (unknown size), a rank above :data:`MAX_RANK` or
  dimensions whose product overflows 64 bits are damage.

Every refusal is a :class:`TensorError` (a ``ValueError``), which the reader
counts as a skipped record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lumiboard.format.proto import tensor_pb2, tensor_shape_pb2, types_pb2

_DT = types_pb2.DataType

#: The most elements typed values may be expanded to when they are fewer than
#: the shape's (the splat form). A splat costs a few bytes in a file whatever
#: the shape says, and TensorFlow's own summaries write ``tensor_content``; 2^16
#: elements (512 KiB as float64) keeps one hostile record from costing more.
MAX_SPLAT_ELEMENTS = 1 << 16
#: The most bytes a splat of strings may add (the repeated value times its
#: repeats): a count of elements alone lets each be a long string, and an 8 KB
#: text record declaring [256, 256] became a 200 MB answer. 512 KiB is what
#: :data:`MAX_SPLAT_ELEMENTS` float64 values cost.
MAX_SPLAT_BYTES = MAX_SPLAT_ELEMENTS * 8
#: The highest rank decoded (numpy's limit before 2.0; TensorFlow's is 254).
MAX_RANK = 32
_MAX_INDEX = 2**62


class TensorError(ValueError):
    """A TensorProto that is damaged (its shape and its values disagree) or beyond the caps."""


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


def tensor_shape(proto: tensor_pb2.TensorProto) -> tuple[int, ...]:
    """The shape of ``proto``, checked: TensorError for a negative dimension or a rank
    above :data:`MAX_RANK` (a summary's tensor always has a known shape)."""
    shape = decode_shape(proto.tensor_shape)
    if len(shape) > MAX_RANK:
        raise TensorError(f"tensor of rank {len(shape)} (at most {MAX_RANK} is read)")
    if any(size < 0 for size in shape):
        raise TensorError(f"tensor shape {list(shape)} has a negative dimension")
    if math.prod(size for size in shape if size) > _MAX_INDEX:
        # numpy cannot even describe such an array, empty or not.
        raise TensorError(f"tensor shape {list(shape)} overflows")
    return shape


def num_elements(proto: tensor_pb2.TensorProto) -> int:
    """The number of elements ``proto``'s (checked) shape claims, exactly (no overflow)."""
    return math.prod(tensor_shape(proto))


def decode_tensor(proto: tensor_pb2.TensorProto) -> np.ndarray:
    """Decode a TensorProto into a numpy array.

    DT_STRING gives an object array of ``bytes``; DT_BFLOAT16 gives float32.
    Raises :class:`TensorError` (a ``ValueError``) when the values do not fit
    the shape, see the module docstring; never allocates more than the bytes
    held, or :data:`MAX_SPLAT_ELEMENTS` elements for a splat.
    """
    shape = tensor_shape(proto)
    size = math.prod(shape)
    if proto.dtype == _DT.DT_STRING:
        count = _check_count(len(proto.string_val), size, shape)
        if count < size and (size - count) * len(proto.string_val[-1]) > MAX_SPLAT_BYTES:
            raise TensorError(
                f"string tensor holds {count} values for shape {list(shape)}: the splat "
                f"repeats {len(proto.string_val[-1])} bytes {size - count} times, over "
                f"the cap of {MAX_SPLAT_BYTES} bytes"
            )
        strings = np.empty(count, dtype=object)
        strings[:] = list(proto.string_val)
        return _fill(strings, shape, size)
    if proto.dtype == _DT.DT_BFLOAT16:
        return _decode_bfloat16(proto, shape, size)
    try:
        np_dtype = _FROM_DT[proto.dtype]
    except KeyError:
        raise TensorError(f"unsupported tensor dtype {proto.dtype}") from None
    if proto.tensor_content:
        flat = _from_content(proto.tensor_content, np_dtype.newbyteorder("<"), shape, size)
        return flat.astype(np_dtype).reshape(shape)
    values = getattr(proto, _VAL_FIELD[proto.dtype])
    if proto.dtype in (_DT.DT_COMPLEX64, _DT.DT_COMPLEX128):
        if len(values) % 2:
            raise TensorError(f"a complex tensor holds pairs, got {len(values)} numbers")
        _check_count(len(values) // 2, size, shape)
        pairs = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        flat = (pairs[:, 0] + 1j * pairs[:, 1]).astype(np_dtype)
    else:
        _check_count(len(values), size, shape)
        flat = _typed_values(values, proto.dtype, np_dtype)
    return _fill(flat, shape, size)


def _typed_values(
    values: Sequence[int | float | bool], dtype: types_pb2.DataType, np_dtype: np.dtype[np.generic]
) -> np.ndarray:
    if dtype == _DT.DT_HALF:
        return _narrow(values, np.dtype(np.uint16)).view(np.float16)
    if np_dtype.kind in "iu" and np_dtype.itemsize < 4:
        return _narrow(values, np_dtype)
    return np.asarray(values, dtype=np_dtype)


def _narrow(values: Sequence[int | float | bool], np_dtype: np.dtype[np.generic]) -> np.ndarray:
    """Values of an int32 field (``int_val``, ``half_val``) as a narrower integer type.

    A value out of the type's range is damage, as TensorBoard's ``make_ndarray``
    raises on it (numpy would otherwise keep its low bits, silently).
    """
    wide = np.asarray(values, dtype=np.int64)
    info = np.iinfo(np_dtype)  # type: ignore[type-var]
    if wide.size and (wide.min() < info.min or wide.max() > info.max):
        raise TensorError(f"a value of a {np_dtype} tensor is out of range")
    return wide.astype(np_dtype)


def _from_content(
    content: bytes, dtype: np.dtype[np.generic], shape: tuple[int, ...], size: int
) -> np.ndarray:
    if len(content) != size * dtype.itemsize:
        raise TensorError(
            f"tensor_content holds {len(content)} bytes, shape {list(shape)} of "
            f"{dtype.itemsize}-byte values needs {size * dtype.itemsize}"
        )
    return np.frombuffer(content, dtype=dtype)


def _check_count(count: int, size: int, shape: tuple[int, ...]) -> int:
    """``count`` typed values for ``size`` elements: equal, or a splat within the cap."""
    if count > size or (count == 0 and size):
        raise TensorError(f"tensor holds {count} values for shape {list(shape)}")
    if count < size and size > MAX_SPLAT_ELEMENTS:
        raise TensorError(
            f"tensor holds {count} values for shape {list(shape)}: expanding them to "
            f"{size} elements is over the cap of {MAX_SPLAT_ELEMENTS}"
        )
    return count


def _decode_bfloat16(
    proto: tensor_pb2.TensorProto, shape: tuple[int, ...], size: int
) -> np.ndarray:
    # A bfloat16 is the top half of a float32, so widening is a 16-bit shift.
    if proto.tensor_content:
        bits = _from_content(proto.tensor_content, np.dtype("<u2"), shape, size)
    else:
        _check_count(len(proto.half_val), size, shape)
        bits = _narrow(proto.half_val, np.dtype(np.uint16))
    flat = (bits.astype(np.uint32) << 16).view(np.float32)
    return _fill(flat, shape, size)


def _fill(flat: np.ndarray, shape: tuple[int, ...], size: int) -> np.ndarray:
    """``flat`` (already checked by :func:`_check_count`) as an array of ``shape``."""
    if flat.size == size:
        return flat.reshape(shape)
    # TensorFlow's splat form: fewer values than elements, the last one repeats.
    padded = np.empty(size, dtype=flat.dtype)
    padded[: flat.size] = flat
    padded[flat.size :] = flat[-1]
    return padded.reshape(shape)
