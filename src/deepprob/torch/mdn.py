"""Mixture density networks (Bishop 1994) in PyTorch.

The reference versions of what students write in ``ex08_mixture_density_networks``:

* :func:`mdn_nll` -- the mean negative log-likelihood of a univariate Gaussian
  mixture, by ``log_softmax`` and ``logsumexp`` (finite for targets far from
  every component);
* :class:`MixtureDensityNetwork` -- an MLP whose ``forward`` returns a
  ``torch.distributions.MixtureSameFamily`` of batch shape ``(N,)``, with a
  floor on the component scales and a data-dependent initialisation
  (:meth:`MixtureDensityNetwork.init_from_targets`);
* :func:`mixture_quantile` -- quantiles of such a mixture by bisection on its
  CDF (central intervals, medians).

Import it explicitly: ``from deepprob.torch import mdn``.

References
----------
.. [Bishop1994] C. M. Bishop, "Mixture density networks", Technical Report
   NCRG/94/004, Aston University (1994), eq. 22-29.
.. [Bishop2006] C. M. Bishop, *Pattern Recognition and Machine Learning*,
   Springer (2006), Sect. 5.6, eq. 5.148-5.153.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily, Normal

from .._validation import positive_int as _positive_int

__all__ = ["mdn_nll", "MixtureDensityNetwork", "mixture_quantile"]

_LOG_2PI = math.log(2.0 * math.pi)


def _targets_as_column(y: torch.Tensor, n: int) -> torch.Tensor:
    """Return ``y`` of shape (N,) or (N, 1) as (N, 1), refusing anything else."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(
            f"y must have shape (N,) or (N, 1) with N = {n} (one target per row of the "
            f"mixture parameters); got {tuple(y.shape)}. Reshape it with y.reshape(-1)."
        )
    return y.unsqueeze(-1)


