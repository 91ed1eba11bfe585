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
    "positive_array",
    "positive_int",
    "positive_float",
    "probabilities",
    "probability",
    "scalar_or_array",
]


def as_float_array(value, name, *, allow_nan=False):
    """``value`` as a float64 array; non-numeric input and NaN (unless ``allow_nan``) are refused."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric (array-like of floats); got {type(value).__name__}. "
            "Convert tensors with .detach().cpu().numpy()."
        ) from exc
    if not allow_nan and np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; remove or impute the missing values first.")
    return arr


def _refuse_bool_or_text(value, name):
    """Refuse what NumPy and ``float()`` would silently turn into a number: bools and text.

    ``True`` is not 1.0 and ``"0.9"`` is not 0.9 for a parameter: both are
    almost always a mistake (a flag or a string passed in the wrong place).
    """
    if isinstance(value, (bool, np.bool_, str, bytes)):
        kind = "a bool" if isinstance(value, (bool, np.bool_)) else "text"
    else:
        try:
            dtype_kind = np.asarray(value).dtype.kind
        except Exception:  # ragged lists, tensors on a GPU...: the conversion reports them
            return
        if dtype_kind not in "bSU":
            return
        kind = "bools" if dtype_kind == "b" else "text"
    raise ValueError(f"{name} must be numeric, not {kind}; got {value!r}.")


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

    Python and NumPy numbers, 0-d arrays and tensors are taken; bools, text,
    NaN and infinities are refused.
    """
    _refuse_bool_or_text(value, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r} ({type(value).__name__}).") from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}; got {value!r}.")
    return number


def positive_array(value, name):
    """``value`` as a float64 array of finite values > 0: standard deviations, scales.

    The message of a value <= 0 asks whether a log-variance was passed where a
    standard deviation is expected, the usual cause. Bools, text and NaN are
    refused, as are infinities.
    """
    _refuse_bool_or_text(value, name)
    arr = as_float_array(value, name)
    if not np.all(arr > 0):
        raise ValueError(
            f"{name} must be positive; did you pass a log-variance? "
            f"Use {name} = exp(0.5 * log_var) (smallest value received: {arr.min():.4g})."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; got an infinite standard deviation.")
    return arr


def probabilities(value, name, *, allow_zero=False):
    """``value`` as a float64 array of values strictly between 0 and 1 (in ``[0, 1)`` with ``allow_zero``).

    The array form of :func:`probability`, for several interval levels at once
    (``levels=[0.5, 0.9]``); a scalar gives a 0-d array. Bools, text, NaN and
    infinities are refused.
    """
    _refuse_bool_or_text(value, name)
    arr = as_float_array(value, name, allow_nan=True)  # NaN fails the range check below
    low_ok = arr >= 0 if allow_zero else arr > 0
    if not np.all(low_ok & (arr < 1)):
        if allow_zero:
            interval, example = "in [0, 1): 0 allowed, 1 not", "0.1 for 10%, not 10"
        else:
            interval, example = "strictly between 0 and 1", "0.9 for 90%, not 90"
        raise ValueError(f"{name} must lie {interval} (e.g. {example}); got {value!r}.")
    return arr


def probability(value, name, *, allow_zero=False):
    """``value`` as a ``float`` strictly between 0 and 1 (in ``[0, 1)`` with ``allow_zero``).

    Used for interval levels (``level=0.9``) and dropout probabilities (``p``).
    Takes one number (0-d arrays included); see :func:`probabilities` for several.
    """
    if np.ndim(value) != 0:
        raise ValueError(
            f"{name} must be a single number between 0 and 1; got shape {np.shape(value)}. "
            "Pass one value at a time."
        )
    return float(probabilities(value, name, allow_zero=allow_zero))
