"""Tests of deepprob.torch.layers against torch.distributions, closed forms and Monte Carlo."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal
from torch.distributions import kl_divergence as torch_kl

from deepprob.torch import layers
from deepprob.torch.layers import (
    BayesianMLP,
    LinearVariational,
    kl_divergence,
    minibatch_kl_weights,
    negative_elbo,
    predictive_log_prob,
    predictive_moments,
)


def _randomise(layer, gen, rho_scale=1.0):
    with torch.no_grad():
        for p in (layer.weight_mu, layer.bias_mu):
            p.copy_(torch.randn(p.shape, generator=gen))
        for p in (layer.weight_rho, layer.bias_rho):
            p.copy_(rho_scale * torch.randn(p.shape, generator=gen) - 1.0)
    return layer


def test_parameters_names_and_shapes():
    layer = LinearVariational(3, 5)
    params = dict(layer.named_parameters())
    assert set(params) == {"weight_mu", "weight_rho", "bias_mu", "bias_rho"}
    assert params["weight_mu"].shape == params["weight_rho"].shape == (5, 3)
    assert params["bias_mu"].shape == params["bias_rho"].shape == (5,)
    assert torch.allclose(layer.weight_sigma, F.softplus(layer.weight_rho))


@pytest.mark.parametrize("prior_sigma", [1.0, 0.3, 2.5])
def test_kl_matches_torch_distributions(prior_sigma):
    gen = torch.Generator().manual_seed(0)
    layer = _randomise(LinearVariational(4, 3, prior_sigma=prior_sigma), gen)
    want = sum(
        torch_kl(Normal(mu, F.softplus(rho)), Normal(torch.zeros_like(mu), prior_sigma)).sum()
        for mu, rho in ((layer.weight_mu, layer.weight_rho), (layer.bias_mu, layer.bias_rho))
    )
    assert torch.allclose(layer.kl_divergence(), want, rtol=1e-5)


def test_kl_closed_form_single_parameter():
    layer = LinearVariational(1, 1, prior_sigma=2.0)
    with torch.no_grad():
        layer.weight_mu.fill_(0.7)
        layer.bias_mu.fill_(-0.2)
        s = 0.5
        rho = math.log(math.expm1(s))  # softplus(rho) = s
        layer.weight_rho.fill_(rho)
        layer.bias_rho.fill_(rho)

    def kl(mu, s, p):
        return math.log(p / s) + (s**2 + mu**2) / (2 * p**2) - 0.5

    assert layer.kl_divergence().item() == pytest.approx(kl(0.7, 0.5, 2.0) + kl(-0.2, 0.5, 2.0), rel=1e-5)
    # KL is zero at the prior
    with torch.no_grad():
        layer.weight_mu.zero_()
        layer.bias_mu.zero_()
        layer.weight_rho.fill_(math.log(math.expm1(2.0)))
        layer.bias_rho.fill_(math.log(math.expm1(2.0)))
    assert abs(layer.kl_divergence().item()) < 1e-5


def test_fresh_sample_every_forward_and_reparameterised():
    torch.manual_seed(0)
    layer = LinearVariational(2, 3, rho_init=-1.0)
    x = torch.randn(5, 2)
    a, b = layer(x), layer(x)
    assert a.shape == (5, 3)
    assert not torch.allclose(a, b)
    a.sum().backward()
    for p in layer.parameters():
        assert p.grad is not None and torch.all(torch.isfinite(p.grad)) and p.grad.abs().sum() > 0


def test_deterministic_limit_is_a_linear_layer():
    layer = LinearVariational(3, 2)
    with torch.no_grad():
        layer.weight_rho.fill_(-60.0)
        layer.bias_rho.fill_(-60.0)
    x = torch.randn(7, 3)
    assert torch.allclose(layer(x), F.linear(x, layer.weight_mu, layer.bias_mu), atol=1e-6)


def test_weight_sample_moments_match_mu_and_sigma():
    """Sample mean and sd of the drawn weights match mu and softplus(rho) within 4 standard errors."""
    torch.manual_seed(1)
    gen = torch.Generator().manual_seed(1)
    layer = _randomise(LinearVariational(3, 2), gen)
    n = 4000
    w = torch.stack([layer.sample_parameters()[0] for _ in range(n)]).detach()
    sigma = layer.weight_sigma.detach()
    se_mean = sigma / math.sqrt(n)
    assert torch.all((w.mean(0) - layer.weight_mu.detach()).abs() < 4 * se_mean)
    se_sd = sigma / math.sqrt(2 * n)
    assert torch.all((w.std(0) - sigma).abs() < 4 * se_sd)
    # and through forward: x = e_j picks column j, plus the bias
    x = torch.tensor([[1.0, 0.0, 0.0]])
    out = torch.cat([layer(x) for _ in range(n)]).detach()
    mean = layer.weight_mu[:, 0] + layer.bias_mu
    sd = torch.sqrt(layer.weight_sigma[:, 0] ** 2 + layer.bias_sigma**2)
    assert torch.all((out.mean(0) - mean.detach()).abs() < 4 * sd.detach() / math.sqrt(n))


def test_model_kl_collects_every_layer_and_nothing_is_shared():
    m1 = BayesianMLP(1, (4, 4), noise="learned")
    m2 = BayesianMLP(1, (8,), noise="learned")
    want = sum(l.kl_divergence() for l in m1.layers)
    assert torch.allclose(kl_divergence(m1), want)
    assert not torch.allclose(kl_divergence(m1), kl_divergence(m2))
    assert kl_divergence(torch.nn.Linear(2, 2)).item() == 0.0


def test_negative_elbo_against_independent_computation():
    torch.manual_seed(0)
    model = torch.nn.Sequential(LinearVariational(2, 4, prior_sigma=0.5), torch.nn.Tanh(), LinearVariational(4, 1))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight_rho.fill_(-60.0)
            layer.bias_rho.fill_(-60.0)
    x, y = torch.randn(9, 2), torch.randn(9, 1)
    mean = F.linear(torch.tanh(F.linear(x, model[0].weight_mu, model[0].bias_mu)), model[2].weight_mu, model[2].bias_mu)
    nll = -Normal(mean, 0.3).log_prob(y).sum()
    kl = model[0].kl_divergence() + model[2].kl_divergence()
    got = negative_elbo(model, x, y, noise_sigma=0.3, kl_weight=0.25)
    assert torch.allclose(got, nll + 0.25 * kl, rtol=1e-5)
    # a model that returns a distribution
    bnn = BayesianMLP(2, 3, noise="fixed", noise_sigma=0.3)
    torch.manual_seed(5)
    out = bnn(x)
    torch.manual_seed(5)
    got = negative_elbo(bnn, x, y, kl_weight=0.1)
    assert torch.allclose(got, -out.log_prob(y).sum() + 0.1 * kl_divergence(bnn), rtol=1e-5)
    with pytest.raises(ValueError, match="noise_sigma"):
        negative_elbo(model, x, y)
    with pytest.raises(ValueError, match="reshape"):
        negative_elbo(model, x, y.reshape(-1), noise_sigma=0.3)


def test_minibatch_kl_weights():
    w = minibatch_kl_weights(4, "uniform")
    assert torch.allclose(w, torch.full((4,), 0.25, dtype=torch.float64))
    w = minibatch_kl_weights(4, "blundell")
    assert torch.allclose(w, torch.tensor([8, 4, 2, 1], dtype=torch.float64) / 15)
    big = minibatch_kl_weights(3000, "blundell")
    assert torch.all(torch.isfinite(big)) and abs(big.sum().item() - 1) < 1e-12
    assert minibatch_kl_weights(1, "blundell").item() == 1.0
    with pytest.raises(ValueError):
        minibatch_kl_weights(0)
    with pytest.raises(ValueError):
        minibatch_kl_weights(3, "linear")


@pytest.mark.parametrize("noise", ["fixed", "learned", "heteroscedastic"])
def test_bayesian_mlp_outputs_a_normal(noise):
    model = BayesianMLP(2, (5, 5), out_features=1, noise=noise, noise_sigma=0.2)
    out = model(torch.randn(6, 2))
    assert isinstance(out, Normal) and out.batch_shape == (6, 1)
    assert torch.all(out.scale > 0)


def test_predictive_moments_law_of_total_variance():
    """Fixed noise and a deterministic network: epistemic 0, aleatoric = sigma^2."""
    torch.manual_seed(0)
    model = BayesianMLP(1, 4, noise="fixed", noise_sigma=0.3, rho_init=-60.0)
    x = torch.linspace(-1, 1, 5).reshape(-1, 1)
    mean, epi, alea = predictive_moments(model, x, n_samples=10)
    assert torch.allclose(epi, torch.zeros_like(epi), atol=1e-10)
    assert torch.allclose(alea, torch.full_like(alea, 0.09))
    lp = predictive_log_prob(model, x, mean)
    assert torch.allclose(lp, Normal(mean, 0.3).log_prob(mean), atol=1e-5)


def test_fit_bayes_by_backprop_learns_a_line():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64).reshape(-1, 1)
    y = 2 * x + 0.1 * torch.randn(64, 1)
    model = BayesianMLP(1, 8, noise="learned", rho_init=-4.0)
    hist = layers.fit_bayes_by_backprop(model, x, y, epochs=150, batch_size=16, kl_scheme="blundell", lr=2e-2)
    assert hist[-1] < hist[0]
    mean, epi, alea = predictive_moments(model, x, n_samples=50)
    assert (mean - 2 * x).abs().mean() < 0.15
    with pytest.raises(ValueError):
        layers.fit_bayes_by_backprop(model, x, y[:10])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="prior_sigma"):
        LinearVariational(2, 2, prior_sigma=0.0)
    with pytest.raises(ValueError, match="in_features"):
        LinearVariational(0, 2)
    with pytest.raises(ValueError, match="features"):
        LinearVariational(3, 2)(torch.randn(4, 2))
    with pytest.raises(ValueError, match="noise"):
        BayesianMLP(1, 4, noise="gaussian")
    with pytest.raises(ValueError, match="noise_sigma"):
        BayesianMLP(1, 4, noise="fixed")


def test_per_layer_prior_and_heteroscedastic_initial_scale():
    model = BayesianMLP(1, (4, 3), prior_sigma=(5.0, 1.0, 0.5), noise="heteroscedastic", noise_sigma=0.3)
    assert [l.prior_sigma for l in model.layers] == [5.0, 1.0, 0.5]
    with torch.no_grad():
        for l in model.layers:
            l.weight_rho.fill_(-60.0)
            l.bias_rho.fill_(-60.0)
    scale = model(torch.linspace(-1, 1, 7).reshape(-1, 1)).scale
    assert torch.allclose(scale, torch.full_like(scale, 0.3), atol=0.1)
    with pytest.raises(ValueError, match="one per layer"):
        BayesianMLP(1, 4, prior_sigma=(1.0, 1.0, 1.0))
