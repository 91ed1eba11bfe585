"""Networks whose output is a ``torch.distributions`` object, and how to train them.

Chapter 5 (heteroscedastic regression) and the benchmarks use these; the
exercise ``ex05_heteroscedastic_regression`` asks students to write their own
:class:`HeteroscedasticMLP`.

* :class:`HeteroscedasticMLP` -- an MLP that returns ``Normal(mu(x), sigma(x))``
  with ``sigma = softplus(.) + min_scale``.
* :func:`beta_nll` -- the beta-NLL loss of Seitzer et al. (2022).
* :func:`gaussian_kl_to_standard_normal`, :func:`vink_negative_elbo` -- Vink's
  ``q(y | x)`` with a ``N(0, 1)`` prior on ``y``.
* :func:`mix_normals` and :class:`GaussianEnsemble` -- a deep ensemble as an
  equally weighted ``MixtureSameFamily`` of its members.
* :func:`train_heteroscedastic` -- full-batch Adam through
  :func:`deepprob.torch.training.fit`, with optional early stopping on a
  validation split.
* :func:`predictive_scores` -- held-out NLL, interval coverage and CRPS of a
  predictive distribution, through :mod:`deepprob.metrics`.

References
----------
.. [NixWeigend1994] D. A. Nix and A. S. Weigend, "Estimating the mean and
   variance of the target probability distribution", Proc. ICNN 1994.
.. [Seitzer2022] M. Seitzer, A. Tavakoli, D. Antic and G. Martius, "On the
   pitfalls of heteroscedastic uncertainty estimation with probabilistic
   neural networks", ICLR 2022, eq. 3.
.. [Lakshminarayanan2017] B. Lakshminarayanan, A. Pritzel and C. Blundell,
   "Simple and scalable predictive uncertainty estimation using deep
   ensembles", NeurIPS 2017, Sect. 2.4.
.. [Vink2019] R. Vink, "Variational inference from scratch" (2019).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, MixtureSameFamily, Normal

from .. import predictive, seeds
from .._validation import positive_int as _positive_int
from .._validation import probability
from .heads import NormalHead
from .training import EarlyStopping, fit

__all__ = [
    "HeteroscedasticMLP",
    "beta_nll",
    "gaussian_kl_to_standard_normal",
    "vink_negative_elbo",
    "mix_normals",
    "GaussianEnsemble",
    "TrainResult",
    "train_heteroscedastic",
    "predictive_scores",
]

_ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "silu": nn.SiLU}


class HeteroscedasticMLP(nn.Module):
    r"""MLP regressor with an input-dependent Gaussian predictive (mean and scale).

    ``forward(x)`` returns :math:`\mathcal N(\mu(x), \sigma(x)^2)` with

    .. math::

        \mu(x) = h(x)^\top w_\mu + b_\mu, \qquad
        \sigma(x) = \operatorname{softplus}\big(h(x)^\top w_\sigma + b_\sigma\big)
        + \sigma_{\min},

    where :math:`h` is the last hidden layer. The softplus makes the scale
    positive and grows only linearly for large arguments (``exp`` would
    overflow); the floor :math:`\sigma_{\min}` keeps ``log_prob`` finite when
    the network drives the raw output to :math:`-\infty` (variance collapse).
    Nix & Weigend (1994) [NixWeigend1994]_.

    Parameters
    ----------
    in_features : int
        Number of input features ``D``.
    hidden_features : int or sequence of int
        Width of the hidden layer, or widths of several hidden layers, e.g.
        ``(50, 50)``.
    min_scale : float, default 1e-3
        Floor ``sigma_min >= 0`` added to the softplus, in the units of ``y``.
    activation : {"tanh", "relu", "elu", "silu"}, default "tanh"
        Non-linearity of the hidden layers.

    Raises
    ------
    ValueError
        If a size is not a positive integer, ``min_scale < 0`` or the
        activation is unknown.

    Examples
    --------
    >>> model = HeteroscedasticMLP(1, (50, 50))
    >>> dist = model(torch.zeros(8, 1))
    >>> dist.batch_shape
    torch.Size([8, 1])
    """

    def __init__(self, in_features, hidden_features, min_scale=1e-3, activation="tanh"):
        super().__init__()
        in_features = _positive_int(in_features, "in_features")
        widths = (hidden_features,) if isinstance(hidden_features, numbers.Integral) else tuple(hidden_features)
        if not widths:
            raise ValueError("hidden_features must name at least one hidden layer, e.g. 50 or (50, 50).")
        widths = tuple(_positive_int(w, "hidden_features") for w in widths)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}.")
        layers: list[nn.Module] = []
        previous = in_features
        for width in widths:
            layers += [nn.Linear(previous, width), _ACTIVATIONS[activation]()]
            previous = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(previous, NormalHead.params_size(1))
        self.normal = NormalHead(1, min_scale=min_scale)
        self.in_features = in_features
        self.min_scale = self.normal.min_scale

    def forward(self, x: torch.Tensor) -> Normal:
        """Predictive distribution of ``y`` at ``x``.

        Parameters
        ----------
        x : torch.Tensor, shape (N, D)
            Inputs, of the dtype of the parameters.

        Returns
        -------
        torch.distributions.Normal
            Batch shape ``(N, 1)``; ``loc`` is the mean, ``scale > 0`` the
            standard deviation.

        Raises
        ------
        ValueError
            If ``x`` is not of shape ``(N, D)``.
        """
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(
                f"x must have shape (N, {self.in_features}); got {tuple(x.shape)}. "
                "Reshape a vector of inputs with x.reshape(-1, 1)."
            )
        return self.normal(self.head(self.body(x)))


def beta_nll(dist, y: torch.Tensor, beta: float) -> torch.Tensor:
    r"""The beta-NLL loss of Seitzer et al. (2022), averaged over points.

    .. math::

        \mathcal L_{\beta} = \frac1n \sum_i
        \big\lfloor \sigma_i^{2\beta} \big\rfloor
        \Big[\tfrac12\log 2\pi\sigma_i^2 + \frac{(y_i-\mu_i)^2}{2\sigma_i^2}\Big],

    where :math:`\lfloor\cdot\rfloor` is the stop-gradient (``detach``). Each
    point's NLL is weighted by its predicted variance to the power
    :math:`\beta`, which undoes the :math:`1/\sigma^2` that shrinks the gradient
    of the mean where the model claims small noise. :math:`\beta = 0` is the
    Gaussian NLL; :math:`\beta = 1` gives the mean the gradient of the MSE.
    Seitzer et al. recommend :math:`\beta = 0.5` ([Seitzer2022]_, eq. 3; the
    constant :math:`\tfrac12\log 2\pi` is kept here so that :math:`\beta = 0`
    equals ``-dist.log_prob(y).mean()``; it does not change the gradients).

    Parameters
    ----------
    dist : torch.distributions.Normal
        Predictive distribution, batch shape broadcastable with ``y``, e.g.
        ``(N, 1)``.
    y : torch.Tensor
        Targets, e.g. ``(N, 1)``.
    beta : float
        Exponent in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        Scalar loss (nats, weighted).

    Raises
    ------
    ValueError
        If ``beta`` is outside ``[0, 1]`` or ``dist`` has no ``variance``.
    """
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be a number in [0, 1] (0 = NLL, 0.5 recommended); got {beta!r}.")
    if not hasattr(dist, "variance"):
        raise ValueError("dist must be a distribution with a variance, e.g. torch.distributions.Normal.")
    nll = -dist.log_prob(y)
    if beta == 0.0:
        return nll.mean()
    weight = dist.variance.detach() ** beta
    return (weight * nll).mean()


def gaussian_kl_to_standard_normal(dist: Normal) -> torch.Tensor:
    r"""Elementwise :math:`\mathrm{KL}(\mathcal N(\mu,\sigma^2)\,\|\,\mathcal N(0,1))`.

    .. math::

        \mathrm{KL} = \tfrac12\big(\sigma^2 + \mu^2 - 1 - \log\sigma^2\big)

    (Kingma & Welling 2014, appendix B; this is *minus* Vink's eq. 13).

    Parameters
    ----------
    dist : torch.distributions.Normal
        Any batch shape.

    Returns
    -------
    torch.Tensor
        KL in nats, of the batch shape of ``dist``.
    """
    var = dist.scale**2
    return 0.5 * (var + dist.loc**2 - 1.0 - torch.log(var))


def vink_negative_elbo(dist: Normal, y: torch.Tensor) -> torch.Tensor:
    r"""Vink's objective for ``q(y | x)`` with a ``N(0, 1)`` prior on ``y``, negated.

    Vink (2019) trains a network that outputs ``q(y | x) = N(mu(x), sigma(x)^2)``
    by maximising, per point, ``log q(y_i | x_i) - KL(q(. | x_i) || N(0, 1))``
    (his likelihood term is the Gaussian ``log N(y_i; mu_i, sigma_i^2)``, his KL
    a one-sample Monte Carlo estimate; the analytic KL is used here). The KL
    term pulls ``mu`` towards 0 and ``sigma`` towards 1: per ``x`` the optimum
    solves ``mu = m / (1 + sigma^2)`` and ``sigma^4 = (m - mu)^2 + s^2`` for data
    with conditional mean ``m`` and sd ``s`` (chapter 5).

    Parameters
    ----------
    dist : torch.distributions.Normal
        ``q(y | x)``, batch shape ``(N, 1)``.
    y : torch.Tensor, shape (N, 1)
        Observed (standardised) targets.

    Returns
    -------
    torch.Tensor
        Scalar: mean over points of ``-log q(y|x) + KL(q || N(0, 1))``.
    """
    return (-dist.log_prob(y) + gaussian_kl_to_standard_normal(dist)).mean()


def mix_normals(dists: Sequence[Normal], weights: torch.Tensor | None = None) -> MixtureSameFamily:
    r"""Mix Gaussian predictives into one ``MixtureSameFamily``.

    For a deep ensemble of :math:`M` members, the predictive is
    :math:`p(y\mid x) = \frac1M\sum_m \mathcal N(y;\mu_m(x),\sigma_m^2(x))`
    ([Lakshminarayanan2017]_, Sect. 2.4).

    Parameters
    ----------
    dists : sequence of torch.distributions.Normal
        ``M >= 1`` members with the same batch shape, e.g. ``(N, 1)``.
    weights : torch.Tensor, shape (M,), optional
        Non-negative mixture weights (normalised here); equal when ``None``.

    Returns
    -------
    torch.distributions.MixtureSameFamily
        Batch shape of the members; components on a new last axis of size ``M``.
        Its ``mean`` and ``variance`` are the mixture's (law of total variance).

    Raises
    ------
    ValueError
        If ``dists`` is empty, the batch shapes differ, or ``weights`` has the
        wrong length or a negative entry.
    """
    dists = list(dists)
    if not dists:
        raise ValueError("dists is empty; pass at least one Normal.")
    shape = dists[0].batch_shape
    if any(d.batch_shape != shape for d in dists):
        raise ValueError(
            f"every member must have the same batch shape; got {[tuple(d.batch_shape) for d in dists]}."
        )
    loc = torch.stack([d.loc for d in dists], dim=-1)
    scale = torch.stack([d.scale for d in dists], dim=-1)
    if weights is None:
        logits = torch.zeros(len(dists), dtype=loc.dtype, device=loc.device)
    else:
        weights = torch.as_tensor(weights, dtype=loc.dtype, device=loc.device)
        if weights.shape != (len(dists),) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be {len(dists)} non-negative numbers with a positive sum.")
        logits = torch.log(weights / weights.sum())
    mixing = Categorical(logits=logits.expand(*shape, len(dists)))
    return MixtureSameFamily(mixing, Normal(loc, scale))


class GaussianEnsemble(nn.Module):
    """A deep ensemble: members that return ``Normal``\\ s, mixed with equal weights.

    Parameters
    ----------
    members : sequence of torch.nn.Module
        Each ``member(x)`` returns a ``torch.distributions.Normal`` (e.g. a
        trained :class:`HeteroscedasticMLP`).

    Raises
    ------
    ValueError
        If ``members`` is empty.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        if len(members) == 0:
            raise ValueError("an ensemble needs at least one member.")
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> MixtureSameFamily:
        """Mixture predictive at ``x`` (N, D): batch shape ``(N, 1)``, ``M`` components."""
        return mix_normals([member(x) for member in self.members])


@dataclass
class TrainResult:
    """What :func:`train_heteroscedastic` measured.

    Attributes
    ----------
    train_loss : list of float
        Training loss at every step (full batch: one step per epoch).
    val_nll : list of float
        Validation NLL (nats per point) at every check, empty without validation data.
    val_steps : list of int
        Step numbers of the checks.
    best_step : int
        Step whose parameters the model holds at the end (the last step
        without validation data).
    stopped_early : bool
        Whether patience ran out before ``steps``.
    """

    train_loss: list = field(default_factory=list)
    val_nll: list = field(default_factory=list)
    val_steps: list = field(default_factory=list)
    best_step: int = 0
    stopped_early: bool = False

    @property
    def best_val_nll(self) -> float:
        """Lowest validation NLL seen (``nan`` without validation data)."""
        return min(self.val_nll) if self.val_nll else math.nan


def train_heteroscedastic(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int = 2000,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    loss: str | Callable = "nll",
    beta: float = 0.5,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    check_every: int = 10,
    patience: int = 20,
    seed: int = 0,
    progress: bool = True,
) -> TrainResult:
    """Train a model that returns a distribution, full batch, with optional early stopping.

    Runs :func:`deepprob.torch.training.fit` with one Adam step per epoch on
    the whole training set. With validation data, its
    :class:`~deepprob.torch.training.EarlyStopping` callback computes the
    validation NLL every ``check_every`` steps; the parameters with the lowest
    one are kept, and training stops once ``patience`` checks in a row did not
    improve it (then the best parameters are loaded back into ``model``).

    Parameters
    ----------
    model : torch.nn.Module
        ``model(x)`` returns a ``torch.distributions.Distribution`` of batch
        shape ``(N, 1)``; updated in place.
    x, y : torch.Tensor, shape (N, D) and (N, 1)
        Training data.
    steps : int, default 2000
        Maximum number of Adam steps.
    lr, weight_decay : float
        Adam's learning rate and (L2) weight decay.
    loss : {"nll", "beta_nll", "vink"} or callable, default "nll"
        ``"nll"``: mean negative log-likelihood; ``"beta_nll"``:
        :func:`beta_nll` with ``beta``; ``"vink"``: :func:`vink_negative_elbo`;
        a callable ``loss(dist, y)`` returning a scalar.
    beta : float, default 0.5
        Exponent of the beta-NLL (used only with ``loss="beta_nll"``).
    x_val, y_val : torch.Tensor, optional
        Validation data for early stopping; give both or neither.
    check_every, patience : int
        Steps between validation checks, and checks without improvement
        before stopping.
    seed : int
        Seed of :func:`~deepprob.torch.training.fit` (weight noise, dropout).
        Seed the model's initialisation yourself, before building it
        (:func:`deepprob.seeds.seed_torch`).
    progress : bool
        tqdm progress bar (off with ``TQDM_DISABLE=1``).

    Returns
    -------
    TrainResult
        Losses, validation curve, the step kept, whether it stopped early.

    Raises
    ------
    ValueError
        If only one of ``x_val``/``y_val`` is given, ``loss`` is unknown, or a
        count is not a positive integer.
    """
    steps = _positive_int(steps, "steps")
    check_every = _positive_int(check_every, "check_every")
    patience = _positive_int(patience, "patience")
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither.")
    if callable(loss):
        objective = loss
    elif loss == "nll":
        def objective(dist, target):
            return -dist.log_prob(target).mean()
    elif loss == "beta_nll":
        def objective(dist, target):
            return beta_nll(dist, target, beta)
    elif loss == "vink":
        objective = vink_negative_elbo
    else:
        raise ValueError(f"loss must be 'nll', 'beta_nll', 'vink' or a callable; got {loss!r}.")
    callbacks = [] if x_val is None else [EarlyStopping(x_val, y_val, check_every, patience)]
    history = fit(model, lambda m, xb, yb: objective(m(xb), yb), x, y, epochs=steps, batch_size=None, lr=lr,
                  weight_decay=weight_decay, seed=seed, callbacks=callbacks, progress=progress,
                  description="heteroscedastic fit")
    model.eval()
    if not callbacks:
        return TrainResult(train_loss=history, best_step=len(history))
    stopper = callbacks[0]
    return TrainResult(train_loss=history, val_nll=stopper.val_nll, val_steps=stopper.val_steps,
                       best_step=stopper.best_step, stopped_early=stopper.stopped_early)


def predictive_scores(dist, y, *, level: float = 0.9, n_samples: int = 1000, seed: int = 0) -> dict:
    """Held-out NLL, central-interval coverage and CRPS of a predictive distribution.

    The distribution seen through :func:`deepprob.predictive.score`: a
    ``Normal`` is scored in closed form; any other distribution (e.g. the
    ``MixtureSameFamily`` of an ensemble) through ``n_samples`` draws (coverage
    from the PIT of the draws, CRPS by the sample estimator). The NLL is always
    exact (``log_prob``).

    Parameters
    ----------
    dist : torch.distributions.Distribution
        Predictive of batch shape ``(N, 1)`` (or ``(N,)``), matching ``y``.
    y : torch.Tensor or array_like, shape (N, 1)
        Held-out targets.
    level : float, default 0.9
        Nominal probability of the central interval.
    n_samples : int, default 1000
        Draws for non-Gaussian predictives.
    seed : int, default 0
        Seed of those draws.

    Returns
    -------
    dict
        ``nll`` (nats per point), ``nll_se`` (its standard error over points,
        ``nan`` for a single point),
        ``coverage`` (fraction of ``y`` inside the interval) and ``crps``
        (mean, in the units of ``y``).

    Raises
    ------
    ValueError
        If ``level`` is not in ``(0, 1)`` or the shapes of ``dist`` and ``y`` differ.
    """
    level = probability(level, "level")
    y_t = torch.as_tensor(y)
    if tuple(dist.batch_shape) != tuple(y_t.shape):
        raise ValueError(
            f"dist has batch shape {tuple(dist.batch_shape)} but y has shape {tuple(y_t.shape)}; "
            "they must match, e.g. (N, 1)."
        )
    y_np = y_t.double().cpu().numpy()
    index = np.arange(y_np.shape[0])
    return predictive.score(_TorchPredictive(dist, n_samples), index, y_np, level=level, n_draws=n_samples,
                            seed=seed, chunk=len(index))


class _TorchPredictive:
    """A fitted ``torch.distributions`` predictive seen through :mod:`deepprob.predictive`'s protocol.

    ``x`` is ignored: the distribution is already the predictive at the held-out inputs.
    """

    def __init__(self, dist, n_samples):
        self.dist = dist
        if isinstance(dist, Normal):
            self.normal = self._normal
        else:
            self.sample = self._sample

    def _as_numpy(self, t):
        return t.detach().double().cpu().numpy()

    def log_prob(self, x, y):
        with torch.no_grad():
            return self._as_numpy(self.dist.log_prob(torch.as_tensor(y, dtype=self.dist.mean.dtype)))

    def _normal(self, x):
        return self._as_numpy(self.dist.loc), self._as_numpy(self.dist.scale)

    def _sample(self, x, n_samples, seed):
        with torch.no_grad(), seeds.torch_seeded(seed):
            return self._as_numpy(self.dist.sample((n_samples,)))
