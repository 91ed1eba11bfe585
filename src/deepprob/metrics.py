"""Scores for predictive distributions: NLL, intervals, coverage, PIT and CRPS.

Framework-free: NumPy and SciPy in, Python floats or NumPy arrays out. Every
function here takes plain arrays, so a model written in PyTorch, TensorFlow
Probability or NumPyro is scored by exactly the same code (convert with
``tensor.detach().numpy()`` or ``np.asarray``).

Conventions
-----------
* Scores are *negatively oriented* where that is the usual convention: lower
  negative log-likelihood (NLL, in nats) and lower CRPS (in the units of ``y``)
  are better.
* Elementwise functions (``gaussian_log_prob``, ``gaussian_interval``,
  ``pit_gaussian``, ``crps_gaussian``) broadcast their arguments like NumPy does.
  Functions that *average over points* (``interval_coverage``,
  ``coverage_curve``, ``pit_samples``, ``crps_samples``) refuse an "outer"
  broadcast such as ``y`` of shape ``(N,)`` against ``mu`` of shape ``(N, 1)``,
  which would silently compare every point with every prediction.

References
----------
.. [GR2007] T. Gneiting and A. E. Raftery, "Strictly proper scoring rules,
   prediction, and estimation", J. Amer. Statist. Assoc. 102(477), 359-378
   (2007).
.. [GRWG2005] T. Gneiting, A. E. Raftery, A. H. Westveld and T. Goldman,
   "Calibrated probabilistic forecasting using ensemble model output statistics
   and minimum CRPS estimation", Monthly Weather Review 133, 1098-1118 (2005).
.. [Dawid1984] A. P. Dawid, "Statistical theory: the prequential approach",
   J. Roy. Statist. Soc. A 147, 278-292 (1984) (probability integral transform).
"""

from __future__ import annotations

import math

import numpy as np

from ._docs import fill_doc
from ._validation import as_float_array as _array
from ._validation import broadcast as _broadcast
from ._validation import positive_array, probabilities, probability
from ._validation import scalar_or_array as _out
from scipy import special, stats

__all__ = [
    "mean_nll",
    "nll_standard_error",
    "gaussian_log_prob",
    "gaussian_interval",
    "interval_coverage",
    "pit_gaussian",
    "pit_samples",
    "crps_gaussian",
    "crps_samples",
    "coverage_curve",
]

_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- helpers
def _broadcast_strict(**arrays):
    """Broadcast, but refuse a result larger than every input (an outer product).

    ``y`` of shape ``(N,)`` against ``mu`` of shape ``(N, 1)`` broadcasts to
    ``(N, N)``: almost always a bug when a function averages over points.
    """
    out = _broadcast(**arrays)
    full = out[0].shape
    if out[0].size > max(np.size(v) for v in arrays.values()):
        desc = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(
            f"shapes {desc} broadcast to {full}, larger than every input: this compares "
            "every point with every prediction. Give them the same shape, e.g. with "
            "y.reshape(-1) and mu.reshape(-1), or y.reshape(-1, 1)."
        )
    return out


def _gaussian_inputs(y, mu, sigma, broadcast=_broadcast):
    """``y``, ``mu`` and ``sigma`` (``> 0``) as float arrays, broadcast together by ``broadcast``."""
    y = _array(y, "y")
    mu = _array(mu, "mu")
    sigma = positive_array(sigma, "sigma")
    return broadcast(y=y, mu=mu, sigma=sigma)


# Docstring fragments of the elementwise scores of a normal predictive.
_GAUSSIAN_PARAMETERS = """
    Parameters
    ----------
    y : array_like
        Observations.
    mu, sigma : array_like
        Predictive means and standard deviations (``sigma > 0``), broadcastable
        with ``y``.
"""
_GAUSSIAN_RAISES = """
    Raises
    ------
    ValueError
        If ``sigma <= 0`` or the shapes do not broadcast.
"""


