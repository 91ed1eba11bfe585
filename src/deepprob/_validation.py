"""Input checks shared by the framework-free modules (NumPy only).

Each raises a ``ValueError`` whose message says what to do, as the course's
public functions promise.
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_float_array", "broadcast", "positive_int", "scalar_or_array"]


def as_float_array(value, name):
    """``value`` as a float64 array; non-numeric input and NaN are refused."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric (array-like of floats); got {type(value).__name__}. "
            "Convert tensors with .detach().cpu().numpy()."
        ) from exc
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; remove or impute the missing values first.")
    return arr


def broadcast(**arrays):
    """Broadcast named arrays, raising a ValueError that lists their shapes."""
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        desc = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(
            f"shapes do not broadcast: {desc}. Reshape the arrays so they match, "
            "e.g. y.reshape(-1, 1) or mu.reshape(-1)."
        ) from None


def scalar_or_array(arr):
    """A Python float for 0-d results, the array otherwise."""
    arr = np.asarray(arr)
    return float(arr) if arr.ndim == 0 else arr


def positive_int(value, name):
    """``value`` as an ``int`` >= 1; bools, floats and smaller values are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer (>= 1); got {value!r}.")
    return int(value)
