"""Tests of deepprob.torch.models against torch.distributions, closed forms and Monte Carlo."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import MixtureSameFamily, Normal

from deepprob.data import HeteroscedasticSine
from deepprob.torch.models import (
    GaussianEnsemble,
    HeteroscedasticMLP,
    TrainResult,
    beta_nll,
    gaussian_kl_to_standard_normal,
    mix_normals,
    train_heteroscedastic,
    vink_negative_elbo,
)


# ------------------------------------------------------------------ HeteroscedasticMLP
@pytest.mark.parametrize("n, d, hidden", [(1, 1, 8), (7, 3, (16, 16)), (64, 2, [5])])
def test_mlp_returns_normal_of_shape_n_1(n, d, hidden):
    torch.manual_seed(0)
    model = HeteroscedasticMLP(d, hidden)
    dist = model(torch.randn(n, d))
    assert isinstance(dist, Normal)
    assert dist.batch_shape == (n, 1)
    assert (dist.scale > 0).all()


def test_mlp_scale_is_floored_softplus():
    torch.manual_seed(0)
    model = HeteroscedasticMLP(1, 8, min_scale=0.05)
    x = torch.linspace(-2, 2, 11).reshape(-1, 1)
    raw = model.head(model.body(x))
    dist = model(x)
    torch.testing.assert_close(dist.loc, raw[:, :1])
    torch.testing.assert_close(dist.scale, torch.log1p(torch.exp(raw[:, 1:])) + 0.05)


def test_mlp_scale_positive_and_finite_for_extreme_weights():
    torch.manual_seed(0)
    model = HeteroscedasticMLP(1, 4)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(-50.0)
    dist = model(torch.tensor([[1e3], [-1e3], [0.0]]))
    assert (dist.scale >= 1e-3).all() and torch.isfinite(dist.scale).all()
    assert torch.isfinite(dist.log_prob(torch.zeros(3, 1))).all()


def test_mlp_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = HeteroscedasticMLP(2, (8, 8), activation="relu")
    x, y = torch.randn(20, 2), torch.randn(20, 1)
    (-model(x).log_prob(y).mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.head.weight.grad[1].abs().sum() > 0  # the scale head learns


def test_mlp_float64():
    torch.manual_seed(0)
    model = HeteroscedasticMLP(1, 4).double()
    assert model(torch.zeros(3, 1, dtype=torch.float64)).scale.dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"in_features": 0, "hidden_features": 4}, "in_features"),
        ({"in_features": 1, "hidden_features": (4, 0)}, "hidden_features"),
        ({"in_features": 1, "hidden_features": ()}, "at least one"),
        ({"in_features": 1, "hidden_features": 4, "min_scale": -1.0}, "min_scale"),
        ({"in_features": 1, "hidden_features": 4, "activation": "sigmoid"}, "activation"),
    ],
)
def test_mlp_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HeteroscedasticMLP(**kwargs)


def test_mlp_bad_input_shape():
    model = HeteroscedasticMLP(1, 4)
    with pytest.raises(ValueError, match="reshape"):
        model(torch.zeros(5))


# ---------------------------------------------------------------------------- beta-NLL
def test_beta_nll_zero_is_nll():
    gen = torch.Generator().manual_seed(1)
    dist = Normal(torch.randn(30, 1, generator=gen), torch.rand(30, 1, generator=gen) + 0.1)
    y = torch.randn(30, 1, generator=gen)
    torch.testing.assert_close(beta_nll(dist, y, 0.0), -dist.log_prob(y).mean())
    ref = -stats.norm.logpdf(y.numpy(), dist.loc.numpy(), dist.scale.numpy()).mean()
    assert abs(beta_nll(dist, y, 0.0).item() - ref) < 1e-5


def test_beta_nll_value_and_stop_gradient():
    """Seitzer et al. (2022) eq. 3: value var^beta * NLL; gradients with the weight held fixed."""
    gen = torch.Generator().manual_seed(2)
    mu = torch.randn(25, 1, generator=gen, dtype=torch.float64).requires_grad_(True)
    sd = (torch.rand(25, 1, generator=gen, dtype=torch.float64) + 0.2).requires_grad_(True)
    y = torch.randn(25, 1, generator=gen, dtype=torch.float64)
    beta = 0.5
    out = beta_nll(Normal(mu, sd), y, beta)
    w = sd.detach() ** (2 * beta)
    nll = 0.5 * math.log(2 * math.pi) + torch.log(sd) + (y - mu) ** 2 / (2 * sd**2)
    torch.testing.assert_close(out, (w * nll).mean())
    g_mu, g_sd = torch.autograd.grad(out, (mu, sd))
    # closed-form gradients with the weight held constant
    n = len(y)
    torch.testing.assert_close(g_mu, (w * -(y - mu.detach()) / sd.detach() ** 2 / n))
    torch.testing.assert_close(g_sd, (w * (1 / sd.detach() - (y - mu.detach()) ** 2 / sd.detach() ** 3) / n))


def test_beta_one_gives_mse_gradient_for_the_mean():
    gen = torch.Generator().manual_seed(3)
    mu = torch.randn(10, 1, generator=gen).requires_grad_(True)
    sd = torch.rand(10, 1, generator=gen) + 0.1
    y = torch.randn(10, 1, generator=gen)
    (g,) = torch.autograd.grad(beta_nll(Normal(mu, sd), y, 1.0), mu)
    (g_mse,) = torch.autograd.grad(0.5 * ((y - mu) ** 2).mean(), mu)
    torch.testing.assert_close(g, g_mse)


@pytest.mark.parametrize("beta", [-0.1, 1.5, True, "0.5"])
def test_beta_nll_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        beta_nll(Normal(torch.zeros(2), torch.ones(2)), torch.zeros(2), beta)


# ------------------------------------------------------------------------- Vink's KL
def test_kl_to_standard_normal_matches_torch():
    gen = torch.Generator().manual_seed(4)
    q = Normal(torch.randn(50, 1, generator=gen), torch.rand(50, 1, generator=gen) * 3 + 0.05)
    want = torch.distributions.kl_divergence(q, Normal(0.0, 1.0))
    torch.testing.assert_close(gaussian_kl_to_standard_normal(q), want)


def test_vink_negative_elbo_matches_monte_carlo_of_vinks_estimator():
    """Vink's one-sample estimator log q(y) + log N(z; 0, 1) - log q(z), z ~ q, averaged."""
    gen = torch.Generator().manual_seed(5)
    mu = torch.randn(4, 1, generator=gen, dtype=torch.float64)
    sd = torch.rand(4, 1, generator=gen, dtype=torch.float64) + 0.3
    y = torch.randn(4, 1, generator=gen, dtype=torch.float64)
    q = Normal(mu, sd)
    s = 200_000
    z = mu + sd * torch.randn(s, 4, 1, generator=gen, dtype=torch.float64)
    per_sample = -(q.log_prob(y) + Normal(0.0, 1.0).log_prob(z) - q.log_prob(z)).mean(dim=(1, 2))
    estimate, se = per_sample.mean().item(), per_sample.std().item() / math.sqrt(s)
    assert abs(vink_negative_elbo(q, y).item() - estimate) < 5 * se