# ------------------------------------------------------------------------------ NLL
def mean_nll(log_prob):
    """Mean negative log-likelihood over points.

    Parameters
    ----------
    log_prob : array_like, shape (N,) or any shape
        Log densities ``log p(y_i | x_i)`` in nats of held-out points, one per
        element. Every element counts as one point.

    Returns
    -------
    float
        ``-mean(log_prob)`` in nats per point. ``inf`` if some point has zero
        density (``log_prob = -inf``).

    Raises
    ------
    ValueError
        If ``log_prob`` is empty or contains NaN.

    Notes
    -----
    The held-out NLL estimates the cross-entropy ``E_p[-log q(y|x)]``, which
    differs from ``KL(p || q)`` by the entropy of ``p``, a constant: ranking
    models by NLL ranks them by KL to the data distribution.

    Examples
    --------
    >>> mean_nll([-1.0, -2.0])
    1.5
    """
    lp = _array(log_prob, "log_prob")
    if lp.size == 0:
        raise ValueError("log_prob is empty; pass one log density per held-out point.")
    return float(-np.mean(lp))


def nll_standard_error(log_prob):
    """Standard error of :func:`mean_nll` over points.

    Parameters
    ----------
    log_prob : array_like, shape (N,) or any shape
        Log densities of held-out points (nats), one per element, ``N >= 2``.

    Returns
    -------
    float
        ``std(log_prob, ddof=1) / sqrt(N)`` in nats; ``inf`` if any log density
        is infinite.

    Raises
    ------
    ValueError
        If fewer than two points are given or ``log_prob`` contains NaN.

    Notes
    -----
    Treats points as independent draws (central limit theorem), so
    ``mean_nll ± 2 * nll_standard_error`` is an approximate 95% confidence
    interval for the expected NLL. Two models scored on the *same* points are
    better compared through the standard error of the per-point differences.
    """
    lp = _array(log_prob, "log_prob").ravel()
    if lp.size < 2:
        raise ValueError(
            f"need at least 2 points for a standard error; got {lp.size}."
        )
    if not np.all(np.isfinite(lp)):
        return math.inf
    return float(np.std(lp, ddof=1) / math.sqrt(lp.size))


# ------------------------------------------------------------------------- Gaussian
def gaussian_log_prob(y, mu, sigma):
    """Log density of a normal distribution, elementwise.

    ``log N(y; mu, sigma^2) = -1/2 log(2 pi) - log sigma - (y - mu)^2 / (2 sigma^2)``.

    Parameters
    ----------
    y : array_like
        Observations.
    mu : array_like
        Means, broadcastable with ``y``.
    sigma : array_like
        Standard deviations (not variances, not log-variances), ``> 0``,
        broadcastable with ``y``.

    Returns
    -------
    float or ndarray
        Log densities in nats, of the broadcast shape of the inputs (a float
        for scalar inputs).

    Raises
    ------
    ValueError
        If ``sigma <= 0`` or the shapes do not broadcast.

    Notes
    -----
    Broadcasts like NumPy: ``y`` of shape ``(M, 1)`` against ``mu`` of shape
    ``(N,)`` gives an ``(M, N)`` table, handy for density images but a bug when
    ``y`` and ``mu`` are meant to be paired; pass equal shapes then.
    """
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    z = (y - mu) / sigma
    return _out(-0.5 * _LOG_2PI - np.log(sigma) - 0.5 * z * z)


def gaussian_interval(mu, sigma, level=0.9):
    """Central (equal-tailed) prediction interval of a normal distribution.

    ``mu ± z sigma`` with ``z = Phi^{-1}((1 + level) / 2)``, e.g. ``z = 1.645``
    for ``level = 0.9``.

    Parameters
    ----------
    mu : array_like
        Means.
    sigma : array_like
        Standard deviations, ``> 0``, broadcastable with ``mu``.
    level : float, default 0.9
        Nominal probability mass inside the interval, in ``(0, 1)``.

    Returns
    -------
    lower, upper : float or ndarray
        Interval bounds, broadcast shape of ``mu`` and ``sigma``, in the units
        of ``mu``.

    Raises
    ------
    ValueError
        If ``sigma <= 0``, ``level`` is not in ``(0, 1)`` or the shapes do not
        broadcast.
    """
    mu = _array(mu, "mu")
    sigma = positive_array(sigma, "sigma")
    if np.ndim(level) != 0:
        raise ValueError(
            "level must be a single number in (0, 1); for several levels call the function "
            "once per level or use coverage_curve."
        )
    level = probability(level, "level")
    mu, sigma = _broadcast(mu=mu, sigma=sigma)
    z = stats.norm.ppf(0.5 + 0.5 * level)
    return _out(mu - z * sigma), _out(mu + z * sigma)


