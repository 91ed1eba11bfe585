"""Bayes by Backprop: mean-field Gaussian layers, the ELBO and its minibatch KL weights.

Reference implementation of chapter 6 and of the exercise
``ex06_bayesian_neural_networks``. A :class:`LinearVariational` layer keeps a
factorised Gaussian ``q(w) = prod_j N(w_j; mu_j, sigma_j^2)`` over its weights
and biases, with ``sigma = softplus(rho)`` so that ``rho`` is unconstrained, and
draws a fresh reparameterised sample ``w = mu + sigma * eps`` at every forward
pass [Blundell2015]_. The KL divergence to the prior ``N(0, prior_sigma^2)`` is
analytic. :func:`kl_divergence` collects it from the modules of a model — not
from an accumulator stored on a class, which every model would share (the bug
of Vink's ``KL`` dataclass, COURSE.md errata).

References
----------
.. [Blundell2015] C. Blundell, J. Cornebise, K. Kavukcuoglu and D. Wierstra,
   "Weight uncertainty in neural networks", ICML 2015 (arXiv:1505.05424):
   Sect. 3.2 (the Gaussian variational posterior, ``sigma = log(1 + exp(rho))``),
   eq. 8-9 (the minibatch cost and the weights ``pi_i = 2^(M-i) / (2^M - 1)``).
.. [Graves2011] A. Graves, "Practical variational inference for neural
   networks", NIPS 2011 (the uniform ``1/M`` weight).
"""
from __future__ import annotations

import math
import numbers
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import positive_float as _positive_float
from ..predictive import monte_carlo_log_prob
from .._validation import positive_int as _positive_int
from .heads import NormalHead
from .training import Callback, fit

__all__ = [
    "LinearVariational",
    "BayesianMLP",
    "kl_divergence",
    "negative_elbo",
    "minibatch_kl_weights",
    "fit_bayes_by_backprop",
    "MinibatchKLWeight",
    "predictive_moments",
    "predictive_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)


# --------------------------------------------------------------------------- the layer
class LinearVariational(nn.Module):
    r"""A linear layer with a mean-field Gaussian posterior over its weights and biases.

    ``q(W_ij) = N(mu_ij, softplus(rho_ij)^2)`` and likewise for the bias; each
    call to :meth:`forward` draws one fresh sample ``W = mu + softplus(rho) * eps``,
    ``eps ~ N(0, 1)`` (the reparameterisation trick, so gradients reach ``mu`` and
    ``rho``) shared by the whole batch, and returns ``x @ W.T + b`` [Blundell2015]_.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of the input ``(N, in_features)`` and output ``(N, out_features)``.
    prior_sigma : float, default 1.0
        Standard deviation of the prior ``N(0, prior_sigma^2)`` on every weight
        and bias.
    rho_init : float, default -5.0
        Initial value of every ``rho`` (``softplus(-5) = 0.0067``): start close
        to a deterministic network, as Blundell et al. do, and let the KL term
        widen the posterior where the data allow.

    Attributes
    ----------
    weight_mu, weight_rho : torch.nn.Parameter, shape (out_features, in_features)
    bias_mu, bias_rho : torch.nn.Parameter, shape (out_features,)

    Raises
    ------
    ValueError
        If a size is not a positive integer or ``prior_sigma`` is not positive.

    Examples
    --------
    >>> layer = LinearVariational(3, 2, prior_sigma=0.5)
    >>> x = torch.randn(10, 3)
    >>> bool((layer(x) != layer(x)).any())      # a new weight sample each call
    True
    >>> layer.kl_divergence().shape
    torch.Size([])
    """

    def __init__(self, in_features, out_features, prior_sigma=1.0, rho_init=-5.0):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.prior_sigma = _positive_float(prior_sigma, "prior_sigma")
        bound = 1.0 / math.sqrt(self.in_features)  # nn.Linear's default scale
        self.weight_mu = nn.Parameter(torch.empty(self.out_features, self.in_features).uniform_(-bound, bound))
        self.weight_rho = nn.Parameter(torch.full((self.out_features, self.in_features), float(rho_init)))
        self.bias_mu = nn.Parameter(torch.empty(self.out_features).uniform_(-bound, bound))
        self.bias_rho = nn.Parameter(torch.full((self.out_features,), float(rho_init)))

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, prior_sigma={self.prior_sigma}"

    @property
    def weight_sigma(self):
        """``softplus(weight_rho)``, shape (out_features, in_features)."""
        return F.softplus(self.weight_rho)

    @property
    def bias_sigma(self):
        """``softplus(bias_rho)``, shape (out_features,)."""
        return F.softplus(self.bias_rho)

    def sample_parameters(self):
        """One reparameterised draw ``(weight, bias)`` from ``q``.

        Returns
        -------
        weight : torch.Tensor, shape (out_features, in_features)
        bias : torch.Tensor, shape (out_features,)
        """
        weight = self.weight_mu + self.weight_sigma * torch.randn_like(self.weight_mu)
        bias = self.bias_mu + self.bias_sigma * torch.randn_like(self.bias_mu)
        return weight, bias

    def forward(self, x):
        """``x @ W.T + b`` with ``(W, b) ~ q`` drawn afresh.

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_features)
            Inputs (cast to the dtype of ``x`` are the sampled weights).

        Returns
        -------
        torch.Tensor, shape (N, out_features)
            Pre-activations under one draw of the weights; a new draw at every call.

        Raises
        ------
        ValueError
            If the last dimension of ``x`` is not ``in_features``.
        """
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x has {x.shape[-1]} features in its last dimension but the layer expects "
                f"{self.in_features}; reshape the input to (N, {self.in_features})."
            )
        weight, bias = self.sample_parameters()
        return F.linear(x, weight.to(x.dtype), bias.to(x.dtype))

    def kl_divergence(self):
        r"""Analytic ``KL(q || p)`` summed over every weight and bias.

        For each parameter,
        ``KL(N(mu, s^2) || N(0, p^2)) = log(p / s) + (s^2 + mu^2) / (2 p^2) - 1/2``
        (e.g. Bishop 2006, exercise 1.30 style closed form; Kingma & Welling
        2014, appendix B for ``p = 1``).

        Returns
        -------
        torch.Tensor, shape ()
            In nats; differentiable with respect to ``mu`` and ``rho``.
        """
        p2 = self.prior_sigma**2
        total = 0.0
        for mu, sigma in ((self.weight_mu, self.weight_sigma), (self.bias_mu, self.bias_sigma)):
            total = total + (
                math.log(self.prior_sigma) - torch.log(sigma) + (sigma**2 + mu**2) / (2.0 * p2) - 0.5
            ).sum()
        return total


