"""Chapter 6 methods: Bayes by Backprop and NUTS on the same small network, for ``benchmarks/uncertainty.py``.

Two rows that fit the *same* model, so that the gap between them is the price
of the mean-field approximation:

* one hidden layer of ``HIDDEN = 16`` tanh units, ``N(0, 1)`` priors on every
  weight and bias (``deepprob.torch.layers.BayesianMLP`` and
  ``deepprob.numpyro.bnn.bnn_model``);
* homoscedastic Gaussian noise ``y ~ N(f(x), sigma^2)``: NUTS samples ``sigma``
  under a ``HalfNormal(1)`` prior; Bayes by Backprop learns it as a point
  estimate next to the variational weights (``noise="learned"``).

Both predictives are the equally weighted mixture of ``S`` Gaussians
``N(f_s(x), sigma_s^2)`` over posterior draws, returned as a
:class:`deepprob.predictive.MixturePredictive` (exact log density by logsumexp,
CDF, samples). The draws are fixed at fit time (NUTS) or drawn from a fixed seed
at every call (Bayes by Backprop), so each predictive is a deterministic
function of ``x``. :func:`moments` and :func:`compare` give the function-space
comparison of chapter 6 (mean |Δmean|, ratios of predictive and epistemic sd).

Vink's toy is heteroscedastic and its mean oscillates faster than a 16-unit
network with ``N(0, 1)`` priors follows, so both rows are far from the oracle
there: they are in the table to measure the BBB-vs-NUTS gap, not to win it.

``python -m benchmarks.methods.bnn`` prints that comparison on Blundell's curve
with a gap (chapter 6's data) and on Vink's toy (n = 1000).
"""
from __future__ import annotations

import math
import time

import numpy as np

from benchmarks.methods import register
from deepprob.predictive import MixturePredictive

HIDDEN = 16
PRIOR_SIGMA = 1.0
N_DRAWS = 200          # posterior draws S in a predictive (mixture components)
BBB_STEPS = 3000       # Adam steps at budget 1.0
NUTS_DRAWS = 300       # warm-up and kept draws at budget 1.0 (one chain)


class _BNNPredictive(MixturePredictive):
    """A mixture over network draws, with the moments used by :func:`compare`."""

    def __init__(self, draw):
        self._draw = draw  # x (N, 1) -> f (S, N), sigma (S,)
        super().__init__(self._components)

    def _components(self, x):
        f, sigma = self._draw(np.asarray(x, dtype=np.float64).reshape(-1, 1))
        mu = f.T[:, None, :]                                   # (N, 1, S)
        sd = np.broadcast_to(sigma[None, None, :], mu.shape)   # (N, 1, S)
        return mu, sd


def moments(predictive, x):
    """Predictive mean, predictive sd and epistemic sd at ``x``, each of shape (N,).

    ``sd^2 = Var_s f_s(x) + E_s sigma_s^2`` (law of total variance);
    the epistemic sd is ``sd_s f_s(x)``.
    """
    f, sigma = predictive._draw(np.asarray(x, dtype=np.float64).reshape(-1, 1))
    return f.mean(0), np.sqrt(f.var(0) + np.mean(sigma**2)), f.std(0)


def compare(approx, exact, x_grid, regions):
    """Function-space gap between two BNN predictives on a grid.

    Parameters
    ----------
    approx, exact : predictives returned by :func:`bayes_by_backprop` / :func:`nuts`
    x_grid : ndarray, shape (M, 1)
    regions : dict of str -> boolean ndarray of shape (M,)

    Returns
    -------
    dict
        Per region: ``mean_abs_diff`` (mean |Δ predictive mean|), ``sd_ratio``
        and ``epistemic_sd_ratio`` (approx / exact, averaged over the region).
    """
    m_a, s_a, e_a = moments(approx, x_grid)
    m_e, s_e, e_e = moments(exact, x_grid)
    return {
        name: {
            "mean_abs_diff": float(np.abs(m_a - m_e)[mask].mean()),
            "sd_ratio": float((s_a / s_e)[mask].mean()),
            "epistemic_sd_ratio": float((e_a / e_e)[mask].mean()),
        }
        for name, mask in regions.items()
    }


@register("BNN Bayes by Backprop (1x16 tanh)", chapter=6, cost=0.5)
def bayes_by_backprop(x, y, *, seed, budget=1.0):
    """Mean-field Gaussian weights (Blundell et al. 2015), learned homoscedastic noise."""
    import torch

    from deepprob.torch import layers

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        n = len(x)
        batch_size = max(20, n // 10)
        n_batches = math.ceil(n / batch_size)
        epochs = max(1, round(BBB_STEPS * budget / n_batches))
        torch.manual_seed(seed)
        model = layers.BayesianMLP(x.shape[1], HIDDEN, prior_sigma=PRIOR_SIGMA, noise="learned", noise_sigma=0.1)
        layers.fit_bayes_by_backprop(
            model, torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32),
            epochs=epochs, batch_size=batch_size, lr=2e-2, kl_scheme="blundell", seed=seed,
        )
        model.eval()
    finally:
        torch.set_num_threads(threads)

    def draw(xq):
        state = torch.random.get_rng_state()
        torch.manual_seed(seed + 1)  # the same S networks at every call
        try:
            with torch.no_grad():
                xt = torch.as_tensor(xq, dtype=torch.float32)
                outs = [model(xt) for _ in range(N_DRAWS)]
        finally:
            torch.random.set_rng_state(state)
        f = np.stack([o.loc.numpy()[:, 0] for o in outs]).astype(np.float64)
        return f, np.full(N_DRAWS, float(outs[0].scale.reshape(-1)[0]))

    return _BNNPredictive(draw)