def interval_coverage(y, lower, upper):
    """Fraction of observations inside their prediction intervals.

    Parameters
    ----------
    y : array_like, shape (N,) or (N, 1)
        Observations.
    lower, upper : array_like, same shape as ``y`` (or scalars)
        Interval bounds; an observation on a bound counts as inside.

    Returns
    -------
    float
        Observed coverage in ``[0, 1]``; compare with the nominal level. Its
        binomial standard error is ``sqrt(c (1 - c) / N)``.

    Raises
    ------
    ValueError
        If the shapes do not match (an outer broadcast such as ``(N,)`` with
        ``(N, 1)`` is refused), the inputs are empty, or ``lower > upper``
        somewhere.
    """
    y = _array(y, "y")
    lower = _array(lower, "lower")
    upper = _array(upper, "upper")
    y, lower, upper = _broadcast_strict(y=y, lower=lower, upper=upper)
    if y.size == 0:
        raise ValueError("y is empty; pass at least one observation.")
    if np.any(lower > upper):
        raise ValueError("lower must not exceed upper; did you swap the bounds?")
    return float(np.mean((y >= lower) & (y <= upper)))


def coverage_curve(y, mu, sigma, levels):
    """Observed coverage of Gaussian central intervals at several nominal levels.

    The data of a reliability diagram (see
    :func:`deepprob.plotting.plot_reliability`): a calibrated model gives
    ``observed ≈ levels``; a curve below the diagonal means intervals that are
    too narrow (over-confidence).

    Parameters
    ----------
    y : array_like, shape (N,) or (N, 1)
        Observations.
    mu, sigma : array_like, same shape as ``y`` (or scalars)
        Predictive means and standard deviations (``sigma > 0``).
    levels : array_like, shape (L,)
        Nominal levels, each in ``(0, 1)``.

    Returns
    -------
    ndarray, shape (L,)
        Observed coverage at each level.

    Raises
    ------
    ValueError
        If ``sigma <= 0``, a level is outside ``(0, 1)``, or the shapes of
        ``y``, ``mu`` and ``sigma`` do not match.
    """
    y, mu, sigma = _gaussian_inputs(y, mu, sigma, broadcast=_broadcast_strict)
    levels = probabilities(levels, "levels")
    if levels.ndim > 1:
        raise ValueError(f"levels must be 1-D, shape (L,); got shape {levels.shape}.")
    if y.size == 0:
        raise ValueError("y is empty; pass at least one observation.")
    # |y - mu| / sigma <= z_level  <=>  y inside the central interval at that level.
    abs_z = np.abs((y - mu) / sigma).ravel()
    z = stats.norm.ppf(0.5 + 0.5 * np.atleast_1d(levels))
    covered = abs_z[None, :] <= z[:, None]
    out = covered.mean(axis=1)
    return out if levels.ndim == 1 else float(out[0])


# ------------------------------------------------------------------------------ PIT
@fill_doc(parameters=_GAUSSIAN_PARAMETERS, raises=_GAUSSIAN_RAISES)
def pit_gaussian(y, mu, sigma):
    """Probability integral transform (PIT) of observations under normal predictives.

    ``u = Phi((y - mu) / sigma)``. If ``y ~ N(mu, sigma^2)`` exactly, ``u`` is
    uniform on ``[0, 1]`` [Dawid1984]_; a U-shaped histogram of ``u`` signals
    over-confidence, a hump under-confidence, a slope bias.

    %(parameters)s

    Returns
    -------
    float or ndarray
        PIT values in ``[0, 1]``, broadcast shape.

    %(raises)s
    """
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    return _out(special.ndtr((y - mu) / sigma))


def _check_samples(y, samples):
    y = _array(y, "y")
    samples = _array(samples, "samples")
    if samples.ndim < 1 or samples.shape[0] < 1:
        raise ValueError(
            "samples must have shape (S, N, ...) with S >= 1 predictive draws on axis 0; "
            f"got shape {samples.shape}."
        )
    try:
        target = np.broadcast_shapes(y.shape, samples.shape[1:])
    except ValueError:
        target = None
    if target != samples.shape[1:]:
        raise ValueError(
            f"y has shape {y.shape} but samples has shape {samples.shape}; y must match "
            "samples.shape[1:] (draws on axis 0). Reshape, e.g. y.reshape(samples.shape[1:])."
        )
    return np.broadcast_to(y, samples.shape[1:]), samples


