"""Seeds derived from one base seed, ``DEEPPROB_SEED``.

Every chapter and benchmark takes its randomness from here, so that
``DEEPPROB_SEED=k make book`` re-runs the whole course under another draw and
shows whether a claim holds for the method or only for one run::

    from deepprob import seeds
    seed = seeds.derive("ch08", "least squares")      # an int, stable for a given base seed
    rng = np.random.default_rng(seeds.derive("ch01", "data"))

Nothing here touches a global random generator; a chapter that wants
``torch.manual_seed`` calls it itself with a derived seed.
"""
from __future__ import annotations

import os
import zlib

import numpy as np

__all__ = ["ENV_VAR", "base", "derive", "derive_many"]

ENV_VAR = "DEEPPROB_SEED"


def base() -> int:
    """The base seed: the integer in ``$DEEPPROB_SEED``, 0 when unset or empty.

    Returns
    -------
    int
        A non-negative integer.

    Raises
    ------
    ValueError
        If the variable is set to something that is not a non-negative integer.
    """
    raw = os.environ.get(ENV_VAR, "").strip()
    if raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(
            f"{ENV_VAR} must be a non-negative integer (e.g. {ENV_VAR}=3); got {raw!r}."
        ) from None
    if value < 0:
        raise ValueError(f"{ENV_VAR} must be a non-negative integer; got {value}.")
    return value


def _key_words(keys) -> list[int]:
    words = []
    for key in keys:
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise TypeError(f"seed keys must be strings or integers; got {type(key).__name__}.")
        if isinstance(key, int):
            if key < 0:
                raise ValueError(f"integer seed keys must be non-negative; got {key}.")
            words.append(key)
        else:
            words.append(zlib.crc32(key.encode("utf-8")))
    return words


def derive(*keys: str | int, base_seed: int | None = None) -> int:
    """A seed for one purpose, derived from the base seed and ``keys``.

    The same base seed and keys always give the same seed, on every machine;
    different keys give statistically independent streams
    (:class:`numpy.random.SeedSequence` mixing).

    Parameters
    ----------
    *keys : str or int
        What the seed is for, e.g. ``("ch08", "mdn", 3)``.
    base_seed : int, optional
        Overrides ``$DEEPPROB_SEED`` (benchmarks loop over base seeds).

    Returns
    -------
    int
        In ``[0, 2**31 - 1)``, accepted by NumPy, PyTorch, JAX and TensorFlow.

    Raises
    ------
    TypeError, ValueError
        For a key that is not a string or a non-negative integer.
    """
    b = base() if base_seed is None else int(base_seed)
    if b < 0:
        raise ValueError(f"base_seed must be non-negative; got {b}.")
    seq = np.random.SeedSequence([b, *_key_words(keys)])
    return int(seq.generate_state(1, dtype=np.uint32)[0] % (2**31 - 1))


def derive_many(n: int, *keys: str | int, base_seed: int | None = None) -> list[int]:
    """``n`` seeds ``derive(*keys, i)`` for ``i = 0 … n-1`` (e.g. one per ensemble member)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}.")
    return [derive(*keys, i, base_seed=base_seed) for i in range(n)]
