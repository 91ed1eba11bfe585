"""Input checks shared by the framework-free modules (NumPy only).

Each raises a ``ValueError`` whose message says what to do, as the course's
public functions promise.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "as_float_array",
    "broadcast",
    "positive_int",
    "positive_float",
    "probability",
    "scalar_or_array",
]


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


def positive_int(value, name, *, minimum=1):
    """``value`` as an ``int`` >= ``minimum``; bools, floats and smaller values are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer (>= 1)" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}; got {value!r} ({type(value).__name__}).")
    return int(value)


def positive_float(value, name, *, allow_zero=False):
    """``value`` as a finite ``float`` > 0 (>= 0 with ``allow_zero``).

    Anything ``float()`` accepts (Python and NumPy numbers, 0-d arrays and
    tensors) is taken; bools, NaN and infinities are refused.
    """
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number, not a bool; got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r} ({type(value).__name__}).") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return number


def probability(value, name, *, allow_zero=False):
    """``value`` as a ``float`` strictly between 0 and 1 (in ``[0, 1)`` with ``allow_zero``).

    Used for interval levels (``level=0.9``) and dropout probabilities (``p``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number between 0 and 1 (e.g. 0.9); got {value!r}.")
    number = float(value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not (low_ok and number < 1):
        interval = "[0, 1)" if allow_zero else "(0, 1), strictly"
        raise ValueError(f"{name} must lie in {interval}; got {value!r}.")
    return number