# ------------------------------------------------------------------------- the model
class BayesianMLP(nn.Module):
    """A multilayer perceptron of :class:`LinearVariational` layers with a Gaussian output.

    ``forward(x)`` draws one network from ``q`` and returns
    ``torch.distributions.Normal(loc, scale)`` of batch shape ``(N, out_features)``.

    Parameters
    ----------
    in_features : int, default 1
    hidden_features : int or sequence of int, default (32,)
        Widths of the hidden layers.
    out_features : int, default 1
    prior_sigma : float or sequence of float, default 1.0
        Prior standard deviation of every weight and bias, or one value per
        layer (e.g. a wider prior on the first layer lets the hidden units
        reach higher frequencies of the input).
    activation : callable, default torch.tanh
    noise : {"fixed", "learned", "heteroscedastic"}, default "learned"
        The aleatoric noise model. ``"fixed"``: ``scale = noise_sigma``.
        ``"learned"``: one scale per output, ``softplus`` of a deterministic
        parameter (a point estimate, type-II maximum likelihood).
        ``"heteroscedastic"``: the last layer has ``2 * out_features`` outputs
        and ``scale = softplus(second half) + min_scale`` depends on ``x``.
    noise_sigma : float, optional
        The fixed scale (``noise="fixed"``) or the initial scale (``"learned"``,
        default 0.1; ``"heteroscedastic"``: if given, the scale output starts
        close to this value everywhere, which helps the means get fitted before
        the data are explained as noise).
    rho_init : float, default -5.0
        Initial ``rho`` of every variational parameter.
    min_scale : float, default 1e-3
        Floor of the heteroscedastic scale.

    Raises
    ------
    ValueError
        If ``noise`` is unknown, ``noise="fixed"`` without ``noise_sigma``, or a
        size is not a positive integer.
    """

    def __init__(
        self,
        in_features=1,
        hidden_features: int | Sequence[int] = (32,),
        out_features=1,
        prior_sigma=1.0,
        activation=torch.tanh,
        noise="learned",
        noise_sigma=None,
        rho_init=-5.0,
        min_scale=1e-3,
    ):
        super().__init__()
        if noise not in ("fixed", "learned", "heteroscedastic"):
            raise ValueError(f"noise must be 'fixed', 'learned' or 'heteroscedastic'; got {noise!r}.")
        if isinstance(hidden_features, numbers.Integral):
            hidden_features = (hidden_features,)
        widths = [_positive_int(in_features, "in_features")]
        widths += [_positive_int(h, "hidden_features") for h in hidden_features]
        self.out_features = _positive_int(out_features, "out_features")
        self.noise = noise
        self.activation = activation
        self.min_scale = float(min_scale)
        n_out = 2 * self.out_features if noise == "heteroscedastic" else self.out_features
        widths.append(n_out)
        n_layers = len(widths) - 1
        if isinstance(prior_sigma, numbers.Real):
            priors = [prior_sigma] * n_layers
        else:
            priors = list(prior_sigma)
            if len(priors) != n_layers:
                raise ValueError(f"prior_sigma has {len(priors)} values but the network has {n_layers} layers; give one per layer or a single number.")
        self.layers = nn.ModuleList(
            LinearVariational(a, b, prior_sigma=p, rho_init=rho_init)
            for a, b, p in zip(widths[:-1], widths[1:], priors)
        )
        if noise == "fixed":
            if noise_sigma is None:
                raise ValueError("noise='fixed' needs noise_sigma, the standard deviation of the noise.")
            self.register_buffer("noise_sigma", torch.tensor(_positive_float(noise_sigma, "noise_sigma")))
        elif noise == "learned":
            s0 = _positive_float(0.1 if noise_sigma is None else noise_sigma, "noise_sigma")
            # inverse softplus of the initial scale
            self.noise_rho = nn.Parameter(torch.full((self.out_features,), math.log(math.expm1(s0))))
        elif noise_sigma is not None:
            # heteroscedastic: start every scale near noise_sigma, so that the means are fitted
            # first instead of the data being explained as noise (a poor local optimum).
            s0 = _positive_float(noise_sigma, "noise_sigma")
            if s0 <= self.min_scale:
                raise ValueError(f"noise_sigma must exceed min_scale={self.min_scale}; got {s0}.")
            last = self.layers[-1]
            with torch.no_grad():
                last.weight_mu[self.out_features :].mul_(0.1)
                last.bias_mu[self.out_features :].fill_(math.log(math.expm1(s0 - self.min_scale)))

    def forward(self, x):
        """One draw of the network, as a predictive ``Normal``.

        Parameters
        ----------
        x : torch.Tensor, shape (N, in_features)

        Returns
        -------
        torch.distributions.Normal
            Batch shape ``(N, out_features)``.
        """
        h = x
        for layer in self.layers[:-1]:
            h = self.activation(layer(h))
        out = self.layers[-1](h)
        if self.noise == "heteroscedastic":
            return NormalHead.new(out, self.out_features, self.min_scale)
        if self.noise == "learned":
            loc, scale = out, F.softplus(self.noise_rho).to(out.dtype).expand_as(out)
        else:
            loc, scale = out, self.noise_sigma.to(out.dtype).expand_as(out)
        return torch.distributions.Normal(loc, scale)