def mdn_nll(logits: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Mean negative log-likelihood of a univariate Gaussian mixture per point.

    .. math::

        \mathrm{NLL} = -\frac1N \sum_{i=1}^N \log \sum_{k=1}^K \pi_{ik}\,
        \mathcal N\!\big(y_i;\ \mu_{ik},\ \sigma_{ik}^2\big),\qquad
        \pi_{ik} = \operatorname{softmax}_k(\text{logits}_{i\cdot}),\quad
        \sigma_{ik} = e^{\text{log\_sigma}_{ik}},

    computed as ``-logsumexp(log_softmax(logits) + log N(y; mu, sigma), dim=-1).mean()``,
    so that it stays finite (and exact) for a ``y`` far from every component,
    where every ``N(y; mu_k, sigma_k)`` underflows to 0 in floating point.

    Parameters
    ----------
    logits : torch.Tensor, shape (N, K)
        Unnormalised log mixture weights (any constant may be added to a row).
    mu : torch.Tensor, shape (N, K)
        Component means, in the units of ``y``.
    log_sigma : torch.Tensor, shape (N, K)
        Natural logarithms of the component standard deviations.
    y : torch.Tensor, shape (N,) or (N, 1)
        One target per row.

    Returns
    -------
    torch.Tensor
        Scalar (shape ``()``), nats per point; differentiable with respect to
        the three parameter tensors.

    Raises
    ------
    ValueError
        If the parameters are not three tensors of the same shape ``(N, K)``, or
        ``y`` is not of shape ``(N,)`` or ``(N, 1)``.

    Notes
    -----
    Bishop (1994), eq. 29 (the error function of an MDN); equal to
    ``-MixtureSameFamily(Categorical(logits=logits), Normal(mu, log_sigma.exp())).log_prob(y.reshape(-1)).mean()``.
    With ``y`` of shape ``(N, 1)`` passed to that ``log_prob`` directly, the
    result has shape ``(N, N)`` (every target scored under every mixture): the
    classic broadcasting bug; this function reshapes ``y`` first.
    """
    if logits.ndim != 2 or mu.shape != logits.shape or log_sigma.shape != logits.shape:
        raise ValueError(
            "logits, mu and log_sigma must all have shape (N, K); got "
            f"{tuple(logits.shape)}, {tuple(mu.shape)}, {tuple(log_sigma.shape)}."
        )
    y = _targets_as_column(y, logits.shape[0]).to(mu.dtype)
    log_w = torch.log_softmax(logits, dim=-1)
    z = (y - mu) * torch.exp(-log_sigma)
    log_comp = -0.5 * _LOG_2PI - log_sigma - 0.5 * z * z
    return -torch.logsumexp(log_w + log_comp, dim=-1).mean()


class MixtureDensityNetwork(nn.Module):
    r"""An MLP whose output is a mixture of ``K`` univariate Gaussians.

    ``x`` (N, D) → ``hidden_layers`` tanh layers of width ``hidden_features`` →
    three linear heads giving, per point, ``K`` logits, ``K`` means and ``K``
    unconstrained scales ``s``; the component standard deviations are

    .. math:: \sigma_k = \sigma_{\min} + \operatorname{softplus}(s_k),

    so that no component can shrink onto a single training point (the NLL of
    a mixture is unbounded below without a floor: a component centred on one
    point with :math:`\sigma\to0` sends the likelihood to infinity).

    Parameters
    ----------
    in_features : int
        Number of input features ``D``.
    n_components : int
        Number of mixture components ``K`` (1 gives a heteroscedastic Gaussian).
    hidden_features : int
        Width of every hidden layer.
    hidden_layers : int, default 2
        Number of hidden tanh layers (Bishop 1994 used one).
    sigma_min : float, default 1e-3
        Floor of the component standard deviations, in the units of ``y``;
        ``0`` removes it (for experiments).

    Raises
    ------
    ValueError
        If a size is not a positive integer or ``sigma_min`` is negative.

    Notes
    -----
    ``forward(x)`` returns ``MixtureSameFamily(Categorical(logits=logits),
    Normal(mu, sigma))`` with **batch shape** ``(N,)`` and **event shape**
    ``()``: one scalar target per point. Score targets of shape ``(N,)``:
    ``model(x).log_prob(y.reshape(-1))`` has shape ``(N,)``. A ``y`` of shape
    ``(N, 1)`` would broadcast against the batch to an ``(N, N)`` table.
    :meth:`nll` does the reshaping for you.

    Examples
    --------
    >>> model = MixtureDensityNetwork(1, n_components=3, hidden_features=20)
    >>> dist = model(torch.zeros(5, 1))
    >>> dist.batch_shape, dist.event_shape, dist.mixture_distribution.probs.shape
    (torch.Size([5]), torch.Size([]), torch.Size([5, 3]))
    """

    def __init__(
        self,
        in_features: int,
        n_components: int,
        hidden_features: int,
        *,
        hidden_layers: int = 2,
        sigma_min: float = 1e-3,
    ):
        super().__init__()
        in_features = _positive_int(in_features, "in_features")
        self.n_components = _positive_int(n_components, "n_components")
        hidden_features = _positive_int(hidden_features, "hidden_features")
        hidden_layers = _positive_int(hidden_layers, "hidden_layers")
        if not float(sigma_min) >= 0.0:
            raise ValueError(f"sigma_min must be >= 0 (a floor on the scales); got {sigma_min!r}.")
        self.sigma_min = float(sigma_min)
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(hidden_layers):
            layers += [nn.Linear(width, hidden_features), nn.Tanh()]
            width = hidden_features
        self.body = nn.Sequential(*layers)
        self.logits_head = nn.Linear(width, self.n_components)
        self.mu_head = nn.Linear(width, self.n_components)
        self.scale_head = nn.Linear(width, self.n_components)

    @torch.no_grad()
    def init_from_targets(self, y: torch.Tensor, head_scale: float = 0.1) -> "MixtureDensityNetwork":
        """Spread the initial components over the targets (a data-dependent initialisation).

        Sets the bias of the mean head to the quantiles ``(k + 1/2) / K`` of
        ``y``, the scales to ``sd(y) / K`` and the weights to equal, and shrinks
        the heads' weights by ``head_scale``: at the start every input sees
        ``K`` distinct components tiling the range of the targets, instead of
        ``K`` near-identical components around 0 that must first break their
        symmetry (a cause of unused, "collapsed" components).

        Parameters
        ----------
        y : torch.Tensor, shape (N,) or (N, 1)
            Training targets.
        head_scale : float, default 0.1
            Factor applied to the weight matrices of the three heads.

        Returns
        -------
        MixtureDensityNetwork
            ``self``, for chaining.

        Raises
        ------
        ValueError
            If ``y`` has fewer than two values.
        """
        y = torch.as_tensor(y).reshape(-1).to(self.mu_head.bias.dtype)
        if y.numel() < 2:
            raise ValueError("init_from_targets needs at least two targets.")
        k = self.n_components
        probs = (torch.arange(k, dtype=y.dtype) + 0.5) / k
        self.mu_head.bias.copy_(torch.quantile(y, probs))
        sigma = max(float(y.std()) / k - self.sigma_min, 1e-6)
        self.scale_head.bias.fill_(math.log(math.expm1(sigma)))  # softplus^{-1}
        self.logits_head.bias.zero_()
        for head in (self.logits_head, self.mu_head, self.scale_head):
            head.weight.mul_(head_scale)
        return self

    def mixture_parameters(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(logits, mu, log_sigma)``, each of shape (N, K), for :func:`mdn_nll`.

        Parameters
        ----------
        x : torch.Tensor, shape (N, D)

        Raises
        ------
        ValueError
            If ``x`` is not two-dimensional.
        """
        if x.ndim != 2:
            raise ValueError(f"x must have shape (N, D); got {tuple(x.shape)}. Use x.reshape(-1, 1) for one feature.")
        h = self.body(x)
        sigma = self.sigma_min + F.softplus(self.scale_head(h))
        return self.logits_head(h), self.mu_head(h), torch.log(sigma)

    def forward(self, x: torch.Tensor) -> MixtureSameFamily:
        """The predictive mixture ``p(y | x)``: batch shape (N,), event shape ()."""
        logits, mu, log_sigma = self.mixture_parameters(x)
        return MixtureSameFamily(Categorical(logits=logits), Normal(mu, torch.exp(log_sigma)))

    def nll(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean NLL of targets ``y`` (N,) or (N, 1) given ``x`` (N, D), by :func:`mdn_nll`."""
        return mdn_nll(*self.mixture_parameters(x), y)


def mixture_quantile(dist: MixtureSameFamily, q, *, iterations: int = 60) -> torch.Tensor:
    """Quantiles of a univariate Gaussian mixture, by bisection on its CDF.

    Parameters
    ----------
    dist : torch.distributions.MixtureSameFamily
        Mixture of ``Normal`` components with batch shape ``(N,)`` and event
        shape ``()``.
    q : float or torch.Tensor broadcastable with (N,)
        Probabilities in ``(0, 1)``.
    iterations : int, default 60
        Bisection steps; the bracket shrinks by ``2**-iterations``.

    Returns
    -------
    torch.Tensor, shape (N,)
        ``y`` with ``dist.cdf(y) = q``.

    Raises
    ------
    ValueError
        If a probability is outside ``(0, 1)`` or the components are not ``Normal``.
    """
    comp = dist.component_distribution
    if not isinstance(comp, Normal):
        raise ValueError("mixture_quantile needs Normal components (MixtureSameFamily(..., Normal(mu, sigma))).")
    q = torch.as_tensor(q, dtype=comp.loc.dtype)
    if not bool(((q > 0) & (q < 1)).all()):
        raise ValueError("q must be probabilities strictly between 0 and 1, e.g. 0.05 and 0.95.")
    with torch.no_grad():
        # The quantile lies between the extreme component quantiles (at most 10 sd out).
        lo = (comp.loc - 10.0 * comp.scale).min(dim=-1).values
        hi = (comp.loc + 10.0 * comp.scale).max(dim=-1).values
        q = q.expand_as(lo)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            below = dist.cdf(mid) < q
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
    return 0.5 * (lo + hi)
