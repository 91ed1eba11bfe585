"""deepprob.torch.losses against torch.distributions, scipy and closed forms."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import stats

from deepprob.torch import bernoulli_nll, gaussian_nll, reweight_probabilities

gen = torch.Generator().manual_seed(0)


def randn(*shape):
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("shapes", [((30, 1), (30, 1), (30, 1)), ((30, 1), (30, 1), (1,)), ((4, 3), (1, 3), (4, 1))])
def test_gaussian_nll_matches_torch_distributions(shapes):
    y, mu, log_var = (randn(*s) for s in shapes)
    want = -torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).log_prob(y).mean()
    assert torch.allclose(gaussian_nll(y, mu, log_var), want, rtol=1e-12)


def test_gaussian_nll_matches_scipy_and_constant():
    y, mu, log_var = randn(50), randn(50), randn(50)
    want = -stats.norm.logpdf(y.numpy(), mu.numpy(), np.exp(0.5 * log_var.numpy())).mean()
    assert gaussian_nll(y, mu, log_var).item() == pytest.approx(want, rel=1e-12)
    zero = torch.zeros(3)
    assert gaussian_nll(zero, zero, zero).item() == pytest.approx(0.5 * math.log(2 * math.pi))


def test_gaussian_nll_gradient():
    mu = randn(20).requires_grad_(True)
    log_var = randn(20).requires_grad_(True)
    y = randn(20)
    g_mu, g_lv = torch.autograd.grad(gaussian_nll(y, mu, log_var), (mu, log_var))
    var = log_var.detach().exp()
    # d/dmu = (mu - y) / var / n ; d/dlog_var = 0.5 * (1 - (y - mu)^2 / var) / n
    assert torch.allclose(g_mu, (mu.detach() - y) / var / 20)
    assert torch.allclose(g_lv, 0.5 * (1 - (y - mu.detach()) ** 2 / var) / 20)


def test_gaussian_nll_rejects_bad_shapes():
    with pytest.raises(ValueError, match="broadcast"):
        gaussian_nll(torch.zeros(3), torch.zeros(4), torch.zeros(1))


def test_bernoulli_nll_matches_library_and_is_stable():
    logits = 4 * randn(100)
    y = (torch.rand(100, generator=gen, dtype=torch.float64) < 0.4).double()
    assert torch.allclose(bernoulli_nll(y, logits), F.binary_cross_entropy_with_logits(logits, y), rtol=1e-12)
    assert torch.allclose(bernoulli_nll(y, logits), -torch.distributions.Bernoulli(logits=logits).log_prob(y).mean())
    big = torch.tensor([1e4, -1e4], dtype=torch.float64)
    assert bernoulli_nll(torch.tensor([0.0, 1.0], dtype=torch.float64), big).item() == pytest.approx(1e4)


def test_bernoulli_nll_rejects_labels_outside_unit_interval():
    with pytest.raises(ValueError, match="labels"):
        bernoulli_nll(torch.tensor([2.0]), torch.tensor([0.0]))


def test_reweight_probabilities_is_bayes_rule():
    x = np.linspace(-3, 3, 50)
    lik1, lik0 = stats.norm.pdf(x, 1, 1), stats.norm.pdf(x, -1, 1.5)

    def post(prior):
        return lik1 * prior / (lik1 * prior + lik0 * (1 - prior))

    out = reweight_probabilities(torch.tensor(post(0.3)), 0.3, 0.8)
    assert np.allclose(out.numpy(), post(0.8), rtol=1e-12)
    # identity when the prior does not change; round trip
    p = torch.rand(10, generator=gen, dtype=torch.float64)
    assert torch.allclose(reweight_probabilities(p, 0.3, 0.3), p)
    assert torch.allclose(reweight_probabilities(reweight_probabilities(p, 0.3, 0.9), 0.9, 0.3), p)


@pytest.mark.parametrize("args", [(0.5, 0.0, 0.5), (0.5, 0.5, 1.0), (1.5, 0.5, 0.5), (-0.1, 0.5, 0.5)])
def test_reweight_probabilities_rejects_bad_input(args):
    p, a, b = args
    with pytest.raises(ValueError):
        reweight_probabilities(torch.tensor([p]), a, b)
