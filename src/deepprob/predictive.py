r"""Predictive distributions of regression models, their log densities and their scores.

Framework-free (NumPy and SciPy). A model written in PyTorch, TensorFlow
Probability or NumPyro is wrapped in one of three small classes and scored by
the same :func:`score`, so that the table of chapter 9 compares every method on
equal terms.

The predictive protocol
-----------------------
A *predictive* is an object with

* ``log_prob(x, y)`` -> ndarray ``(N, 1)``: the log predictive density of ``y``
  at ``x``, in nats (required: the held-out NLL is exact for every method), and
  at least one of
* ``normal(x)`` -> ``(mu, sd)``, arrays ``(N, 1)`` in the units of ``y``, when
  the predictive is exactly Gaussian (interval, coverage and CRPS are then
  computed in closed form),
* ``cdf(x, y)`` -> ndarray ``(N, 1)``: the predictive CDF at ``y`` (exact PIT and
  coverage: ``y`` lies in the central 90% interval iff ``0.05 <= F(y) <= 0.95``),
* ``sample(x, n_samples, seed)`` -> ndarray ``(S, N, 1)`` of predictive draws
  (PIT, coverage and CRPS from samples; needed for the CRPS of non-Gaussian
  predictives).

``x`` and ``y`` are float64 arrays of shape ``(N, 1)``. A predictive must be a
deterministic function of its arguments (``sample`` of ``seed``).

* :class:`NormalPredictive` -- a Gaussian ``N(mu(x), sd(x)^2)``;
* :class:`MixturePredictive` -- a weighted mixture of ``K`` Gaussians (a deep
  ensemble, MC dropout, the posterior draws of a BNN): exact ``log_prob``,
  ``cdf`` and ``sample``;
* :class:`SamplePredictive` -- a predictive known by its draws and a
  user-supplied ``log_prob``.

The log density of a Gaussian mixture, ``log sum_k w_k N(y; mu_k, sigma_k^2)``,
is computed in one place, :func:`gaussian_mixture_log_prob` (by ``logsumexp``,
finite far from every component); the Monte Carlo predictive of a Bayesian model,
``log (1/S) sum_s N(y; mu_s, sigma_s^2)`` over ``S`` posterior draws, is its
equal-weight case, :func:`monte_carlo_log_prob`.

References
----------
.. [GR2007] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules,
   prediction, and estimation", J. Amer. Statist. Assoc. 102(477), 359-378
   (2007) (CRPS, eq. 21; proper scores).
.. [Dawid1984] A. P. Dawid, "Statistical theory: the prequential approach",
   J. Roy. Statist. Soc. A 147, 278-292 (1984) (probability integral transform).
.. [Bishop1994] C. M. Bishop, "Mixture density networks", Aston University
   technical report NCRG/94/004 (1994) (the mixture log-likelihood).
"""
from __future__ import annotations

import math
import operator
from typing import Callable

import numpy as np
from scipy import special

from . import metrics
from ._validation import as_float_array, positive_int, probability

__all__ = [
    "gaussian_mixture_log_prob",
    "monte_carlo_log_prob",
    "NormalPredictive",
    "MixturePredictive",
    "SamplePredictive",
    "score",
]


# ------------------------------------------------------------------ mixture log density
def _component_axis(axis, ndim):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise ValueError(f"axis must be an integer; got {axis!r}.") from None
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} is out of range for mu with {ndim} dimension(s).")
    return axis % ndim