@register("BNN NUTS (1x16 tanh, gold standard)", chapter=6, cost=1.0)
def nuts(x, y, *, seed, budget=1.0):
    """NUTS on the same network (one chain, at most 255 leapfrog steps per draw), sigma ~ HalfNormal(1)."""
    from deepprob.numpyro import bnn

    n_draws = max(50, round(NUTS_DRAWS * budget))
    posterior = bnn.sample_posterior(x, y, hidden=HIDDEN, prior_sigma=PRIOR_SIGMA, num_warmup=n_draws,
                                     num_samples=n_draws, max_tree_depth=8, seed=seed)
    samples = {k: np.asarray(v) for k, v in posterior.samples.items()}
    keep = np.linspace(0, n_draws - 1, min(N_DRAWS, n_draws)).round().astype(int)
    samples = {k: v[keep] for k, v in samples.items()}
    kwargs = dict(posterior.model_kwargs)

    def draw(xq):
        f, sigma = bnn.predict((samples, kwargs), xq)
        return f.astype(np.float64), sigma.astype(np.float64)

    return _BNNPredictive(draw)


def _blundell(x, rng):
    eps = rng.normal(0.0, 0.02, size=x.shape)
    return x + 0.3 * np.sin(2 * np.pi * (x + eps)) + 0.3 * np.sin(4 * np.pi * (x + eps)) + eps


def main():  # pragma: no cover - prints a table
    from deepprob import data, metrics, seeds

    rng = np.random.default_rng(seeds.derive("bnn demo", "blundell data"))
    gap = (0.35, 0.65)

    def clusters(n):
        return np.concatenate([rng.uniform(0.0, gap[0], n // 2), rng.uniform(gap[1], 1.0, n - n // 2)])[:, None]

    u = lambda x: 4.0 * (x - 0.5)  # chapter 6's input scaling
    x_tr = clusters(100)
    x_cl, x_gp = clusters(2000), rng.uniform(*gap, size=(2000, 1))
    x_out = np.concatenate([rng.uniform(-0.3, 0.0, 1000), rng.uniform(1.0, 1.3, 1000)])[:, None]
    grid = np.linspace(-0.3, 1.3, 321)[:, None]
    problems = {
        "Blundell's curve, 100 points in two clusters (chapter 6)": (
            u(x_tr), _blundell(x_tr, rng),
            {"clusters": (u(x_cl), _blundell(x_cl, rng)), "gap": (u(x_gp), _blundell(x_gp, rng)),
             "outside": (u(x_out), _blundell(x_out, rng))},
            u(grid),
            {"data": ((grid[:, 0] >= 0) & (grid[:, 0] <= gap[0])) | ((grid[:, 0] >= gap[1]) & (grid[:, 0] <= 1)),
             "gap": (grid[:, 0] > gap[0]) & (grid[:, 0] < gap[1])},
        ),
    }
    toy = data.HeteroscedasticSine()
    xv, yv = toy.sample(1000, seed=seeds.derive("bnn demo", "vink train"))
    gv = toy.grid(300)
    vink_test = toy.sample(10_000, seed=seeds.derive("bnn demo", "vink test"))
    problems["Vink's toy, n = 1000"] = (xv, yv, {"test": vink_test}, gv,
                                        {"domain": np.ones(len(gv), bool)})

    for title, (x, y, tests, g, regions) in problems.items():
        print(f"\n== {title}")
        preds = {}
        for name, fit in (("BBB", bayes_by_backprop), ("NUTS", nuts)):
            t0 = time.perf_counter()
            preds[name] = fit(x, y, seed=seeds.derive("bnn demo", "fit", title))
            cells = [f"{name:4s} fit {time.perf_counter() - t0:5.1f} s"]
            for label, (xt, yt) in tests.items():
                mean, sd, _ = moments(preds[name], xt)
                lo, hi = metrics.gaussian_interval(mean, sd, 0.9)
                cells.append(f"NLL {label} {metrics.mean_nll(preds[name].log_prob(xt, yt)):7.3f}")
                cells.append(f"cover90 {label} {metrics.interval_coverage(yt[:, 0], lo, hi):.3f}")
            print("  ".join(cells), flush=True)
        for region, d in compare(preds["BBB"], preds["NUTS"], g, regions).items():
            print(f"BBB vs NUTS, {region:6s}: mean |dmean| {d['mean_abs_diff']:.3f}, predictive sd ratio "
                  f"{d['sd_ratio']:.2f}, epistemic sd ratio {d['epistemic_sd_ratio']:.2f}")


if __name__ == "__main__":  # pragma: no cover
    main()
