"""Tests of deepprob.torch.dropout against independent references (scipy, closed forms, MC)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import special, stats
from torch import nn

from deepprob.torch import dropout as dpd


def _bn_model(p):
    """A model with BatchNorm (running statistics updated once) and dropout."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(p), nn.Linear(16, 2))
    model.train()
    model(torch.randn(64, 3) * 2.0 + 1.0)  # moves the running statistics away from (0, 1)
    return model


def _flags(model):
    return [m.training for m in model.modules()]


# ---------------------------------------------------------------- MCDropoutMLP
def test_mlp_shapes_and_layers():
    model = dpd.MCDropoutMLP(3, 8, p=0.2, n_hidden=3)
    assert model(torch.zeros(5, 3)).batch_shape == (5, 1)
    drops = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    assert len(drops) == 3 and all(m.p == 0.2 for m in drops)
    assert dpd.MCDropoutMLP(2, 4, 0.1, out_features=3)(torch.zeros(7, 2)).batch_shape == (7, 3)
    tanh_net = dpd.MCDropoutMLP(2, 4, 0.1, activation=nn.Tanh)
    assert sum(isinstance(m, nn.Tanh) for m in tanh_net.modules()) == 2


def test_input_dropout_drops_features_and_default_is_unchanged():
    """Gal's UCI network drops the inputs too; without the option the layers (and state dict) are as before."""
    plain = dpd.MCDropoutMLP(4, 8, p=0.3, n_hidden=1)
    assert plain.input_dropout is False
    assert [type(m) for m in plain.net] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert list(plain.state_dict()) == ["noise_sigma", "net.0.weight", "net.0.bias", "net.3.weight", "net.3.bias"]
    gal = dpd.MCDropoutMLP(4, 8, p=0.3, n_hidden=1, input_dropout=True)
    assert [type(m) for m in gal.net] == [nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert gal.net[0].p == 0.3
    # with dropout active, whole input features are zeroed (scaled by 1 / (1 - p) otherwise)
    gal.train()
    x = torch.ones(2000, 4)
    dropped = gal.net[0](x)
    assert torch.unique(dropped).tolist() == [0.0, pytest.approx(1 / 0.7)]
    assert float((dropped == 0).float().mean()) == pytest.approx(0.3, abs=0.02)
    # eval mode switches input dropout off; MC sampling keeps it on
    gal.eval()
    assert torch.equal(gal(x).mean, gal(x).mean)
    samples = dpd.mc_dropout_samples(gal, torch.randn(5, 4), 50).loc
    assert float(samples.std(dim=0).min()) > 0.0
    with pytest.raises(ValueError, match="input_dropout"):
        dpd.MCDropoutMLP(4, 8, p=0.3, input_dropout="yes")


@pytest.mark.parametrize("kwargs", [dict(p=1.0), dict(p=-0.1), dict(p=0.1, n_hidden=0), dict(p=0.1, hidden_features=0)])
def test_mlp_rejects_bad_arguments(kwargs):
    args = dict(in_features=1, hidden_features=4)
    args.update(kwargs)
    with pytest.raises(ValueError):
        dpd.MCDropoutMLP(**args)


def test_mlp_rejects_1d_input():
    with pytest.raises(ValueError, match="reshape"):
        dpd.MCDropoutMLP(1, 4, 0.1)(torch.zeros(5))


# ---------------------------------------------------------------- sampling
def test_p0_samples_identical_and_equal_eval_output():
    model = _bn_model(0.0)
    x = torch.randn(10, 3)
    samples = dpd.mc_dropout_samples(model, x, 7)
    assert samples.shape == (7, 10, 2)
    assert torch.equal(samples, samples[:1].expand_as(samples))
    mean, std = dpd.mc_dropout_predict(model, x, 7)
    assert torch.all(std == 0)
    model.eval()
    with torch.no_grad():
        want = model(x)
    # BatchNorm used its running statistics: equal to the eval-mode output
    torch.testing.assert_close(mean, want)


def test_dropout_on_gives_spread():
    model = _bn_model(0.3)
    mean, std = dpd.mc_dropout_predict(model, torch.randn(10, 3), 20)
    assert mean.shape == std.shape == (10, 2)
    assert torch.all(std > 0)


@pytest.mark.parametrize("mode", ["train", "eval", "mixed"])
def test_flags_restored_per_module(mode):
    model = _bn_model(0.3)
    if mode == "train":
        model.train()
    elif mode == "eval":
        model.eval()
    else:
        model.train()
        model[1].eval()  # BatchNorm in eval, dropout in train
        model[3].eval()
        model[3].train()
    before = _flags(model)
    running_mean = model[1].running_mean.clone()
    dpd.mc_dropout_predict(model, torch.randn(8, 3), 5)
    assert _flags(model) == before
    assert torch.equal(model[1].running_mean, running_mean), "BatchNorm statistics were updated"


def test_flags_restored_when_forward_raises():
    model = _bn_model(0.3)
    model.eval()
    before = _flags(model)
    with pytest.raises(RuntimeError):
        dpd.mc_dropout_samples(model, torch.randn(8, 5), 3)  # wrong input width
    assert _flags(model) == before


def test_moments_match_the_samples_and_converge():
    """mean/std equal the (biased) moments of the samples; the mean converges (MC error)."""
    model = dpd.MCDropoutMLP(2, 32, p=0.5)
    x = torch.randn(6, 2)
    torch.manual_seed(3)
    samples = dpd.mc_dropout_samples(model, x, 4000)
    assert isinstance(samples, torch.distributions.Normal) and samples.batch_shape == (4000, 6, 1)
    torch.manual_seed(3)
    mean, std = dpd.mc_dropout_predict(model, x, 4000)
    s = samples.loc.double().numpy()
    std = (std**2 - 1.0).sqrt()  # the model's fixed noise_sigma = 1 is part of the predictive std
    np.testing.assert_allclose(mean.numpy(), s.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(std.numpy(), s.std(0, ddof=0), rtol=1e-4, atol=1e-6)
    # A second, independent estimate of the mean agrees within 5 standard errors.
    torch.manual_seed(4)
    mean2, _ = dpd.mc_dropout_predict(model, x, 4000)
    se = std.double() * math.sqrt(2.0 / 4000)
    assert torch.all((mean2.double() - mean.double()).abs() <= 5 * se + 1e-6)


def test_tau_adds_noise_variance():
    model = nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 1))  # returns tensors
    x = torch.linspace(-1, 1, 5).reshape(-1, 1)
    torch.manual_seed(0)
    _, std = dpd.mc_dropout_predict(model, x, 50)
    torch.manual_seed(0)
    _, std_tau = dpd.mc_dropout_predict(model, x, 50, tau=4.0)
    torch.testing.assert_close(std_tau**2, std**2 + 0.25)
    with pytest.raises(ValueError, match="precision"):
        dpd.mc_dropout_predict(model, x, 5, tau=0.0)
    with pytest.raises(ValueError, match="tau=None"):  # a Normal carries its own noise
        dpd.mc_dropout_predict(dpd.MCDropoutMLP(1, 8, p=0.2), x, 5, tau=4.0)


