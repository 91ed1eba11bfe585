"""deepprob.tabular: the tabular regression protocol (issue 14) -- splits, standardisation, scores, grid search."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from deepprob import metrics, tabular


class Gaussian:
    """A Gaussian predictive of standardised y: N(a + b x_0, c^2)."""

    def __init__(self, a=0.0, b=0.0, c=1.0):
        self.a, self.b, self.c = a, b, c

    def normal(self, x):
        mu = self.a + self.b * x[:, :1]
        return mu, np.full_like(mu, self.c)

    def log_prob(self, x, y):
        mu, sd = self.normal(x)
        return stats.norm.logpdf(y, mu, sd)


class TwoComponents:
    """An equal mixture N(-d, 1), N(d, 1) of standardised y, with cdf and sample only (no normal)."""

    def __init__(self, d=1.0):
        self.d = d

    def log_prob(self, x, y):
        return np.log(0.5 * stats.norm.pdf(y, -self.d, 1.0) + 0.5 * stats.norm.pdf(y, self.d, 1.0))

    def cdf(self, x, y):
        return 0.5 * stats.norm.cdf(y, -self.d, 1.0) + 0.5 * stats.norm.cdf(y, self.d, 1.0)

    def sample(self, x, n, seed):
        rng = np.random.default_rng(seed)
        sign = rng.choice([-1.0, 1.0], size=(n, len(x), 1))
        return sign * self.d + rng.standard_normal((n, len(x), 1))


def linear_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(10.0, 20.0, size=(n, 2))
    y = 100.0 + 3.0 * x[:, :1] + 0.5 * rng.standard_normal((n, 1))
    return x, y


def least_squares(x, y, *, seed, ridge=0.0):
    """A method: Gaussian linear regression on standardised data, sd from the residuals."""
    design = np.hstack([np.ones((len(x), 1)), x])
    w = np.linalg.solve(design.T @ design + ridge * np.eye(design.shape[1]), design.T @ y)
    sd = float(np.std(y - design @ w))

    class Fitted:
        def normal(self, xt):
            mu = np.hstack([np.ones((len(xt), 1)), xt]) @ w
            return mu, np.full_like(mu, sd)

        def log_prob(self, xt, yt):
            mu, s = self.normal(xt)
            return stats.norm.logpdf(yt, mu, s)

    return Fitted()


# ------------------------------------------------------------------ splits
def test_splits_reproducible_disjoint_and_seeded():
    a = tabular.random_splits(506, 20, name="boston", base_seed=0)
    b = tabular.random_splits(506, 20, name="boston", base_seed=0)
    assert len(a) == 20
    for s, t in zip(a, b):
        assert np.array_equal(s.train, t.train) and np.array_equal(s.test, t.test)
        assert len(s.test) == 51 and len(s.train) == 455
        assert not set(s.train) & set(s.test)
        assert np.array_equal(np.sort(np.concatenate([s.train, s.test])), np.arange(506))
    assert len({tuple(s.test) for s in a}) == 20                       # every split differs
    other_name = tabular.random_splits(506, 1, name="diabetes", base_seed=0)[0]
    other_base = tabular.random_splits(506, 1, name="boston", base_seed=1)[0]
    assert not np.array_equal(other_name.test, a[0].test)
    assert not np.array_equal(other_base.test, a[0].test)


def test_validation_split_sizes_and_errors():
    v = tabular.validation_split(455, 0.2, seed=3)
    assert len(v.test) == 91 and len(v.train) == 364 and not set(v.train) & set(v.test)
    assert np.array_equal(v.test, tabular.validation_split(455, 0.2, seed=3).test)
    with pytest.raises(ValueError):
        tabular.random_splits(10, 2, test_fraction=1.5)
    with pytest.raises(ValueError):
        tabular.random_splits(3, 2, test_fraction=0.01)  # no test row


# ------------------------------------------------------------------ standardisation
def test_standardiser_uses_training_statistics_only():
    """The fit sees the training rows standardised by their own mean and sd; test rows never enter."""
    x, y = linear_data(200)
    seen = []

    def spy(xs, ys, *, seed):
        seen.append((xs.copy(), ys.copy()))
        return Gaussian()

    tabular.evaluate(spy, x, y, n_splits=2, name="spy", base_seed=0)
    splits = tabular.random_splits(200, 2, name="spy", base_seed=0)
    for (xs, ys), split in zip(seen, splits):
        np.testing.assert_allclose(xs.mean(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(xs.std(axis=0), 1.0, atol=1e-12)
        np.testing.assert_allclose(ys.mean(), 0.0, atol=1e-12)
        np.testing.assert_allclose(ys, (y[split.train] - y[split.train].mean()) / y[split.train].std())
    # corrupting the test rows changes nothing the fit sees
    x2, y2 = x.copy(), y.copy()
    x2[splits[0].test] += 1e6
    y2[splits[0].test] -= 1e6
    seen_before, seen[:] = list(seen), []
    tabular.evaluate(spy, x2, y2, n_splits=1, name="spy", base_seed=0)
    np.testing.assert_array_equal(seen[0][0], seen_before[0][0])
    np.testing.assert_array_equal(seen[0][1], seen_before[0][1])


def test_standardiser_constant_column_and_constant_target():
    x = np.column_stack([np.arange(5.0), np.full(5, 7.0)])
    s = tabular.Standardiser.from_training(x, np.arange(5.0))
    assert s.x_scale[1] == 1.0 and np.all(np.isfinite(s.x(x)))
    with pytest.raises(ValueError, match="constant"):
        tabular.Standardiser.from_training(x, np.ones(5))


# ------------------------------------------------------------------ scores in original units
def test_scores_in_original_units_match_a_hand_computation():
    rng = np.random.default_rng(1)
    x = rng.normal(5.0, 2.0, size=(300, 1))
    y = 40.0 + 8.0 * rng.standard_normal((300, 1))
    scaler = tabular.Standardiser(np.array([5.0]), np.array([2.0]), 40.0, 8.0)
    pred = Gaussian(a=0.1, b=0.3, c=0.9)
    got = tabular.score_predictive(pred, scaler.x(x), y, scaler)
    # by hand, in the original units: y ~ N(40 + 8 (0.1 + 0.3 x_std), (8 * 0.9)^2)
    mu = 40.0 + 8.0 * (0.1 + 0.3 * (x - 5.0) / 2.0)
    sd = 8.0 * 0.9
    assert got["ll"] == pytest.approx(np.mean(stats.norm.logpdf(y, mu, sd)), rel=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((y - mu) ** 2)), rel=1e-12)
    lo, hi = stats.norm.ppf(0.05, mu, sd), stats.norm.ppf(0.95, mu, sd)
    assert got["coverage90"] == pytest.approx(np.mean((y >= lo) & (y <= hi)))
    assert got["crps"] == pytest.approx(np.mean(metrics.crps_gaussian(y, mu, sd)), rel=1e-10)


def test_scores_of_a_mixture_through_cdf_and_draws():
    rng = np.random.default_rng(2)
    x = np.zeros((2000, 1))
    y = 10.0 + 3.0 * (rng.choice([-1.5, 1.5], size=(2000, 1)) + rng.standard_normal((2000, 1)))
    scaler = tabular.Standardiser(np.zeros(1), np.ones(1), 10.0, 3.0)
    got = tabular.score_predictive(TwoComponents(1.5), x, y, scaler, n_draws=4000, seed=0)
    dens = 0.5 * stats.norm.pdf(y, 10.0 - 4.5, 3.0) + 0.5 * stats.norm.pdf(y, 10.0 + 4.5, 3.0)
    assert got["ll"] == pytest.approx(np.mean(np.log(dens)), rel=1e-12)
    assert got["rmse"] == pytest.approx(np.sqrt(np.mean((y - 10.0) ** 2)), rel=0.01)  # mean of draws
    assert abs(got["coverage90"] - 0.9) < 3 * math.sqrt(0.09 / 2000)            # the true model
    # CRPS of the true mixture, by a large independent sample
    draws = 10.0 + 3.0 * TwoComponents(1.5).sample(x, 4000, 99)
    assert got["crps"] == pytest.approx(np.mean(metrics.crps_samples(y, draws, fair=True)), rel=0.02)


def test_score_rejects_a_non_predictive():
    scaler = tabular.Standardiser(np.zeros(1), np.ones(1), 0.0, 1.0)
    with pytest.raises(ValueError, match="not a predictive"):
        tabular.score_predictive(object(), np.zeros((3, 1)), np.zeros(3), scaler)


# ------------------------------------------------------------------ grid search
def sd_method(x, y, *, seed, sd):
    """N(0, sd^2) for standardised y: the validation ll is highest near sd = 1."""
    return Gaussian(0.0, 0.0, sd)


def normal_data(n=2000, seed=3):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1)), 50.0 + 10.0 * rng.standard_normal((n, 1))


def test_grid_selection_picks_the_known_best():
    x, y = normal_data()
    search = tabular.select_on_grid(sd_method, x, y, {"sd": [0.25, 0.5, 1.0, 2.0, 4.0]}, seed=0)
    assert search.best == {"sd": 1.0}
    assert search.at_edge == [] and search.extensions == 0 and search.n_fits == 5
    lls = {dict(k)["sd"]: v for k, v in search.tried.items()}
    assert lls[1.0] == max(lls.values()) == search.best_ll
    # the validation ll is in original units: about -log(10) - 0.5 log(2 pi e) at sd = 1
    assert search.best_ll == pytest.approx(-math.log(10.0) - 0.5 * math.log(2 * math.pi * math.e), abs=0.1)


def test_edge_of_grid_is_reported_and_extended():
    x, y = normal_data()
    low = {"sd": [0.0625, 0.125, 0.25]}
    fixed = tabular.select_on_grid(sd_method, x, y, low, seed=0, extend=False)
    assert fixed.best == {"sd": 0.25} and fixed.at_edge == ["sd"] and fixed.extensions == 0
    one = tabular.select_on_grid(sd_method, x, y, low, seed=0, max_extensions=1)
    assert one.best == {"sd": 0.5} and one.at_edge == ["sd"] and one.extensions == 1
    full = tabular.select_on_grid(sd_method, x, y, low, seed=0, max_extensions=5)
    assert full.best == {"sd": 1.0} and full.at_edge == [] and full.extensions == 3
    assert full.grid["sd"] == [0.0625, 0.125, 0.25, 0.5, 1.0, 2.0]
    bounded = tabular.select_on_grid(sd_method, x, y, low, seed=0, bounds={"sd": (0.0, 0.4)})
    assert bounded.best == {"sd": 0.4} and bounded.at_edge == ["sd"]
    # the low edge too, and a second axis that is not at its edge
    high = tabular.select_on_grid(lambda xs, ys, *, seed, sd, k: sd_method(xs, ys, seed=seed, sd=sd), x, y,
                                  {"sd": [4.0, 8.0], "k": ["a", "b"]}, seed=0, extend=False)
    assert high.best["sd"] == 4.0 and high.at_edge == ["sd"]


def test_an_integer_axis_is_extended_by_integers():
    x, y = normal_data()

    def by_count(xs, ys, *, seed, k):
        assert isinstance(k, int), k        # e.g. epochs, which fit() refuses as a float
        return Gaussian(0.0, 0.0, k / 10)

    search = tabular.select_on_grid(by_count, x, y, {"k": [1, 2, 3]}, seed=0, max_extensions=2)
    assert search.grid["k"] == [1, 2, 3, 4, 5] and search.at_edge == ["k"]


def test_evaluate_end_to_end_on_a_linear_gaussian_problem():
    x, y = linear_data(400)
    seen = []
    result = tabular.evaluate(least_squares, x, y, grid={"ridge": [0.0, 1.0, 10.0]}, n_splits=5,
                              name="linear", base_seed=0, on_split=seen.append)
    assert len(result.runs) == len(seen) == 5
    summary = result.summary()
    lls = np.array([r["ll"] for r in result.runs])
    assert summary["ll_mean"] == pytest.approx(lls.mean())
    assert summary["ll_se"] == pytest.approx(lls.std(ddof=1) / math.sqrt(5))
    # noise sd 0.5 in original units: ll near -log(0.5) - 0.5 log(2 pi e) = -0.726, RMSE near 0.5
    assert summary["ll_mean"] == pytest.approx(-math.log(0.5) - 0.5 * math.log(2 * math.pi * math.e), abs=0.15)
    assert summary["rmse_mean"] == pytest.approx(0.5, abs=0.1)
    assert 0.75 <= summary["coverage90_mean"] <= 1.0
    for run in result.runs:
        assert run["n_test"] == 40 and run["n_train"] == 360 and run["params"]["ridge"] in (0.0, 1.0, 10.0)
        assert run["n_fits"] >= 4  # 3 grid points (+ extensions, never below ridge = 0) + the final fit
    again = tabular.evaluate(least_squares, x, y, grid={"ridge": [0.0, 1.0, 10.0]}, n_splits=5,
                             name="linear", base_seed=0, splits=[3])
    assert again.runs[0]["ll"] == result.runs[3]["ll"]


# ------------------------------------------------------------------ data
@pytest.mark.parametrize("name, shape", [("boston", (506, 13)), ("boston_no_black", (506, 12)),
                                         ("diabetes", (442, 10)), ("motorcycle", (133, 1))])
def test_loaders_ship_offline(name, shape):
    x, y = tabular.DATASETS[name]()
    assert x.shape == shape and y.shape == (shape[0], 1)
    assert x.dtype == y.dtype == np.float64 and np.all(np.isfinite(x)) and np.all(np.isfinite(y))


def test_boston_target_is_medv_in_thousands():
    x, y = tabular.load_boston()
    assert y.min() == 5.0 and y.max() == 50.0 and y.mean() == pytest.approx(22.53, abs=0.01)


def test_published_rows_name_their_data_set_and_spread():
    assert set(tabular.PUBLISHED) <= set(tabular.DATASETS)
    for rows in tabular.PUBLISHED.values():
        for row in rows:
            assert row.spread in ("sd", "se") and row.source and row.method
            assert row.ll[0] < 0 < row.ll[1] and 0 < row.rmse[1] < row.rmse[0]
