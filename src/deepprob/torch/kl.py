r"""KL divergences between diagonal Gaussians: analytic and Monte Carlo.

The reference versions of what students write in ``ex03_elbo`` (chapter 3),
tested against ``torch.distributions.kl_divergence``.

Both functions take means and *log-variances* and treat the last axis as the
event axis (the dimensions of one Gaussian vector): the KL is summed over it,
and every leading axis is a batch axis that broadcasts like PyTorch does.

References
----------
.. [KW2014] D. P. Kingma and M. Welling, "Auto-encoding variational Bayes",
   ICLR (2014), appendix B (the KL of a diagonal Gaussian to N(0, I)).
.. [Vink2019] R. Vink, "Variational inference from scratch" (2019), eq. 13,
   which prints :math:`\tfrac12\sum(1 + \log\sigma^2 - \mu^2 - \sigma^2)`: that is
   *minus* the KL to N(0, I), see chapter 3.
"""
from __future__ import annotations

import functools
import math

import torch

from ._checks import broadcast

__all__ = ["kl_diag_gaussians", "monte_carlo_kl"]

_LOG_2PI = math.log(2.0 * math.pi)
_NAMES = ("mu_q", "log_var_q", "mu_p", "log_var_p")


def _prepare(mu_q, log_var_q, mu_p, log_var_p):
    tensors = [torch.as_tensor(t) for t in (mu_q, log_var_q, mu_p, log_var_p)]
    for name, t in zip(_NAMES, tensors):
        if t.dim() == 0:
            raise ValueError(
                f"{name} is a scalar; the last axis is the event axis of the Gaussian: "
                f"pass shape (D,) or (..., D), e.g. {name}.reshape(1)"
            )
        if not torch.is_floating_point(t):
            raise ValueError(f"{name} must be a floating-point tensor, got dtype {t.dtype}")
    dtype = functools.reduce(torch.promote_types, [t.dtype for t in tensors])
    tensors = [t.to(dtype) for t in tensors]
    return broadcast("the last axis is the event axis (D) and must agree (or be 1) in all four arguments",
                     **dict(zip(_NAMES, tensors)))


def kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p) -> torch.Tensor:
    r"""Analytic :math:`\mathrm{KL}(q\,\|\,p)` between diagonal Gaussians, summed over the last axis.

    With :math:`q = \mathcal N(\mu_q, \operatorname{diag}\sigma_q^2)` and
    :math:`p = \mathcal N(\mu_p, \operatorname{diag}\sigma_p^2)`,

    .. math::

        \mathrm{KL}(q\,\|\,p) = \frac12 \sum_{d} \Big[\log\frac{\sigma_{p,d}^2}{\sigma_{q,d}^2}
        + \frac{\sigma_{q,d}^2 + (\mu_{q,d}-\mu_{p,d})^2}{\sigma_{p,d}^2} - 1\Big].

    Parameters
    ----------
    mu_q, log_var_q : torch.Tensor
        Mean and log-variance of :math:`q`, shape ``(..., D)``.
    mu_p, log_var_p : torch.Tensor
        Mean and log-variance of :math:`p`, shapes that broadcast with those of
        :math:`q`, e.g. ``(D,)`` or ``(1,)`` for a shared prior.

    Returns
    -------
    torch.Tensor
        Shape ``(...)``: the broadcast batch shape (the last axis summed out), in
        nats, non-negative, differentiable in all four arguments.

    Raises
    ------
    ValueError
        If an argument is a scalar (there is no event axis) or the shapes do not
        broadcast.

    Notes
    -----
    Equal to ``kl_divergence(Independent(Normal(mu_q, exp(log_var_q / 2)), 1),
    Independent(Normal(mu_p, exp(log_var_p / 2)), 1))``. With :math:`p = \mathcal N(0, I)`
    it is :math:`-\tfrac12\sum_d (1 + \log\sigma_{q,d}^2 - \mu_{q,d}^2 - \sigma_{q,d}^2)`
    ([KW2014]_, appendix B; [Vink2019]_ eq. 13 drops the minus sign).
    """
    mu_q, log_var_q, mu_p, log_var_p = _prepare(mu_q, log_var_q, mu_p, log_var_p)
    ratio = torch.exp(log_var_q - log_var_p)
    mahalanobis = (mu_q - mu_p) ** 2 * torch.exp(-log_var_p)
    return 0.5 * (ratio + mahalanobis - 1.0 - (log_var_q - log_var_p)).sum(-1)


