r"""Stochastic variational inference helpers (chapter 3): fit a guide, measure its ELBO.

Imports JAX and NumPyro only. Import it as ``from deepprob.numpyro import svi``
(or ``import deepprob.numpyro.svi``).

* :func:`bayesian_linear_regression` -- the conjugate model of
  :class:`deepprob.conjugate.BayesianLinearRegression` written in NumPyro, so that
  SVI can be checked against the exact posterior and evidence;
* :func:`fit_svi` -- run ``numpyro.infer.SVI`` with ``Trace_ELBO`` and Adam, no
  progress bar, and return the fitted parameters and the loss trace;
* :func:`elbo_estimate` -- a Monte Carlo ELBO of a fitted guide with its standard
  error (the SVI loss is a one-sample estimate of the *negative* ELBO).

References
----------
.. [Hoffman2013] M. D. Hoffman, D. M. Blei, C. Wang and J. Paisley, "Stochastic
   variational inference", JMLR 14, 1303-1347 (2013).
.. [Kucukelbir2017] A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman and D. M. Blei,
   "Automatic differentiation variational inference", JMLR 18(14), 1-45 (2017)
   (the mean-field and full-rank Gaussian guides behind ``AutoNormal`` and
   ``AutoMultivariateNormal``).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.infer import SVI, Trace_ELBO

from .._validation import positive_float, positive_int

__all__ = ["bayesian_linear_regression", "fit_svi", "elbo_estimate"]


def bayesian_linear_regression(X, y=None, *, prior_sd: float = 1.0, noise_sd: float = 1.0):
    r"""NumPyro model :math:`w\sim\mathcal N(0,\tau^2 I_D)`, :math:`y\sim\mathcal N(Xw, s^2 I_N)`.

    Parameters
    ----------
    X : array_like, shape (N, D)
        Design matrix (add a column of ones for an intercept).
    y : array_like, shape (N,), optional
        Observations; ``None`` to sample from the prior predictive.
    prior_sd, noise_sd : float
        :math:`\tau` and :math:`s`, both known (keyword-only).

    Notes
    -----
    Sites: ``"w"`` of event shape ``(D,)`` and the observed ``"y"`` (one
    ``numpyro.plate("data", N)``). The same model as
    :class:`deepprob.conjugate.BayesianLinearRegression`, whose exact
    posterior and log evidence it can be checked against.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, ``y`` has the wrong length, or a standard deviation
        is not positive.
    """
    prior_sd, noise_sd = positive_float(prior_sd, "prior_sd"), positive_float(noise_sd, "noise_sd")
    X = jnp.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (N, D), got {X.shape}; use X[:, None] for one feature")
    if y is not None and jnp.shape(y) != (X.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({X.shape[0]},), got {jnp.shape(y)}")
    w = numpyro.sample("w", dist.Normal(0.0, prior_sd).expand([X.shape[1]]).to_event(1))
    with numpyro.plate("data", X.shape[0]):
        numpyro.sample("y", dist.Normal(X @ w, noise_sd), obs=y)


def fit_svi(model, guide, *args, num_steps: int = 2000, step_size=1e-2, num_particles: int = 1, seed: int = 0,
            **kwargs):
    """Maximise the ELBO of ``guide`` for ``model`` with ``Trace_ELBO`` and Adam.

    Parameters
    ----------
    model, guide : callable
        A NumPyro model and guide (e.g. ``AutoNormal(model)``).
    *args, **kwargs
        Passed to the model and the guide (data, e.g. ``X, y``).
    num_steps : int
        Number of optimisation steps (each uses one sample of the guide).
    step_size : float or callable
        Adam's learning rate, or a schedule ``step -> rate``
        (e.g. ``lambda i: 0.05 * 0.999 ** i``).
    num_particles : int
        Samples of the guide per step (``Trace_ELBO(num_particles)``, vectorised):
        more particles, less noisy gradients.
    seed : int
        Seed of the ``jax.random.PRNGKey`` that drives the optimisation.

    Returns
    -------
    params : dict
        The fitted variational parameters (``svi_result.params``).
    losses : numpy.ndarray, shape (num_steps,)
        The loss at every step: a ``num_particles``-sample estimate of the *negative*
        ELBO, in nats.

    Raises
    ------
    ValueError
        If ``num_steps`` or ``num_particles`` is not a positive integer.
    """
    num_steps, num_particles = positive_int(num_steps, "num_steps"), positive_int(num_particles, "num_particles")
    elbo = Trace_ELBO(num_particles=num_particles, vectorize_particles=True)
    svi = SVI(model, guide, numpyro.optim.Adam(step_size), elbo)
    result = svi.run(jax.random.PRNGKey(seed), num_steps, *args, progress_bar=False, **kwargs)
    return result.params, np.asarray(result.losses)


def elbo_estimate(model, guide, params, *args, num_particles: int = 1000, seed: int = 0, **kwargs):
    r"""Monte Carlo ELBO of a fitted guide and its standard error.

    Averages ``num_particles`` independent one-sample ELBOs
    :math:`\log p(\mathcal D, z_s) - \log q(z_s)`, :math:`z_s \sim q`.

    Parameters
    ----------
    model, guide : callable
    params : dict
        Variational parameters, e.g. from :func:`fit_svi`.
    *args, **kwargs
        Passed to the model and the guide.
    num_particles : int
        Number of samples :math:`S \ge 2`.
    seed : int

    Returns
    -------
    elbo : float
        The estimate, in nats (an unbiased estimate of the ELBO, :math:`\le \log p(\mathcal D)` in expectation).
    standard_error : float
        Sample standard deviation of the one-sample ELBOs over :math:`\sqrt S`.

    Raises
    ------
    ValueError
        If ``num_particles < 2``.
    """
    num_particles = positive_int(num_particles, "num_particles", minimum=2)  # 2 for a standard error
    loss = Trace_ELBO(num_particles=1)
    keys = jax.random.split(jax.random.PRNGKey(seed), num_particles)
    one = jax.jit(jax.vmap(lambda k: -loss.loss(k, params, model, guide, *args, **kwargs)))
    values = np.asarray(one(keys), dtype=np.float64)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(values.size))
