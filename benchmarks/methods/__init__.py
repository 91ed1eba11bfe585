"""Plug-in point of ``benchmarks/uncertainty.py``: a registry of regression methods.

Add a method
------------
Create a module ``benchmarks/methods/<family>.py`` (it is imported automatically,
in alphabetical order) and register one function per method::

    from benchmarks.methods import NormalPredictive, register

    @register("MC dropout (p = 0.1)", chapter=7, cost=2.0)
    def mc_dropout(x, y, *, seed, budget):
        ...                               # train on x, y: float64 arrays (N, 1)
        return SamplePredictive(...)      # or NormalPredictive / MixturePredictive

A fit function receives the training data **standardised** (the toy problem is
already standardised; the motorcycle folds are standardised by the caller) as
float64 arrays of shape ``(N, 1)``, a ``seed`` (int) and a ``budget`` (float,
1.0 = the default number of optimisation steps; the driver lowers it for a
quick run) and returns a *predictive*: an object with

* ``log_prob(x, y)`` -> ndarray ``(N, 1)``, log densities in nats (required: the
  held-out NLL is exact for every method), and at least one of
* ``normal(x)`` -> ``(mu, sd)`` arrays ``(N, 1)``, when the predictive is exactly
  Gaussian (interval, coverage and CRPS are then computed in closed form),
* ``cdf(x, y)`` -> ndarray ``(N, 1)``, the predictive CDF at ``y`` (exact PIT and
  coverage: ``y`` lies in the central 90% interval iff ``0.05 <= F(y) <= 0.95``),
* ``sample(x, n_samples, seed)`` -> ndarray ``(S, N, 1)`` of predictive draws (PIT,
  coverage and CRPS from samples; needed for the CRPS of non-Gaussian predictives).

The three helper classes below cover the usual cases. Methods must be
deterministic given ``seed``, use at most 2 threads, write nothing to disk and
import their framework inside the fit function (so that ``--methods`` can skip
a framework entirely). Keep a method's fit at n = 1000 under about a minute on
one core; ``cost`` (relative run time, 1 = one 2x50 network for 3000 steps) is
shown by ``--list``.
"""
from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

__all__ = [
    "Method",
    "METHODS",
    "register",
    "load_all",
    "select",
    "NormalPredictive",
    "MixturePredictive",
    "SamplePredictive",
]


@dataclass(frozen=True)
class Method:
    """A registered method: ``fit(x, y, *, seed, budget) -> predictive``."""

    name: str
    fit: Callable
    chapter: int | None = None
    cost: float = 1.0
    module: str = ""


METHODS: dict[str, Method] = {}


def register(name: str, *, chapter: int | None = None, cost: float = 1.0):
    """Decorator: add ``fit`` to :data:`METHODS` under ``name`` (unique)."""

    def decorate(fit):
        if name in METHODS:
            raise ValueError(f"a method named {name!r} is already registered (by {METHODS[name].module}).")
        METHODS[name] = Method(name, fit, chapter, float(cost), fit.__module__)
        return fit

    return decorate


def load_all(strict: bool = False) -> dict[str, Method]:
    """Import every module of this package (each registers its methods); return :data:`METHODS`.

    A module that fails to import is reported on stderr and skipped, so that one
    broken plug-in does not stop the others' rows; ``strict=True`` re-raises.
    """
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except Exception as exc:  # a broken plug-in
            if strict:
                raise
            print(f"benchmarks.methods: skipping {info.name!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
    return METHODS


def select(patterns: list[str] | None) -> list[Method]:
    """Methods whose name matches one of the shell-style ``patterns`` (all when None)."""
    methods = list(load_all().values())
    if not patterns:
        return methods
    chosen = [m for m in methods if any(fnmatch.fnmatch(m.name.lower(), p.lower()) for p in patterns)]
    if not chosen:
        raise ValueError(f"no method matches {patterns}; see --list. Available: {[m.name for m in methods]}")
    return chosen


# ------------------------------------------------------------------ predictive helpers
_LOG_2PI = float(np.log(2.0 * np.pi))


class NormalPredictive:
    """A Gaussian predictive from a function ``x -> (mu, sd)`` (arrays ``(N, 1)``)."""

    def __init__(self, mean_sd: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]):
        self._mean_sd = mean_sd

    def normal(self, x):
        mu, sd = self._mean_sd(x)
        return np.asarray(mu, dtype=np.float64), np.asarray(sd, dtype=np.float64)

    def log_prob(self, x, y):
        mu, sd = self.normal(x)
        z = (y - mu) / sd
        return -0.5 * _LOG_2PI - np.log(sd) - 0.5 * z * z


class MixturePredictive:
    """An equally weighted (or weighted) mixture of Gaussians, e.g. a deep ensemble.

    ``components(x)`` returns ``(mu, sd)`` of shape ``(N, 1, K)`` and optionally
    ``weights`` ``(K,)``.
    """

    def __init__(self, components: Callable, weights=None):
        self._components = components
        self._weights = None if weights is None else np.asarray(weights, dtype=np.float64)

    def _parts(self, x):
        mu, sd = (np.asarray(a, dtype=np.float64) for a in self._components(x))
        k = mu.shape[-1]
        w = np.full(k, 1.0 / k) if self._weights is None else self._weights / self._weights.sum()
        return mu, sd, w

    def log_prob(self, x, y):
        mu, sd, w = self._parts(x)
        z = (y[..., None] - mu) / sd
        return special.logsumexp(-0.5 * _LOG_2PI - np.log(sd) - 0.5 * z * z + np.log(w), axis=-1)

    def cdf(self, x, y):
        mu, sd, w = self._parts(x)
        return np.sum(w * special.ndtr((y[..., None] - mu) / sd), axis=-1)

    def sample(self, x, n_samples, seed):
        mu, sd, w = self._parts(x)
        rng = np.random.default_rng(seed)
        k = rng.choice(len(w), size=(n_samples,) + mu.shape[:-1], p=w)
        m = np.take_along_axis(np.broadcast_to(mu, (n_samples,) + mu.shape), k[..., None], axis=-1)[..., 0]
        s = np.take_along_axis(np.broadcast_to(sd, (n_samples,) + sd.shape), k[..., None], axis=-1)[..., 0]
        return m + s * rng.standard_normal(m.shape)


class SamplePredictive:
    """A predictive known through draws, e.g. MC dropout or a BNN.

    ``log_prob_fn(x, y)`` must be supplied (e.g. the log-mean-exp over weight
    samples of Gaussian likelihoods, chapter 7); ``sample_fn(x, n, seed)``
    returns ``(S, N, 1)`` draws of ``y``.
    """

    def __init__(self, log_prob_fn: Callable, sample_fn: Callable):
        self._log_prob, self._sample = log_prob_fn, sample_fn

    def log_prob(self, x, y):
        return np.asarray(self._log_prob(x, y), dtype=np.float64)

    def sample(self, x, n_samples, seed):
        return np.asarray(self._sample(x, n_samples, seed), dtype=np.float64)
