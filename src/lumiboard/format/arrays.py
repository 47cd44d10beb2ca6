"""Turn what training code hands us into numpy arrays, without importing torch.

Accepted: Python numbers and nested lists, numpy arrays and scalars, torch
tensors (CPU or CUDA, any dtype including bfloat16, with or without grad), JAX
arrays and anything else with ``__array__``. torch is never imported here: a
tensor is recognised by its type's module, so a script that logs only floats
never pays for ``import torch``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def _is_torch_tensor(value: object) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def to_numpy(value: Any, name: str = "value") -> np.ndarray:
    """Return ``value`` as a numpy array.

    bfloat16 and float8 values (torch or JAX) are widened to float32, exactly:
    numpy and TensorBoard's reader have no such dtypes.
    Raises ``TypeError`` naming ``name`` for anything that is not array-like.
    """
    if isinstance(value, np.ndarray):
        return value
    if _is_torch_tensor(value):
        tensor = value.detach()
        if tensor.is_sparse:
            tensor = tensor.to_dense()
        if str(tensor.dtype) == "torch.bfloat16":
            tensor = tensor.float()
        return np.asarray(tensor.cpu().numpy())
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a number or an array, not {type(value).__name__}")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be a number or an array: {error}") from error
    if array.dtype == object:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}")
    if array.dtype.kind == "V" and "float" in array.dtype.name:
        # ml_dtypes' bfloat16 / float8 (from JAX): TensorBoard's reader has no
        # such dtype, so widen to float32, which holds every value exactly.
        array = array.astype(np.float32)
    return array


def to_float(value: Any, name: str = "scalar_value") -> float:
    """Return a single number as a Python float (NaN and Inf kept as they are).

    Accepts Python and numpy numbers and one-element arrays or tensors.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, bool):
        return float(value)
    array = to_numpy(value, name)
    if array.size != 1:
        raise ValueError(f"{name} must hold exactly one value, got shape {list(array.shape)}")
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real number, got dtype {array.dtype}")
    return float(array.reshape(()))