def test_mlp_returns_a_normal_with_its_noise_model():
    x = torch.randn(7, 2)
    fixed = dpd.MCDropoutMLP(2, 8, p=0.1, noise_sigma=0.5)
    dist = fixed(x)
    assert isinstance(dist, torch.distributions.Normal) and dist.batch_shape == (7, 1)
    assert torch.all(dist.scale == 0.5)
    het = dpd.MCDropoutMLP(2, 8, p=0.1, out_features=2, noise="heteroscedastic")
    het.eval()
    dist = het(x)
    raw = het.net(x)
    assert dist.batch_shape == (7, 2)
    torch.testing.assert_close(dist.loc, raw[:, :2])
    torch.testing.assert_close(dist.scale, torch.exp(0.5 * raw[:, 2:]))  # log-variance outputs
    with pytest.raises(ValueError, match="noise"):
        dpd.MCDropoutMLP(2, 8, p=0.1, noise="learned")
    with pytest.raises(ValueError, match="noise_sigma"):
        dpd.MCDropoutMLP(2, 8, p=0.1, noise_sigma=0.0)


def test_predict_of_a_normal_model_is_the_law_of_total_variance():
    model = dpd.MCDropoutMLP(1, 16, p=0.3, noise="heteroscedastic")
    x = torch.randn(9, 1)
    torch.manual_seed(2)
    draws = dpd.mc_dropout_samples(model, x, 300)
    torch.manual_seed(2)
    mean, std = dpd.mc_dropout_predict(model, x, 300)
    torch.testing.assert_close(mean, draws.loc.mean(0))
    torch.testing.assert_close(std**2, draws.loc.var(0, unbiased=False) + (draws.scale**2).mean(0))


