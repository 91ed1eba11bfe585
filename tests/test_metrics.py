"""Tests of deepprob.metrics against scipy.stats, closed forms, quadrature and Monte Carlo.

Monte Carlo checks use fixed seeds and a tolerance of 4 standard errors (a
correct implementation fails with probability about 6e-5 per check for a
fresh seed; with the fixed seed the outcome is deterministic).
"""

import math
import statistics

import numpy as np
import pytest
from scipy import integrate, stats

from deepprob import metrics


# ------------------------------------------------------------------------------ NLL
def test_mean_nll_and_standard_error_match_statistics_module():
    rng = np.random.default_rng(0)
    lp = rng.normal(-1.3, 0.7, size=101)
    assert metrics.mean_nll(lp) == pytest.approx(-statistics.fmean(lp.tolist()), rel=1e-12)
    expected_se = statistics.stdev(lp.tolist()) / math.sqrt(lp.size)
    assert metrics.nll_standard_error(lp) == pytest.approx(expected_se, rel=1e-12)
    assert isinstance(metrics.mean_nll(lp), float)


def test_mean_nll_hand_example_and_infinite_log_prob():
    # -mean([-1, -2]) = 1.5
    assert metrics.mean_nll([-1.0, -2.0]) == 1.5
    assert metrics.mean_nll([-1.0, -np.inf]) == math.inf


@pytest.mark.parametrize("bad", [[], [np.nan, 1.0]])
def test_mean_nll_rejects_empty_and_nan(bad):
    with pytest.raises(ValueError):
        metrics.mean_nll(bad)


def test_nll_standard_error_needs_two_points():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.nll_standard_error([0.3])


# ------------------------------------------------------------------------- Gaussian
def test_gaussian_log_prob_matches_scipy_with_broadcasting():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(5, 1))
    mu = rng.normal(size=(1, 4))
    sigma = rng.uniform(0.1, 3.0, size=(1, 4))
    got = metrics.gaussian_log_prob(y, mu, sigma)
    assert got.shape == (5, 4)
    np.testing.assert_allclose(got, stats.norm.logpdf(y, mu, sigma), rtol=1e-12)
    assert isinstance(metrics.gaussian_log_prob(0.0, 0.0, 1.0), float)
    # log N(0; 0, 1) = -1/2 log(2 pi)
    assert metrics.gaussian_log_prob(0.0, 0.0, 1.0) == pytest.approx(-0.5 * math.log(2 * math.pi))


@pytest.mark.parametrize("sigma", [0.0, -1.0, [1.0, -0.5]])
def test_nonpositive_sigma_is_refused_with_a_hint(sigma):
    with pytest.raises(ValueError, match="log-variance"):
        metrics.gaussian_log_prob([0.0, 1.0], 0.0, sigma)
    with pytest.raises(ValueError, match="sigma must be positive"):
        metrics.crps_gaussian([0.0, 1.0], 0.0, sigma)


def test_shapes_that_do_not_broadcast_are_reported():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        metrics.gaussian_log_prob(np.zeros(3), np.zeros(4), 1.0)
    with pytest.raises(ValueError, match=r"\(3,\)"):
        metrics.pit_gaussian(np.zeros(3), np.zeros(4), 1.0)


def test_gaussian_interval_matches_scipy():
    mu = np.array([-1.0, 0.0, 2.5])
    sigma = np.array([0.5, 1.0, 2.0])
    for level in (0.5, 0.9, 0.99):
        lo, hi = metrics.gaussian_interval(mu, sigma, level)
        ref_lo, ref_hi = stats.norm.interval(level, loc=mu, scale=sigma)
        np.testing.assert_allclose(lo, ref_lo, rtol=1e-12)
        np.testing.assert_allclose(hi, ref_hi, rtol=1e-12)