def _log_weights(weights, log_weights, mu_shape, axis, ndim):
    """Normalised log weights, component axis last, broadcastable to ``mu`` (axis moved last)."""
    k = mu_shape[-1]
    if weights is None and log_weights is None:
        return -math.log(k)
    if weights is not None and log_weights is not None:
        raise ValueError("give weights or log_weights, not both.")
    name = "weights" if log_weights is None else "log_weights"
    w = as_float_array(weights if log_weights is None else log_weights, name)
    if w.ndim > 1 or (w.ndim == 1 and w.shape[0] != k):
        if w.ndim != ndim:
            raise ValueError(
                f"{name} must have shape (K,) = ({k},) or mu's number of dimensions ({ndim}) with the "
                f"components on axis {axis}; got shape {w.shape}."
            )
        w = np.moveaxis(w, axis, -1)
        try:
            np.broadcast_shapes(w.shape, mu_shape)
        except ValueError:
            raise ValueError(
                f"{name} of shape {np.moveaxis(w, -1, axis).shape} does not broadcast against mu "
                f"{np.moveaxis(np.empty(mu_shape), -1, axis).shape}."
            ) from None
    elif w.ndim == 0:
        raise ValueError(f"{name} must have one entry per component (shape ({k},)); got a scalar.")
    if log_weights is not None:
        return w - special.logsumexp(w, axis=-1, keepdims=True)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite and non-negative; got min {w.min():.4g}, max {w.max():.4g}.")
    total = w.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("weights sum to 0: at least one component needs a positive weight.")
    with np.errstate(divide="ignore"):  # a zero weight is log 0 = -inf: that component drops out
        return np.log(w / total)


def gaussian_mixture_log_prob(y, mu, sigma, weights=None, *, log_weights=None, axis=-1):
    r"""Log density of a mixture of Gaussians, by ``logsumexp``.

    ``log p(y) = log sum_k w_k N(y; mu_k, sigma_k^2)``
    ``= logsumexp_k [log w_k - 1/2 log(2 pi) - log sigma_k - (y - mu_k)^2 / (2 sigma_k^2)]``,
    with the weights normalised to sum to 1. The largest term is subtracted
    before exponentiating, so the result stays finite (and exact) for ``y`` far
    from every component, where ``log(sum(w * pdf))`` underflows to ``-inf``.
    With equal weights it is the Monte Carlo predictive
    ``log (1/K) sum_k N(y; mu_k, sigma_k^2)`` (see :func:`monte_carlo_log_prob`).

    Parameters
    ----------
    y : array_like
        Observations, of the shape of ``mu`` *without* its component axis (or
        broadcastable with it), e.g. ``(N, 1)`` for ``mu`` of shape ``(N, 1, K)``.
    mu : array_like, shape (..., K, ...)
        Component means, the ``K`` components on ``axis``; units of ``y``.
    sigma : array_like
        Component standard deviations (not variances), ``> 0``, broadcastable
        with ``mu``; units of ``y``.
    weights : array_like, optional
        Mixture weights, ``>= 0`` (normalised here): shape ``(K,)``, or ``mu``'s
        number of dimensions with the components on ``axis`` (per-point weights,
        e.g. a mixture density network's ``(N, K)``). Default: equal weights.
    log_weights : array_like, optional
        Instead of ``weights``: their logarithms (e.g. ``log_softmax`` of
        logits), same shapes; normalised by ``logsumexp``. Exact for weights too
        small for float64.
    axis : int, default -1
        The component axis of ``mu`` and ``sigma``.

    Returns
    -------
    ndarray
        Log densities in nats, of the broadcast shape of ``y`` and ``mu`` without
        its component axis.

    Raises
    ------
    ValueError
        If an input is not numeric or contains NaN, ``sigma <= 0`` (or is
        infinite), the shapes do not broadcast or would broadcast to an outer
        product (``y`` of shape ``(N,)`` against ``mu`` of shape ``(N, 1, K)``),
        ``axis`` is out of range, a weight is negative, the weights sum to 0, or
        both ``weights`` and ``log_weights`` are given.

    Notes
    -----
    The mixture log-likelihood of [Bishop1994]_; ``logsumexp`` from
    :func:`scipy.special.logsumexp`.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(gaussian_mixture_log_prob(0.0, [0.0, 0.0], [1.0, 1.0])), 6)  # = log N(0; 0, 1)
    -0.918939
    """
    y = as_float_array(y, "y")
    mu = as_float_array(mu, "mu")
    sigma = as_float_array(sigma, "sigma")
    if mu.ndim == 0:
        raise ValueError("mu must have a component axis (shape (..., K)); got a scalar.")
    try:
        shape = np.broadcast_shapes(mu.shape, sigma.shape)
    except ValueError:
        raise ValueError(
            f"mu {mu.shape} and sigma {sigma.shape} do not broadcast; give sigma the shape of mu "
            "(or one that broadcasts, e.g. (S, 1) against (S, N))."
        ) from None
    axis = _component_axis(axis, len(shape))
    mu = np.moveaxis(np.broadcast_to(mu, shape), axis, -1)
    sigma = np.moveaxis(np.broadcast_to(sigma, shape), axis, -1)
    batch = mu.shape[:-1]
    try:
        out = np.broadcast_shapes(y.shape, batch)
    except ValueError:
        out = None
    if out is None or math.prod(out) > max(y.size, math.prod(batch)):
        raise ValueError(
            f"y {y.shape} does not match mu {np.moveaxis(mu, -1, axis).shape} without its component axis "
            f"{axis} ({batch}){'' if out is None else f': they broadcast to the outer product {out}'}. "
            f"Give y the shape {batch}, e.g. y.reshape{batch}."
        )
    log_w = _log_weights(weights, log_weights, mu.shape, axis, len(shape))
    return special.logsumexp(metrics.gaussian_log_prob(y[..., None], mu, sigma) + log_w, axis=-1)


