"""Chapter 7 methods: MC dropout (Gal & Ghahramani, 2016), for ``benchmarks/uncertainty.py``.

Two rows, both on the same 2x50 tanh network as chapter 5's methods, with an
``nn.Dropout`` after each hidden layer (``deepprob.torch.dropout.MCDropoutMLP``)
and the objective of ``dpd.fit_mc_dropout`` (prior length-scale 1e-2, as in
Gal's experiments):

* **one precision tau**: the homoscedastic model of the paper. The network is
  trained on 80% of the data; tau is then chosen on the other 20% by the MC
  log-likelihood (with l = 1e-2 the weight decay implied by tau is ~1e-8, so
  tau does not change the training, see chapter 7);
* **learnt noise**: the heteroscedastic variant of Kendall & Gal (2017): the
  network outputs a mean and a log-variance, trained on all the data by the
  Gaussian NLL with dropout.

The predictive is the equally weighted mixture of the ``T`` Gaussians
``N(mu_t(x), sigma_t(x)^2)`` of ``T`` dropout masks, so it is returned as a
:class:`deepprob.predictive.MixturePredictive` with ``K = T`` components: exact
log-density (a logsumexp over the masks, what ``dpd.mc_log_likelihood``
computes), CDF and samples of that mixture. The masks are drawn from a fixed
seed at every call, so the predictive is a deterministic function of ``x``.
"""
from __future__ import annotations

import numpy as np

from benchmarks.methods import register
from deepprob.predictive import MixturePredictive

HIDDEN, N_HIDDEN = 50, 2
STEPS = 3000          # full-batch Adam steps at budget 1.0
LR = 1e-2
N_MASKS = 100         # T, dropout masks (mixture components) per prediction
TAUS = np.geomspace(0.5, 200.0, 61)


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _net(p, noise, seed):
    torch = _torch()
    from deepprob import seeds
    from deepprob.torch import dropout as dpd

    seeds.seed_torch(seed)
    return dpd.MCDropoutMLP(1, HIDDEN, p, n_hidden=N_HIDDEN, activation=torch.nn.Tanh, noise=noise)


def _samples(model, x, seed):
    """Means and scales under N_MASKS dropout masks, float64 numpy ``(T, N, 1)`` each, from a fixed seed."""
    torch = _torch()
    from deepprob import seeds
    from deepprob.torch import dropout as dpd

    with seeds.torch_seeded(seed):
        draws = dpd.mc_dropout_samples(model, torch.as_tensor(x, dtype=torch.float32), N_MASKS)
    return draws.loc.double().numpy(), draws.scale.double().numpy()


def _mixture(components):
    return MixturePredictive(components)


def _homoscedastic(x, y, *, p, seed, budget):
    torch = _torch()
    from deepprob.torch import dropout as dpd

    perm = np.random.default_rng(seed).permutation(len(x))
    k = int(round(0.8 * len(x)))
    fit_i, val_i = perm[:k], perm[k:]
    model = _net(p, "fixed", seed)
    x_t, y_t = torch.as_tensor(x[fit_i], dtype=torch.float32), torch.as_tensor(y[fit_i], dtype=torch.float32)
    dpd.fit_mc_dropout(model, x_t, y_t, tau=10.0, epochs=max(1, int(STEPS * budget)), lr=LR, seed=seed)
    mu_val = torch.from_numpy(_samples(model, x[val_i], seed + 1)[0][..., 0])
    y_val = torch.from_numpy(y[val_i, 0])
    lls = [dpd.mc_log_likelihood(mu_val, y_val, t).item() for t in TAUS]
    sd = float(TAUS[int(np.argmax(lls))]) ** -0.5

    def components(xx):
        mu = np.moveaxis(_samples(model, xx, seed + 2)[0], 0, -1)   # (N, 1, T)
        return mu, np.full_like(mu, sd)

    return _mixture(components)


def _heteroscedastic(x, y, *, p, seed, budget):
    torch = _torch()
    from deepprob.torch import dropout as dpd

    model = _net(p, "heteroscedastic", seed)
    x_t, y_t = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    dpd.fit_mc_dropout(model, x_t, y_t, epochs=max(1, int(STEPS * budget)), lr=LR, seed=seed)

    def components(xx):
        loc, scale = _samples(model, xx, seed + 2)                 # (T, N, 1) each
        return np.moveaxis(loc, 0, -1), np.moveaxis(scale, 0, -1)  # (N, 1, T)

    return _mixture(components)


@register("MC dropout (p = 0.05), one tau", chapter=7, cost=1.5)
def mc_dropout_homoscedastic(x, y, *, seed, budget=1.0):
    return _homoscedastic(x, y, p=0.05, seed=seed, budget=budget)


@register("MC dropout (p = 0.05), learnt noise", chapter=7, cost=1.5)
def mc_dropout_heteroscedastic(x, y, *, seed, budget=1.0):
    return _heteroscedastic(x, y, p=0.05, seed=seed, budget=budget)