@pytest.mark.parametrize("level", [0.0, 1.0, -0.1, 1.5, 90])
def test_level_outside_open_unit_interval_is_refused(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.gaussian_interval(0.0, 1.0, level)
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.coverage_curve([0.0], [0.0], [1.0], [0.5, level])


# ------------------------------------------------------------------------- coverage
def test_interval_coverage_hand_example():
    # y = 0, 0.5, 1, 2, 3 in [0.5, 2]: 0.5, 1 and 2 inside (both bounds count
    # as inside) -> 3/5.
    assert metrics.interval_coverage([0.0, 0.5, 1.0, 2.0, 3.0], 0.5, 2.0) == 0.6


def test_interval_coverage_refuses_outer_broadcast_and_swapped_bounds():
    y = np.zeros(10)
    with pytest.raises(ValueError, match="every point with every prediction"):
        metrics.interval_coverage(y, np.zeros((10, 1)) - 1, np.zeros((10, 1)) + 1)
    with pytest.raises(ValueError, match="swap"):
        metrics.interval_coverage(y, 1.0, -1.0)


def test_coverage_curve_calibrated_and_overconfident_by_monte_carlo():
    rng = np.random.default_rng(2)
    n = 20_000
    mu = rng.normal(size=n)
    sigma = rng.uniform(0.5, 2.0, size=n)
    y = mu + sigma * rng.standard_normal(n)
    levels = np.array([0.1, 0.5, 0.8, 0.9, 0.95])

    observed = metrics.coverage_curve(y, mu, sigma, levels)
    assert observed.shape == levels.shape
    se = np.sqrt(levels * (1 - levels) / n)  # binomial standard error
    assert np.all(np.abs(observed - levels) < 4 * se), (observed, levels)

    # Consistency with gaussian_interval + interval_coverage at each level.
    for level, obs in zip(levels, observed):
        lo, hi = metrics.gaussian_interval(mu, sigma, level)
        assert metrics.interval_coverage(y, lo, hi) == obs

    # Over-confident model (sigma halved): coverage of the nominal level-p
    # interval is P(|Z| <= z_p / 2) = 2 Phi(z_p / 2) - 1 (e.g. 0.589 at 0.9).
    observed_half = metrics.coverage_curve(y, mu, sigma / 2, levels)
    expected = 2 * stats.norm.cdf(stats.norm.ppf(0.5 + levels / 2) / 2) - 1
    se = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(observed_half - expected) < 4 * se)


# ------------------------------------------------------------------------------ PIT
def test_pit_gaussian_matches_scipy_and_is_uniform_when_calibrated():
    rng = np.random.default_rng(3)
    n = 20_000
    mu = rng.normal(size=(n, 1))
    sigma = rng.uniform(0.5, 2.0, size=(n, 1))
    y = mu + sigma * rng.standard_normal((n, 1))
    pit = metrics.pit_gaussian(y, mu, sigma)
    np.testing.assert_allclose(pit, stats.norm.cdf(y, mu, sigma), rtol=1e-12, atol=1e-300)
    # Uniform(0, 1): mean 1/2, sd 1/sqrt(12) -> SE of the mean sqrt(1/(12 n)).
    assert abs(pit.mean() - 0.5) < 4 * math.sqrt(1 / (12 * n))
    # And variance 1/12: SE of the sample variance sqrt((mu4 - var^2) / n) with
    # mu4 = 1/80 for Uniform(0, 1).
    assert abs(pit.var() - 1 / 12) < 4 * math.sqrt((1 / 80 - 1 / 144) / n)


def test_pit_samples_hand_example_counts_ties_as_below():
    samples = np.array([[1.0], [2.0], [3.0], [4.0]])  # S = 4 draws, N = 1 point
    # 2 of 4 draws <= 2.5; 2 of 4 draws <= 2 (tie counted); 0 of 4 <= 0.
    assert metrics.pit_samples([2.5], samples)[0] == 0.5
    assert metrics.pit_samples([2.0], samples)[0] == 0.5
    assert metrics.pit_samples([0.0], samples)[0] == 0.0


def test_pit_samples_agrees_with_pit_gaussian():
    rng = np.random.default_rng(4)
    s, n = 20_000, 30
    mu = rng.normal(size=n)
    sigma = rng.uniform(0.5, 2.0, size=n)
    y = mu + sigma * rng.standard_normal(n)
    samples = mu + sigma * rng.standard_normal((s, n))
    got = metrics.pit_samples(y, samples)
    exact = stats.norm.cdf(y, mu, sigma)
    se = np.sqrt(exact * (1 - exact) / s)  # binomial SE of a fraction of S draws
    assert np.all(np.abs(got - exact) < 4 * se + 1e-12)


def test_pit_samples_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match=r"samples.shape\[1:\]"):
        metrics.pit_samples(np.zeros((5, 1)), np.zeros((10, 5)))
    with pytest.raises(ValueError, match=r"samples.shape\[1:\]"):
        metrics.crps_samples(np.zeros(4), np.zeros((10, 5)))


# ----------------------------------------------------------------------------- CRPS
def _crps_by_quadrature(y, mu, sigma):
    """int (F(z) - 1[z >= y])^2 dz, split at y where the integrand jumps."""
    left = integrate.quad(lambda z: stats.norm.cdf(z, mu, sigma) ** 2, -np.inf, y,
                          epsabs=1e-12, epsrel=1e-12)[0]
    right = integrate.quad(lambda z: stats.norm.sf(z, mu, sigma) ** 2, y, np.inf,
                           epsabs=1e-12, epsrel=1e-12)[0]
    return left + right


@pytest.mark.parametrize("y, mu, sigma", [(0.0, 0.0, 1.0), (1.3, -0.4, 0.7),
                                          (-3.0, 2.0, 2.5), (10.0, 0.0, 0.5)])
def test_crps_gaussian_matches_numerical_integration(y, mu, sigma):
    assert metrics.crps_gaussian(y, mu, sigma) == pytest.approx(
        _crps_by_quadrature(y, mu, sigma), rel=1e-7, abs=1e-10)