# ----------------------------------------------------------------------- the ELBO
def kl_divergence(model):
    """Sum of ``kl_divergence()`` over every :class:`LinearVariational` in ``model``.

    Parameters
    ----------
    model : torch.nn.Module
        Any module; its sub-modules are visited with ``model.modules()``.

    Returns
    -------
    torch.Tensor, shape ()
        ``KL(q || p)`` of all variational parameters, in nats (0 for a model
        without variational layers).
    """
    total = torch.zeros(())
    for module in model.modules():
        if isinstance(module, LinearVariational):
            total = total + module.kl_divergence()
    return total


def negative_elbo(model, x, y, noise_sigma=None, kl_weight=1.0):
    r"""Minibatch negative ELBO: summed Gaussian NLL plus the weighted KL.

    .. math::

        \mathcal F_i = -\sum_{n \in B_i} \log \mathcal N(y_n; f_w(x_n), \sigma^2)
        + \pi_i\, \mathrm{KL}(q \,\|\, p), \qquad w \sim q,

    the single-sample estimate of Blundell et al. (2015), eq. 8, whose sum over
    the minibatches of an epoch is the negative ELBO when ``sum_i pi_i = 1``.

    Parameters
    ----------
    model : torch.nn.Module
        Either returns a tensor of means ``(N, out)`` (then ``noise_sigma`` is
        required) or a ``torch.distributions.Distribution`` (then
        ``noise_sigma`` must be None and its ``log_prob`` is used).
    x : torch.Tensor, shape (N, in)
    y : torch.Tensor, shape (N, out)
    noise_sigma : float or torch.Tensor, optional
        Standard deviation of the Gaussian noise.
    kl_weight : float, default 1.0
        ``pi_i``, e.g. from :func:`minibatch_kl_weights`.

    Returns
    -------
    torch.Tensor, shape ()

    Raises
    ------
    ValueError
        If the model returns a tensor and ``noise_sigma`` is missing, or it
        returns a distribution and ``noise_sigma`` is given, or ``y`` does not
        have the shape of the prediction.
    """
    out = model(x)
    if isinstance(out, torch.distributions.Distribution):
        if noise_sigma is not None:
            raise ValueError("the model returns a distribution, which has its own noise: pass noise_sigma=None.")
        if tuple(out.batch_shape) != tuple(y.shape):
            raise ValueError(f"y has shape {tuple(y.shape)} but the prediction {tuple(out.batch_shape)}; reshape y.")
        nll = -out.log_prob(y).sum()
    else:
        if noise_sigma is None:
            raise ValueError("the model returns means: pass noise_sigma, the standard deviation of the noise.")
        if out.shape != y.shape:
            raise ValueError(f"y has shape {tuple(y.shape)} but the prediction {tuple(out.shape)}; reshape y, e.g. y.reshape(-1, 1).")
        sigma = torch.as_tensor(noise_sigma, dtype=out.dtype)
        nll = (0.5 * _LOG_2PI + torch.log(sigma) + 0.5 * ((y - out) / sigma) ** 2).sum()
    return nll + kl_weight * kl_divergence(model).to(nll.dtype)


