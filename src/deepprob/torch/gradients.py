r"""Monte Carlo gradients of an expectation: the reparameterization trick.

Reference versions of what students write in ``ex04_reparameterization``, used
by chapter 4. Throughout, :math:`q = \mathcal N(\mu, \operatorname{diag}\sigma^2)`
is a diagonal Gaussian in :math:`D` dimensions with mean ``mu`` and log-variance
``log_var`` (:math:`\sigma = e^{\text{log\_var}/2}`), and the target is

.. math::

    \nabla_{(\mu,\ \text{log\_var})}\ \mathbb E_{z\sim q}\big[f(z)\big].

Contract of ``f`` (the same everywhere in this module and in the exercise):
``f`` takes a batch of samples ``z`` of shape ``(n_samples, D)`` and returns one
value per sample, shape ``(n_samples,)``, e.g. ``lambda z: (z ** 2).sum(-1)``.
Each estimator returns the gradient of the *sample mean*
:math:`\frac1n\sum_{i=1}^n (\dots)` over ``n_samples`` draws, as a tuple
``(grad_mu, grad_log_var)`` of tensors of the shapes of ``mu`` and ``log_var``,
detached from any graph.

* the **pathwise** (reparameterization) estimator differentiates through
  :math:`z = \mu + \sigma\odot\varepsilon`, :math:`\varepsilon\sim\mathcal N(0, I)`:
  :math:`\frac1n\sum_i \nabla f(z_i)\,\partial z_i/\partial(\mu,\text{log\_var})`
  (Kingma & Welling 2014, sec. 2.4; Rezende, Mohamed & Wierstra 2014);
* the **score-function** (REINFORCE, likelihood-ratio) estimator uses
  :math:`\nabla\,\mathbb E_q[f] = \mathbb E_q[f(z)\,\nabla\log q(z)]`:
  :math:`\frac1n\sum_i f(z_i)\,\nabla\log q(z_i)` (Williams 1992; Glynn 1990);
  it needs neither the derivative of ``f`` nor a differentiable sampler.

For this Gaussian, with :math:`\varepsilon = (z-\mu)/\sigma`,
:math:`\partial\log q/\partial\mu = \varepsilon/\sigma` and
:math:`\partial\log q/\partial\,\text{log\_var} = \tfrac12(\varepsilon^2 - 1)`
(Mohamed, Rosca, Figurnov & Mnih 2020, JMLR 21(132), sec. 4–5).
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch

from .._validation import positive_int
from ._checks import broadcast_shape

__all__ = [
    "reparameterize",
    "pathwise_gradient",
    "score_function_gradient",
    "estimator_variance",
    "GradientStats",
]

_Fn = Callable[[torch.Tensor], torch.Tensor]


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    r"""Turn standard-normal noise into a differentiable sample of :math:`\mathcal N(\mu, \sigma^2)`.

    .. math::

        z = \mu + e^{\frac12\,\text{log\_var}} \odot \varepsilon

    Parameters
    ----------
    mu, log_var : torch.Tensor
        Mean and log-variance, e.g. shape ``(D,)``.
    eps : torch.Tensor
        Standard-normal noise of any shape that broadcasts with ``mu`` and
        ``log_var``, e.g. ``(n_samples, D)``.

    Returns
    -------
    torch.Tensor
        ``z`` of the broadcast shape, e.g. ``(n_samples, D)``; differentiable with
        respect to ``mu`` and ``log_var``.

    Raises
    ------
    ValueError
        If ``eps`` does not broadcast with ``mu`` and ``log_var`` (e.g. it has no
        leading sample axis).

    Notes
    -----
    Kingma & Welling (2014), eq. 10 with :math:`g_\phi(\varepsilon) = \mu + \sigma\odot\varepsilon`.
    """
    broadcast_shape("give eps a leading sample axis, e.g. eps of shape (n_samples, D) with mu of shape (D,)",
                    mu=mu.shape, log_var=log_var.shape, eps=eps.shape)
    return mu + torch.exp(0.5 * log_var) * eps


def _check(mu, log_var, n_samples) -> tuple[torch.Tensor, torch.Tensor, int]:
    if not (torch.is_tensor(mu) and torch.is_tensor(log_var)):
        raise ValueError("mu and log_var must be torch tensors, e.g. torch.tensor([0.5, -1.0])")
    if not mu.is_floating_point() or not log_var.is_floating_point():
        raise ValueError("mu and log_var must be floating-point tensors; use torch.tensor([...], dtype=torch.float64)")
    shape = broadcast_shape("give both the shape (D,)", mu=mu.shape, log_var=log_var.shape)
    if len(shape) != 1:
        raise ValueError(
            f"mu and log_var must be vectors of shape (D,) (got broadcast shape {tuple(shape)}); "
            "for one dimension use shape (1,), e.g. torch.tensor([0.5])"
        )
    positive_int(n_samples, "n_samples")
    return mu.detach(), log_var.detach(), shape[0]


def _noise(shape, dtype, generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=dtype)


def _evaluate(f: _Fn, z: torch.Tensor) -> torch.Tensor:
    """f on z of shape (R, n, D) through its (n, D) -> (n,) contract; returns (R, n)."""
    r, n, d = z.shape
    out = f(z.reshape(r * n, d))
    if not torch.is_tensor(out) or out.shape != (r * n,):
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise ValueError(
            f"f must map z of shape (n_samples, D) to one value per sample, shape (n_samples,); got {got}. "
            "Reduce over the last axis, e.g. f = lambda z: (z ** 2).sum(-1)"
        )
    return out.reshape(r, n)


def _pathwise(f: _Fn, mu, log_var, eps) -> tuple[torch.Tensor, torch.Tensor]:
    """Pathwise gradients for noise eps (R, n, D): each of shape (R, *param shape)."""
    r, _, d = eps.shape
    mu_r = mu.expand(r, *mu.shape).clone().requires_grad_(True)
    lv_r = log_var.expand(r, *log_var.shape).clone().requires_grad_(True)
    with torch.enable_grad():
        z = reparameterize(mu_r[:, None, :], lv_r[:, None, :], eps)
        values = _evaluate(f, z)
        if not values.requires_grad:
            raise ValueError(
                "f(z) does not depend differentiably on z (it returned a tensor without a graph): the pathwise "
                "estimator needs a differentiable f; use score_function_gradient for a non-differentiable f"
            )
        # sum over replications of the mean over samples: replication r's gradient lands in row r
        g_mu, g_lv = torch.autograd.grad(values.mean(1).sum(), (mu_r, lv_r), allow_unused=True)
    g_mu = torch.zeros_like(mu_r) if g_mu is None else g_mu
    g_lv = torch.zeros_like(lv_r) if g_lv is None else g_lv
    return g_mu.detach(), g_lv.detach()


def _score(f: _Fn, mu, log_var, eps) -> tuple[torch.Tensor, torch.Tensor]:
    """Score-function gradients for noise eps (R, n, D): each of shape (R, *param shape)."""
    r, n, d = eps.shape
    sigma = torch.exp(0.5 * log_var)
    z = (mu + sigma * eps).detach()
    with torch.no_grad():
        values = _evaluate(f, z)[..., None]  # (R, n, 1)
    score_mu = eps / sigma  # d log q / d mu = (z - mu) / sigma^2
    score_lv = 0.5 * (eps**2 - 1.0)  # d log q / d log_var = -1/2 + (z - mu)^2 / (2 sigma^2)
    g_mu = (values * score_mu).mean(1)  # (R, D)
    g_lv = (values * score_lv).mean(1)
    # a parameter broadcast over D (shape (1,)) collects the gradient of every coordinate
    return g_mu.sum_to_size(r, *mu.shape), g_lv.sum_to_size(r, *log_var.shape)


def pathwise_gradient(f: _Fn, mu: torch.Tensor, log_var: torch.Tensor, n_samples: int,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Pathwise (reparameterization) estimate of :math:`\nabla_{\mu,\,\text{log\_var}}\mathbb E_q[f(z)]`.

    Draws :math:`\varepsilon_i\sim\mathcal N(0, I_D)`, forms
    :math:`z_i = \mu + \sigma\odot\varepsilon_i` with :func:`reparameterize`, and
    differentiates :math:`\frac1n\sum_i f(z_i)` by autograd, i.e.

    .. math::

        \hat g_\mu = \frac1n\sum_i \nabla f(z_i), \qquad
        \hat g_{\text{log\_var}} = \frac1n\sum_i \nabla f(z_i)\odot \tfrac12\,\sigma\odot\varepsilon_i .

    Parameters
    ----------
    f : callable
        ``f(z)`` with ``z`` of shape ``(n_samples, D)`` returning shape
        ``(n_samples,)``; must be differentiable in ``z`` (torch operations).
    mu, log_var : torch.Tensor
        Mean and log-variance of :math:`q`, shape ``(D,)`` (or shapes that
        broadcast to ``(D,)``, e.g. a shared ``log_var`` of shape ``(1,)``).
        They are not modified, and need not require grad.
    n_samples : int
        Number of Monte Carlo samples :math:`n \ge 1`.
    generator : torch.Generator, optional
        Source of the noise (the global generator when ``None``): the same
        seed gives the same estimate.

    Returns
    -------
    grad_mu, grad_log_var : torch.Tensor
        Unbiased estimates, of the shapes of ``mu`` and ``log_var``, detached.

    Raises
    ------
    ValueError
        If ``mu``/``log_var`` are not vectors, ``n_samples`` is not a positive
        integer, or ``f`` returns the wrong shape or a tensor without a graph.

    Notes
    -----
    Kingma & Welling (2014), sec. 2.4; Mohamed et al. (2020), sec. 5.
    """
    mu, log_var, d = _check(mu, log_var, n_samples)
    eps = _noise((1, int(n_samples), d), mu.dtype, generator)
    g_mu, g_lv = _pathwise(f, mu, log_var, eps)
    return g_mu[0], g_lv[0]


