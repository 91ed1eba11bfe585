"""Plug-in point of ``benchmarks/uncertainty.py``: a registry of regression methods.

Add a method
------------
Create a module ``benchmarks/methods/<family>.py`` (it is imported automatically,
in alphabetical order) and register one function per method::

    from benchmarks.methods import register
    from deepprob.predictive import SamplePredictive

    @register("MC dropout (p = 0.1)", chapter=7, cost=2.0)
    def mc_dropout(x, y, *, seed, budget):
        ...                               # train on x, y: float64 arrays (N, 1)
        return SamplePredictive(...)      # or NormalPredictive / MixturePredictive

A fit function receives the training data **standardised** (the toy problem is
already standardised; the motorcycle folds are standardised by the caller) as
float64 arrays of shape ``(N, 1)``, a ``seed`` (int) and a ``budget`` (float,
1.0 = the default number of optimisation steps; the driver lowers it for a
quick run) and returns a *predictive*: an object with ``log_prob(x, y)`` and at
least one of ``normal(x)``, ``cdf(x, y)``, ``sample(x, n_samples, seed)``. The
protocol, the three helper classes that cover the usual cases
(:class:`~deepprob.predictive.NormalPredictive`,
:class:`~deepprob.predictive.MixturePredictive`,
:class:`~deepprob.predictive.SamplePredictive`) and the scoring function live
in :mod:`deepprob.predictive`; import them from there (the names re-exported
here keep older plug-ins working).

Methods must be deterministic given ``seed``, use at most 2 threads, write
nothing to disk and import their framework inside the fit function (so that
``--methods`` can skip a framework entirely). Keep a method's fit at n = 1000
under about a minute on one core; ``cost`` (relative run time, 1 = one 2x50 network for 3000 steps) is
shown by ``--list``.
"""
from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import sys
from dataclasses import dataclass
from typing import Callable

from deepprob.predictive import MixturePredictive, NormalPredictive, SamplePredictive

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
    datasets: tuple[str, ...] = ("vink_toy", "motorcycle")


METHODS: dict[str, Method] = {}


def register(name: str, *, chapter: int | None = None, cost: float = 1.0,
             datasets: tuple[str, ...] = ("vink_toy", "motorcycle")):
    """Decorator: add ``fit`` to :data:`METHODS` under ``name`` (unique).

    ``datasets`` are the data sets the method applies to (default both): a method
    that uses what is known of one problem (e.g. the period of Vink's toy) names
    only that one, and the driver does not run it on the others.
    """
    unknown = set(datasets) - {"vink_toy", "motorcycle"}
    if unknown or not datasets:
        raise ValueError(f"datasets must be a non-empty subset of ('vink_toy', 'motorcycle'); got {datasets!r}.")

    def decorate(fit):
        if name in METHODS:
            raise ValueError(f"a method named {name!r} is already registered (by {METHODS[name].module}).")
        METHODS[name] = Method(name, fit, chapter, float(cost), fit.__module__, tuple(datasets))
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