def minibatch_kl_weights(n_batches, scheme="uniform"):
    r"""The weights ``pi_1..pi_M`` of the KL term over the ``M`` minibatches of an epoch.

    ``"uniform"``: ``pi_i = 1/M`` [Graves2011]_. ``"blundell"``:
    ``pi_i = 2^(M-i) / (2^M - 1)`` (Blundell et al. 2015, eq. 9): the first
    minibatches are dominated by the prior, the last by the data. Both sum to
    one, so the epoch's total is an unbiased negative ELBO.

    Parameters
    ----------
    n_batches : int
        ``M >= 1``.
    scheme : {"uniform", "blundell"}

    Returns
    -------
    torch.Tensor, shape (M,), float64
        Computed as ``2^-i / (1 - 2^-M)``, which does not overflow for large ``M``.

    Raises
    ------
    ValueError
        If ``n_batches`` is not a positive integer or the scheme is unknown.
    """
    m = _positive_int(n_batches, "n_batches")
    if scheme == "uniform":
        return torch.full((m,), 1.0 / m, dtype=torch.float64)
    if scheme == "blundell":
        i = torch.arange(1, m + 1, dtype=torch.float64)
        return torch.exp2(-i) / (1.0 - 2.0 ** (-m))
    raise ValueError(f"scheme must be 'uniform' or 'blundell'; got {scheme!r}.")


# ------------------------------------------------------------------ training and use
class MinibatchKLWeight(Callback):
    """Training callback: the KL weight ``pi_i`` of the current minibatch ``i``.

    Reads ``state.batch`` and ``state.n_batches`` of :func:`deepprob.torch.training.fit`
    before each step; the loss reads :attr:`value`.

    Parameters
    ----------
    scheme : {"uniform", "blundell"}
        See :func:`minibatch_kl_weights`.
    """

    def __init__(self, scheme="uniform"):
        minibatch_kl_weights(1, scheme)  # refuses an unknown scheme now, not at the first step
        self.scheme = scheme
        self.value = 1.0
        self._weights: list[float] = []

    def on_fit_start(self, state):
        self._weights = minibatch_kl_weights(state.n_batches, self.scheme).tolist()

    def on_batch_start(self, state):
        self.value = self._weights[state.batch]


