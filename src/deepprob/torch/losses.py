"""Negative log-likelihoods written by hand, and tested against ``torch.distributions``.

These are the reference versions of what students write in the exercise
``ex01_maximum_likelihood``: the book imports them from here rather than
copying them into every chapter.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ._checks import broadcast

__all__ = ["gaussian_nll", "bernoulli_nll", "reweight_probabilities"]

_LOG_2PI = math.log(2.0 * math.pi)


def gaussian_nll(y: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    r"""Mean Gaussian negative log-likelihood, parameterised by the log-variance.

    .. math::

        \mathrm{NLL} = \frac{1}{n}\sum_i \tfrac12\Big[\log 2\pi + \log\sigma_i^2
        + \frac{(y_i-\mu_i)^2}{\sigma_i^2}\Big], \qquad \sigma_i^2 = e^{\text{log\_var}_i}

    Parameters
    ----------
    y, mu, log_var : torch.Tensor
        Observations, predictive means and predictive log-variances. Any shapes
        that broadcast together, e.g. ``(N, 1)``, ``(N, 1)`` and ``(1,)``.

    Returns
    -------
    torch.Tensor
        Scalar (shape ``()``): the mean over all broadcast elements, in nats.
        Differentiable with respect to ``mu`` and ``log_var``.

    Raises
    ------
    ValueError
        If ``y``, ``mu`` and ``log_var`` do not broadcast together, e.g. ``y``
        of shape ``(N, 2)`` against ``mu`` of shape ``(N, 3)``.

    Notes
    -----
    The constant :math:`\tfrac12\log 2\pi` is included, so the value equals
    ``-Normal(mu, exp(log_var / 2)).log_prob(y).mean()``. Bishop (2006), eq. 1.54;
    Vink's eq. 12 with the sign of the constant corrected (see chapter 1).
    """
    y, mu, log_var = broadcast("reshape so that trailing dimensions agree, e.g. y (N, 1) with mu (N, 1)",
                               y=y, mu=mu, log_var=log_var)
    return 0.5 * (_LOG_2PI + log_var + (y - mu) ** 2 * torch.exp(-log_var)).mean()


def bernoulli_nll(y: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""Mean Bernoulli negative log-likelihood (binary cross-entropy) from logits.

    .. math::

        \mathrm{NLL} = \frac1n\sum_i \big[\operatorname{softplus}(\ell_i) - y_i\,\ell_i\big]
        = -\frac1n\sum_i \big[y_i\log\sigma(\ell_i) + (1-y_i)\log(1-\sigma(\ell_i))\big]

    written with ``softplus`` so that it stays finite for logits of any size.

    Parameters
    ----------
    y : torch.Tensor
        Labels in ``{0, 1}`` (or soft labels in ``[0, 1]``), shape broadcastable
        with ``logits``, e.g. ``(N,)``.
    logits : torch.Tensor
        Log-odds :math:`\ell = \log\frac{p}{1-p}` of class 1, e.g. ``(N,)``.

    Returns
    -------
    torch.Tensor
        Scalar mean over all broadcast elements, in nats.

    Raises
    ------
    ValueError
        If the shapes do not broadcast or a label lies outside ``[0, 1]``.

    Notes
    -----
    Equal to ``torch.nn.functional.binary_cross_entropy_with_logits(logits, y)``;
    Bishop (2006), eq. 4.90.
    """
    y, logits = broadcast("reshape so that trailing dimensions agree, e.g. y (N, 1) with logits (N, 1)",
                          y=y, logits=logits)
    if ((y < 0) | (y > 1)).any():
        raise ValueError("labels y must lie in [0, 1]; did you pass the logits as y?")
    return (F.softplus(logits) - y * logits).mean()


def reweight_probabilities(p, train_prior: float, target_prior: float):
    r"""Move a classifier's probability from the training prior to a target prior.

    A classifier trained where class 1 has frequency :math:`\pi` estimates
    :math:`q(1\mid x) \propto p(x\mid 1)\,\pi`. Under a new prior :math:`\pi'`
    Bayes' rule gives

    .. math::

        q'(1\mid x) = \frac{q\,\pi'/\pi}{q\,\pi'/\pi + (1-q)\,(1-\pi')/(1-\pi)},

    i.e. the log-odds shift by :math:`\operatorname{logit}\pi' - \operatorname{logit}\pi`.

    Parameters
    ----------
    p : torch.Tensor or array_like
        :math:`q(1\mid x)` under the training prior, any shape, values in ``[0, 1]``.
    train_prior, target_prior : float
        Frequency of class 1 in the training data and in the target population,
        each strictly between 0 and 1.

    Returns
    -------
    torch.Tensor
        :math:`q'(1\mid x)`, same shape as ``p``.

    Raises
    ------
    ValueError
        If a prior is not in (0, 1) or a probability is outside [0, 1].

    Notes
    -----
    Saerens, Latinne & Decaestecker (2002), eq. 2.4; Lanusse's "prior shift".
    """
    for name, prior in (("train_prior", train_prior), ("target_prior", target_prior)):
        if not 0.0 < float(prior) < 1.0:
            raise ValueError(f"{name} must be a class frequency strictly between 0 and 1, got {prior}")
    p = torch.as_tensor(p)
    if ((p < 0) | (p > 1)).any():
        raise ValueError("p must be probabilities in [0, 1]; pass torch.sigmoid(logits), not logits")
    ratio_1 = target_prior / train_prior
    ratio_0 = (1.0 - target_prior) / (1.0 - train_prior)
    return p * ratio_1 / (p * ratio_1 + (1.0 - p) * ratio_0)
