"""Regression methods for tabular data, with their papers' settings, for :func:`deepprob.tabular.evaluate`.

Each method is a function ``fit(x, y, *, seed, **hyper) -> predictive`` on
standardised float64 arrays ``x`` (N, D) and ``y`` (N, 1) (standardised on the
training split by :mod:`deepprob.tabular`) that returns a
:class:`deepprob.tabular.GaussianMixturePredictive` (``log_prob``, ``cdf``,
``sample``, ``mean``, ``components``; see :mod:`deepprob.predictive`). Its
keyword defaults are the paper's setting::

    from deepprob import tabular
    from deepprob.torch import tabular as tt
    x, y = tabular.load_boston()
    result = tabular.evaluate(tt.mc_dropout, x, y, grid=tt.MC_DROPOUT_GRID)   # 20 splits, Gal's protocol
    result.summary()["ll_mean"]

* :func:`mc_dropout` -- Gal & Ghahramani (2016) as in their code [GalCode]_
  (``net/net.py``, ``experiment.py``): 1 hidden layer of 50 ReLU units,
  dropout on the inputs and after the hidden layer, minibatches of 128, Adam
  with Keras' default learning rate 1e-3, 400 epochs (``n_epochs.txt`` = 40
  times ``--epochx 10``), weight decay from ``p``, the length-scale
  ``l = 1e-2``, ``N`` and ``tau`` (:func:`deepprob.torch.dropout.gal_weight_decay`),
  ``T = 10 000`` stochastic forward passes at test time; ``p`` and ``tau``
  chosen on a validation split (:data:`MC_DROPOUT_GRID`). The predictive is
  the equally weighted mixture of the ``T`` Gaussians ``N(mu_t(x), 1/tau)``
  (their eq. 8 and test log-likelihood).
* :func:`deep_ensemble` -- Lakshminarayanan et al. (2017), Sect. 3.3 [LPB2017]_:
  ``M = 5`` heteroscedastic networks (1 x 50 ReLU, variance ``softplus + 1e-6``),
  each from its own initialisation and data order, 40 epochs, minibatches of
  100, Adam with learning rate 0.1; optional adversarial training by the fast
  gradient sign method with ``eps = 0.01`` times each input's range. The
  predictive is the equal mixture of the members' Gaussians.
* :func:`bayes_by_backprop` -- mean-field Gaussian variational inference of
  the weights by the reparameterised minibatch ELBO (Blundell et al. 2015
  [BCKW2015]_, the "VI" row of Gal's and Hernández-Lobato & Adams' tables,
  after Graves 2011): the 1 x 50 ReLU network of :class:`~deepprob.torch.layers.BayesianMLP`,
  prior ``N(0, 1)`` on every weight, one learnt noise sd (type-II maximum
  likelihood), minibatch KL weight ``1/M`` (their eq. 8 with ``pi_i = 1/M``),
  and the MC dropout schedule above (400 epochs, batch 128) with Adam at
  1e-2; the predictive is the mixture of ``T = 1000`` weight draws.
* :func:`heteroscedastic` -- one such network (Nix & Weigend 1994), trained
  by the Gaussian NLL or the beta-NLL (Seitzer et al. 2022, ``beta = 0.5``).

Units: ``tau`` is a precision **in standardised units of y**; Gal's grid is in
original units, ``tau_orig = tau / y_scale**2``. Every model is built after
:func:`deepprob.seeds.seed_torch` with a seed derived from ``seed``, and
trained through :func:`deepprob.torch.training.fit`.

References
----------
.. [GalCode] Y. Gal, github.com/yaringal/DropoutUncertaintyExps (2016-2018).
.. [BCKW2015] C. Blundell, J. Cornebise, K. Kavukcuoglu and D. Wierstra,
   "Weight uncertainty in neural networks", ICML 2015.
.. [LPB2017] B. Lakshminarayanan, A. Pritzel and C. Blundell, "Simple and
   scalable predictive uncertainty estimation using deep ensembles", NeurIPS 2017.
"""
from __future__ import annotations

import numpy as np
import torch

from .. import seeds
from .._docs import fill_doc
from .._validation import positive_float, positive_int
from ..tabular import GaussianMixturePredictive
from . import dropout as dpd
from . import layers as dpl
from .models import HeteroscedasticMLP, beta_nll
from .training import fit

__all__ = ["mc_dropout", "deep_ensemble", "bayes_by_backprop", "heteroscedastic", "MC_DROPOUT_GRID", "MC_DROPOUT_BOUNDS"]

