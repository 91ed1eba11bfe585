"""A small Bayesian neural network in NumPyro, sampled with NUTS: the gold standard.

The network is the one of chapter 6's Bayes by Backprop: one hidden ``tanh``
layer, independent ``N(0, prior_sigma^2)`` priors on every weight and bias, and
Gaussian noise (fixed, or with a half-normal prior). NUTS [HoffmanGelman2014]_
samples its exact posterior (up to Monte Carlo error), against which the
mean-field variational approximations are compared *in function space*: the
predictive mean and standard deviation on a grid, held-out NLL, coverage.

Import it as a submodule: ``from deepprob.numpyro import bnn``.

References
----------
.. [Neal1996] R. M. Neal, *Bayesian Learning for Neural Networks*, Springer (1996):
   HMC for neural networks.
.. [HoffmanGelman2014] M. D. Hoffman and A. Gelman, "The No-U-Turn sampler",
   JMLR 15, 1593-1623 (2014).
.. [Phan2019] D. Phan, N. Pradhan and M. Jankowiak, "Composable effects for
   flexible and accelerated probabilistic programming in NumPyro" (2019); the
   NumPyro example ``examples/bnn.py``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC

from .._validation import positive_int
from ..predictive import monte_carlo_log_prob
from .models import run_nuts

__all__ = ["bnn_model", "BNNPosterior", "sample_posterior", "predict", "predictive_moments",
           "predictive_log_prob"]


def _as_2d(x, name):
    x = jnp.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (N, D) or (N,); got {x.shape}.")
    return x


def bnn_model(x, y=None, hidden=16, prior_sigma=1.0, noise_sigma=None, noise_prior_scale=1.0):
    """NumPyro model of a one-hidden-layer ``tanh`` network with Gaussian noise.

    ``f(x) = tanh(x W1 + b1) W2 + b2`` with every weight and bias
    ``~ N(0, prior_sigma^2)``, and ``y ~ N(f(x), sigma^2)``.

    Sites: ``"w1"`` (D, H), ``"b1"`` (H,), ``"w2"`` (H, 1), ``"b2"`` (1,),
    ``"sigma"`` (only when ``noise_sigma`` is None, ``~ HalfNormal(noise_prior_scale)``),
    deterministic ``"f"`` (N,) and observed ``"y"`` (N,).

    Parameters
    ----------
    x : array, shape (N, D)
    y : array, shape (N,) or (N, 1), optional
        Observations; None to sample from the prior / posterior predictive.
    hidden : int, default 16
        Number of hidden units ``H``.
    prior_sigma : float, default 1.0
    noise_sigma : float, optional
        Fixed noise standard deviation; when None it gets a prior.
    noise_prior_scale : float, default 1.0
        Scale of the half-normal prior on ``sigma``.
    """
    x = _as_2d(x, "x")
    n, d = x.shape
    w1 = numpyro.sample("w1", dist.Normal(0.0, prior_sigma).expand([d, hidden]).to_event(2))
    b1 = numpyro.sample("b1", dist.Normal(0.0, prior_sigma).expand([hidden]).to_event(1))
    w2 = numpyro.sample("w2", dist.Normal(0.0, prior_sigma).expand([hidden, 1]).to_event(2))
    b2 = numpyro.sample("b2", dist.Normal(0.0, prior_sigma).expand([1]).to_event(1))
    f = numpyro.deterministic("f", (jnp.tanh(x @ w1 + b1) @ w2 + b2)[:, 0])
    if noise_sigma is None:
        sigma = numpyro.sample("sigma", dist.HalfNormal(noise_prior_scale))
    else:
        sigma = noise_sigma
    if y is not None:
        y = jnp.reshape(jnp.asarray(y), (n,))
    with numpyro.plate("data", n):
        numpyro.sample("y", dist.Normal(f, sigma), obs=y)


@dataclass(frozen=True, eq=False)
class BNNPosterior:
    """NUTS draws of :func:`bnn_model`'s posterior and the model arguments they were drawn with.

    What :func:`sample_posterior` returns and :func:`predict`,
    :func:`predictive_moments` and :func:`predictive_log_prob` take.

    Attributes
    ----------
    samples : dict of str to jax.Array
        Posterior draws of the sites ``w1`` (S, D, H), ``b1`` (S, H), ``w2``
        (S, H, 1), ``b2`` (S, 1) and, when the noise was not fixed, ``sigma`` (S,).
    model_kwargs : mapping
        The keyword arguments of :func:`bnn_model` (``hidden``, ``prior_sigma``,
        ``noise_sigma``, ``noise_prior_scale``), read-only.
    mcmc : numpyro.infer.MCMC
        The sampler after its run, for ``print_summary()`` and diagnostics.
    """

    samples: dict
    model_kwargs: Mapping
    mcmc: MCMC

    def get_samples(self):
        """The posterior draws (as ``MCMC.get_samples()``)."""
        return self.samples

    def get_extra_fields(self):
        """Leapfrog steps (``"num_steps"``) and divergences (``"diverging"``) of each draw."""
        return self.mcmc.get_extra_fields()


def sample_posterior(
    x,
    y,
    *,
    hidden=16,
    prior_sigma=1.0,
    noise_sigma=None,
    noise_prior_scale=1.0,
    num_warmup=300,
    num_samples=300,
    seed=0,
    max_tree_depth=8,
    target_accept_prob=0.8,
    progress_bar=False,
):
    """Sample the posterior of :func:`bnn_model` with NUTS (one chain).

    The chain is run by :func:`deepprob.numpyro.models.run_nuts` (the course's one
    NUTS runner), with the BNN's settings.

    Parameters
    ----------
    x : array, shape (N, D)
    y : array, shape (N,) or (N, 1)
    hidden, prior_sigma, noise_sigma, noise_prior_scale
        Passed to :func:`bnn_model`.
    num_warmup, num_samples : int, default 300
    seed : int, default 0
    max_tree_depth : int, default 8
        At most ``2^max_tree_depth - 1`` leapfrog steps per draw: bounds the
        run time (neural-network posteriors often hit NumPyro's default, 10).
    target_accept_prob : float, default 0.8
    progress_bar : bool, default False

    Returns
    -------
    BNNPosterior
        ``.samples`` (also ``.get_samples()``) holds the draws,
        ``.get_extra_fields()`` the leapfrog steps (``"num_steps"``) and
        divergences (``"diverging"``) of each draw, ``.model_kwargs`` the model's
        keyword arguments that :func:`predict` needs.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, a count is not a positive integer or
        ``seed`` is negative.
    """
    x = _as_2d(x, "x")
    y = jnp.asarray(y).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same number of rows; got {x.shape[0]} and {y.shape[0]}.")
    kwargs = dict(
        hidden=positive_int(hidden, "hidden"),
        prior_sigma=prior_sigma,
        noise_sigma=noise_sigma,
        noise_prior_scale=noise_prior_scale,
    )
    samples, mcmc = run_nuts(bnn_model, x, y, num_warmup=num_warmup, num_samples=num_samples, seed=seed,
                             return_mcmc=True, max_tree_depth=max_tree_depth,
                             target_accept_prob=target_accept_prob, progress_bar=progress_bar, **kwargs)
    return BNNPosterior(samples, MappingProxyType(kwargs), mcmc)


def _samples_and_kwargs(posterior):
    if isinstance(posterior, BNNPosterior):
        return posterior.samples, posterior.model_kwargs
    if isinstance(posterior, tuple) and len(posterior) == 2:
        return posterior
    if isinstance(posterior, dict):
        return posterior, {}
    raise ValueError(
        "posterior must be the BNNPosterior returned by sample_posterior, a dict of samples, or "
        f"(samples, model_kwargs); got {type(posterior).__name__}."
    )


def predict(posterior, x):
    """Network outputs and noise scales of every posterior draw at ``x``.

    Parameters
    ----------
    posterior : BNNPosterior or dict or (dict, dict)
        What :func:`sample_posterior` returns, or a dict of samples (sites ``w1, b1,
        w2, b2`` and optionally ``sigma``), alone or with the model's keyword
        arguments (``noise_sigma`` is needed when there is no ``sigma`` site).
    x : array, shape (N, D) or (N,)

    Returns
    -------
    f : ndarray, shape (S, N)
        ``f_s(x)`` for each of the ``S`` draws.
    sigma : ndarray, shape (S,)
        The noise scale of each draw (the fixed value repeated if it was fixed).
    """
    samples, kwargs = _samples_and_kwargs(posterior)
    x = _as_2d(x, "x")
    w1, b1, w2, b2 = (samples[k] for k in ("w1", "b1", "w2", "b2"))
    f = jnp.einsum("snh,sh->sn", jnp.tanh(jnp.einsum("nd,sdh->snh", x, w1) + b1[:, None, :]), w2[..., 0]) + b2
    if "sigma" in samples:
        sigma = samples["sigma"]
    else:
        fixed = kwargs.get("noise_sigma")
        if fixed is None:
            raise ValueError("the samples have no 'sigma' site: pass (samples, {'noise_sigma': value}).")
        sigma = jnp.full((w1.shape[0],), float(fixed))
    return np.asarray(f), np.asarray(sigma)


def predictive_moments(posterior, x):
    """Posterior predictive mean and standard deviations on a grid.

    By the law of total variance over the ``S`` draws:
    ``Var[y|x] = Var_s[f_s(x)] + E_s[sigma_s^2]``.

    Parameters
    ----------
    posterior : BNNPosterior or dict or (dict, dict)
        See :func:`predict`.
    x : array, shape (N, D) or (N,)

    Returns
    -------
    mean, epistemic_sd, total_sd : ndarray, shape (N,)
        ``E_s f_s(x)``, ``sd_s f_s(x)`` and ``sqrt(Var_s f_s + E_s sigma_s^2)``.
    """
    f, sigma = predict(posterior, x)
    epi = f.var(axis=0)
    return f.mean(axis=0), np.sqrt(epi), np.sqrt(epi + np.mean(sigma**2))


def predictive_log_prob(posterior, x, y):
    """Log density of ``y`` under the posterior predictive mixture.

    ``log p(y | x, D) ≈ log (1/S) sum_s N(y; f_s(x), sigma_s^2)``, by
    :func:`deepprob.predictive.monte_carlo_log_prob` (``logsumexp`` over the draws).

    Parameters
    ----------
    posterior : BNNPosterior or dict or (dict, dict)
        See :func:`predict`.
    x : array, shape (N, D) or (N,)
    y : array, shape (N,) or (N, 1)

    Returns
    -------
    ndarray, shape (N,)
        Log densities in nats.
    """
    f, sigma = predict(posterior, x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != f.shape[1]:
        raise ValueError(f"y has {y.shape[0]} points but x has {f.shape[1]}; pass one y per row of x.")
    return monte_carlo_log_prob(y, f.astype(np.float64), sigma.astype(np.float64)[:, None])
