"""Chapter 8 methods: mixture density networks (``deepprob.torch.mdn``).

Registers MDNs for ``benchmarks/uncertainty.py`` (Vink's toy and the motorcycle
data, where the true conditional is a single Gaussian and an MDN must not do
worse than one). Bishop's inverse problem, the data set on which the MDN is
meant to shine and whose target is a gap of at most 0.10 nats to the oracle, is
a different data set than this registry's: it has its own standalone script,
``benchmarks/mdn_bishop.py``.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from benchmarks.methods import register
from deepprob.predictive import gaussian_mixture_log_prob

STEPS = 3000
HIDDEN = 50


class _MDNPredictive:
    """Predictive of a fitted MDN: exact ``log_prob`` and ``cdf``, draws for the CRPS."""

    def __init__(self, model):
        self._model = model

    def _parts(self, x):
        import torch

        with torch.no_grad():
            logits, mu, log_sigma = self._model.mixture_parameters(torch.as_tensor(x, dtype=torch.float32))
            log_w = torch.log_softmax(logits, dim=-1)
        # (N, K) each, float64
        return log_w.double().numpy(), mu.double().numpy(), np.exp(log_sigma.double().numpy())

    def log_prob(self, x, y):
        log_w, mu, sd = self._parts(x)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        return gaussian_mixture_log_prob(y, mu, sd, log_weights=log_w, axis=-1).reshape(-1, 1)

    def cdf(self, x, y):
        log_w, mu, sd = self._parts(x)
        z = (np.asarray(y, dtype=np.float64).reshape(-1, 1) - mu) / sd
        return np.sum(np.exp(log_w) * special.ndtr(z), axis=-1).reshape(-1, 1)

    def sample(self, x, n_samples, seed):
        log_w, mu, sd = self._parts(x)
        rng = np.random.default_rng(seed)
        w = np.exp(log_w)
        # inverse-CDF choice of a component per draw and point
        u = rng.uniform(size=(n_samples, w.shape[0], 1))
        k = np.minimum((u > np.cumsum(w, axis=-1)[None]).sum(-1), w.shape[1] - 1)
        m = np.take_along_axis(np.broadcast_to(mu, (n_samples,) + mu.shape), k[..., None], axis=-1)[..., 0]
        s = np.take_along_axis(np.broadcast_to(sd, (n_samples,) + sd.shape), k[..., None], axis=-1)[..., 0]
        return (m + s * rng.standard_normal(m.shape))[..., None]


def _fit(x, y, *, seed, budget, n_components, steps=STEPS, lr=5e-3):
    """Full-batch Adam with a one-cycle schedule; components spread over the targets at start."""
    import torch

    from deepprob.torch import mdn

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.float32).reshape(-1)
    model = mdn.MixtureDensityNetwork(xt.shape[1], n_components, HIDDEN).init_from_targets(yt)
    n_steps = max(1, int(steps * budget))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=n_steps)
    for _ in range(n_steps):
        opt.zero_grad()
        loss = model.nll(xt, yt)
        loss.backward()
        opt.step()
        sched.step()
    return _MDNPredictive(model.eval())


@register("MDN (K = 3)", chapter=8, cost=1.2)
def mdn_k3(x, y, *, seed, budget=1.0):
    return _fit(x, y, seed=seed, budget=budget, n_components=3)