def fit_bayes_by_backprop(
    model,
    x,
    y,
    *,
    epochs=1000,
    batch_size=None,
    lr=1e-2,
    kl_scheme="uniform",
    noise_sigma=None,
    seed=0,
    progress=True,
):
    """Train ``model`` by Bayes by Backprop (Adam on the minibatch negative ELBO).

    Each epoch shuffles the data into ``M`` minibatches and minimises, for the
    ``i``-th, ``negative_elbo(model, x_i, y_i, noise_sigma, pi_i)`` with ``pi``
    from :func:`minibatch_kl_weights`, through :func:`deepprob.torch.training.fit`
    and its :class:`MinibatchKLWeight` callback.

    Parameters
    ----------
    model : torch.nn.Module
        Containing :class:`LinearVariational` layers (e.g. a :class:`BayesianMLP`).
    x, y : torch.Tensor, shapes (N, in) and (N, out)
    epochs : int, default 1000
    batch_size : int, optional
        The whole data set (``M = 1``) when None.
    lr : float, default 1e-2
        Adam's learning rate.
    kl_scheme : {"uniform", "blundell"}
    noise_sigma : float, optional
        Only for models that return means (see :func:`negative_elbo`).
    seed : int, default 0
        Seeds the weight noise and the shuffling (the caller's global
        generator is left as it was).
    progress : bool, default True
        tqdm progress bar (off with ``TQDM_DISABLE=1``).

    Returns
    -------
    list of float
        The negative ELBO of each epoch (sum over its minibatches), in nats.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, ``epochs``/``batch_size`` are not
        positive or the scheme is unknown.
    """
    kl_weight = MinibatchKLWeight(kl_scheme)
    return fit(model, lambda m, xb, yb: negative_elbo(m, xb, yb, noise_sigma, kl_weight.value), x, y,
               epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, callbacks=[kl_weight], epoch_loss="sum",
               progress=progress, description="Bayes by Backprop")


@torch.no_grad()
def _draws(model, x, n_samples):
    n_samples = _positive_int(n_samples, "n_samples")
    locs, scales = [], []
    for _ in range(n_samples):
        out = model(x)
        if isinstance(out, torch.distributions.Normal):
            locs.append(out.loc)
            scales.append(out.scale.expand_as(out.loc))
        else:
            locs.append(out)
            scales.append(torch.zeros_like(out))
    return torch.stack(locs), torch.stack(scales)


def predictive_moments(model, x, n_samples=200):
    r"""Predictive mean and its variance split by the law of total variance.

    With ``S`` draws ``w_s ~ q`` and ``p(y | x, w_s) = N(m_s(x), s_s(x)^2)``:

    .. math::

        \mathbb V[y \mid x] = \underbrace{\mathbb V_q[m_w(x)]}_{\text{epistemic}}
        + \underbrace{\mathbb E_q[s_w(x)^2]}_{\text{aleatoric}},

    each estimated by its sample version (the variance with ``1/S``).

    Parameters
    ----------
    model : torch.nn.Module
        Returns a ``Normal`` (or a tensor of means: aleatoric part 0).
    x : torch.Tensor, shape (N, in)
    n_samples : int, default 200
        Weight draws ``S`` (seed torch's global generator beforehand).

    Returns
    -------
    mean, epistemic_var, aleatoric_var : torch.Tensor, shape (N, out)
        The total predictive variance is ``epistemic_var + aleatoric_var``.
    """
    locs, scales = _draws(model, x, n_samples)
    return locs.mean(0), locs.var(0, unbiased=False), (scales**2).mean(0)


def predictive_log_prob(model, x, y, n_samples=200):
    r"""Log density of ``y`` under the Monte Carlo predictive mixture.

    ``log p(y | x) ≈ log (1/S) sum_s N(y; m_s(x), s_s(x)^2)``, by ``logsumexp``
    (:func:`deepprob.predictive.monte_carlo_log_prob`, in float64).

    Parameters
    ----------
    model : torch.nn.Module
        Returns a ``torch.distributions.Normal``.
    x : torch.Tensor, shape (N, in)
    y : torch.Tensor, shape (N, out)
    n_samples : int, default 200

    Returns
    -------
    torch.Tensor, shape (N, out)
        Log densities in nats.

    Raises
    ------
    ValueError
        If the model has no noise model (returns bare means).
    """
    locs, scales = _draws(model, x, n_samples)
    if not torch.all(scales > 0):
        raise ValueError("the model returns means only: give it a noise model (e.g. BayesianMLP(noise='learned')).")
    log_prob = monte_carlo_log_prob(y.detach().cpu().double().numpy(), locs.cpu().double().numpy(),
                                    scales.cpu().double().numpy())
    return torch.from_numpy(log_prob).to(locs.dtype)