def monte_carlo_log_prob(y, locs, scales):
    r"""Monte Carlo log predictive density ``log (1/S) sum_s N(y; locs_s, scales_s^2)``.

    The posterior predictive of a Bayesian model (MC dropout, Bayes by Backprop,
    NUTS) estimated from ``S`` posterior draws, computed by ``logsumexp`` over the
    draws: the equal-weight case of :func:`gaussian_mixture_log_prob` with the
    draws on axis 0. It is a log of a mean, never a mean of logs (which is lower
    by Jensen's inequality).

    Parameters
    ----------
    y : array_like, shape (N, ...)
        Observations.
    locs : array_like, shape (S, N, ...)
        Predictive means of the ``S`` draws (draws on axis 0); units of ``y``.
    scales : array_like
        Standard deviations of the draws, ``> 0``, broadcastable with ``locs``,
        e.g. ``(S, 1)`` for one noise scale per draw.

    Returns
    -------
    ndarray, shape (N, ...)
        Log densities in nats.

    Raises
    ------
    ValueError
        As :func:`gaussian_mixture_log_prob`: NaN, ``scales <= 0``, or ``y`` not
        of the shape ``locs.shape[1:]``.
    """
    return gaussian_mixture_log_prob(y, locs, scales, axis=0)


# ------------------------------------------------------------------ the three predictives
class NormalPredictive:
    """A Gaussian predictive ``N(mu(x), sd(x)^2)``.

    Parameters
    ----------
    mean_sd : callable
        ``x -> (mu, sd)``, arrays ``(N, 1)`` in the units of ``y``, ``sd > 0``.
    """

    def __init__(self, mean_sd: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]):
        self._mean_sd = mean_sd

    def normal(self, x):
        """``(mu, sd)`` at ``x``, float64 arrays ``(N, 1)``."""
        mu, sd = self._mean_sd(x)
        return np.asarray(mu, dtype=np.float64), np.asarray(sd, dtype=np.float64)

    def log_prob(self, x, y):
        """``log N(y; mu(x), sd(x)^2)`` in nats, ``(N, 1)``; ValueError if ``sd <= 0``."""
        mu, sd = self.normal(x)
        return metrics.gaussian_log_prob(y, mu, sd)


