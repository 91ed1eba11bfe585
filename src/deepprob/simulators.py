"""Simulators for likelihood-free problems of the course (framework-free NumPy).

* :func:`simulate_clusters` -- galaxy clusters observed through the
  line-of-sight velocities of their member galaxies, contaminated by
  interlopers: the dynamical-mass problem of chapter 8, in the spirit of
  Ho et al. (2019).
* :func:`log_mass_prior_logpdf` -- the exact log density of the simulator's
  prior on ``log10 M`` (for prior reweighting).

Units: masses in ``M_sun / h`` (reported as ``log10 M``), velocities in
``km/s``.

References
----------
.. [Ho2019] M. Ho, M. M. Rau, M. Ntampaka, A. Farahi, H. Trac and B. Póczos,
   "A robust and efficient deep learning method for dynamical mass
   measurements of galaxy clusters", ApJ 887, 25 (2019), arXiv:1902.05950.
.. [Evrard2008] A. E. Evrard et al., "Virial scaling of massive dark matter
   halos: why clusters prefer a high normalization cosmology", ApJ 672,
   122-137 (2008): ``sigma_DM = 1082.9 (h(z) M_200 / 1e15 M_sun)^0.3361 km/s``.
"""
from __future__ import annotations

import math

import numpy as np

from ._validation import positive_float, positive_int, probability

__all__ = ["FEATURE_NAMES", "simulate_clusters", "log_mass_prior_logpdf", "sample_log_mass"]

#: Columns of the feature matrix returned by :func:`simulate_clusters`.
FEATURE_NAMES = ("log10_std", "log10_mad", "log10_n", "kurtosis")

_MAD_TO_SD = 1.482602218505602  # 1 / Phi^{-1}(3/4): MAD of a normal times this is its sd


def _check_prior(slope, log_mass_range):
    """``(slope, low, high)`` of the prior on ``log10 M``, checked (see :func:`log_mass_prior_logpdf`)."""
    try:
        lo, hi = (float(v) for v in log_mass_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"log_mass_range must be a pair (low, high) of log10 masses; got {log_mass_range!r}."
        ) from None
    if not lo < hi:
        raise ValueError(f"log_mass_range must have low < high; got {log_mass_range!r}.")
    return positive_float(slope, "slope", allow_zero=True), lo, hi