def _log_normal(z, mu, log_var):
    return -0.5 * (_LOG_2PI + log_var + (z - mu) ** 2 * torch.exp(-log_var))


def monte_carlo_kl(mu_q, log_var_q, mu_p, log_var_p, n_samples: int, generator: torch.Generator):
    r"""Monte Carlo estimate of :math:`\mathrm{KL}(q\,\|\,p)` and its standard error.

    Draws :math:`z_s = \mu_q + \sigma_q\,\varepsilon_s`, :math:`\varepsilon_s \sim \mathcal N(0, I)`
    from ``generator`` (``s = 1..S``), and averages the log-ratio

    .. math::

        \widehat{\mathrm{KL}} = \frac1S\sum_{s=1}^S \big[\log q(z_s) - \log p(z_s)\big],
        \qquad \mathrm{SE} = \frac{\operatorname{sd}_s[\log q(z_s) - \log p(z_s)]}{\sqrt S},

    where each log-density is summed over the last (event) axis.

    Parameters
    ----------
    mu_q, log_var_q, mu_p, log_var_p : torch.Tensor
        As in :func:`kl_diag_gaussians`: shapes ``(..., D)`` that broadcast.
    n_samples : int
        Number of samples :math:`S \ge 2` (two are needed for a standard error).
    generator : torch.Generator
        The only source of randomness: two calls with generators seeded alike
        return identical results, whatever the global seed.

    Returns
    -------
    estimate : torch.Tensor
        Shape ``(...)`` (the batch shape, as :func:`kl_diag_gaussians`): the
        sample mean over the ``n_samples`` draws. Unbiased; it can be negative.
        Differentiable in the parameters of q and p (pathwise, through ``z``).
    standard_error : torch.Tensor
        Shape ``(...)``: the sample standard deviation (``ddof=1``) of the
        log-ratio divided by :math:`\sqrt S`, detached.

    Raises
    ------
    ValueError
        If ``n_samples < 2``, ``generator`` is not a ``torch.Generator``, or the
        shapes are invalid (see :func:`kl_diag_gaussians`).

    Notes
    -----
    The per-sample variance is known in closed form, :math:`\sum_d [\tfrac12(a_d-1)^2 + b_d^2]`
    with :math:`a_d = \sigma_{q,d}^2/\sigma_{p,d}^2` and
    :math:`b_d = (\mu_{q,d}-\mu_{p,d})\sigma_{q,d}/\sigma_{p,d}^2`; it vanishes when
    :math:`q = p`. Chapter 3 checks ``|estimate - exact| < 4 SE``.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(
            "generator must be a torch.Generator, e.g. torch.Generator().manual_seed(0); "
            "the estimate must not depend on the global random state"
        )
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2 (for a standard error), got {n_samples!r}")
    mu_q, log_var_q, mu_p, log_var_p = _prepare(mu_q, log_var_q, mu_p, log_var_p)
    eps = torch.randn(
        (int(n_samples),) + tuple(mu_q.shape), generator=generator, dtype=mu_q.dtype, device=generator.device
    ).to(mu_q.device)
    z = mu_q + torch.exp(0.5 * log_var_q) * eps
    log_ratio = (_log_normal(z, mu_q, log_var_q) - _log_normal(z, mu_p, log_var_p)).sum(-1)
    estimate = log_ratio.mean(0)
    standard_error = log_ratio.detach().std(0, correction=1) / math.sqrt(int(n_samples))
    return estimate, standard_error