# ---------------------------------------------------------------------------- ensembles
def test_mix_normals_density_and_moments():
    gen = torch.Generator().manual_seed(6)
    members = [Normal(torch.randn(8, 1, generator=gen), torch.rand(8, 1, generator=gen) + 0.2) for _ in range(3)]
    mix = mix_normals(members)
    assert isinstance(mix, MixtureSameFamily) and mix.batch_shape == (8, 1)
    y = torch.randn(8, 1, generator=gen)
    want = np.log(np.mean([stats.norm.pdf(y.numpy(), m.loc.numpy(), m.scale.numpy()) for m in members], axis=0))
    np.testing.assert_allclose(mix.log_prob(y).numpy(), want, rtol=1e-5, atol=1e-6)
    mean = sum(m.loc for m in members) / 3
    second = sum(m.scale**2 + m.loc**2 for m in members) / 3
    torch.testing.assert_close(mix.mean, mean)
    torch.testing.assert_close(mix.variance, second - mean**2)


def test_mix_normals_weights():
    a, b = Normal(torch.zeros(2, 1), torch.ones(2, 1)), Normal(torch.full((2, 1), 3.0), torch.ones(2, 1))
    mix = mix_normals([a, b], weights=torch.tensor([3.0, 1.0]))
    torch.testing.assert_close(mix.mean, torch.full((2, 1), 0.75))


def test_mix_normals_bad_input():
    a = Normal(torch.zeros(2, 1), torch.ones(2, 1))
    with pytest.raises(ValueError, match="empty"):
        mix_normals([])
    with pytest.raises(ValueError, match="batch shape"):
        mix_normals([a, Normal(torch.zeros(3, 1), torch.ones(3, 1))])
    with pytest.raises(ValueError, match="weights"):
        mix_normals([a, a], weights=torch.tensor([1.0, -1.0]))


def test_gaussian_ensemble_forward():
    torch.manual_seed(0)
    members = [HeteroscedasticMLP(1, 4) for _ in range(3)]
    ens = GaussianEnsemble(members)
    x = torch.randn(5, 1)
    out = ens(x)
    assert out.batch_shape == (5, 1)
    torch.testing.assert_close(out.mean, sum(m(x).loc for m in members) / 3)
    with pytest.raises(ValueError):
        GaussianEnsemble([])