def score_function_gradient(f: _Fn, mu: torch.Tensor, log_var: torch.Tensor, n_samples: int,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Score-function (REINFORCE) estimate of :math:`\nabla_{\mu,\,\text{log\_var}}\mathbb E_q[f(z)]`.

    .. math::

        \hat g = \frac1n\sum_i f(z_i)\,\nabla\log q(z_i), \qquad
        \frac{\partial\log q}{\partial\mu} = \frac{\varepsilon_i}{\sigma}, \quad
        \frac{\partial\log q}{\partial\,\text{log\_var}} = \tfrac12(\varepsilon_i^2 - 1),

    with :math:`z_i = \mu + \sigma\odot\varepsilon_i`. ``f`` is only evaluated,
    never differentiated: it may be a step function or use NumPy.

    Parameters
    ----------
    f : callable
        ``f(z)`` with ``z`` of shape ``(n_samples, D)`` returning shape ``(n_samples,)``.
    mu, log_var : torch.Tensor
        Mean and log-variance of :math:`q`, shape ``(D,)`` (or broadcasting to it).
    n_samples : int
        Number of Monte Carlo samples :math:`n \ge 1`.
    generator : torch.Generator, optional
        Source of the noise (the global generator when ``None``).

    Returns
    -------
    grad_mu, grad_log_var : torch.Tensor
        Unbiased estimates, of the shapes of ``mu`` and ``log_var``.

    Raises
    ------
    ValueError
        As :func:`pathwise_gradient` (a graph-free ``f`` is fine here).

    Notes
    -----
    Williams (1992), eq. 9 ("REINFORCE"); Glynn (1990); Mohamed et al. (2020), sec. 4.
    The noise is drawn exactly as in :func:`pathwise_gradient`, so both use the
    same :math:`z_i` for the same seed.
    """
    mu, log_var, d = _check(mu, log_var, n_samples)
    eps = _noise((1, int(n_samples), d), mu.dtype, generator)
    g_mu, g_lv = _score(f, mu, log_var, eps)
    return g_mu[0], g_lv[0]


class GradientStats(NamedTuple):
    """Mean and variance of a gradient estimator over independent replications.

    Each field has the shape of ``mu`` (``*_mu``) or ``log_var`` (``*_log_var``);
    variances are unbiased (divisor ``n_replications - 1``), and
    ``se_* = sqrt(var_* / n_replications)`` is the standard error of ``mean_*``.
    """

    mean_mu: torch.Tensor
    mean_log_var: torch.Tensor
    var_mu: torch.Tensor
    var_log_var: torch.Tensor
    se_mu: torch.Tensor
    se_log_var: torch.Tensor


_ESTIMATORS = {"pathwise": _pathwise, "score": _score}


def estimator_variance(
    estimator: str | Callable,
    f: _Fn,
    mu: torch.Tensor,
    log_var: torch.Tensor,
    n_samples: int,
    n_replications: int = 1000,
    generator: torch.Generator | None = None,
) -> GradientStats:
    r"""Mean, variance and standard error of a gradient estimator over replications.

    Runs the estimator ``n_replications`` times, each with ``n_samples`` fresh
    samples, and summarises the ``n_replications`` estimates. The variance of a
    ``n``-sample estimator is the per-sample variance divided by ``n``.

    Parameters
    ----------
    estimator : {"pathwise", "score"} or callable
        ``"pathwise"`` / ``"score"`` use this module's estimators, vectorised over
        replications (one ``f`` call on ``n_replications * n_samples`` rows);
        a callable with the signature of :func:`pathwise_gradient` (e.g. a
        student's function) is called ``n_replications`` times in a loop.
    f : callable
        As in :func:`pathwise_gradient`: ``(n, D) -> (n,)``.
    mu, log_var : torch.Tensor
        Parameters of :math:`q`, shape ``(D,)``.
    n_samples : int
        Samples per estimate.
    n_replications : int
        Number of independent estimates (>= 2).
    generator : torch.Generator, optional
        Source of the noise.

    Returns
    -------
    GradientStats
        ``mean_mu, mean_log_var, var_mu, var_log_var, se_mu, se_log_var``.

    Raises
    ------
    ValueError
        If ``estimator`` is an unknown name or ``n_replications < 2``.
    """
    if isinstance(n_replications, bool) or int(n_replications) != n_replications or n_replications < 2:
        raise ValueError(f"n_replications must be an integer >= 2 to estimate a variance, got {n_replications!r}")
    r = int(n_replications)
    if isinstance(estimator, str):
        if estimator not in _ESTIMATORS:
            raise ValueError(f"estimator must be 'pathwise', 'score' or a callable, got {estimator!r}")
        mu_d, lv_d, d = _check(mu, log_var, n_samples)
        eps = _noise((r, int(n_samples), d), mu_d.dtype, generator)
        g_mu, g_lv = _ESTIMATORS[estimator](f, mu_d, lv_d, eps)
    elif callable(estimator):
        grads = [estimator(f, mu, log_var, n_samples, generator) for _ in range(r)]
        g_mu = torch.stack([torch.as_tensor(g[0]) for g in grads])
        g_lv = torch.stack([torch.as_tensor(g[1]) for g in grads])
    else:
        raise ValueError(f"estimator must be 'pathwise', 'score' or a callable, got {type(estimator).__name__}")
    var_mu, var_lv = g_mu.var(0), g_lv.var(0)
    return GradientStats(
        g_mu.mean(0), g_lv.mean(0), var_mu, var_lv, (var_mu / r).sqrt(), (var_lv / r).sqrt()
    )