@pytest.mark.parametrize("n", [0, 2.5, True])
def test_n_samples_validated(n):
    with pytest.raises(ValueError, match="n_samples"):
        dpd.mc_dropout_samples(dpd.MCDropoutMLP(1, 4, 0.1), torch.zeros(2, 1), n)


# ---------------------------------------------------------------- log-likelihood
def _reference_ll(mu, y, tau):
    """scipy: log mean_t N(y; mu_t, 1/tau), per point, float64."""
    logpdf = stats.norm.logpdf(y[None, :], loc=mu, scale=1.0 / np.sqrt(tau))
    return special.logsumexp(logpdf, axis=0) - np.log(mu.shape[0])


def test_log_likelihood_vs_scipy_and_naive():
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(30, 12))
    y = rng.normal(size=12)
    tau = 2.5
    want = _reference_ll(mu, y, tau)
    got = dpd.mc_log_likelihood(torch.from_numpy(mu), torch.from_numpy(y), tau, reduction="none")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)
    # naive log of the mean of densities is safe here (float64, moderate values)
    naive = np.log(np.mean(stats.norm.pdf(y[None], mu, 1 / np.sqrt(tau)), axis=0)).mean()
    assert abs(dpd.mc_log_likelihood(torch.from_numpy(mu), torch.from_numpy(y), tau).item() - naive) < 1e-12


@pytest.mark.parametrize("mu_shape, y_shape", [((20, 7), (7,)), ((20, 7, 1), (7, 1)), ((20, 7, 1), (7,)), ((20, 7), (7, 1))])
def test_log_likelihood_shapes(mu_shape, y_shape):
    gen = torch.Generator().manual_seed(1)
    mu = torch.randn(*mu_shape, generator=gen)
    y = torch.randn(*y_shape, generator=gen)
    out = dpd.mc_log_likelihood(mu, y, 1.7)
    assert out.shape == ()
    want = _reference_ll(mu.reshape(20, 7).double().numpy(), y.reshape(7).double().numpy(), 1.7).mean()
    assert abs(out.item() - want) < 1e-5


def test_log_likelihood_far_points_stay_finite():
    mu = torch.randn(50, 4, generator=torch.Generator().manual_seed(2))
    y = torch.full((4,), 1e3)
    out = dpd.mc_log_likelihood(mu, y, 10.0, reduction="none")
    assert torch.all(torch.isfinite(out))
    want = _reference_ll(mu.double().numpy(), y.double().numpy(), 10.0)
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5)
    # the naive computation underflows to -inf
    naive = torch.log(torch.exp(-0.5 * 10.0 * (y - mu) ** 2).mean(0))
    assert torch.all(torch.isinf(naive))


def test_jensen_and_single_sample():
    rng = np.random.default_rng(5)
    mu = torch.from_numpy(rng.normal(size=(40, 25)))
    y = torch.from_numpy(rng.normal(size=25))
    tau = 3.0
    ll = dpd.mc_log_likelihood(mu, y, tau, reduction="none")
    per_sample = torch.distributions.Normal(mu, 1 / math.sqrt(tau)).log_prob(y)  # (T, N)
    assert torch.all(ll >= per_sample.mean(0) - 1e-12)
    assert ll.mean() > per_sample.mean() + 0.01  # strictly, for spread-out samples
    # T = 1: equal to the Gaussian log density
    one = dpd.mc_log_likelihood(mu[:1], y, tau, reduction="none")
    torch.testing.assert_close(one, per_sample[0])


