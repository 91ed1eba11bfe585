"""Tests of deepprob.numpyro.svi against the exact posterior and evidence of deepprob.conjugate.

Monte Carlo checks use fixed seeds and a tolerance of 4 standard errors.
"""
import numpy as np
import pytest

pytest.importorskip("numpyro")

import jax  # noqa: E402
from numpyro.infer import Predictive  # noqa: E402
from numpyro.infer.autoguide import AutoMultivariateNormal, AutoNormal  # noqa: E402

from deepprob.conjugate import BayesianLinearRegression  # noqa: E402
from deepprob.numpyro import svi  # noqa: E402

KW = dict(prior_sd=1.0, noise_sd=0.5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 2, 15)
    X = np.c_[np.ones(15), x]
    y = X @ np.array([0.5, 1.0]) + 0.5 * rng.normal(size=15)
    return X, y, BayesianLinearRegression(**KW)


def test_model_sites_and_prior_predictive(data):
    X, y, _ = data
    samples = Predictive(svi.bayesian_linear_regression, num_samples=4000)(jax.random.PRNGKey(0), X, **KW)
    assert samples["w"].shape == (4000, 2) and samples["y"].shape == (4000, 15)
    # prior predictive covariance of y is s^2 I + tau^2 X X^T
    cov = np.cov(np.asarray(samples["y"]), rowvar=False)
    want = 0.25 * np.eye(15) + X @ X.T
    assert np.abs(cov - want).max() < 0.15 * np.abs(want).max()


def test_full_rank_svi_recovers_exact_posterior_and_elbo_estimate(data):
    X, y, blr = data
    guide = AutoMultivariateNormal(svi.bayesian_linear_regression)
    params, losses = svi.fit_svi(svi.bayesian_linear_regression, guide, X, y, num_steps=1500,
                                 step_size=lambda i: 0.05 * 0.997**i, num_particles=16, seed=0, **KW)
    assert losses.shape == (1500,) and np.all(np.isfinite(losses))
    m = np.asarray(params["auto_loc"], dtype=np.float64)
    L = np.asarray(params["auto_scale_tril"], dtype=np.float64)
    mean, cov = blr.posterior(X, y)
    np.testing.assert_allclose(m, mean, atol=0.03)
    np.testing.assert_allclose(np.sqrt(np.diag(L @ L.T)), np.sqrt(np.diag(cov)), rtol=0.1)
    analytic = blr.elbo(X, y, m, L @ L.T)
    assert blr.log_evidence(X, y) - analytic < 0.05
    est, se = svi.elbo_estimate(svi.bayesian_linear_regression, guide, params, X, y, num_particles=2000, seed=1, **KW)
    assert abs(est - analytic) < 4 * se + 1e-4  # float32 arithmetic inside NumPyro


def test_mean_field_elbo_estimate_matches_closed_form(data):
    X, y, blr = data
    guide = AutoNormal(svi.bayesian_linear_regression)
    params, _ = svi.fit_svi(svi.bayesian_linear_regression, guide, X, y, num_steps=10, **KW)
    m = np.asarray(params["w_auto_loc"], dtype=np.float64)
    v = np.asarray(params["w_auto_scale"], dtype=np.float64) ** 2
    est, se = svi.elbo_estimate(svi.bayesian_linear_regression, guide, params, X, y, num_particles=4000, seed=2, **KW)
    assert se > 0 and abs(est - blr.elbo(X, y, m, v)) < 4 * se + 1e-4


@pytest.mark.parametrize(
    "call",
    [
        lambda X, y, g: svi.fit_svi(svi.bayesian_linear_regression, g, X, y, num_steps=0, **KW),
        lambda X, y, g: svi.fit_svi(svi.bayesian_linear_regression, g, X, y, num_steps=5, num_particles=0, **KW),
        lambda X, y, g: svi.elbo_estimate(svi.bayesian_linear_regression, g, {}, X, y, num_particles=1, **KW),
        lambda X, y, g: svi.bayesian_linear_regression(X[:, 0], y, **KW),
        lambda X, y, g: svi.bayesian_linear_regression(X, y[:-1], **KW),
        lambda X, y, g: svi.bayesian_linear_regression(X, y, prior_sd=-1.0, noise_sd=1.0),
    ],
)
def test_bad_arguments_raise_value_error(data, call):
    X, y, _ = data
    with pytest.raises(ValueError):
        call(X, y, AutoNormal(svi.bayesian_linear_regression))
