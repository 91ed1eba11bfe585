"""deepprob.predictive: the mixture log density against scipy and explicit sums, score() on known answers,
and MixturePredictive's cdf and sample against each other.

Statistical checks use fixed seeds and tolerances derived from a standard error
(or the DKW bound), so they are deterministic and still fail if a formula is wrong.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from deepprob import metrics
from deepprob.predictive import (
    MixturePredictive,
    NormalPredictive,
    SamplePredictive,
    gaussian_mixture_log_prob,
    monte_carlo_log_prob,
    score,
)

MU = np.array([-1.0, 0.5, 2.0])
SD = np.array([0.5, 1.0, 0.3])
W = np.array([0.2, 0.5, 0.3])


# ------------------------------------------------------------------ the mixture log density
def test_mixture_log_prob_equals_log_of_the_explicit_sum():
    y = np.linspace(-4, 5, 37)
    want = np.log(np.sum(W * stats.norm.pdf(y[:, None], MU, SD), axis=1))
    got = gaussian_mixture_log_prob(y, np.broadcast_to(MU, (37, 3)), SD, W)
    assert got.shape == (37,)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_mixture_log_prob_far_in_the_tail_where_the_naive_sum_underflows():
    y = 60.0  # every density is below 1e-300: the naive sum is log(0) = -inf
    with np.errstate(divide="ignore"):
        naive = np.log(np.sum(W * stats.norm.pdf(y, MU, SD)))
    assert naive == -np.inf
    # the same sum, factored by hand around its largest term: log sum_k w_k e^{l_k} = l* + log sum_k w_k e^{l_k - l*}
    terms = [math.log(w) + stats.norm.logpdf(y, m, s) for w, m, s in zip(W, MU, SD)]
    top = max(terms)
    want = top + math.log(math.fsum(math.exp(t - top) for t in terms))
    got = float(gaussian_mixture_log_prob(y, MU, SD, W))
    assert math.isfinite(got)
    assert got == pytest.approx(want, rel=1e-12)
    assert want < -1000  # really out in the tail


def test_equal_weights_are_the_monte_carlo_predictive():
    rng = np.random.default_rng(0)
    s, n = 50, 8
    locs = rng.normal(size=(s, n))
    scales = np.exp(rng.normal(size=(s, 1)) - 1.0)  # one noise scale per draw
    y = rng.normal(size=n)
    want = np.log(np.mean(stats.norm.pdf(y[None, :], locs, scales), axis=0))  # log (1/S) sum_s N(y; mu_s, sd_s)
    got = monte_carlo_log_prob(y, locs, scales)
    assert got.shape == (n,)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the same with the draws on the last axis, and with explicit equal weights
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, locs.T, scales.T), want, rtol=1e-12)
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, locs, scales, np.full(s, 3.0), axis=0), want, rtol=1e-12)


def test_weights_are_normalised_and_a_zero_weight_drops_a_component():
    y = np.array([-1.0, 0.0, 2.5])
    mu = np.broadcast_to(MU, (3, 3))
    ref = gaussian_mixture_log_prob(y, mu, SD, W)
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, mu, SD, 10 * W), ref, rtol=1e-13)
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, mu, SD, log_weights=np.log(W) + 7.0), ref, rtol=1e-13)
    one = gaussian_mixture_log_prob(y, mu, SD, [0.0, 2.0, 0.0])
    np.testing.assert_allclose(one, stats.norm.logpdf(y, MU[1], SD[1]), rtol=1e-13)


def test_per_point_log_weights_as_in_a_mixture_density_network():
    rng = np.random.default_rng(1)
    n, k = 20, 4
    log_w = special.log_softmax(3 * rng.normal(size=(n, k)), axis=1)
    mu, sd, y = rng.normal(size=(n, k)), np.exp(rng.normal(size=(n, k))), rng.normal(size=n)
    want = np.log(np.sum(np.exp(log_w) * stats.norm.pdf(y[:, None], mu, sd), axis=1))
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, mu, sd, log_weights=log_w), want, rtol=1e-12)
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, mu, sd, np.exp(log_w)), want, rtol=1e-12)
    # the components on axis 0 instead
    np.testing.assert_allclose(gaussian_mixture_log_prob(y, mu.T, sd.T, log_weights=log_w.T, axis=0), want,
                               rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(y=np.zeros(5), mu=np.zeros((5, 1, 3)), sigma=1.0), "outer product"),
        (dict(y=np.zeros(4), mu=np.zeros((5, 3)), sigma=1.0), "does not match mu"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=np.ones((5, 4))), "do not broadcast"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=-np.ones((5, 3))), "sigma must be positive"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=0.0), "sigma must be positive"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=1.0, weights=[1.0, -1.0, 1.0]), "non-negative"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=1.0, weights=[0.0, 0.0, 0.0]), "sum to 0"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=1.0, weights=[1.0, 1.0]), r"shape \(K,\) = \(3,\)"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=1.0, weights=W, log_weights=np.log(W)), "not both"),
        (dict(y=np.zeros(5), mu=np.zeros((5, 3)), sigma=1.0, axis=2), "out of range"),
        (dict(y=np.zeros(5), mu=0.0, sigma=1.0), "component axis"),
        (dict(y=[0.0, np.nan], mu=np.zeros((2, 3)), sigma=1.0), "y contains NaN"),
    ],
)
def test_bad_input_raises_a_value_error_that_says_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gaussian_mixture_log_prob(**kwargs)


# ------------------------------------------------------------------ score
def _standard_normal_data(n, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, 1)), rng.standard_normal((n, 1))


def test_score_of_the_true_normal_predictive():
    n = 20_000
    x, y = _standard_normal_data(n, seed=3)
    pred = NormalPredictive(lambda x: (np.zeros_like(x), np.ones_like(x)))
    oracle = stats.norm.logpdf(y)
    sc = score(pred, x, y, oracle_log_prob=oracle, chunk=7_000)  # chunks of 7000, 7000, 6000 points
    assert sc["nll"] == pytest.approx(-np.mean(stats.norm.logpdf(y)), rel=1e-12)
    assert sc["nll_se"] == pytest.approx(np.std(stats.norm.logpdf(y), ddof=1) / math.sqrt(n), rel=1e-6)
    assert sc["gap"] == 0.0
    # coverage of the central 90% interval: Binomial(n, 0.9) / n, s.e. sqrt(0.9 * 0.1 / n) = 0.0021
    assert abs(sc["coverage"] - 0.9) < 3 * math.sqrt(0.9 * 0.1 / n)
    # E CRPS(N(0, 1), Y) for Y ~ N(0, 1) is E|X - Y| - E|X - X'| / 2 = 2/sqrt(pi) - 1/sqrt(pi) = 1/sqrt(pi)
    crps = metrics.crps_gaussian(y, 0.0, 1.0)
    assert sc["crps"] == pytest.approx(float(np.mean(crps)), rel=1e-12)
    assert abs(sc["crps"] - 1 / math.sqrt(math.pi)) < 3 * np.std(crps) / math.sqrt(n)


def test_score_level_and_the_sample_path():
    n = 8_000
    x, y = _standard_normal_data(n, seed=4)
    normal = NormalPredictive(lambda x: (np.zeros_like(x), np.ones_like(x)))
    at_half = score(normal, x, y, level=0.5)
    assert abs(at_half["coverage"] - 0.5) < 3 * math.sqrt(0.25 / n)
    # the same N(0, 1) known only through draws: PIT from 200 draws, fair CRPS estimator
    draws = SamplePredictive(lambda x, y: stats.norm.logpdf(y),
                             lambda x, s, seed: np.random.default_rng(seed).standard_normal((s,) + x.shape))
    sc = score(draws, x, y, seed=1)
    assert sc["nll"] == pytest.approx(score(normal, x, y)["nll"], rel=1e-12)
    # PIT from S = 200 draws is discrete: P(inside) = P(10 <= #draws below y <= 190) / ... ~ 0.9 +- O(1/S)
    assert abs(sc["coverage"] - 0.9) < 3 * math.sqrt(0.09 / n) + 1.0 / 200
    assert abs(sc["crps"] - 1 / math.sqrt(math.pi)) < 3 * 0.45 / math.sqrt(n)  # sd of the CRPS of one point: 0.40
    # exactly the fair (unbiased) sample estimator on the predictive's own 200 draws (one chunk: seed + 0)
    same_draws = draws.sample(x, 200, 1)
    assert sc["crps"] == pytest.approx(float(np.mean(metrics.crps_samples(y, same_draws, fair=True))), rel=1e-12)
    pit, alpha = metrics.pit_samples(y, same_draws), 0.5 * (1 - 0.9)
    assert sc["coverage"] == float(np.mean((pit >= alpha) & (pit <= 1 - alpha)))
    assert abs(score(draws, x, y, seed=1, level=0.5)["coverage"] - 0.5) < 3 * math.sqrt(0.25 / n) + 1.0 / 200
    # reproducible given the seed
    assert score(draws, x, y, seed=1) == sc


def test_score_refuses_what_is_not_a_predictive():
    x, y = _standard_normal_data(10, seed=0)

    class OnlyLogProb:
        def log_prob(self, x, y):
            return np.zeros_like(y)

    with pytest.raises(ValueError, match="not a predictive"):
        score(OnlyLogProb(), x, y)
    normal = NormalPredictive(lambda x: (np.zeros_like(x), np.ones_like(x)))
    with pytest.raises(ValueError, match="level"):
        score(normal, x, y, level=90)
    with pytest.raises(ValueError, match="n_draws"):
        score(normal, x, y, n_draws=0)
    with pytest.raises(ValueError, match="same number of rows"):
        score(normal, x, y[:5])


# ------------------------------------------------------------------ MixturePredictive
def _components(x):
    mu = np.concatenate([np.sin(x), np.sin(x) + 2.0, -x], axis=-1)[:, :, None].transpose(0, 2, 1)  # (N, 1, 3)
    sd = np.broadcast_to(np.array([0.3, 0.5, 0.2]), mu.shape)
    return mu, sd


def test_mixture_predictive_log_prob_and_cdf_against_scipy():
    x = np.linspace(-1, 1, 9)[:, None]
    y = np.linspace(-2, 3, 9)[:, None]
    pred = MixturePredictive(_components, weights=[1.0, 2.0, 1.0])
    mu, sd = _components(x)
    w = np.array([0.25, 0.5, 0.25])
    want_pdf = np.sum(w * stats.norm.pdf(y[..., None], mu, sd), axis=-1)
    want_cdf = np.sum(w * stats.norm.cdf(y[..., None], mu, sd), axis=-1)
    np.testing.assert_allclose(pred.log_prob(x, y), np.log(want_pdf), rtol=1e-12)
    np.testing.assert_allclose(pred.cdf(x, y), want_cdf, rtol=1e-12)
    assert pred.log_prob(x, y).shape == (9, 1)
    with pytest.raises(ValueError, match="non-negative"):
        MixturePredictive(_components, weights=[1.0, -1.0, 1.0])


@pytest.mark.parametrize("sampled_weights, agrees", [([1.0, 2.0, 1.0], True), ([2.0, 1.0, 1.0], False)])
def test_mixture_predictive_draws_follow_its_cdf(sampled_weights, agrees):
    """Kolmogorov-Smirnov distance between the draws and ``cdf``, at three inputs.

    DKW: P(sup |F_S - F| > eps) <= 2 exp(-2 S eps^2); with S = 4000 draws and
    eps = 0.04 that is 6e-6 per input. A sampler with the wrong weights (the
    second case, 1/2 instead of 1/4 on the first component) is off by about 0.25
    and must be caught: the check can fail.
    """
    s, eps = 4000, 0.04
    x = np.array([[-0.8], [0.1], [0.9]])
    pred = MixturePredictive(_components, weights=[1.0, 2.0, 1.0])
    draws = MixturePredictive(_components, weights=sampled_weights).sample(x, s, seed=11)
    assert draws.shape == (s, 3, 1)
    for i in range(len(x)):
        ys = np.sort(draws[:, i, 0])
        f = pred.cdf(np.repeat(x[i:i + 1], s, axis=0), ys[:, None])[:, 0]
        ks = max(np.max(np.arange(1, s + 1) / s - f), np.max(f - np.arange(s) / s))
        assert (ks < eps) == agrees, (i, ks)
    again = MixturePredictive(_components, weights=sampled_weights).sample(x, s, seed=11)
    np.testing.assert_array_equal(draws, again)