def test_log_likelihood_bad_input():
    with pytest.raises(ValueError, match="precision"):
        dpd.mc_log_likelihood(torch.zeros(3, 2), torch.zeros(2), -1.0)
    with pytest.raises(ValueError, match="mu_samples"):
        dpd.mc_log_likelihood(torch.zeros(3), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="y must"):
        dpd.mc_log_likelihood(torch.zeros(3, 2), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="reduction"):
        dpd.mc_log_likelihood(torch.zeros(3, 2), torch.zeros(2), 1.0, reduction="sum")


# ---------------------------------------------------------------- weight decay
def test_gal_weight_decay():
    # Gal's code: reg = l**2 * (1 - dropout) / (2 N tau); p = dropout probability
    assert dpd.gal_weight_decay(0.05, 1e-2, 455, 0.2) == pytest.approx(1e-4 * 0.95 / (2 * 455 * 0.2))
    assert dpd.gal_weight_decay(0.0, 2.0, 10, 1.0) == pytest.approx(0.2)
    for bad in (dict(p=1.0), dict(length_scale=0.0), dict(n=0), dict(tau=0.0)):
        args = dict(p=0.1, length_scale=1.0, n=10, tau=1.0)
        args.update(bad)
        with pytest.raises(ValueError):
            dpd.gal_weight_decay(**args)


def test_log_likelihood_per_sample_precision():
    """A (T, N) precision (heteroscedastic mixture) against scipy."""
    rng = np.random.default_rng(9)
    mu = rng.normal(size=(15, 6))
    tau = rng.uniform(0.5, 5.0, size=(15, 6))
    y = rng.normal(size=6)
    logpdf = stats.norm.logpdf(y[None], mu, 1 / np.sqrt(tau))
    want = special.logsumexp(logpdf, axis=0) - np.log(15)
    got = dpd.mc_log_likelihood(torch.from_numpy(mu), torch.from_numpy(y), torch.from_numpy(tau), reduction="none")
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    with pytest.raises(ValueError, match="broadcast"):
        dpd.mc_log_likelihood(torch.from_numpy(mu), torch.from_numpy(y), torch.ones(4))


def test_fit_mc_dropout_learns_a_line_and_a_noise_level():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(400, 1, generator=gen) * 2 - 1
    y = 2.0 * x + 0.3 * torch.randn(400, 1, generator=gen)
    model = dpd.MCDropoutMLP(1, 32, p=0.05, n_hidden=1)
    hist = dpd.fit_mc_dropout(model, x, y, tau=1 / 0.09, epochs=150, lr=1e-2)
    assert hist[-1] < hist[0]
    torch.manual_seed(0)
    mean, _ = dpd.mc_dropout_predict(model, x, 50)
    assert ((mean - 2.0 * x) ** 2).mean().sqrt() < 0.15
    het = dpd.MCDropoutMLP(1, 32, p=0.05, n_hidden=1, noise="heteroscedastic")
    dpd.fit_mc_dropout(het, x, y, epochs=300, lr=1e-2)  # heteroscedastic: read from het.noise
    torch.manual_seed(0)
    draws = dpd.mc_dropout_samples(het, x, 50)
    noise_sd = (draws.scale**2).mean().sqrt().item()
    assert 0.2 < noise_sd < 0.4  # true 0.3
    with pytest.raises(ValueError, match="no dropout"):
        dpd.fit_mc_dropout(nn.Linear(1, 1), x, y)
    with pytest.raises(ValueError, match="N, 1"):
        dpd.fit_mc_dropout(model, x, y[:, 0])
    with pytest.raises(ValueError, match="distribution"):
        dpd.fit_mc_dropout(nn.Sequential(nn.Linear(1, 4), nn.Dropout(0.1), nn.Linear(4, 1)), x, y,
                           heteroscedastic=True)
