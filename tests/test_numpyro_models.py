"""deepprob.numpyro.models against independent references (scipy.stats, least squares)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

numpyro = pytest.importorskip("numpyro")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from numpyro import handlers  # noqa: E402
from numpyro.infer.util import log_density  # noqa: E402
from numpyro.infer.util import log_likelihood as np_log_likelihood  # noqa: E402

from deepprob.numpyro import models  # noqa: E402

M_TRUE, B_TRUE = -0.9594, 4.294


def line_data(n=50, d=1, seed=0, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 10.0, size=(n, d))
    w = np.full(d, M_TRUE)
    y = X @ w + B_TRUE + noise * rng.standard_normal(n)
    return X, y


def random_params(d, seed):
    rng = np.random.default_rng(seed)
    return {
        "w": rng.normal(size=d).astype(np.float32),
        "b": np.float32(rng.normal(scale=3.0)),
        "sigma": np.float32(rng.uniform(0.2, 3.0)),
    }


def scipy_loglik(params, X, y):
    mu = X @ np.asarray(params["w"], np.float64) + float(params["b"])
    return stats.norm.logpdf(y, mu, float(params["sigma"])).sum()


def trace(model, *args, seed=0, **kwargs):
    return handlers.trace(handlers.seed(model, jax.random.PRNGKey(seed))).get_trace(*args, **kwargs)


@pytest.mark.parametrize("model", [models.linear_regression, models.scaled_linear_regression])
@pytest.mark.parametrize("d", [1, 3])
def test_sites_and_shapes(model, d):
    X, y = line_data(n=20, d=d)
    tr = trace(model, X, y)
    assert tr["w"]["value"].shape == (d,)
    assert tr["b"]["value"].shape == () and tr["sigma"]["value"].shape == ()
    assert tr["y"]["is_observed"] and tr["y"]["value"].shape == (20,)
    np.testing.assert_allclose(tr["y"]["value"], y, rtol=1e-6)
    for name in ("w", "b", "sigma"):
        assert not tr[name]["is_observed"]
    gen = trace(model, X, None)  # prior predictive
    assert not gen["y"]["is_observed"] and gen["y"]["value"].shape == (20,)


def test_sigma_prior_is_positive():
    X, _ = line_data(n=5)
    fn = trace(models.linear_regression, X)["sigma"]["fn"]
    assert not bool(fn.support(jnp.array(-1e-3)))
    draws = fn.sample(jax.random.PRNGKey(0), (5000,))
    assert bool((draws > 0).all())
    # HalfNormal(5): E[sigma] = 5 sqrt(2/pi); Monte Carlo tolerance 5 standard errors
    se = 5.0 * np.sqrt(1 - 2 / np.pi) / np.sqrt(5000)
    assert abs(float(draws.mean()) - 5.0 * np.sqrt(2 / np.pi)) < 5 * se


@pytest.mark.parametrize("d", [1, 3])
def test_log_likelihood_matches_scipy_and_numpyro(d):
    X, y = line_data(n=40, d=d, seed=d)
    for seed in range(4):
        params = random_params(d, seed)
        want = scipy_loglik(params, X, y)
        got = float(models.log_likelihood(params, X, y))
        ref = float(np_log_likelihood(models.linear_regression, params, X, y, batch_ndims=0)["y"].sum())
        tol = 1e-5 * abs(want) + 1e-3  # float32 arithmetic
        assert abs(got - want) < tol
        assert abs(ref - want) < tol


def test_log_likelihood_batched_over_samples():
    X, y = line_data(n=30, d=2, seed=3)
    rng = np.random.default_rng(1)
    batch = {
        "w": rng.normal(size=(7, 2)).astype(np.float32),
        "b": rng.normal(size=7).astype(np.float32),
        "sigma": rng.uniform(0.3, 2.0, size=7).astype(np.float32),
    }
    got = np.asarray(models.log_likelihood(batch, X, y))
    assert got.shape == (7,)
    want = [scipy_loglik({k: v[s] for k, v in batch.items()}, X, y) for s in range(7)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    ref = np_log_likelihood(models.linear_regression, batch, X, y)["y"].sum(-1)
    np.testing.assert_allclose(got, np.asarray(ref), rtol=1e-5, atol=1e-3)


def test_joint_density_is_prior_plus_likelihood():
    X, y = line_data(n=25, d=2, seed=5)
    params = random_params(2, 7)
    joint, _ = log_density(models.linear_regression, (X, y), {}, params)
    prior = (
        stats.norm.logpdf(params["w"], 0, 10).sum()
        + stats.norm.logpdf(params["b"], 0, 10)
        + stats.halfnorm.logpdf(params["sigma"], scale=5)
    )
    want = prior + scipy_loglik(params, X, y)
    assert abs(float(joint) - want) < 1e-5 * abs(want) + 1e-3


def test_scaled_model_depends_on_f_only_through_products():
    X, y = line_data(n=30, seed=2)
    base = {"w": np.array([-0.9], np.float32), "b": np.float32(4.0), "f": np.float32(1.0), "sigma": np.float32(0.5)}
    ref = float(np_log_likelihood(models.scaled_linear_regression, base, X, y, batch_ndims=0)["y"].sum())
    assert abs(ref - scipy_loglik(base, X, y)) < 1e-3
    for c in (0.25, 3.0, -1.0):
        moved = dict(base, f=base["f"] * c, w=base["w"] / c, b=base["b"] / c)
        val = float(np_log_likelihood(models.scaled_linear_regression, moved, X, y, batch_ndims=0)["y"].sum())
        assert abs(val - ref) < 1e-3


def test_bad_inputs_raise():
    X, y = line_data(n=10)
    with pytest.raises(ValueError, match="shape \\(N, D\\)"):
        trace(models.linear_regression, X[:, 0], y)
    with pytest.raises(ValueError, match="reshape"):
        trace(models.linear_regression, X, y[:, None])
    with pytest.raises(ValueError, match="prior_scale must be a finite number > 0"):
        trace(models.linear_regression, X, y, prior_scale=0.0)
    with pytest.raises(ValueError, match="sigma"):
        models.log_likelihood({"w": np.zeros(1), "b": 0.0}, X, y)
    with pytest.raises(ValueError, match="shapes"):
        models.log_likelihood({"w": np.zeros(2), "b": 0.0, "sigma": 1.0}, X, y)
    with pytest.raises(ValueError, match="num_samples"):
        models.run_nuts(models.linear_regression, X, y=y, num_samples=0)
    with pytest.raises(ValueError, match="seed"):
        models.run_nuts(models.linear_regression, X, y=y, seed=-1)
    with pytest.raises(ValueError, match="target_accept_prob"):
        models.run_nuts(models.linear_regression, X, y=y, target_accept_prob=1.0)
    with pytest.raises(ValueError, match="max_tree_depth"):
        models.run_nuts(models.linear_regression, X, y=y, max_tree_depth=0)


def test_run_nuts_agrees_with_least_squares(monkeypatch, capfd):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    X, y = line_data(n=50, seed=0)
    samples, mcmc = models.run_nuts(
        models.linear_regression, X, y=y, num_warmup=300, num_samples=300, seed=0, return_mcmc=True
    )
    assert capfd.readouterr().err == ""  # no progress bar on stderr
    assert samples["w"].shape == (300, 1) and samples["b"].shape == (300,)
    coef, res, *_ = np.linalg.lstsq(np.c_[X, np.ones(len(y))], y, rcond=None)
    # With N(0, 10^2) priors the posterior is centred on least squares; the Monte Carlo
    # error of a posterior mean is sd / sqrt(ESS) ~ sd / 10, so half a posterior sd is safe.
    for value, lsq in ((samples["w"][:, 0], coef[0]), (samples["b"], coef[1])):
        assert abs(float(value.mean()) - lsq) < 0.5 * float(value.std())
    s_hat = np.sqrt(res[0] / (len(y) - 2))
    assert abs(float(samples["sigma"].mean()) - s_hat) < float(samples["sigma"].std())
    assert int(mcmc.get_extra_fields()["diverging"].sum()) == 0