class MixturePredictive:
    """A weighted (by default equally weighted) mixture of ``K`` Gaussians, e.g. a deep ensemble.

    Parameters
    ----------
    components : callable
        ``x -> (mu, sd)``, arrays ``(N, 1, K)`` (components on the last axis).
    weights : array_like, shape (K,), optional
        Non-negative mixture weights, normalised here; default equal weights.

    Raises
    ------
    ValueError
        If ``weights`` is not 1-D, has a negative or non-finite entry, or sums to 0.
    """

    def __init__(self, components: Callable, weights=None):
        self._components = components
        if weights is not None:
            weights = as_float_array(weights, "weights")
            if weights.ndim != 1 or np.any(weights < 0) or not np.all(np.isfinite(weights)) or weights.sum() <= 0:
                raise ValueError(
                    f"weights must be a 1-D array of K non-negative numbers with a positive sum; got {weights!r}."
                )
        self._weights = weights

    def _parts(self, x):
        mu, sd = (np.asarray(a, dtype=np.float64) for a in self._components(x))
        k = mu.shape[-1]
        w = np.full(k, 1.0 / k) if self._weights is None else self._weights / self._weights.sum()
        return mu, sd, w

    def log_prob(self, x, y):
        """Exact log density ``log sum_k w_k N(y; mu_k, sd_k^2)`` in nats, ``(N, 1)``."""
        mu, sd, w = self._parts(x)
        return gaussian_mixture_log_prob(y, mu, sd, w, axis=-1)

    def cdf(self, x, y):
        """``sum_k w_k Phi((y - mu_k) / sd_k)``, ``(N, 1)``."""
        mu, sd, w = self._parts(x)
        return np.sum(w * special.ndtr((y[..., None] - mu) / sd), axis=-1)

    def sample(self, x, n_samples, seed):
        """``n_samples`` draws ``(S, N, 1)``: a component by its weight, then a normal draw."""
        mu, sd, w = self._parts(x)
        rng = np.random.default_rng(seed)
        k = rng.choice(len(w), size=(n_samples,) + mu.shape[:-1], p=w)
        m = np.take_along_axis(np.broadcast_to(mu, (n_samples,) + mu.shape), k[..., None], axis=-1)[..., 0]
        s = np.take_along_axis(np.broadcast_to(sd, (n_samples,) + sd.shape), k[..., None], axis=-1)[..., 0]
        return m + s * rng.standard_normal(m.shape)


class SamplePredictive:
    """A predictive known through draws, e.g. MC dropout or a BNN.

    Parameters
    ----------
    log_prob_fn : callable
        ``(x, y) -> (N, 1)`` log densities in nats, e.g. :func:`monte_carlo_log_prob`
        over weight samples (chapter 7).
    sample_fn : callable
        ``(x, n, seed) -> (S, N, 1)`` draws of ``y``.
    """

    def __init__(self, log_prob_fn: Callable, sample_fn: Callable):
        self._log_prob, self._sample = log_prob_fn, sample_fn

    def log_prob(self, x, y):
        return np.asarray(self._log_prob(x, y), dtype=np.float64)

    def sample(self, x, n_samples, seed):
        return np.asarray(self._sample(x, n_samples, seed), dtype=np.float64)


