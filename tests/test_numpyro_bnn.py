"""Smoke and consistency tests of deepprob.numpyro.bnn, with tiny arguments (NumPyro-examples style)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")
numpyro = pytest.importorskip("numpyro")

from deepprob.numpyro import bnn  # noqa: E402  (a submodule import, __init__ untouched)


@pytest.fixture(scope="module")
def tiny_run():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(12, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(12)
    mcmc = bnn.sample_posterior(x, y, hidden=3, num_warmup=20, num_samples=15, max_tree_depth=4, seed=1)
    return x, y, mcmc


def test_run_nuts_shapes(tiny_run):
    x, y, mcmc = tiny_run
    s = mcmc.get_samples()
    assert s["w1"].shape == (15, 1, 3) and s["b1"].shape == (15, 3)
    assert s["w2"].shape == (15, 3, 1) and s["b2"].shape == (15, 1)
    assert s["sigma"].shape == (15,) and np.all(np.asarray(s["sigma"]) > 0)
    assert set(mcmc.get_extra_fields()) >= {"num_steps", "diverging"}


def test_predict_matches_the_model_deterministic_site(tiny_run):
    x, y, mcmc = tiny_run
    f, sigma = bnn.predict(mcmc, x)
    assert f.shape == (15, 12) and sigma.shape == (15,)
    pred = numpyro.infer.Predictive(bnn.bnn_model, mcmc.get_samples())(jax.random.PRNGKey(0), x, hidden=3)
    np.testing.assert_allclose(f, np.asarray(pred["f"]), rtol=1e-4, atol=1e-5)


def test_predictive_moments_and_log_prob_against_scipy(tiny_run):
    x, y, mcmc = tiny_run
    f, sigma = bnn.predict(mcmc, x)
    mean, epi_sd, tot_sd = bnn.predictive_moments(mcmc, x)
    np.testing.assert_allclose(mean, f.mean(0), rtol=1e-6)
    np.testing.assert_allclose(tot_sd**2, f.var(0) + np.mean(sigma**2), rtol=1e-6)
    assert np.all(tot_sd >= epi_sd)
    lp = bnn.predictive_log_prob(mcmc, x, y)
    want = np.log(np.mean(stats.norm.pdf(y[None, :], f, sigma[:, None]), axis=0))
    np.testing.assert_allclose(lp, want, rtol=1e-5)


def test_fixed_noise_and_errors():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(8, 1))
    y = x[:, 0]
    mcmc = bnn.sample_posterior(x, y, hidden=2, noise_sigma=0.5, num_warmup=10, num_samples=5, max_tree_depth=3)
    assert "sigma" not in mcmc.get_samples()
    f, sigma = bnn.predict(mcmc, x)
    np.testing.assert_allclose(sigma, 0.5)
    lp = bnn.predictive_log_prob(mcmc, x, y)
    assert lp.shape == (8,) and np.all(lp <= -math.log(0.5) - 0.5 * math.log(2 * math.pi) + 1e-9)
    with pytest.raises(ValueError, match="same number of rows"):
        bnn.sample_posterior(x, y[:5], num_warmup=2, num_samples=2)
    with pytest.raises(ValueError, match="positive integer"):
        bnn.sample_posterior(x, y, hidden=0)
    with pytest.raises(ValueError, match="sigma"):
        bnn.predict(mcmc.get_samples(), x)
    with pytest.raises(ValueError, match="sample_posterior"):
        bnn.predict(mcmc.mcmc, x)  # the bare MCMC object carries no model arguments


def test_posterior_is_explicit_frozen_state(tiny_run):
    """The model arguments travel in the returned BNNPosterior, not as an attribute hung on MCMC."""
    import dataclasses

    x, y, posterior = tiny_run
    assert isinstance(posterior, bnn.BNNPosterior)
    assert dict(posterior.model_kwargs) == {"hidden": 3, "prior_sigma": 1.0, "noise_sigma": None,
                                            "noise_prior_scale": 1.0}
    assert not hasattr(posterior.mcmc, "bnn_kwargs")
    with pytest.raises(dataclasses.FrozenInstanceError):
        posterior.samples = {}
    with pytest.raises(TypeError):
        posterior.model_kwargs["hidden"] = 4
    # the tuple form gives the same predictions as the posterior object
    f1, s1 = bnn.predict(posterior, x)
    f2, s2 = bnn.predict((posterior.get_samples(), dict(posterior.model_kwargs)), x)
    np.testing.assert_array_equal(f1, f2)
    np.testing.assert_array_equal(s1, s2)


def test_predictive_log_prob_is_finite_far_from_every_draw(tiny_run):
    """logsumexp over the draws: at y = 1e3 the naive log-mean-exp underflows to -inf, ours does not."""
    x, y, posterior = tiny_run
    f, sigma = bnn.predict(posterior, x)
    far = np.full(len(x), 1e3)
    lp = bnn.predictive_log_prob(posterior, x, far)
    with np.errstate(divide="ignore"):
        naive = np.log(np.mean(stats.norm.pdf(far[None, :], f, sigma[:, None]), axis=0))
    assert np.all(np.isneginf(naive)) and np.all(np.isfinite(lp))
    # the largest term dominates: lp = max_s log N(y; f_s, sigma_s) + log(weight of the ties) <= it
    top = np.max(stats.norm.logpdf(far[None, :], f, sigma[:, None]), axis=0)
    assert np.all(lp <= top + 1e-9) and np.all(lp >= top - math.log(f.shape[0]) - 1e-9)
