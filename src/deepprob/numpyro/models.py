r"""NumPyro models of chapter 2, their log-likelihood by hand, and a small NUTS runner.

* :func:`linear_regression` -- Bayesian linear regression, the reference of the
  exercise ``ex02_likelihoods_in_numpyro``: sites ``"w"`` (D,), ``"b"``,
  ``"sigma"`` (> 0) and the observed ``"y"`` (N,).
* :func:`scaled_linear_regression` -- the NumPyro forum's model
  ``y ~ N(f (X w + b), sigma^2)``, in which ``f`` is not identifiable.
* :func:`log_likelihood` -- :math:`\sum_n \log\mathcal N(y_n; x_n^\top w + b, \sigma^2)`
  written in ``jax.numpy``; equals ``numpyro.infer.util.log_likelihood(...)["y"].sum()``.
* :func:`run_nuts` -- one seeded NUTS chain, returning the posterior samples.

References
----------
.. [Forum2021] "How to define a likelihood function in numpyro?", Pyro forum
   (2021), https://forum.pyro.ai/t/how-to-define-a-likelihood-function-in-numpyro/2968
.. [Hoffman2014] M. D. Hoffman and A. Gelman, "The No-U-Turn Sampler", JMLR 15,
   1593-1623 (2014).
.. [Phan2019] D. Phan, N. Pradhan and M. Jankowiak, "Composable effects for
   flexible and accelerated probabilistic programming in NumPyro",
   arXiv:1912.11554 (2019).
"""
from __future__ import annotations

import math
import os
from typing import Callable

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer import MCMC, NUTS

from .._validation import positive_float, positive_int, probability

__all__ = ["linear_regression", "scaled_linear_regression", "log_likelihood", "run_nuts"]

_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- checks
def _design(X, y):
    """Check ``X`` (N, D) and ``y`` (N,) or None; return ``X`` as an array and ``(N, D)``."""
    X = jnp.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"X must have shape (N, D), got shape {X.shape}; for one feature use X.reshape(-1, 1)."
        )
    n, d = X.shape
    if y is not None and jnp.shape(y) != (n,):
        raise ValueError(
            f"y must have shape (N,) = ({n},), got {jnp.shape(y)}; a column y of shape (N, 1) "
            "would broadcast against the (N,) mean into an (N, N) table of log-densities. "
            "Use y.reshape(-1)."
        )
    return X, n, d


# --------------------------------------------------------------------------- models
def linear_regression(X, y=None, *, prior_scale: float = 10.0, noise_scale: float = 5.0):
    r"""Bayesian linear regression with Gaussian noise, as a NumPyro model.

    Generative process::

        w     ~ Normal(0, prior_scale^2 I_D)          site "w",     shape (D,)
        b     ~ Normal(0, prior_scale^2)              site "b",     shape ()
        sigma ~ HalfNormal(noise_scale)               site "sigma", shape (), > 0
        y_n | w, b, sigma ~ Normal(x_n^T w + b, sigma^2),  n = 1..N   site "y", shape (N,)

    ``"y"`` is observed when ``y`` is given (its log-density is the
    log-likelihood of the model) and sampled when ``y`` is ``None`` (the prior
    predictive). ``"w"`` is one site with event shape ``(D,)``; the data live
    in ``numpyro.plate("data", N)``.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Inputs (design matrix without a column of ones: the intercept is ``b``).
    y : array_like, shape (N,), optional
        Observed targets; ``None`` to sample them.
    prior_scale : float, default 10.0
        Standard deviation of the normal priors of ``w`` and ``b``.
    noise_scale : float, default 5.0
        Scale of the half-normal prior of ``sigma``.

    Returns
    -------
    jax.Array, shape (N,)
        ``y`` (observed or sampled).

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, ``y`` is not of shape ``(N,)`` (e.g. a column
        ``(N, 1)``, which would silently broadcast to an ``(N, N)``
        likelihood), or a scale is not positive.

    Notes
    -----
    The model of [Forum2021]_ with the superfluous factor ``f`` removed and a
    half-normal instead of a ``Uniform(0, 10)`` prior on ``sigma`` (no hard
    upper bound). Its log-likelihood is :func:`log_likelihood`.

    Examples
    --------
    >>> from numpyro import handlers
    >>> tr = handlers.trace(handlers.seed(linear_regression, 0)).get_trace(jnp.ones((5, 2)))
    >>> {k: tr[k]["value"].shape for k in ("w", "b", "sigma", "y")}
    {'w': (2,), 'b': (), 'sigma': (), 'y': (5,)}
    """
    X, n, d = _design(X, y)
    prior_scale = positive_float(prior_scale, "prior_scale")
    noise_scale = positive_float(noise_scale, "noise_scale")
    w = numpyro.sample("w", dist.Normal(0.0, prior_scale).expand([d]).to_event(1))
    b = numpyro.sample("b", dist.Normal(0.0, prior_scale))
    sigma = numpyro.sample("sigma", dist.HalfNormal(noise_scale))
    mu = X @ w + b
    with numpyro.plate("data", n):
        return numpyro.sample("y", dist.Normal(mu, sigma), obs=y)


