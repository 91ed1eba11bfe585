"""Seeds derived from one base seed, ``DEEPPROB_SEED``.

Every chapter and benchmark takes its randomness from here, so that
``DEEPPROB_SEED=k make book`` re-runs the whole course under another draw and
shows whether a claim holds for the method or only for one run::

    from deepprob import seeds
    seed = seeds.derive("ch08", "least squares")      # an int, stable for a given base seed
    rng = np.random.default_rng(seeds.derive("ch01", "data"))

This module is also the only place in ``deepprob`` that seeds a *global*
random generator, each in one function per framework, so that no other
function changes its caller's random state as a side effect:

* :func:`seed_torch` seeds torch's global generator (what ``nn.Linear``'s
  initialisation and ``nn.Dropout`` draw from) -- call it before building a model;
* :func:`torch_seeded` seeds it for the duration of a ``with`` block and then
  restores the caller's state (the training loop uses it for the weight noise
  and dropout masks of the layers that sample);
* :func:`seed_tensorflow` seeds TensorFlow's global seed (Keras shuffling);
* :func:`seed_globals` seeds Python's ``random``, NumPy's legacy global
  generator and torch's at once (a grading kernel, before each graded call).

JAX has no global state: pass a ``jax.random.PRNGKey(derive(...))``.
"""
from __future__ import annotations

import contextlib
import os
import random
import sys
import zlib

import numpy as np

__all__ = [
    "ENV_VAR",
    "base",
    "derive",
    "derive_many",
    "seed_torch",
    "torch_seeded",
    "seed_tensorflow",
    "seed_globals",
]

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


def _seed_value(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, e.g. seeds.derive('ch05', 'init'); got {seed!r}.")
    return int(seed)


def seed_torch(seed: int):
    """Seed torch's global generator; return a new ``torch.Generator`` seeded alike.

    The global generator is what layers draw from when they cannot take a
    generator (``nn.Linear``'s initialisation, ``nn.Dropout``'s masks); the
    returned generator is for what can (``torch.randperm``, ``sample``).

    Parameters
    ----------
    seed : int
        Non-negative integer, e.g. ``derive("ch05", "init")``.

    Returns
    -------
    torch.Generator

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer.
    """
    import torch

    seed = _seed_value(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


@contextlib.contextmanager
def torch_seeded(seed: int):
    """Run a block with torch's global generator seeded, then restore the caller's state.

    ``with seeds.torch_seeded(3): ...`` draws the same weight noise and
    dropout masks every time, and the code after the block sees torch's
    generator exactly as it was before it (``torch.random.fork_rng`` on the
    CPU).

    Parameters
    ----------
    seed : int
        Non-negative integer.

    Yields
    ------
    torch.Generator
        A generator seeded with ``seed`` too, for shuffling.

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer.
    """
    import torch

    seed = _seed_value(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)


def seed_tensorflow(seed: int) -> None:
    """Set TensorFlow's global seed (``tf.random.set_seed``), e.g. before ``keras.Model.fit``.

    Raises
    ------
    ValueError
        If ``seed`` is not a non-negative integer.
    """
    import tensorflow as tf

    tf.random.set_seed(_seed_value(seed))


def seed_globals(seed: int | None = None) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and torch's (if imported).

    ``seed=None`` draws fresh entropy from the operating system (a process
    forked from another must not share its parent's random state).

    Raises
    ------
    ValueError
        If ``seed`` is given and is not a non-negative integer.
    """
    if seed is None:
        random.seed()
        np.random.seed()
        if "torch" in sys.modules:
            sys.modules["torch"].seed()
        return
    seed = _seed_value(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)
