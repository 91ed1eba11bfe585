"""Chapter 5 methods: Gaussian networks with input-dependent noise, and their fixes."""
from __future__ import annotations

import numpy as np

from benchmarks.methods import register
from deepprob import data, seeds
from deepprob.predictive import MixturePredictive, NormalPredictive

HIDDEN = (50, 50)
STEPS = 3000


def _torch():
    import torch

    torch.set_num_threads(1)
    return torch


def _train(x, y, seed, *, budget, steps=STEPS, val_frac=0.0, patience=30, **kwargs):
    """One 2x50 tanh HeteroscedasticMLP, full-batch Adam; an optional validation split for early stopping."""
    torch = _torch()
    from deepprob import torch as dpt
    from deepprob.torch import models

    x_t, y_t = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    val = {}
    if val_frac > 0:
        perm = np.random.default_rng(seed).permutation(len(x))
        k = int(round(len(x) * (1 - val_frac)))
        val = {"x_val": x_t[perm[k:]], "y_val": y_t[perm[k:]], "check_every": 10, "patience": patience}
        x_t, y_t = x_t[perm[:k]], y_t[perm[:k]]
    seeds.seed_torch(seed)
    model = models.HeteroscedasticMLP(x.shape[1], HIDDEN)
    models.train_heteroscedastic(model, x_t, y_t, steps=max(1, int(steps * budget)), seed=seed,
                                 progress=False, **val, **kwargs)
    return model


def _normal(model):
    torch = _torch()

    def mean_sd(x):
        with torch.no_grad():
            d = model(torch.as_tensor(x, dtype=torch.float32))
        return d.loc.double().numpy(), d.scale.double().numpy()

    return NormalPredictive(mean_sd)


def _member_seed(seed, k):
    """Seed of ensemble member ``k``, derived from the method's ``seed``."""
    return seeds.derive("ensemble member", k, base_seed=seed)


def _ensemble(members, features=lambda x: x):
    torch = _torch()

    def components(x):
        x = features(x)
        with torch.no_grad():
            ds = [m(torch.as_tensor(x, dtype=torch.float32)) for m in members]
        return (np.stack([d.loc.double().numpy() for d in ds], axis=-1),
                np.stack([d.scale.double().numpy() for d in ds], axis=-1))

    return MixturePredictive(components)


@register("MLE (Gaussian NLL)", chapter=5)
def mle(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget))


@register("MLE + early stopping", chapter=5, cost=0.5)
def early_stopping(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget, val_frac=0.2, patience=50))


@register("MLE + weight decay 1e-2", chapter=5)
def weight_decay(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget, weight_decay=1e-2))


@register("beta-NLL (0.5)", chapter=5)
def beta_nll(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget, loss="beta_nll", beta=0.5))


@register("beta-NLL (0.5) + early stopping", chapter=5, cost=0.7)
def beta_nll_early_stopping(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget, loss="beta_nll", beta=0.5, val_frac=0.2, patience=50))


@register("ensemble of 5, beta-NLL + early stopping", chapter=5, cost=3.5)
def ensemble(x, y, *, seed, budget=1.0):
    members = [_train(x, y, _member_seed(seed, k), budget=budget, loss="beta_nll", beta=0.5, val_frac=0.2, patience=50)
               for k in range(5)]
    return _ensemble(members)


@register("Vink q(y|x), N(0,1) prior", chapter=5)
def vink(x, y, *, seed, budget=1.0):
    return _normal(_train(x, y, seed, budget=budget, loss="vink"))


@register("TFP IndependentNormal (1x50 tanh)", chapter=5, cost=1.5)
def tfp_independent_normal(x, y, *, seed, budget=1.0):
    from deepprob.tfp import models as tfp_models  # sets the Keras 2 / quiet-logs environment first
    import tensorflow as tf
    import tf_keras as tfk

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    model = tfp_models.independent_normal_regressor(x.shape[1], hidden_units=50, seed=seed)
    model.compile(optimizer=tfk.optimizers.Adam(learning_rate=1e-2), loss=lambda yy, dist: -dist.log_prob(yy))
    model.fit(x.astype("float32"), y.astype("float32"), batch_size=len(x),
              epochs=max(1, int(STEPS * budget)), verbose=0)

    def mean_sd(xx):
        d = model(xx.astype("float32"))
        return d.mean().numpy().astype(np.float64), d.stddev().numpy().astype(np.float64)

    return NormalPredictive(mean_sd)


@register("ensemble of 5, beta-NLL", chapter=5, cost=5.0)
def ensemble_beta_nll(x, y, *, seed, budget=1.0):
    members = [_train(x, y, _member_seed(seed, k), budget=budget, loss="beta_nll", beta=0.5) for k in range(5)]
    return _ensemble(members)


def _periodic_features(x):
    """Standardised x of Vink's toy and sin, cos of its raw input (the period of the true mean), (N, 3)."""
    raw = data.HeteroscedasticSine.X_MEAN + data.HeteroscedasticSine.X_SCALE * x
    return np.hstack([x, np.sin(raw), np.cos(raw)])


@register("ensemble of 5, beta-NLL, sin/cos features (period known)", chapter=7, cost=1.0, datasets=("vink_toy",))
def ensemble_periodic(x, y, *, seed, budget=1.0):
    """Five 1x32 tanh β-NLL networks on the features of chapter 7 (x, sin and cos of the raw input).

    Told the period of the true mean, a small network fits it in a few hundred full-batch steps; 700
    (from a scan of 500-3000 steps and widths 16-64 on other seeds) stops before the members fit the
    noise. Vink's toy only: the features are those of its raw input.
    """
    torch = _torch()
    from deepprob.torch import models

    f = _periodic_features(x)
    xt, yt = torch.as_tensor(f, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    members = []
    for k in range(5):
        member_seed = _member_seed(seed, k)
        seeds.seed_torch(member_seed)
        model = models.HeteroscedasticMLP(3, 32)
        models.train_heteroscedastic(model, xt, yt, steps=max(1, int(700 * budget)), loss="beta_nll", beta=0.5,
                                     seed=member_seed, progress=False)
        members.append(model)
    return _ensemble(members, _periodic_features)
