"""Tests of deepprob.torch.kl against torch.distributions and closed forms.

Monte Carlo checks use fixed seeds and a tolerance of 4 standard errors, where
the standard error comes from the closed-form variance of the log-ratio (not
from the function under test).
"""
import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from deepprob.torch.kl import kl_diag_gaussians, monte_carlo_kl


def _rand(gen, *shape, scale=1.0):
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def _reference(mu_q, lv_q, mu_p, lv_p):
    mu_q, lv_q, mu_p, lv_p = torch.broadcast_tensors(mu_q, lv_q, mu_p, lv_p)
    q = Independent(Normal(mu_q, torch.exp(0.5 * lv_q)), 1)
    p = Independent(Normal(mu_p, torch.exp(0.5 * lv_p)), 1)
    return kl_divergence(q, p)


def _per_sample_var(mu_q, lv_q, mu_p, lv_p):
    """Closed-form variance of log q(z) - log p(z), z ~ q (see the docstring)."""
    a = torch.exp(lv_q - lv_p)
    b = (mu_q - mu_p) * torch.exp(0.5 * lv_q - lv_p)
    return (0.5 * (a - 1) ** 2 + b**2).sum(-1)


@pytest.mark.parametrize(
    "shapes",
    [((5,), (5,), (5,), (5,)), ((4, 3), (4, 3), (3,), (3,)), ((2, 4, 3), (1, 3), (4, 1), (1,))],
)
def test_kl_matches_torch_distributions(shapes):
    gen = torch.Generator().manual_seed(0)
    args = [_rand(gen, *s, scale=1.5) for s in shapes]
    out = kl_diag_gaussians(*args)
    want = _reference(*args)
    assert out.shape == want.shape
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-12)


def test_kl_standard_normal_is_minus_vinks_expression():
    gen = torch.Generator().manual_seed(1)
    mu, lv = _rand(gen, 6), _rand(gen, 6)
    vink_eq13 = 0.5 * (1 + lv - mu**2 - lv.exp()).sum()
    out = kl_diag_gaussians(mu, lv, torch.zeros(6, dtype=torch.float64), torch.zeros(6, dtype=torch.float64))
    torch.testing.assert_close(out, -vink_eq13)
    assert out > 0 > vink_eq13


def test_kl_zero_for_equal_and_float32_and_gradients():
    gen = torch.Generator().manual_seed(2)
    mu, lv = _rand(gen, 3, 4), _rand(gen, 3, 4)
    torch.testing.assert_close(kl_diag_gaussians(mu, lv, mu, lv), torch.zeros(3, dtype=torch.float64))
    out32 = kl_diag_gaussians(mu.float(), lv.float(), mu.float() + 1, lv.float())
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), 0.5 * torch.exp(-lv).sum(-1), rtol=1e-5, atol=1e-6)
    mu_q = mu.clone().requires_grad_(True)
    lv_q = lv.clone().requires_grad_(True)
    g = torch.autograd.grad(kl_diag_gaussians(mu_q, lv_q, 0 * mu, 0 * lv).sum(), (mu_q, lv_q))
    torch.testing.assert_close(g[0], mu)  # d/dmu of mu^2/2
    torch.testing.assert_close(g[1], 0.5 * (lv.exp() - 1))


@pytest.mark.parametrize("bad", ["scalar", "shape"])
def test_kl_rejects_bad_shapes(bad):
    x = torch.zeros(3)
    with pytest.raises(ValueError):
        if bad == "scalar":
            kl_diag_gaussians(torch.tensor(0.0), x, x, x)
        else:
            kl_diag_gaussians(torch.zeros(4), x, x, x)


def test_monte_carlo_within_four_standard_errors_and_se_matches_closed_form():
    gen = torch.Generator().manual_seed(3)
    mu_q, lv_q, mu_p, lv_p = _rand(gen, 5, 3), _rand(gen, 5, 3, scale=0.5), _rand(gen, 3), _rand(gen, 3, scale=0.5)
    n = 4000
    est, se = monte_carlo_kl(mu_q, lv_q, mu_p, lv_p, n, torch.Generator().manual_seed(10))
    exact = _reference(mu_q, lv_q, mu_p, lv_p)
    true_se = torch.sqrt(_per_sample_var(mu_q, lv_q, mu_p, lv_p) / n)
    assert est.shape == se.shape == exact.shape == (5,)
    assert torch.all((est - exact).abs() < 4 * true_se), (est, exact, true_se)
    # the sample SE estimates the true SE to within ~ a few percent for n = 4000
    torch.testing.assert_close(se, true_se, rtol=0.15, atol=0)


def test_monte_carlo_uses_only_the_generator():
    gen = torch.Generator().manual_seed(4)
    args = [_rand(gen, 2, 3) for _ in range(4)]
    torch.manual_seed(1)
    a, _ = monte_carlo_kl(*args, 50, torch.Generator().manual_seed(7))
    torch.manual_seed(2)
    b, _ = monte_carlo_kl(*args, 50, torch.Generator().manual_seed(7))
    c, _ = monte_carlo_kl(*args, 50, torch.Generator().manual_seed(8))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)


def test_monte_carlo_unbiased_across_seeds():
    gen = torch.Generator().manual_seed(5)
    args = [_rand(gen, 4) for _ in range(4)]
    n, seeds = 10, 400
    est = torch.stack([monte_carlo_kl(*args, n, torch.Generator().manual_seed(s))[0] for s in range(seeds)])
    exact = _reference(*args)
    se = math.sqrt(_per_sample_var(*args).item() / (n * seeds))
    assert abs(est.mean().item() - exact.item()) < 4 * se


def test_monte_carlo_zero_variance_when_q_equals_p_and_gradient():
    mu, lv = torch.tensor([0.3, -1.0]), torch.tensor([0.1, 0.4])
    est, se = monte_carlo_kl(mu, lv, mu, lv, 5, torch.Generator().manual_seed(0))
    assert abs(est.item()) < 1e-6 and se.item() < 1e-6
    mu_q = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    est, _ = monte_carlo_kl(mu_q, torch.zeros(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64),
                            torch.zeros(1, dtype=torch.float64), 100, torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad(est, mu_q)
    # pathwise gradient of mean[(mu + eps)^2 / 2 - eps^2 / 2] is mu + mean(eps): mu to within 4 SE = 4 / sqrt(100)
    assert abs(g.item() - 0.5) < 4 * 0.1


@pytest.mark.parametrize("n_samples, generator", [(1, "gen"), (10, None), (2.5, "gen")])
def test_monte_carlo_rejects_bad_arguments(n_samples, generator):
    x = torch.zeros(2)
    gen = torch.Generator().manual_seed(0) if generator == "gen" else generator
    with pytest.raises(ValueError):
        monte_carlo_kl(x, x, x, x, n_samples, gen)