def pit_samples(y, samples):
    """PIT from predictive samples: the fraction of draws at or below each observation.

    ``u_i = (1/S) sum_s 1[x_{s,i} <= y_i]``, the empirical predictive CDF at
    ``y_i``. Ties are not randomised, so for discrete predictives the histogram
    is slightly biased towards 1.

    Parameters
    ----------
    y : array_like, shape (N, ...)
        Observations.
    samples : array_like, shape (S, N, ...)
        ``S`` draws from the predictive distribution of each point (axis 0 are
        the draws), e.g. from MC dropout or a Bayesian neural network.

    Returns
    -------
    ndarray, shape (N, ...)
        PIT values in ``[0, 1]``, multiples of ``1/S``.

    Raises
    ------
    ValueError
        If ``y`` does not match ``samples.shape[1:]`` or ``S == 0``.
    """
    y, samples = _check_samples(y, samples)
    return _out(np.mean(samples <= y[None], axis=0))


# ----------------------------------------------------------------------------- CRPS
@fill_doc(parameters=_GAUSSIAN_PARAMETERS, raises=_GAUSSIAN_RAISES)
def crps_gaussian(y, mu, sigma):
    """Continuous ranked probability score of a normal predictive, closed form.

    ``CRPS(N(mu, sigma^2), y) = sigma * [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]``
    with ``z = (y - mu) / sigma``; Gneiting et al. (2005), eq. 5 [GRWG2005]_,
    restated in Gneiting & Raftery (2007), Sect. 4.2 [GR2007]_ (who use the
    positive orientation, i.e. minus this value).

    %(parameters)s

    Returns
    -------
    float or ndarray
        CRPS per point, ``>= 0``, in the units of ``y`` (lower is better), of
        the broadcast shape.

    %(raises)s

    Notes
    -----
    The CRPS is ``int (F(z) - 1[z >= y])^2 dz``; for a point forecast it
    reduces to the absolute error, so it is comparable with MAE.
    """
    y, mu, sigma = _gaussian_inputs(y, mu, sigma)
    z = (y - mu) / sigma
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    crps = sigma * (z * (2.0 * special.ndtr(z) - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))
    return _out(crps)


def crps_samples(y, samples, *, fair=False):
    """CRPS of a sample-based predictive, by the energy (kernel) form.

    ``CRPS = E|X - y| - 1/2 E|X - X'|`` with ``X, X'`` independent draws from
    the predictive [GR2007]_ (eq. 21). The second term is computed from the
    sorted draws ``x_(1) <= ... <= x_(S)`` in ``O(S log S)``:
    ``sum_{i,j} |x_i - x_j| = 2 sum_i (2 i - S - 1) x_(i)``.

    Parameters
    ----------
    y : array_like, shape (N, ...)
        Observations.
    samples : array_like, shape (S, N, ...)
        ``S`` predictive draws per point on axis 0.
    fair : bool, default False
        ``False``: divide the pair sum by ``S^2``, which gives the exact CRPS of
        the empirical distribution of the draws (biased upwards by
        ``E|X - X'| / (2 S)`` as an estimate of the CRPS of the true
        predictive). ``True``: divide by ``S (S - 1)``, the unbiased ("fair")
        estimator; needs ``S >= 2``.

    Returns
    -------
    ndarray, shape (N, ...)
        CRPS per point, in the units of ``y`` (lower is better).

    Raises
    ------
    ValueError
        If ``y`` does not match ``samples.shape[1:]``, ``S == 0``, or
        ``fair=True`` with ``S < 2``.
    """
    y, samples = _check_samples(y, samples)
    s = samples.shape[0]
    if fair and s < 2:
        raise ValueError("fair=True needs at least 2 samples per point; pass S >= 2 draws.")
    term1 = np.mean(np.abs(samples - y[None]), axis=0)
    sorted_samples = np.sort(samples, axis=0)
    weights = 2.0 * np.arange(1, s + 1) - s - 1.0  # 2 i - S - 1, i = 1..S
    weights = weights.reshape((s,) + (1,) * (samples.ndim - 1))
    pair_sum = 2.0 * np.sum(weights * sorted_samples, axis=0)  # sum_{i,j} |x_i - x_j|
    denom = s * (s - 1) if fair else s * s
    return _out(term1 - 0.5 * pair_sum / denom)