#: Three of Gal's dropout rates (his ``dropout_rates.txt``: 0.005, 0.01, 0.05, 0.1) and precisions in
#: standardised units around Boston's ``tau_values.txt`` (0.16 per ($1000)^2 times a variance of y of
#: about 84, i.e. 13). 3 x 3 rather than 4 x 5 to halve the cost on 2 busy cores: the grid is extended
#: past any edge that is chosen (:func:`deepprob.tabular.select_on_grid`), and on the first Boston
#: splits the 4 x 5 grid chose p in {0.05, 0.1} and tau = 20 every time.
MC_DROPOUT_GRID = {"p": [0.01, 0.05, 0.1], "tau": [10.0, 20.0, 40.0]}
#: How far :func:`deepprob.tabular.select_on_grid` may extend the grid (p below 0.5).
MC_DROPOUT_BOUNDS = {"p": (0.001, 0.5)}


_TRAINING_DATA = """
x : ndarray, shape (N, D)
    Training inputs, standardised on the training split (:class:`deepprob.tabular.Standardiser`).
y : ndarray, shape (N, 1)
    Training targets, standardised likewise.
"""


def _mc_passes(model, x, n_samples, seed, chunk_rows=200_000):
    """Means and sds ``(N, T)`` of the ``Normal``s of ``T`` passes with independent masks **per point**.

    The ``T`` passes are one forward pass of ``x`` repeated ``T`` times (batched),
    so each row gets its own masks: each point's predictive is exactly that of
    ``T`` separate passes; only the correlation between points differs, which
    no score here uses.
    """
    xt = torch.as_tensor(x, dtype=torch.float32)
    n = xt.shape[0]
    per_chunk = max(1, chunk_rows // max(n, 1))
    locs, scales = [], []
    was_training = model.training
    model.train()  # MCDropoutMLP has no batch norm: train mode switches dropout on and nothing else
    try:
        with seeds.torch_seeded(seed), torch.no_grad():
            done = 0
            while done < n_samples:
                t = min(per_chunk, n_samples - done)
                dist = model(xt.repeat(t, 1))
                locs.append(dist.mean.reshape(t, n))
                scales.append(dist.stddev.reshape(t, n))
                done += t
    finally:
        model.train(was_training)
    return torch.cat(locs).T.double().numpy(), torch.cat(scales).T.double().numpy()


def _mc_means(model, x, n_samples, seed, chunk_rows=200_000):
    """``(N, T)`` means of :func:`_mc_passes`."""
    return _mc_passes(model, x, n_samples, seed, chunk_rows)[0]


@fill_doc(training_data=_TRAINING_DATA)
def mc_dropout(x, y, *, seed, p=0.05, tau=10.0, hidden=50, n_hidden=1, input_dropout=True, epochs=400,
               batch_size=128, lr=1e-3, length_scale=1e-2, n_samples=10_000,
               noise="fixed") -> GaussianMixturePredictive:
    """MC dropout as in Gal & Ghahramani's UCI experiments; the mixture of ``n_samples`` Gaussians.

    Parameters
    ----------
    %(training_data)s
    seed : int
        Derives the initialisation, data-order and mask seeds.
    p : float, default 0.05
        Dropout (drop) probability, in ``[0, 1)``.
    tau : float, default 10.0
        Model precision in standardised units of y (the noise sd is ``tau ** -0.5``);
        unused with ``noise="heteroscedastic"``.
    hidden, n_hidden : int
        Width and number of hidden layers (Gal: 50 and 1).
    input_dropout : bool, default True
        Drop the inputs too (Gal's network does).
    epochs, batch_size, lr : int, int, float
        Adam's schedule (Gal: 400, 128, 1e-3).
    length_scale : float, default 1e-2
        Prior length-scale of the weight decay.
    n_samples : int, default 10000
        Stochastic forward passes ``T`` at prediction.
    noise : {"fixed", "heteroscedastic"}, default "fixed"
        ``"fixed"``: Gal's homoscedastic model with precision ``tau``;
        ``"heteroscedastic"``: the network also predicts a log-variance and is
        trained by the Gaussian NLL (Kendall & Gal 2017), each pass
        contributing ``N(mu_t(x), sigma_t(x)^2)``.

    Returns
    -------
    GaussianMixturePredictive
        Components ``(N, 1, T)``: the means and sds of the ``T`` passes.

    Raises
    ------
    ValueError
        For out-of-range settings.
    """
    tau = positive_float(tau, "tau")
    n_samples = positive_int(n_samples, "n_samples")
    if noise not in ("fixed", "heteroscedastic"):
        raise ValueError(f"noise must be 'fixed' or 'heteroscedastic'; got {noise!r}.")
    seeds.seed_torch(seeds.derive("uci", "mc_dropout", "init", seed))
    model = dpd.MCDropoutMLP(x.shape[1], hidden, p, n_hidden=n_hidden, input_dropout=input_dropout,
                             noise=noise, noise_sigma=tau ** -0.5)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    dpd.fit_mc_dropout(model, xt, yt, tau=tau, length_scale=length_scale, p=p, epochs=epochs,
                       batch_size=batch_size, lr=lr, seed=seeds.derive("uci", "mc_dropout", "fit", seed),
                       progress=False)
    model.eval()
    mask_seed = seeds.derive("uci", "mc_dropout", "masks", seed)

    def components(xq):
        mu, sd = _mc_passes(model, xq, n_samples, mask_seed)
        return mu[:, None, :], sd[:, None, :]

    return GaussianMixturePredictive(components)


def _train_member(x, y, *, seed, loss, beta, hidden, epochs, batch_size, lr, min_scale, adversarial, eps):
    seeds.seed_torch(seeds.derive("uci", "member", "init", seed))
    model = HeteroscedasticMLP(x.shape[1], hidden, min_scale=min_scale, activation="relu")
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)

    def objective(dist, target):
        return beta_nll(dist, target, beta) if loss == "beta_nll" else -dist.log_prob(target).mean()

    if adversarial:
        # fast gradient sign (Goodfellow et al. 2015) as in Lakshminarayanan et al. (2017), Sect. 2.3:
        # the step is eps times each input's range on the training data
        step = torch.as_tensor(eps * (x.max(axis=0) - x.min(axis=0)), dtype=torch.float32)

        def loss_fn(m, xb, yb):
            xb = xb.clone().requires_grad_(True)
            clean = objective(m(xb), yb)
            (grad,) = torch.autograd.grad(clean, xb, retain_graph=True)
            return clean + objective(m((xb + step * grad.sign()).detach()), yb)
    else:
        def loss_fn(m, xb, yb):
            return objective(m(xb), yb)

    fit(model, loss_fn, xt, yt, epochs=epochs, batch_size=batch_size, lr=lr,
        seed=seeds.derive("uci", "member", "fit", seed), progress=False, description="ensemble member")
    model.eval()
    return model


