"""Tests of deepprob.conjugate against scipy.stats, Monte Carlo and optimisation.

Monte Carlo checks use fixed seeds and a tolerance of 4 standard errors.
"""
import math

import numpy as np
import pytest
from scipy import optimize, stats

from deepprob.conjugate import BayesianLinearRegression, kl_gaussians


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    n = 25
    x = rng.uniform(-2, 2, n)
    X = np.c_[np.ones(n), x, x**2]
    y = X @ np.array([0.5, -1.0, 0.3]) + 0.4 * rng.normal(size=n)
    return BayesianLinearRegression(prior_sd=1.5, noise_sd=0.4), X, y


def test_log_evidence_matches_scipy_multivariate_normal(problem):
    blr, X, y = problem
    cov = blr.noise_sd**2 * np.eye(len(y)) + blr.prior_sd**2 * X @ X.T
    want = stats.multivariate_normal(np.zeros(len(y)), cov).logpdf(y)
    assert blr.log_evidence(X, y) == pytest.approx(want, rel=1e-10, abs=1e-9)


def test_posterior_by_bayes_rule_on_a_grid():
    """1-D weight: normalise prior x likelihood numerically and compare moments."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(8, 1))
    y = 0.7 * X[:, 0] + 0.3 * rng.normal(size=8)
    blr = BayesianLinearRegression(0.8, 0.3)
    w = np.linspace(-3, 3, 20001)
    log_joint = stats.norm(0, 0.8).logpdf(w) + stats.norm.logpdf(y[:, None], X[:, 0][:, None] * w, 0.3).sum(0)
    dens = np.exp(log_joint - log_joint.max())
    step = w[1] - w[0]
    z = dens.sum() * step
    mean = (w * dens).sum() * step / z
    var = ((w - mean) ** 2 * dens).sum() * step / z
    m, S = blr.posterior(X, y)
    assert m[0] == pytest.approx(mean, rel=1e-8)
    assert S[0, 0] == pytest.approx(var, rel=1e-6)
    assert blr.log_evidence(X, y) == pytest.approx(math.log(z) + log_joint.max(), abs=1e-8)


def test_elbo_equals_evidence_at_posterior_and_identity(problem):
    blr, X, y = problem
    m, S = blr.posterior(X, y)
    log_ev = blr.log_evidence(X, y)
    assert blr.elbo(X, y, m, S) == pytest.approx(log_ev, abs=1e-9)
    rng = np.random.default_rng(2)
    for _ in range(5):
        A = rng.normal(size=(3, 3)) * 0.3
        mq, Sq = m + 0.3 * rng.normal(size=3), A @ A.T + 0.01 * np.eye(3)
        elbo = blr.elbo(X, y, mq, Sq)
        gap = blr.kl_to_posterior(X, y, mq, Sq)
        assert elbo < log_ev
        assert elbo + gap == pytest.approx(log_ev, abs=1e-9)


def test_expected_log_likelihood_and_elbo_by_monte_carlo(problem):
    blr, X, y = problem
    rng = np.random.default_rng(3)
    mq, vq = np.array([0.4, -0.9, 0.2]), np.array([0.05, 0.02, 0.01])
    w = mq + np.sqrt(vq) * rng.normal(size=(20000, 3))
    log_lik = stats.norm.logpdf(y, w @ X.T, blr.noise_sd).sum(1)
    log_prior = stats.norm.logpdf(w, 0, blr.prior_sd).sum(1)
    log_q = stats.norm.logpdf(w, mq, np.sqrt(vq)).sum(1)
    for f, sample in [(blr.expected_log_likelihood, log_lik), (blr.elbo, log_lik + log_prior - log_q)]:
        se = sample.std(ddof=1) / math.sqrt(len(sample))
        assert abs(f(X, y, mq, vq) - sample.mean()) < 4 * se
    # diagonal given as (D,) variances == the same (D, D) matrix
    assert blr.elbo(X, y, mq, vq) == pytest.approx(blr.elbo(X, y, mq, np.diag(vq)), rel=1e-14)


def test_mean_field_is_the_best_diagonal_q(problem):
    blr, X, y = problem
    mean, var = blr.mean_field(X, y)

    def neg_elbo(theta):
        return -blr.elbo(X, y, theta[:3], np.exp(theta[3:]))

    res = optimize.minimize(neg_elbo, np.zeros(6), method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(res.x[:3], mean, atol=1e-5)
    np.testing.assert_allclose(np.exp(res.x[3:]), var, rtol=1e-4)
    _, S = blr.posterior(X, y)
    assert np.all(var <= np.diag(S) + 1e-15)  # mean-field under-estimates the marginal variances
    gap = blr.log_evidence(X, y) - blr.elbo(X, y, mean, var)
    assert gap > 0
    assert gap == pytest.approx(blr.kl_to_posterior(X, y, mean, var), rel=1e-9)


def test_kl_gaussians_by_monte_carlo_and_zero():
    rng = np.random.default_rng(4)
    mq, mp = rng.normal(size=2), rng.normal(size=2)
    Sq, Sp = np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([[2.0, -0.4], [-0.4, 1.0]])
    z = stats.multivariate_normal(mq, Sq).rvs(size=50000, random_state=rng)
    lr = stats.multivariate_normal(mq, Sq).logpdf(z) - stats.multivariate_normal(mp, Sp).logpdf(z)
    assert abs(kl_gaussians(mq, Sq, mp, Sp) - lr.mean()) < 4 * lr.std(ddof=1) / math.sqrt(len(lr))
    assert kl_gaussians(mq, Sq, mq, Sq) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda b, X, y: BayesianLinearRegression(0.0, 1.0),
        lambda b, X, y: BayesianLinearRegression(1.0, -1.0),
        lambda b, X, y: b.log_evidence(X[:, 0], y),
        lambda b, X, y: b.log_evidence(X, y[:-1]),
        lambda b, X, y: b.elbo(X, y, np.zeros(2), np.ones(3)),
        lambda b, X, y: b.elbo(X, y, np.zeros(3), -np.ones(3)),
        lambda b, X, y: b.elbo(X, y, np.zeros(3), np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])),
    ],
)
def test_bad_input_raises_value_error(problem, call):
    blr, X, y = problem
    with pytest.raises(ValueError):
        call(blr, X, y)


@pytest.mark.parametrize("sd", [True, math.inf, math.nan, 0.0, "1.0", None])
def test_standard_deviations_refuse_bools_inf_nan_zero_and_text(sd):
    """True used to pass as a standard deviation of 1 (issue 15)."""
    with pytest.raises(ValueError, match="prior_sd must be"):
        BayesianLinearRegression(sd, 1.0)
    with pytest.raises(ValueError, match="noise_sd must be"):
        BayesianLinearRegression(1.0, sd)


def test_shared_docstrings_are_filled_in():
    for method in ("posterior", "log_evidence", "expected_log_likelihood", "elbo"):
        doc = getattr(BayesianLinearRegression, method).__doc__
        assert "%(" not in doc and "X : array_like, shape (N, D)" in doc
    assert "q_cov : array_like, shape (D, D) or (D,)" in BayesianLinearRegression.elbo.__doc__