def test_crps_gaussian_limits():
    # At y = mu: sigma (2 phi(0) - 1/sqrt(pi)) = sigma (sqrt(2) - 1) / sqrt(pi).
    assert metrics.crps_gaussian(0.0, 0.0, 2.0) == pytest.approx(2 * (math.sqrt(2) - 1) / math.sqrt(math.pi))
    # sigma -> 0: the CRPS of a point forecast is the absolute error.
    assert metrics.crps_gaussian(3.0, 1.0, 1e-9) == pytest.approx(2.0, rel=1e-8)


def _crps_samples_naive(y, x, fair):
    s = x.size
    pair = np.abs(x[:, None] - x[None, :]).sum()
    return np.abs(x - y).mean() - 0.5 * pair / (s * (s - 1) if fair else s * s)


@pytest.mark.parametrize("fair", [False, True])
def test_crps_samples_sorted_formula_equals_naive_double_sum(fair):
    rng = np.random.default_rng(5)
    samples = rng.gamma(2.0, size=(57, 3, 2))  # (S, N, D), skewed on purpose
    y = rng.normal(size=(3, 2))
    got = metrics.crps_samples(y, samples, fair=fair)
    assert got.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert got[i, j] == pytest.approx(_crps_samples_naive(y[i, j], samples[:, i, j], fair), rel=1e-12)


def test_crps_samples_is_the_crps_of_the_empirical_cdf():
    # With fair=False the estimator is exactly int (F_S(z) - 1[z >= y])^2 dz for
    # the step function F_S; integrate it exactly between consecutive knots.
    x = np.array([0.3, -1.2, 2.0, 0.3, 5.0])
    y = 0.9
    knots = np.sort(np.append(x, y))
    total = 0.0
    for a, b in zip(knots[:-1], knots[1:]):
        mid = 0.5 * (a + b)
        total += (b - a) * (np.mean(x <= mid) - float(mid >= y)) ** 2
    assert metrics.crps_samples([y], x[:, None])[0] == pytest.approx(total, rel=1e-12)


def test_crps_samples_converges_to_closed_form():
    # R = 400 independent replicates of S = 2000 draws from N(mu, sigma^2) for
    # one observation y; the fair estimator is unbiased, so its replicate mean
    # lies within 4 standard errors (sd over replicates / sqrt(R)) of the closed form.
    rng = np.random.default_rng(6)
    mu, sigma, y = 0.4, 1.7, -0.8
    s, r = 2000, 400
    samples = mu + sigma * rng.standard_normal((s, r))
    exact = metrics.crps_gaussian(y, mu, sigma)
    fair = metrics.crps_samples(np.full(r, y), samples, fair=True)
    se = fair.std(ddof=1) / math.sqrt(r)
    assert abs(fair.mean() - exact) < 4 * se
    # The plain (empirical-CDF) estimator is higher by exactly
    # (1/2) * pair_sum * (1/(S(S-1)) - 1/S^2) = E_hat|X - X'| / (2 S) on average,
    # i.e. sigma / (sqrt(pi) S) for a normal predictive.
    # Checked within 4 standard errors of the replicate mean.
    plain = metrics.crps_samples(np.full(r, y), samples)
    bias = sigma / (math.sqrt(math.pi) * s)
    diff = plain - fair
    assert abs(diff.mean() - bias) < 4 * diff.std(ddof=1) / math.sqrt(r)


def test_crps_samples_fair_needs_two_samples():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.crps_samples([0.0], np.zeros((1, 1)), fair=True)


# ------------------------------------------- the shared checks (issue 15)
@pytest.mark.parametrize("sigma", [True, math.inf, math.nan, 0.0, [1.0, False]])
def test_sigma_refuses_bools_inf_nan_and_zero(sigma):
    """True used to pass as a standard deviation of 1; now every score refuses it."""
    for score in (metrics.gaussian_log_prob, metrics.pit_gaussian, metrics.crps_gaussian):
        with pytest.raises(ValueError, match="bool|infinite|NaN|log-variance"):
            score([0.0, 1.0], 0.0, sigma)


@pytest.mark.parametrize("level", [True, math.inf, math.nan, 0, "0.9"])
def test_levels_refuse_bools_inf_nan_zero_and_text(level):
    with pytest.raises(ValueError, match="not a bool|not text|between 0 and 1"):
        metrics.gaussian_interval(0.0, 1.0, level)
    with pytest.raises(ValueError, match="not a bool|not text|between 0 and 1"):
        metrics.coverage_curve([0.0], [0.0], [1.0], level)


def test_coverage_curve_refuses_boolean_levels_and_keeps_scalar_levels():
    with pytest.raises(ValueError, match="not bools"):
        metrics.coverage_curve([0.0], [0.0], [1.0], np.array([True, False]))
    assert metrics.coverage_curve([0.0, 3.0], [0.0, 0.0], [1.0, 1.0], 0.9) == 0.5