# ---------------------------------------------------------------------------- training
def _toy(n, seed):
    x, y = HeteroscedasticSine().sample(n, seed=seed)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def test_train_heteroscedastic_learns_the_noise_level():
    """Linear data with noise sd 0.1 + 0.4 * 1[x > 0]: the fitted scale follows it."""
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(400, 1, generator=gen) * 2 - 1
    sd = 0.1 + 0.4 * (x > 0).float()
    y = 0.5 * x + sd * torch.randn(400, 1, generator=gen)
    torch.manual_seed(0)
    model = HeteroscedasticMLP(1, 16)
    result = train_heteroscedastic(model, x, y, steps=600, lr=1e-2, seed=0, progress=False)
    assert isinstance(result, TrainResult) and len(result.train_loss) == 600
    assert result.train_loss[-1] < result.train_loss[0]
    with torch.no_grad():
        scale = model(torch.tensor([[-0.6], [0.6]])).scale.squeeze()
    assert 0.06 < scale[0] < 0.16 and 0.35 < scale[1] < 0.65, scale


def test_train_is_seeded():
    x, y = _toy(64, 0)
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = HeteroscedasticMLP(1, 8)
        train_heteroscedastic(model, x, y, steps=50, seed=3, progress=False)
        outs.append(model(x).loc.detach())
    torch.testing.assert_close(outs[0], outs[1])


def test_early_stopping_keeps_the_best_validation_parameters():
    x, y = _toy(150, 1)
    xv, yv = _toy(150, 2)
    torch.manual_seed(1)
    model = HeteroscedasticMLP(1, (50, 50))
    result = train_heteroscedastic(model, x, y, x_val=xv, y_val=yv, steps=3000, check_every=10, patience=10,
                                   seed=1, progress=False)
    assert result.stopped_early  # 150 points overfit long before 3000 steps
    assert result.best_step in result.val_steps
    with torch.no_grad():
        val = float(-model(xv).log_prob(yv).mean())
    assert abs(val - result.best_val_nll) < 1e-5
    assert val == pytest.approx(min(result.val_nll))
    assert len(result.train_loss) < 3000


@pytest.mark.parametrize("loss", ["beta_nll", "vink", lambda d, t: -d.log_prob(t).mean()])
def test_train_other_losses_run(loss):
    x, y = _toy(50, 0)
    torch.manual_seed(0)
    model = HeteroscedasticMLP(1, 8)
    result = train_heteroscedastic(model, x, y, steps=20, loss=loss, progress=False)
    assert len(result.train_loss) == 20 and math.isnan(result.best_val_nll)


def test_train_bad_arguments():
    x, y = _toy(10, 0)
    model = HeteroscedasticMLP(1, 4)
    with pytest.raises(ValueError, match="x_val"):
        train_heteroscedastic(model, x, y, x_val=x, progress=False)
    with pytest.raises(ValueError, match="loss"):
        train_heteroscedastic(model, x, y, loss="mse", progress=False)
    with pytest.raises(ValueError, match="steps"):
        train_heteroscedastic(model, x, y, steps=0, progress=False)


# ------------------------------------------------------------------------ scores
def test_predictive_scores_normal_matches_scipy():
    from deepprob.torch.models import predictive_scores

    gen = torch.Generator().manual_seed(8)
    mu = torch.randn(500, 1, generator=gen, dtype=torch.float64)
    sd = torch.rand(500, 1, generator=gen, dtype=torch.float64) + 0.5
    y = mu + sd * torch.randn(500, 1, generator=gen, dtype=torch.float64)
    out = predictive_scores(Normal(mu, sd), y)
    m, s, yy = mu.numpy(), sd.numpy(), y.numpy()
    assert out["nll"] == pytest.approx(-stats.norm.logpdf(yy, m, s).mean(), rel=1e-10)
    lo, hi = stats.norm.interval(0.9, m, s)
    assert out["coverage"] == pytest.approx(np.mean((yy >= lo) & (yy <= hi)))
    # CRPS by numerical integration of (F(z) - 1[z >= y])^2 for the first point
    z = np.linspace(m[0, 0] - 12 * s[0, 0], m[0, 0] + 12 * s[0, 0], 200_001)
    crps0 = np.trapezoid((stats.norm.cdf(z, m[0, 0], s[0, 0]) - (z >= yy[0, 0])) ** 2, z)
    single = predictive_scores(Normal(mu[:1], sd[:1]), y[:1])
    assert single["crps"] == pytest.approx(crps0, abs=1e-4)


def test_predictive_scores_mixture_by_samples():
    """A mixture of two identical Normals is that Normal: sample-based scores agree with closed forms."""
    from deepprob.torch.models import predictive_scores

    gen = torch.Generator().manual_seed(9)
    mu = torch.randn(400, 1, generator=gen, dtype=torch.float64)
    sd = torch.rand(400, 1, generator=gen, dtype=torch.float64) + 0.5
    y = mu + sd * torch.randn(400, 1, generator=gen, dtype=torch.float64)
    exact = predictive_scores(Normal(mu, sd), y)
    mixed = predictive_scores(mix_normals([Normal(mu, sd), Normal(mu, sd)]), y, n_samples=4000)
    assert mixed["nll"] == pytest.approx(exact["nll"], rel=1e-8)
    assert abs(mixed["coverage"] - exact["coverage"]) < 0.03
    assert mixed["crps"] == pytest.approx(exact["crps"], rel=0.02)
    with pytest.raises(ValueError, match="shape"):
        predictive_scores(Normal(mu, sd), y[:, 0])