def _members_predictive(models):
    def components(xq):
        with torch.no_grad():
            dists = [m(torch.as_tensor(xq, dtype=torch.float32)) for m in models]
        mu = torch.stack([d.loc for d in dists], dim=-1).double().numpy()
        sd = torch.stack([d.scale for d in dists], dim=-1).double().numpy()
        return mu, sd

    return GaussianMixturePredictive(components)


@fill_doc(training_data=_TRAINING_DATA)
def deep_ensemble(x, y, *, seed, n_members=5, hidden=50, epochs=40, batch_size=100, lr=0.1, min_scale=1e-6,
                  adversarial=False, eps=0.01, loss="nll", beta=0.5) -> GaussianMixturePredictive:
    """A deep ensemble (Lakshminarayanan et al. 2017) of heteroscedastic ReLU networks; their equal mixture.

    Parameters
    ----------
    %(training_data)s
    seed : int
        Derives each member's seeds (:func:`deepprob.seeds.derive_many`).
    n_members : int, default 5
        Ensemble size ``M``.
    hidden : int or sequence of int, default 50
        Hidden widths of each :class:`~deepprob.torch.models.HeteroscedasticMLP`.
    epochs, batch_size, lr : int, int, float
        Adam's schedule (the paper: 40, 100, 0.1; see the note below).
    min_scale : float, default 1e-6
        Floor of the predicted sd (standardised units).
    adversarial : bool, default False
        Add the NLL at fast-gradient-sign inputs ``x + eps * range * sign(grad)``.
    eps : float, default 0.01
        Adversarial step as a fraction of each input's range.
    loss : {"nll", "beta_nll"}, default "nll"
        Each member's loss; ``beta`` for the beta-NLL.

    Returns
    -------
    GaussianMixturePredictive
        Components ``(N, 1, M)``.

    Notes
    -----
    With the paper's learning rate 0.1 these networks can diverge on Boston
    (test RMSEs of hundreds of $1000s on some splits; ``benchmarks/uci.py``
    prints that row); its table uses ``lr = 0.01``.
    """
    if loss not in ("nll", "beta_nll"):
        raise ValueError(f"loss must be 'nll' or 'beta_nll'; got {loss!r}.")
    member_seeds = seeds.derive_many(positive_int(n_members, "n_members"), "uci", "ensemble", seed)
    models = [_train_member(x, y, seed=s, loss=loss, beta=beta, hidden=hidden, epochs=epochs,
                            batch_size=batch_size, lr=lr, min_scale=min_scale, adversarial=adversarial, eps=eps)
              for s in member_seeds]
    return _members_predictive(models)


