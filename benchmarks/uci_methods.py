"""The rows of ``benchmarks/uci.py``: which method, with which settings, grid and quick variant.

The methods themselves live in :mod:`deepprob.torch.tabular` (each a function
``fit(x, y, *, seed, **hyper) -> predictive`` whose defaults are its paper's
setting, for :func:`deepprob.tabular.evaluate`); here each row fixes what the
table runs: the fixed settings, the grid chosen per split on validation data,
the bounds of its extension, and the ``--quick`` settings of the smoke test.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from deepprob.torch.tabular import (MC_DROPOUT_BOUNDS, MC_DROPOUT_GRID, bayes_by_backprop, deep_ensemble, heteroscedastic,
                                    mc_dropout)

__all__ = ["MethodSpec", "SPECS", "TABULAR_LR"]


# ------------------------------------------------------------------ the table's rows
@dataclass(frozen=True)
class MethodSpec:
    """One row of the table: a fit function, its fixed settings, its validation grid, its quick settings."""

    name: str
    fit: Callable
    params: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    bounds: dict = field(default_factory=dict)
    quick: dict = field(default_factory=dict)
    reference: str = ""


#: Adam's learning rate of the deep-ensemble rows. The paper's 0.1 (the default of :func:`deep_ensemble`)
#: diverges here on Boston: single networks reach test RMSEs of hundreds of $1000s on some splits
#: (measured: heteroscedastic net, 5 splits, LL -5.21 ± 0.90, RMSE 462); 0.01 is the largest tried that
#: trains (0.01: ensemble LL -2.41 ± 0.03 on 6 splits; 0.003: -2.50 ± 0.06; 0.001 x 100 epochs: -2.58 ± 0.09).
TABULAR_LR = 0.01

SPECS = {
    "mc_dropout": MethodSpec(
        "MC dropout (Gal 2016)", mc_dropout, grid=MC_DROPOUT_GRID, bounds=MC_DROPOUT_BOUNDS,
        quick={"epochs": 20, "n_samples": 200}, reference="gal"),
    "mc_dropout_4000": MethodSpec(
        "MC dropout (Gal 2016), 4000 epochs", mc_dropout, params={"epochs": 4000}, grid=MC_DROPOUT_GRID,
        bounds=MC_DROPOUT_BOUNDS, quick={"epochs": 20, "n_samples": 200}, reference="gal"),
    "mc_dropout_het": MethodSpec(
        "MC dropout, learnt noise (Kendall & Gal 2017)", mc_dropout, params={"noise": "heteroscedastic"},
        grid={"p": MC_DROPOUT_GRID["p"]}, bounds=MC_DROPOUT_BOUNDS, quick={"epochs": 20, "n_samples": 200}),
    "deep_ensemble": MethodSpec(
        "Deep Ensembles, 5 (lr 0.01)", deep_ensemble, params={"lr": TABULAR_LR},
        quick={"epochs": 5, "n_members": 2}, reference="ensemble"),
    "deep_ensemble_adv": MethodSpec(
        "Deep Ensembles, 5, adversarial (lr 0.01)", deep_ensemble, params={"lr": TABULAR_LR, "adversarial": True},
        quick={"epochs": 5, "n_members": 2}, reference="ensemble"),
    "deep_ensemble_paper_lr": MethodSpec(
        "Deep Ensembles, 5 (paper's lr 0.1)", deep_ensemble, quick={"epochs": 5, "n_members": 2},
        reference="ensemble"),
    "deep_ensemble_tuned": MethodSpec(
        "Deep Ensembles, 5, lr & epochs on validation", deep_ensemble,
        grid={"lr": [0.003, 0.01, 0.03], "epochs": [40, 100]}, bounds={"lr": (1e-4, 0.1), "epochs": (10, 1000)},
        quick={"n_members": 2}, reference="ensemble"),
    "bayes_by_backprop": MethodSpec(
        "Bayes by Backprop (VI, 1x50, learnt noise)", bayes_by_backprop, quick={"epochs": 5, "n_samples": 50},
        reference="vi"),
    "heteroscedastic_nll": MethodSpec(
        "heteroscedastic net, NLL (lr 0.01)", heteroscedastic, params={"lr": TABULAR_LR}, quick={"epochs": 5}),
    "heteroscedastic_beta": MethodSpec(
        "heteroscedastic net, beta-NLL 0.5 (lr 0.01)", heteroscedastic,
        params={"lr": TABULAR_LR, "loss": "beta_nll", "beta": 0.5}, quick={"epochs": 5}),
}