# ------------------------------------------------------------------ scoring
def score(predictive, x, y, *, seed=0, oracle_log_prob=None, level=0.9, n_draws=200, chunk=10_000):
    """NLL, its standard error, coverage of the central interval and CRPS of ``predictive`` on ``(x, y)``.

    The points are scored in chunks of ``chunk``. NLL: ``-mean log_prob`` (exact
    for every predictive). Coverage of the central ``level`` interval: in closed
    form for a predictive with ``normal``, else through the PIT [Dawid1984]_,
    ``(1 - level)/2 <= F(y) <= (1 + level)/2``, with ``F`` from ``cdf`` or,
    without one, the fraction of ``n_draws`` draws at or below ``y``. CRPS
    [GR2007]_: closed form for a Gaussian, else the unbiased ("fair") sample
    estimator on ``n_draws`` draws (:func:`deepprob.metrics.crps_samples`);
    NaN for a predictive with ``cdf`` but no ``sample``.

    Parameters
    ----------
    predictive : object
        Follows the protocol of this module (``log_prob`` and one of ``normal``,
        ``cdf``, ``sample``).
    x, y : ndarray, shape (N, 1)
        Test inputs and targets (float64).
    seed : int, default 0
        Seed of the draws; chunk ``i`` (starting at point ``start``) uses ``seed + start``.
    oracle_log_prob : array_like, shape (N, 1), optional
        The true log densities at the same points: adds the paired ``gap``.
    level : float, default 0.9
        Nominal probability of the central interval, in ``(0, 1)``.
    n_draws : int, default 200
        Predictive draws per point, for a predictive without ``normal``.
    chunk : int, default 10000
        Points scored at once (bounds the memory of ``n_draws x chunk`` draws).

    Returns
    -------
    dict
        ``"nll"`` (nats per point), ``"nll_se"`` (its standard error over
        points, ``nan`` for one point), ``"coverage"`` (fraction of points inside the interval),
        ``"crps"`` (units of ``y``) and, with ``oracle_log_prob``, ``"gap"``:
        ``mean(oracle_log_prob - log_prob)``, the predictive's NLL minus the
        oracle's on the same points (nats).

    Raises
    ------
    ValueError
        If ``predictive`` lacks ``log_prob`` or all of ``normal``, ``cdf`` and
        ``sample``, ``x`` and ``y`` differ in length, ``level`` is not in
        ``(0, 1)`` or ``n_draws``/``chunk`` is not a positive integer.
    """
    level = probability(level, "level")
    n_draws = positive_int(n_draws, "n_draws")
    chunk = positive_int(chunk, "chunk")
    if not hasattr(predictive, "log_prob") or not any(hasattr(predictive, m) for m in ("normal", "cdf", "sample")):
        raise ValueError(
            f"{type(predictive).__name__} is not a predictive: it needs log_prob(x, y) and one of normal(x), "
            "cdf(x, y), sample(x, n_samples, seed) (see deepprob.predictive)."
        )
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of rows; got {len(x)} and {len(y)}.")
    log_prob, inside, crps = [], [], []
    alpha = 0.5 * (1.0 - level)
    for start in range(0, len(x), chunk):
        xc, yc = x[start:start + chunk], y[start:start + chunk]
        log_prob.append(np.asarray(predictive.log_prob(xc, yc), dtype=np.float64).reshape(yc.shape))
        if hasattr(predictive, "normal"):
            mu, sd = predictive.normal(xc)
            lo, hi = metrics.gaussian_interval(mu, sd, level)
            inside.append((yc >= lo) & (yc <= hi))
            crps.append(metrics.crps_gaussian(yc, mu, sd))
            continue
        draws = predictive.sample(xc, n_draws, seed + start) if hasattr(predictive, "sample") else None
        pit = predictive.cdf(xc, yc) if hasattr(predictive, "cdf") else metrics.pit_samples(yc, draws)
        inside.append((pit >= alpha) & (pit <= 1.0 - alpha))
        crps.append(metrics.crps_samples(yc, draws, fair=True) if draws is not None else np.full(yc.shape, np.nan))
    lp = np.concatenate(log_prob)
    out = {
        "nll": metrics.mean_nll(lp),
        "nll_se": metrics.nll_standard_error(lp) if lp.size > 1 else math.nan,
        "coverage": float(np.mean(np.concatenate(inside))),
        "crps": float(np.mean(np.concatenate(crps))),
    }
    if oracle_log_prob is not None:
        out["gap"] = float(np.mean(np.asarray(oracle_log_prob, dtype=np.float64).reshape(lp.shape) - lp))
    return out