def scaled_linear_regression(X, y=None, *, prior_scale: float = 10.0, noise_scale: float = 5.0):
    r"""The forum's model ``y ~ Normal(f (X w + b), sigma^2)``: ``f`` is not identifiable.

    Sites ``"w"`` (D,), ``"b"``, ``"f"`` (all ``Normal(0, prior_scale^2)``),
    ``"sigma"`` (``HalfNormal(noise_scale)``) and ``"y"`` (N,). The likelihood
    depends on ``(f, w, b)`` only through ``f w`` and ``f b``: every
    ``(c f, w / c, b / c)`` with ``c != 0`` fits the data equally well, so the
    posterior is a curved ridge (and two mirror-image modes, ``c = -1``) that
    only the prior bounds.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Inputs.
    y : array_like, shape (N,), optional
        Observed targets; ``None`` to sample them.
    prior_scale, noise_scale : float
        As in :func:`linear_regression`.

    Returns
    -------
    jax.Array, shape (N,)
        The observed ``y``, or ``y`` drawn from the model when ``y`` is None;
        bad input raises ``ValueError`` as in :func:`linear_regression`.

    Notes
    -----
    [Forum2021]_, with ``sigma ~ HalfNormal`` instead of ``Uniform(0, 10)`` and
    ``w`` as a site of event shape ``(D,)``.
    """
    X, n, d = _design(X, y)
    prior_scale = positive_float(prior_scale, "prior_scale")
    noise_scale = positive_float(noise_scale, "noise_scale")
    w = numpyro.sample("w", dist.Normal(0.0, prior_scale).expand([d]).to_event(1))
    b = numpyro.sample("b", dist.Normal(0.0, prior_scale))
    f = numpyro.sample("f", dist.Normal(0.0, prior_scale))
    sigma = numpyro.sample("sigma", dist.HalfNormal(noise_scale))
    mu = f * (X @ w + b)
    with numpyro.plate("data", n):
        return numpyro.sample("y", dist.Normal(mu, sigma), obs=y)


# --------------------------------------------------------------------- likelihood
def log_likelihood(params: dict, X, y) -> jax.Array:
    r"""Gaussian log-likelihood of :func:`linear_regression`, written by hand.

    .. math::

        \log p(y \mid X, w, b, \sigma) = \sum_{n=1}^N \Big[-\tfrac12\log(2\pi)
        - \log\sigma - \frac{(y_n - x_n^\top w - b)^2}{2\sigma^2}\Big]

    Parameters
    ----------
    params : dict
        ``{"w": (..., D), "b": (...), "sigma": (...)}``: one parameter set
        (shapes ``(D,)``, ``()``, ``()``) or a batch of them with common
        leading shape ``S``, e.g. posterior samples ``(S, D)``, ``(S,)``, ``(S,)``.
    X : array_like, shape (N, D)
        Inputs.
    y : array_like, shape (N,)
        Targets.

    Returns
    -------
    jax.Array, shape S
        The log-likelihood in nats, summed over the ``N`` points: a scalar for one
        parameter set, shape ``(S,)`` for posterior samples.

    Raises
    ------
    ValueError
        If a key is missing, the shapes do not match ``X``, or ``y`` is not ``(N,)``.

    Notes
    -----
    Equal to ``numpyro.infer.util.log_likelihood(linear_regression, params, X, y,
    batch_ndims=0)["y"].sum()`` (and to the sum of ``scipy.stats.norm.logpdf``);
    the test suite checks both.
    """
    missing = {"w", "b", "sigma"} - set(params)
    if missing:
        raise ValueError(f"params lacks {sorted(missing)}; give a dict with keys 'w', 'b' and 'sigma'.")
    X, n, d = _design(X, y)
    w, b, sigma = (jnp.asarray(params[k]) for k in ("w", "b", "sigma"))
    if w.ndim < 1 or w.shape[-1] != d or b.shape != w.shape[:-1] or sigma.shape != w.shape[:-1]:
        raise ValueError(
            f"params must have shapes w (..., {d}), b (...), sigma (...) with one leading shape; "
            f"got w {w.shape}, b {b.shape}, sigma {sigma.shape}."
        )
    mu = jnp.einsum("nd,...d->...n", X, w) + b[..., None]
    s = sigma[..., None]
    z = (jnp.asarray(y) - mu) / s
    return jnp.sum(-0.5 * _LOG_2PI - jnp.log(s) - 0.5 * z**2, axis=-1)


