"""Validation of the arguments every ``add_*`` call shares."""

from __future__ import annotations

import math
import numbers
import time
from typing import Any

from lumiboard.format.arrays import to_numpy


def to_step(global_step: Any, name: str = "global_step") -> int:
    """A step as an int: None is 0; ints, integral floats and 1-element arrays pass."""
    if global_step is None:
        return 0
    if isinstance(global_step, int) and not isinstance(global_step, bool):
        return global_step
    if isinstance(global_step, numbers.Integral) and not isinstance(global_step, bool):
        return int(global_step)
    if isinstance(global_step, float):
        if global_step.is_integer():
            return int(global_step)
        raise ValueError(f"{name} must be a whole number, got {global_step!r}")
    if isinstance(global_step, (bool, str, bytes)):
        raise TypeError(f"{name} must be an int, not {type(global_step).__name__}")
    array = to_numpy(global_step, name)
    if array.size != 1 or array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an int, got {type(global_step).__name__}")
    value = array.reshape(()).item()
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def to_walltime(walltime: Any) -> float:
    """Seconds since the epoch: now when None."""
    if walltime is None:
        return time.time()
    if isinstance(walltime, bool) or not isinstance(walltime, numbers.Real):
        raise TypeError(f"walltime must be a number of seconds, not {type(walltime).__name__}")
    value = float(walltime)
    if not math.isfinite(value):
        raise ValueError(f"walltime must be finite, got {value!r}")
    return value
