"""Monte Carlo dropout: dropout kept on at prediction as approximate inference.

The reference versions of what students write in ``ex07_mc_dropout``, used by
chapter 7 and by ``benchmarks/methods/mc_dropout.py``::

    from deepprob.torch import dropout as dpd
    model = dpd.MCDropoutMLP(1, 64, p=0.1)          # model(x) is a Normal
    dpd.fit_mc_dropout(model, x, y, tau=10.0)       # Gal's objective, dropout on
    mean, std = dpd.mc_dropout_predict(model, x, n_samples=100)
    mu = dpd.mc_dropout_samples(model, x_test, 100).loc  # (T, N, 1)
    ll = dpd.mc_log_likelihood(mu, y_test, tau)          # held-out log-likelihood

Conventions
-----------
* ``p`` is always the probability of **dropping** a unit, as in
  :class:`torch.nn.Dropout`. Gal & Ghahramani (2016) write :math:`p_i` for
  the probability of *keeping* it; :func:`gal_weight_decay` converts.
* :math:`\\tau` is the model precision (inverse observation-noise variance),
  never a variance or a standard deviation.

References
----------
.. [Srivastava2014] N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and
   R. Salakhutdinov, "Dropout: a simple way to prevent neural networks from
   overfitting", JMLR 15, 1929-1958 (2014).
.. [Gal2016] Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation:
   representing model uncertainty in deep learning", ICML (2016); appendix
   (arXiv:1506.02157), Sect. 3-4.
.. [GalThesis] Y. Gal, "Uncertainty in deep learning", PhD thesis, University
   of Cambridge (2016), Sect. 3.3 and 4.2.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Distribution, Normal

from .._validation import positive_float as _positive_float
from .._validation import positive_int as _positive_int
from .._validation import probability
from .heads import NormalHead
from .training import fit

__all__ = [
    "MCDropoutMLP",
    "mc_dropout_samples",
    "mc_dropout_predict",
    "mc_log_likelihood",
    "gal_weight_decay",
    "fit_mc_dropout",
]

_LOG_2PI = math.log(2.0 * math.pi)
# Every dropout flavour of torch.nn (Dropout, Dropout1d/2d/3d, AlphaDropout,
# FeatureAlphaDropout) derives from this private base class.
_DROPOUT_TYPES = (nn.modules.dropout._DropoutNd,)


def _probability(p):
    return probability(p, "p (the probability of dropping a unit)", allow_zero=True)


class MCDropoutMLP(nn.Module):
    r"""Fully connected ReLU network with an ``nn.Dropout`` after every hidden layer.

    ``in_features -> [Dropout(p) ->] [Linear -> activation -> Dropout(p)] * n_hidden -> Linear``
    (the first dropout only with ``input_dropout=True``), whose
    output becomes a predictive ``Normal``: with ``noise="fixed"`` the mean is the
    network's output and the scale the fixed ``noise_sigma`` (:math:`\tau^{-1/2}`,
    Gal & Ghahramani's model precision); with ``noise="heteroscedastic"`` the
    network has ``2 * out_features`` outputs, a mean and a log-variance
    (Kendall & Gal 2017), turned into a ``Normal`` by
    :class:`~deepprob.torch.heads.NormalHead`. Trained like any network
    (dropout on in ``model.train()``, see :func:`fit_mc_dropout`); for MC
    dropout predictions use :func:`mc_dropout_samples` / :func:`mc_dropout_predict`,
    which keep only the dropout layers stochastic.

    Parameters
    ----------
    in_features : int
        Input dimension ``D``.
    hidden_features : int
        Width of every hidden layer.
    p : float
        Dropout (drop) probability in ``[0, 1)``; ``p = 0`` gives a
        deterministic network.
    n_hidden : int, default 2
        Number of hidden layers (``>= 1``).
    out_features : int, default 1
        Dimension ``K`` of ``y``.
    activation : type, default torch.nn.ReLU
        Class of the non-linearity, instantiated once per hidden layer (e.g. ``nn.Tanh``).
    noise : {"fixed", "heteroscedastic"}, default "fixed"
        The observation-noise model.
    noise_sigma : float, default 1.0
        Standard deviation of the fixed noise, in the units of ``y``
        (``tau ** -0.5``); a buffer, so it can be set after training once
        :math:`\tau` is chosen on validation data. Unused when heteroscedastic.
    input_dropout : bool, default False
        Also drop input features with probability ``p``, by an ``nn.Dropout``
        before the first layer, as in Gal & Ghahramani's UCI networks
        (their ``net.py`` drops the inputs, then after every hidden layer).
        ``False`` keeps the layers above unchanged.

    Attributes
    ----------
    p : float
        The dropout probability.
    input_dropout : bool
        Whether the inputs are dropped too.
    net : torch.nn.Sequential
        The layers (raw outputs).

    Raises
    ------
    ValueError
        If a size is not a positive integer, ``p`` is outside ``[0, 1)``,
        ``noise`` is unknown or ``noise_sigma`` is not positive.
    """

    def __init__(self, in_features, hidden_features, p, n_hidden=2, out_features=1, activation=nn.ReLU, *,
                 noise="fixed", noise_sigma=1.0, input_dropout=False):
        super().__init__()
        in_features = _positive_int(in_features, "in_features")
        hidden_features = _positive_int(hidden_features, "hidden_features")
        n_hidden = _positive_int(n_hidden, "n_hidden")
        self.out_features = _positive_int(out_features, "out_features")
        self.p = _probability(p)
        if noise not in ("fixed", "heteroscedastic"):
            raise ValueError(f"noise must be 'fixed' or 'heteroscedastic'; got {noise!r}.")
        self.noise = noise
        self.register_buffer("noise_sigma", torch.tensor(_positive_float(noise_sigma, "noise_sigma")))
        self.normal = NormalHead(self.out_features, scale="log_var")
        if not isinstance(input_dropout, bool):
            raise ValueError(f"input_dropout must be True or False; got {input_dropout!r}.")
        self.input_dropout = input_dropout
        layers: list[nn.Module] = [nn.Dropout(self.p)] if input_dropout else []
        width = in_features
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden_features), activation(), nn.Dropout(self.p)]
            width = hidden_features
        n_raw = self.normal.params_size(self.out_features) if noise == "heteroscedastic" else self.out_features
        layers.append(nn.Linear(width, n_raw))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> Normal:
        """Predictive ``Normal`` of ``y`` at ``x`` (N, in_features) under the current dropout mask.

        Returns
        -------
        torch.distributions.Normal
            Batch shape ``(N, out_features)``.

        Raises
        ------
        ValueError
            If ``x`` is not two-dimensional.
        """
        if x.ndim != 2:
            raise ValueError(f"x must have shape (N, in_features), got {tuple(x.shape)}; use x.reshape(-1, 1) for 1-D inputs")
        out = self.net(x)
        if self.noise == "heteroscedastic":
            return self.normal(out)
        return Normal(out, self.noise_sigma.to(out.dtype).expand_as(out))


def mc_dropout_samples(model: nn.Module, x: torch.Tensor, n_samples: int) -> torch.Tensor:
    """Outputs of ``n_samples`` stochastic forward passes with only dropout active.

    Every module is put in eval mode except the dropout modules
    (``torch.nn.Dropout`` and its 1d/2d/3d/alpha variants), which are put in
    train mode, so that e.g. ``BatchNorm`` uses its running statistics and is
    not updated. Each module's ``training`` flag is restored afterwards, also
    when the forward pass raises.

    Parameters
    ----------
    model : torch.nn.Module
        A network containing dropout modules, e.g. :class:`MCDropoutMLP`.
    x : torch.Tensor
        Inputs ``(N, D)``.
    n_samples : int
        Number of forward passes ``T >= 1`` (one dropout mask each).

    Returns
    -------
    torch.Tensor or torch.distributions.Normal
        For a model that returns tensors, the stacked outputs
        ``(T, *model(x).shape)``, e.g. ``(T, N, 1)``; for a model that returns
        a ``Normal`` (e.g. :class:`MCDropoutMLP`), one ``Normal`` of batch shape
        ``(T, N, K)`` whose ``loc``/``scale`` are the stacked means and scales.
        Computed under :func:`torch.no_grad`.

    Raises
    ------
    ValueError
        If ``n_samples`` is not a positive integer.
    TypeError
        If the model returns something other than a tensor or a ``Normal``.

    Notes
    -----
    The masks come from torch's global generator: call ``torch.manual_seed``
    first for reproducible samples. Gal & Ghahramani (2016), eq. 6-7.
    """
    n_samples = _positive_int(n_samples, "n_samples")
    flags = {module: module.training for module in model.modules()}
    try:
        model.eval()
        for module in model.modules():
            if isinstance(module, _DROPOUT_TYPES):
                module.train()
        with torch.no_grad():
            outs = [model(x) for _ in range(n_samples)]
    finally:
        for module, flag in flags.items():
            module.training = flag
    if all(isinstance(out, Normal) for out in outs):
        return Normal(torch.stack([out.loc for out in outs]), torch.stack([out.scale for out in outs]))
    if all(torch.is_tensor(out) for out in outs):
        return torch.stack(outs)
    raise TypeError(f"the model must return a tensor or a torch.distributions.Normal; got {type(outs[0]).__name__}.")


def mc_dropout_predict(model: nn.Module, x: torch.Tensor, n_samples: int, *, tau=None):
    r"""MC dropout predictive mean and standard deviation.

    .. math::

        \hat\mu(x) = \frac1T\sum_{t=1}^T f^{\hat\omega_t}(x), \qquad
        \hat\sigma^2(x) = \frac1T\sum_{t=1}^T f^{\hat\omega_t}(x)^2 - \hat\mu(x)^2
        \;\big[+\ \tau^{-1}\big],

    over ``T = n_samples`` passes of :func:`mc_dropout_samples`.

    Parameters
    ----------
    model : torch.nn.Module
        A network containing dropout modules.
    x : torch.Tensor
        Inputs ``(N, D)``.
    n_samples : int
        Number of forward passes ``T >= 1``.
    tau : float, optional
        Model precision :math:`\tau > 0`, for a model that returns tensors.
        When given, :math:`\tau^{-1}` (the observation-noise variance) is
        added to the variance and ``std`` is the standard deviation of the
        predictive distribution of ``y``; otherwise ``std`` is the spread of
        the network outputs only (epistemic). A model that returns a
        ``Normal`` carries its noise: ``std`` is then the predictive standard
        deviation (spread of the means plus the mean noise variance) and
        ``tau`` must be ``None``.

    Returns
    -------
    mean, std : torch.Tensor
        Each of the shape of ``model(x)``, e.g. ``(N, 1)``. ``std`` is the
        *biased* sample standard deviation (divisor ``T``, as in Gal &
        Ghahramani's moment estimator); ``std = 0`` for ``T = 1`` or ``p = 0``.

    Raises
    ------
    ValueError
        If ``n_samples`` is not a positive integer or ``tau <= 0``.

    Notes
    -----
    Gal & Ghahramani (2016), eq. 8 and the appendix, Sect. 3.3; Gal's thesis
    eq. 3.19. The model's and every submodule's train/eval flags are restored.
    """
    if tau is not None and not float(tau) > 0.0:
        raise ValueError(f"tau is a precision (1 / noise variance) and must be > 0, got {tau!r}")
    samples = mc_dropout_samples(model, x, n_samples)
    if isinstance(samples, Normal):
        if tau is not None:
            raise ValueError("the model returns a Normal, which carries its own noise: pass tau=None.")
        # law of total variance: spread of the means (epistemic) + mean noise variance (aleatoric)
        return samples.loc.mean(dim=0), (samples.loc.var(dim=0, unbiased=False) + samples.variance.mean(dim=0)).sqrt()
    mean = samples.mean(dim=0)
    var = samples.var(dim=0, unbiased=False)
    if tau is not None:
        var = var + 1.0 / float(tau)
    return mean, var.sqrt()


def _as_points(mu_samples: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu_samples = torch.as_tensor(mu_samples)
    y = torch.as_tensor(y)
    if mu_samples.ndim == 3 and mu_samples.shape[-1] == 1:
        mu_samples = mu_samples[..., 0]
    if mu_samples.ndim != 2 or mu_samples.shape[0] < 1:
        raise ValueError(
            f"mu_samples must have shape (T, N) or (T, N, 1) with T >= 1 samples on axis 0, "
            f"got {tuple(mu_samples.shape)}"
        )
    if y.ndim == 2 and y.shape[-1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != mu_samples.shape[1]:
        raise ValueError(
            f"y must have shape (N,) or (N, 1) with N = mu_samples.shape[1] = {mu_samples.shape[1]}, "
            f"got {tuple(y.shape)}"
        )
    dtype = torch.promote_types(torch.promote_types(mu_samples.dtype, y.dtype), torch.get_default_dtype())
    return mu_samples.to(dtype), y.to(dtype)


def mc_log_likelihood(mu_samples, y, tau, *, reduction: str = "mean") -> torch.Tensor:
    r"""Held-out log-likelihood of MC dropout, by logsumexp over the samples.

    The predictive density is the mixture of the ``T`` Gaussians
    :math:`\mathcal N(\mu_t, \tau^{-1})`, so per point

    .. math::

        \log \hat p(y_n) = \log \frac1T \sum_{t=1}^T \mathcal N(y_n;\ \mu_{t,n},\ \tau^{-1})
        = \operatorname{logsumexp}_t\!\big[-\tfrac\tau2 (y_n-\mu_{t,n})^2\big]
          - \log T - \tfrac12\log 2\pi + \tfrac12\log\tau ,

    which by Jensen is ``>=`` the mean over ``t`` of the per-sample
    log-likelihoods, and stays finite for ``y`` far from every ``mu``.

    Parameters
    ----------
    mu_samples : torch.Tensor
        Sampled network outputs, ``(T, N)`` or ``(T, N, 1)``, e.g. from
        :func:`mc_dropout_samples`.
    y : torch.Tensor
        Observations ``(N,)`` or ``(N, 1)``.
    tau : float or torch.Tensor
        Model precision :math:`\tau > 0`: a scalar, or a tensor that
        broadcasts to ``(T, N)``, e.g. ``(N,)`` per point or ``(T, N)`` per
        sample and point for a heteroscedastic network that predicts its own
        noise (Kendall & Gal, 2017); the mixture components are then
        :math:`\mathcal N(\mu_{t,n}, \tau_{t,n}^{-1})`.
    reduction : {"mean", "none"}, default "mean"
        ``"mean"``: the mean over points (a scalar); ``"none"``: the ``(N,)``
        per-point values (e.g. for a standard error).

    Returns
    -------
    torch.Tensor
        Log-likelihood in nats per point: shape ``()`` or ``(N,)``, in the
        promoted floating dtype of the inputs.

    Raises
    ------
    ValueError
        For shapes other than the above, ``tau <= 0`` or an unknown reduction.

    Notes
    -----
    Gal & Ghahramani (2016), appendix Sect. 4.1 (the test log-likelihood of
    their Table 1); Gal's thesis eq. 4.7.
    """
    if reduction not in ("mean", "none"):
        raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")
    mu, y = _as_points(mu_samples, y)
    tau = torch.as_tensor(tau, dtype=mu.dtype)
    if not bool((tau > 0).all()):
        raise ValueError("tau is a precision (1 / noise variance) and must be > 0; for a variance v pass 1 / v")
    try:
        torch.broadcast_shapes(tau.shape, mu.shape)
    except RuntimeError as err:
        raise ValueError(
            f"tau must be a scalar or broadcast to mu_samples' (T, N) = {tuple(mu.shape)}, got {tuple(tau.shape)}"
        ) from err
    n_samples = mu.shape[0]
    log_terms = -0.5 * tau * (y.unsqueeze(0) - mu) ** 2 + 0.5 * torch.log(tau)
    per_point = torch.logsumexp(log_terms, dim=0) - math.log(n_samples) - 0.5 * _LOG_2PI
    return per_point.mean() if reduction == "mean" else per_point


def gal_weight_decay(p, length_scale, n, tau) -> float:
    r"""L2 coefficient that makes dropout training match a prior length-scale and precision.

    Gal & Ghahramani (2016, appendix Sect. 4.2) minimise

    .. math::

        \frac{1}{2N}\sum_{n=1}^N \lVert y_n - \hat y_n\rVert^2 + \lambda \sum_i \lVert W_i\rVert^2,
        \qquad \lambda = \frac{(1-p)\, l^2}{2 N \tau},

    where :math:`l` is the prior length-scale (prior :math:`W \sim \mathcal N(0, l^{-2} I)`),
    :math:`N` the number of training points and :math:`\tau` the model
    precision. The paper writes :math:`p` for the probability of *keeping* a
    unit; here ``p`` is the dropout probability of :class:`torch.nn.Dropout`,
    hence the factor :math:`1-p` (as in Gal's code ``reg = l**2 * (1 - dropout) / (2 * N * tau)``).

    Parameters
    ----------
    p : float
        Dropout (drop) probability in ``[0, 1)``.
    length_scale : float
        Prior length-scale :math:`l > 0`.
    n : int
        Number of training points ``N >= 1``.
    tau : float
        Model precision :math:`\tau > 0`.

    Returns
    -------
    float
        :math:`\lambda`. With a loss ``0.5 * mse`` and an explicit penalty
        ``lam * sum(w.pow(2).sum() for w in weights)`` use it as is; as
        PyTorch's ``weight_decay`` (which adds ``weight_decay * w`` to the
        gradient) pass ``2 * lam`` with the loss ``0.5 * mse``.

    Raises
    ------
    ValueError
        If an argument is outside its range.
    """
    p = _probability(p)
    n = _positive_int(n, "n")
    if not float(length_scale) > 0.0:
        raise ValueError(f"length_scale must be > 0, got {length_scale!r}")
    if not float(tau) > 0.0:
        raise ValueError(f"tau is a precision (1 / noise variance) and must be > 0, got {tau!r}")
    return (1.0 - p) * float(length_scale) ** 2 / (2.0 * n * float(tau))


def _dropout_probability(model: nn.Module) -> float:
    ps = {float(m.p) for m in model.modules() if isinstance(m, _DROPOUT_TYPES)}
    if not ps:
        raise ValueError("the model has no dropout module: MC dropout needs nn.Dropout layers (e.g. MCDropoutMLP)")
    if len(ps) > 1:
        raise ValueError(f"the dropout modules use different probabilities {sorted(ps)}; pass p explicitly")
    return ps.pop()


def fit_mc_dropout(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    tau: float = 1.0,
    length_scale: float = 1e-2,
    p: float | None = None,
    heteroscedastic: bool | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    lr: float = 1e-2,
    seed: int = 0,
    progress: bool = True,
) -> list[float]:
    r"""Train a dropout network by the objective of Gal & Ghahramani (2016), with Adam.

    Homoscedastic (default): minimise
    :math:`\frac{1}{2N}\sum_n (y_n-\hat y_n)^2 + \lambda\sum\lVert\theta\rVert^2` with
    :math:`\lambda` = :func:`gal_weight_decay` ``(p, length_scale, N, tau)``,
    i.e. the per-point negative ELBO divided by :math:`\tau`, up to a constant;
    :math:`\hat y` is the model's output or the mean of the ``Normal`` it returns.
    Heteroscedastic (Kendall & Gal, 2017): the model returns a ``Normal`` with
    an input-dependent scale (``MCDropoutMLP(..., noise="heteroscedastic")``)
    and the loss is its mean negative log-likelihood plus :math:`\lambda` with
    ``tau = 1`` (the noise is in the likelihood, so nothing is divided by
    :math:`\tau`). The penalty is applied through Adam's ``weight_decay`` =
    :math:`2\lambda` (to weights and biases) by :func:`deepprob.torch.training.fit`,
    dropout is on, and the model is left in train mode.

    Parameters
    ----------
    model : torch.nn.Module
        A network with dropout modules, e.g. :class:`MCDropoutMLP`.
    x, y : torch.Tensor
        Inputs ``(N, D)`` and targets ``(N, 1)``.
    tau : float, default 1.0
        Model precision used in :math:`\lambda` (ignored when heteroscedastic).
    length_scale : float, default 1e-2
        Prior length-scale :math:`l` (Gal's experiments use ``1e-2``).
    p : float, optional
        Dropout probability for :math:`\lambda`; read from the model's dropout
        modules when ``None``.
    heteroscedastic : bool, optional
        Train by the Gaussian NLL of the returned ``Normal``; by default, read
        from ``model.noise`` (``MCDropoutMLP``), else ``False``.
    epochs, batch_size, lr, seed, progress
        Passed to :func:`deepprob.torch.training.fit` (``batch_size=None``: full batch).

    Returns
    -------
    list of float
        Training loss per epoch (without the penalty).

    Raises
    ------
    ValueError
        If the model has no dropout module, ``y`` is not ``(N, 1)``, an
        argument is out of range, or a heteroscedastic fit is asked of a model
        that does not return a distribution.
    """
    if y.ndim != 2 or y.shape[1] != 1:
        raise ValueError(f"y must have shape (N, 1), got {tuple(y.shape)}; use y.reshape(-1, 1)")
    p = _dropout_probability(model) if p is None else _probability(p)
    if heteroscedastic is None:
        heteroscedastic = getattr(model, "noise", None) == "heteroscedastic"
    lam = gal_weight_decay(p, length_scale, x.shape[0], 1.0 if heteroscedastic else tau)
    if heteroscedastic:
        def loss_fn(m, xb, yb):
            out = m(xb)
            if not isinstance(out, Distribution):
                raise ValueError("a heteroscedastic fit needs a model that returns a distribution, "
                                 "e.g. MCDropoutMLP(..., noise='heteroscedastic').")
            return -out.log_prob(yb).mean()
    else:
        def loss_fn(m, xb, yb):
            out = m(xb)
            mean = out.mean if isinstance(out, Distribution) else out
            return 0.5 * ((mean - yb) ** 2).mean()
    return fit(model, loss_fn, x, y, epochs=epochs, batch_size=batch_size, lr=lr,
               weight_decay=2.0 * lam, seed=seed, progress=progress, description="MC dropout fit")