@fill_doc(training_data=_TRAINING_DATA)
def bayes_by_backprop(x, y, *, seed, hidden=50, epochs=400, batch_size=128, lr=1e-2, prior_sigma=1.0,
                      noise="learned", rho_init=-5.0, kl_scheme="uniform",
                      n_samples=1000) -> GaussianMixturePredictive:
    """Bayes by Backprop (Blundell et al. 2015): mean-field Gaussian q(w), trained on the minibatch ELBO.

    Parameters
    ----------
    %(training_data)s
    seed : int
        Derives the initialisation, the training noise and the prediction draws.
    hidden : int or sequence of int, default 50
        Hidden widths of the :class:`~deepprob.torch.layers.BayesianMLP` (ReLU).
    epochs, batch_size, lr : int, int, float
        Adam's schedule (400, 128, 1e-2).
    prior_sigma : float, default 1.0
        Prior sd of every weight and bias, ``p(w) = N(0, prior_sigma^2)``.
    noise : {"learned", "heteroscedastic"}, default "learned"
        One noise sd for all inputs (a point estimate) or an input-dependent one.
    rho_init : float, default -5.0
        Initial ``rho`` of the variational sds, ``sigma = softplus(rho)``.
    kl_scheme : {"uniform", "blundell"}, default "uniform"
        Minibatch KL weights (:func:`~deepprob.torch.layers.minibatch_kl_weights`).
    n_samples : int, default 1000
        Weight draws ``T`` of the predictive mixture.

    Returns
    -------
    GaussianMixturePredictive
        Components ``(N, 1, T)``: each draw's mean and noise sd.

    Raises
    ------
    ValueError
        For an unknown ``noise`` or out-of-range settings.
    """
    if noise not in ("learned", "heteroscedastic"):
        raise ValueError(f"noise must be 'learned' or 'heteroscedastic'; got {noise!r}.")
    n_samples = positive_int(n_samples, "n_samples")
    seeds.seed_torch(seeds.derive("uci", "bbb", "init", seed))
    model = dpl.BayesianMLP(x.shape[1], hidden, 1, prior_sigma=positive_float(prior_sigma, "prior_sigma"),
                            activation=torch.relu, noise=noise, noise_sigma=0.5 if noise == "learned" else None,
                            rho_init=rho_init)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    dpl.fit_bayes_by_backprop(model, xt, yt, epochs=epochs, batch_size=batch_size, lr=lr, kl_scheme=kl_scheme,
                              seed=seeds.derive("uci", "bbb", "fit", seed), progress=False)
    draw_seed = seeds.derive("uci", "bbb", "draws", seed)

    def components(xq):
        # each draw is one network w_t ~ q shared by all points: the posterior predictive's mixture
        with seeds.torch_seeded(draw_seed), torch.no_grad():
            dists = [model(torch.as_tensor(xq, dtype=torch.float32)) for _ in range(n_samples)]
        mu = torch.stack([d.loc for d in dists], dim=-1).double().numpy()
        sd = torch.stack([d.scale for d in dists], dim=-1).double().numpy()
        return mu, sd

    return GaussianMixturePredictive(components)


def heteroscedastic(x, y, *, seed, loss="nll", beta=0.5, hidden=50, epochs=40, batch_size=100, lr=0.1,
                    min_scale=1e-6) -> GaussianMixturePredictive:
    """One heteroscedastic network trained by the NLL or the beta-NLL: a one-member :func:`deep_ensemble`."""
    return deep_ensemble(x, y, seed=seed, n_members=1, hidden=hidden, epochs=epochs, batch_size=batch_size,
                         lr=lr, min_scale=min_scale, loss=loss, beta=beta)