# --------------------------------------------------------------------------- NUTS
def run_nuts(
    model: Callable,
    *args,
    num_warmup: int = 500,
    num_samples: int = 500,
    seed: int = 0,
    return_mcmc: bool = False,
    max_tree_depth: int = 10,
    target_accept_prob: float = 0.8,
    progress_bar: bool | None = None,
    **kwargs,
):
    """Run one seeded NUTS chain on ``model(*args, **kwargs)``; return the samples.

    Parameters
    ----------
    model : callable
        A NumPyro model.
    *args, **kwargs
        Passed to the model, e.g. ``run_nuts(linear_regression, X, y=y)``.
    num_warmup, num_samples : int, default 500
        Warm-up (step size and mass matrix adaptation) and kept iterations, > 0.
    seed : int, default 0
        Seed of ``jax.random.PRNGKey``: the same seed gives the same samples.
    return_mcmc : bool, default False
        Also return the :class:`numpyro.infer.MCMC` object (for
        ``print_summary()`` and the extra fields ``"diverging"`` and
        ``"num_steps"``, which are collected).
    max_tree_depth : int, default 10
        At most ``2^max_tree_depth - 1`` leapfrog steps per draw (NumPyro's
        default); lower it to bound the run time, e.g. 8 for a neural network.
    target_accept_prob : float, default 0.8
        Target acceptance probability of the step-size adaptation, in ``(0, 1)``.
    progress_bar : bool, optional
        Show NumPyro's progress bar; by default on unless the environment
        variable ``TQDM_DISABLE`` is set.

    Returns
    -------
    dict of str to jax.Array
        Posterior samples of every latent site, leading dimension ``num_samples``;
        ``(samples, mcmc)`` when ``return_mcmc`` is true.

    Raises
    ------
    ValueError
        If ``num_warmup``/``num_samples``/``max_tree_depth`` is not a positive
        integer, ``seed`` is negative or ``target_accept_prob`` is not in ``(0, 1)``.

    Notes
    -----
    The progress bar (which tqdm writes to stderr) is off by default when the
    environment variable ``TQDM_DISABLE`` is set, as in the book build. NUTS:
    [Hoffman2014]_; NumPyro's implementation: [Phan2019]_.
    """
    num_warmup, num_samples = positive_int(num_warmup, "num_warmup"), positive_int(num_samples, "num_samples")
    seed = positive_int(seed, "seed", minimum=0)
    if progress_bar is None:
        progress_bar = not os.environ.get("TQDM_DISABLE")
    mcmc = MCMC(
        NUTS(model, max_tree_depth=positive_int(max_tree_depth, "max_tree_depth"),
             target_accept_prob=probability(target_accept_prob, "target_accept_prob")),
        num_warmup=num_warmup,
        num_samples=num_samples,
        num_chains=1,
        progress_bar=bool(progress_bar),
    )
    mcmc.run(jax.random.PRNGKey(seed), *args, extra_fields=("diverging", "num_steps"), **kwargs)
    samples = mcmc.get_samples()
    return (samples, mcmc) if return_mcmc else samples