def _segment_median(values, segment, start, count):
    """Median of ``values`` within each segment (``segment`` sorted, ``start``/``count`` per segment)."""
    srt = values[np.lexsort((values, segment))]
    return 0.5 * (srt[start + (count - 1) // 2] + srt[start + count // 2])


def log_mass_prior_logpdf(log_mass, slope=0.0, log_mass_range=(14.0, 15.5)):
    r"""Log density of the prior on ``m = log10(M / (M_sun/h))``.

    .. math::

        p(m) = \frac{b \ln 10\; 10^{-b (m - m_0)}}{1 - 10^{-b (m_1 - m_0)}},
        \quad m \in [m_0, m_1],

    a truncated power law in mass, ``dn/dlog M ∝ M^-b`` (``b = slope``): ``b = 0``
    is uniform in ``log10 M``; ``b ≈ 1.7`` mimics the steep fall of the halo
    mass function between ``1e14`` and ``3e15 M_sun/h``.

    Parameters
    ----------
    log_mass : array_like
        Values of ``log10 M`` (any shape).
    slope : float, default 0.0
        Power-law index ``b >= 0``.
    log_mass_range : (float, float), default (14.0, 15.5)
        Support ``[m_0, m_1]``.

    Returns
    -------
    float or ndarray
        Log density (per unit of ``log10 M``), ``-inf`` outside the support.

    Raises
    ------
    ValueError
        If ``slope < 0`` or the range is not increasing.
    """
    slope, lo, hi = _check_prior(slope, log_mass_range)
    m = np.asarray(log_mass, dtype=np.float64)
    if slope == 0.0:
        logp = np.full(m.shape, -math.log(hi - lo))
    else:
        a = slope * math.log(10.0)
        logp = math.log(a) - a * (m - lo) - math.log(-math.expm1(-a * (hi - lo)))
    out = np.where((m >= lo) & (m <= hi), logp, -np.inf)
    return float(out) if out.ndim == 0 else out


def sample_log_mass(n, rng, slope=0.0, log_mass_range=(14.0, 15.5)):
    """Draw ``n`` values of ``log10 M`` from :func:`log_mass_prior_logpdf` by inversion.

    Parameters
    ----------
    n : int
        Number of draws.
    rng : int, numpy.random.Generator or None
        Seed or generator (``numpy.random.default_rng``).
    slope, log_mass_range
        As in :func:`log_mass_prior_logpdf`.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        As :func:`log_mass_prior_logpdf`, or if ``n`` is not a positive integer.
    """
    n = positive_int(n, "n")
    slope, lo, hi = _check_prior(slope, log_mass_range)
    u = np.random.default_rng(rng).uniform(size=n)
    if slope == 0.0:
        return lo + (hi - lo) * u
    a = slope * math.log(10.0)
    # CDF F(m) = (1 - e^{-a (m - lo)}) / (1 - e^{-a (hi - lo)})
    return lo - np.log1p(u * np.expm1(-a * (hi - lo))) / a


def simulate_clusters(
    n,
    seed,
    *,
    prior_slope=0.0,
    log_mass_range=(14.0, 15.5),
    sigma_pivot=1083.0,
    mass_pivot=1e15,
    scaling_slope=1.0 / 3.0,
    scatter=0.1,
    richness_pivot=40.0,
    richness_slope=0.8,
    richness_scatter=0.5,
    min_galaxies=5,
    interloper_fraction=0.15,
    velocity_window=4000.0,
    return_details=False,
):
    r"""Simulate galaxy clusters and summarise their line-of-sight velocities.

    Generative process, per cluster (units: ``M`` in ``M_sun/h``, velocities
    in km/s)::

        m = log10 M ~ prior on [m0, m1], p(m) ∝ 10^(-prior_slope (m - m0))
        sigma_v = sigma_pivot (M / mass_pivot)^scaling_slope exp(scatter * e),  e ~ N(0, 1)
        lambda = richness_pivot (M / mass_pivot)^richness_slope exp(richness_scatter * e'),  e' ~ N(0, 1)
        N_mem ~ min_galaxies + Poisson(lambda)
        v_j ~ N(0, sigma_v^2),  j = 1..N_mem       (members; kept if |v_j| <= window)
        N_int ~ Poisson(N_mem f / (1 - f)),  f = interloper_fraction
        v_j ~ Uniform(-window, window)            (interlopers, in the same window)

    The defaults follow the dark-matter virial relation of Evrard et al.
    (2008), ``sigma_v ≈ 1083 km/s (M / 1e15)^{1/3}`` with a log-normal
    scatter of 10%, and about 40 spectroscopic members at ``1e15 M_sun/h``;
    on average a fraction ``f`` of the observed galaxies are interlopers (a
    cylinder cut of ``± window`` km/s around the cluster redshift).

    Summary features (the inputs of the networks of chapter 8), one row per
    cluster, in the order of :data:`FEATURE_NAMES`:

    ``log10_std``
        ``log10`` of the sample standard deviation (``ddof=1``) of the
        observed velocities, km/s.
    ``log10_mad``
        ``log10`` of a robust scale, ``1.4826 × median |v - median v|``, km/s
        (equals the sd for normal data, resists interlopers).
    ``log10_n``
        ``log10`` of the number of observed galaxies.
    ``kurtosis``
        Sample excess kurtosis of the velocities (about ``0`` for Gaussian
        members, slightly negative for few galaxies; a minority of interlopers
        spread over the wide window adds heavy tails and makes it positive).

    Parameters
    ----------
    n : int
        Number of clusters, ``>= 1``.
    seed : int, numpy.random.Generator or None
        Passed to :func:`numpy.random.default_rng`; use different seeds for
        training and test sets.
    prior_slope : float, default 0.0
        Index ``b`` of the prior on ``log10 M`` (0: uniform, the training
        prior of chapter 8); see :func:`log_mass_prior_logpdf`.
    log_mass_range : (float, float), default (14.0, 15.5)
        Support of the prior on ``log10 M``.
    sigma_pivot : float, default 1083.0
        Velocity dispersion at ``mass_pivot``, km/s.
    mass_pivot : float, default 1e15
        Pivot mass, ``M_sun/h``.
    scaling_slope : float, default 1/3
        Slope of ``log sigma_v`` against ``log M`` (virial: 1/3).
    scatter : float, default 0.1
        Standard deviation of ``ln sigma_v`` at fixed mass.
    richness_pivot : float, default 40.0
        Mean number of members above ``min_galaxies`` at ``mass_pivot``.
    richness_slope : float, default 0.8
        Slope of the mean number of members against mass.
    richness_scatter : float, default 0.5
        Standard deviation of ``ln lambda`` at fixed mass (the number of
        spectroscopic members is a noisy mass proxy).
    min_galaxies : int, default 5
        Members every cluster has at least (before the window cut).
    interloper_fraction : float, default 0.15
        Expected fraction of interlopers among the observed galaxies, in ``[0, 1)``.
    velocity_window : float, default 4000.0
        Half-width of the velocity window, km/s.
    return_details : bool, default False
        Also return a dict of per-cluster ``sigma_v`` (km/s, true dispersion),
        ``n_members``, ``n_interlopers`` (observed counts) and the list of
        observed ``velocities`` (km/s; members first, then interlopers).

    Returns
    -------
    features : ndarray, shape (n, 4), float64
        Summary statistics, columns :data:`FEATURE_NAMES`.
    log_mass : ndarray, shape (n,), float64
        True ``log10(M / (M_sun/h))``.
    details : dict
        Only when ``return_details`` is true.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer, ``interloper_fraction`` is not in
        ``[0, 1)``, or a scale, count or window is not positive.

    Notes
    -----
    A toy version of the problem of Ho et al. (2019), who trained networks on
    the velocity distributions of clusters from an N-body simulation; here
    the likelihood is explicit, so that the posterior of a network can be
    checked against the truth of the simulator (coverage of its intervals).
    """
    n = positive_int(n, "n")
    min_galaxies = positive_int(min_galaxies, "min_galaxies", minimum=4)
    f = probability(interloper_fraction, "interloper_fraction", allow_zero=True)
    positive_float(sigma_pivot, "sigma_pivot")
    positive_float(mass_pivot, "mass_pivot")
    positive_float(velocity_window, "velocity_window")
    positive_float(richness_pivot, "richness_pivot")
    positive_float(scatter, "scatter", allow_zero=True)
    positive_float(richness_scatter, "richness_scatter", allow_zero=True)

    rng = np.random.default_rng(seed)
    log_mass = sample_log_mass(n, rng, prior_slope, log_mass_range)
    ratio = 10.0 ** (log_mass - math.log10(mass_pivot))
    sigma_v = sigma_pivot * ratio**scaling_slope * np.exp(scatter * rng.standard_normal(n))
    lam = richness_pivot * ratio**richness_slope * np.exp(richness_scatter * rng.standard_normal(n))
    n_mem = min_galaxies + rng.poisson(lam)
    n_int = rng.poisson(n_mem * (f / (1.0 - f))) if f > 0 else np.zeros(n, dtype=np.int64)

    # Flat arrays of all galaxies, sorted by cluster, with segment reductions.
    members = rng.standard_normal(int(n_mem.sum())) * np.repeat(sigma_v, n_mem)
    keep = np.abs(members) <= velocity_window
    member_cluster = np.repeat(np.arange(n), n_mem)
    interlopers = rng.uniform(-velocity_window, velocity_window, size=int(n_int.sum()))
    cluster = np.concatenate([member_cluster[keep], np.repeat(np.arange(n), n_int)])
    v = np.concatenate([members[keep], interlopers])
    order = np.argsort(cluster, kind="stable")  # members first within a cluster
    cluster, v = cluster[order], v[order]
    n_obs_members = np.bincount(member_cluster[keep], minlength=n)
    count = np.bincount(cluster, minlength=n)
    if count.min() < 4:  # pragma: no cover - needs absurd parameters
        raise ValueError("some clusters have fewer than 4 galaxies in the window; widen velocity_window.")
    start = np.concatenate([[0], np.cumsum(count)[:-1]])

    mean = np.bincount(cluster, weights=v, minlength=n) / count
    dev = v - mean[cluster]
    m2 = np.bincount(cluster, weights=dev**2, minlength=n) / count
    m4 = np.bincount(cluster, weights=dev**4, minlength=n) / count
    std = np.sqrt(m2 * count / (count - 1.0))
    med = _segment_median(v, cluster, start, count)
    mad = _MAD_TO_SD * _segment_median(np.abs(v - med[cluster]), cluster, start, count)
    kurt = m4 / m2**2 - 3.0
    features = np.column_stack([np.log10(std), np.log10(mad), np.log10(count), kurt])
    if not return_details:
        return features, log_mass
    details = {
        "sigma_v": sigma_v,
        "n_members": n_obs_members,
        "n_interlopers": n_int,
        "velocities": np.split(v, np.cumsum(count)[:-1]),
    }
    return features, log_mass, details
