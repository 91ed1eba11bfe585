"""deepprob.torch.gradients against closed forms and torch.distributions.

Under q = N(mu, sigma^2), sigma^2 = exp(log_var), the expectations of z^2, sin z
and exp z have closed forms, hence exact gradients:

    E[z^2]   = mu^2 + s2               d/dmu = 2 mu                 d/dlog_var = s2
    E[sin z] = sin(mu) exp(-s2/2)      d/dmu = cos(mu) exp(-s2/2)   d/dlog_var = -s2/2 sin(mu) exp(-s2/2)
    E[exp z] = exp(mu + s2/2)          d/dmu = exp(mu + s2/2)       d/dlog_var = s2/2 exp(mu + s2/2)

Monte Carlo checks use a seeded generator and a tolerance of 4 standard errors,
the standard error measured from the estimator's own replications.
"""
from __future__ import annotations

import math

import pytest
import torch

from deepprob.torch import gradients as G

MU = torch.tensor([0.5, -1.0, 1.5], dtype=torch.float64)
LOG_VAR = torch.tensor([-0.5, 0.3, 0.8], dtype=torch.float64)  # sigma != 1: sigma, sigma^2 and log_var differ


def exact(name, mu, log_var):
    s2 = log_var.exp()
    if name == "square":
        return 2 * mu, s2
    if name == "sin":
        damp = torch.exp(-s2 / 2)
        return torch.cos(mu) * damp, -0.5 * s2 * torch.sin(mu) * damp
    if name == "exp":
        m = torch.exp(mu + s2 / 2)
        return m, 0.5 * s2 * m
    raise KeyError(name)


FUNCS = {
    "square": lambda z: (z**2).sum(-1),
    "sin": lambda z: torch.sin(z).sum(-1),
    "exp": lambda z: torch.exp(z).sum(-1),
}


# --------------------------------------------------------------------------- reparameterize
def test_reparameterize_closed_form_and_broadcasting():
    gen = torch.Generator().manual_seed(0)
    eps = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    z = G.reparameterize(MU, LOG_VAR, eps)
    assert z.shape == (5, 3)
    torch.testing.assert_close(z, MU + torch.sqrt(LOG_VAR.exp()) * eps)
    # a shared log-variance of shape (1,), and a scalar
    z = G.reparameterize(MU, torch.tensor([0.4], dtype=torch.float64), eps)
    torch.testing.assert_close(z, MU + math.exp(0.2) * eps)
    z = G.reparameterize(torch.tensor(1.0), torch.tensor(0.0), torch.tensor(2.0))
    assert z.item() == pytest.approx(3.0)


def test_reparameterize_distribution_and_gradient():
    gen = torch.Generator().manual_seed(1)
    n = 200_000
    eps = torch.randn(n, 3, generator=gen, dtype=torch.float64)
    z = G.reparameterize(MU, LOG_VAR, eps)
    sd = LOG_VAR.exp().sqrt()
    # sample mean within 4 SE (sd / sqrt(n)) and sample sd within 4 SE (~ sd / sqrt(2n))
    assert ((z.mean(0) - MU).abs() < 4 * sd / math.sqrt(n)).all()
    assert ((z.std(0) - sd).abs() < 4 * sd / math.sqrt(2 * n)).all()
    mu = MU.clone().requires_grad_(True)
    lv = LOG_VAR.clone().requires_grad_(True)
    g_mu, g_lv = torch.autograd.grad(G.reparameterize(mu, lv, eps[:10]).sum(), (mu, lv))
    torch.testing.assert_close(g_mu, torch.full((3,), 10.0, dtype=torch.float64))
    torch.testing.assert_close(g_lv, (0.5 * sd * eps[:10]).sum(0))


def test_reparameterize_rejects_bad_shapes():
    with pytest.raises(ValueError, match="broadcast"):
        G.reparameterize(MU, LOG_VAR, torch.zeros(5, 4, dtype=torch.float64))


# --------------------------------------------------------------------------- unbiasedness
@pytest.mark.parametrize("estimator", ["pathwise", "score"])
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_estimators_are_unbiased(estimator, name):
    """Mean of 400 estimates (100 samples each) within 4 SE of the exact gradient."""
    gen = torch.Generator().manual_seed(2024)
    stats = G.estimator_variance(estimator, FUNCS[name], MU, LOG_VAR, n_samples=100, n_replications=400, generator=gen)
    want_mu, want_lv = exact(name, MU, LOG_VAR)
    assert stats.mean_mu.shape == (3,) and stats.var_log_var.shape == (3,)
    assert ((stats.mean_mu - want_mu).abs() < 4 * stats.se_mu + 1e-12).all(), (stats.mean_mu, want_mu, stats.se_mu)
    assert ((stats.mean_log_var - want_lv).abs() < 4 * stats.se_log_var + 1e-12).all(), (
        stats.mean_log_var, want_lv, stats.se_log_var)


@pytest.mark.parametrize("fn", [G.pathwise_gradient, G.score_function_gradient])
def test_single_estimate_within_4_se(fn):
    """One estimate with n = 40 000; its SE is the per-replication sd at n = 400 divided by 10."""
    f = FUNCS["sin"]
    gen = torch.Generator().manual_seed(7)
    g_mu, g_lv = fn(f, MU, LOG_VAR, 40_000, gen)
    stats = G.estimator_variance(fn, f, MU, LOG_VAR, 400, 200, torch.Generator().manual_seed(8))
    want_mu, want_lv = exact("sin", MU, LOG_VAR)
    assert ((g_mu - want_mu).abs() < 4 * stats.var_mu.sqrt() / 10).all()
    assert ((g_lv - want_lv).abs() < 4 * stats.var_log_var.sqrt() / 10).all()


# --------------------------------------------------------------------------- the formulas
def _eps(seed, n, d=3):
    # the estimators draw randn((1, n, D)) from the generator: the same numbers as randn((n, D))
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_pathwise_autograd_equals_analytic_formula():
    eps = _eps(3, 50)
    sd = LOG_VAR.exp().sqrt()
    z = MU + sd * eps
    g_mu, g_lv = G.pathwise_gradient(FUNCS["sin"], MU, LOG_VAR, 50, torch.Generator().manual_seed(3))
    # d/dmu sin(z) = cos z; d/dlog_var sin(z) = cos z * dz/dlog_var = cos z * sigma * eps / 2
    torch.testing.assert_close(g_mu, torch.cos(z).mean(0))
    torch.testing.assert_close(g_lv, (torch.cos(z) * 0.5 * sd * eps).mean(0))


def test_score_function_uses_grad_log_q():
    eps = _eps(4, 60)
    f = FUNCS["exp"]
    g_mu, g_lv = G.score_function_gradient(f, MU, LOG_VAR, 60, torch.Generator().manual_seed(4))
    # independent reference: autograd of torch.distributions' log-density at the (fixed) samples
    mu = MU.clone().requires_grad_(True)
    lv = LOG_VAR.clone().requires_grad_(True)
    z = (MU + LOG_VAR.exp().sqrt() * eps).detach()
    log_q = torch.distributions.Normal(mu, torch.exp(0.5 * lv)).log_prob(z).sum(-1)
    r_mu, r_lv = torch.autograd.grad((f(z) * log_q).mean(), (mu, lv))
    torch.testing.assert_close(g_mu, r_mu)
    torch.testing.assert_close(g_lv, r_lv)


def test_both_estimators_see_the_same_samples():
    """For f linear in z the pathwise estimate of d/dmu is exactly 1; score's is mean(z eps / sigma)."""
    f = lambda z: z.sum(-1)  # noqa: E731
    p_mu, _ = G.pathwise_gradient(f, MU, LOG_VAR, 30, torch.Generator().manual_seed(5))
    s_mu, _ = G.score_function_gradient(f, MU, LOG_VAR, 30, torch.Generator().manual_seed(5))
    torch.testing.assert_close(p_mu, torch.ones(3, dtype=torch.float64))
    eps = _eps(5, 30)
    sd = LOG_VAR.exp().sqrt()
    z = MU + sd * eps
    torch.testing.assert_close(s_mu, (z.sum(-1, keepdim=True) * eps / sd).mean(0))


def test_score_function_handles_non_differentiable_f():
    """d/dmu P(z > 0) = phi(mu / sigma) / sigma, for a step function that pathwise cannot differentiate."""
    mu, lv = torch.tensor([0.3], dtype=torch.float64), torch.tensor([-0.4], dtype=torch.float64)
    step = lambda z: (z[:, 0] > 0).double()  # noqa: E731
    stats = G.estimator_variance("score", step, mu, lv, 1000, 100, torch.Generator().manual_seed(6))
    sd = math.exp(-0.2)
    want = math.exp(-0.5 * (0.3 / sd) ** 2) / math.sqrt(2 * math.pi) / sd
    assert abs(stats.mean_mu.item() - want) < 4 * stats.se_mu.item()
    with pytest.raises(ValueError, match="differentiable"):
        G.pathwise_gradient(step, mu, lv, 10)


# --------------------------------------------------------------------------- variance
def test_variance_matches_closed_form_for_linear_f():
    """f(z) = z, D = 1: pathwise Var(g_mu) = 0 and Var(g_lv) = s2/4/n; score Var(g_mu) = (mu^2/s2 + 2)/n."""
    mu, lv = torch.tensor([0.7], dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64)
    s2, n, r = math.exp(0.5), 10, 4000
    f = lambda z: z[:, 0]  # noqa: E731
    gen = torch.Generator().manual_seed(9)
    p = G.estimator_variance("pathwise", f, mu, lv, n, r, gen)
    s = G.estimator_variance("score", f, mu, lv, n, r, gen)
    assert p.var_mu.item() < 1e-20
    # relative SE of a sample variance is about sqrt(2 / r) = 2.2 % for Gaussian terms; allow 12 %
    assert p.var_log_var.item() == pytest.approx(s2 / 4 / n, rel=0.12)
    assert s.var_mu.item() == pytest.approx((0.7**2 / s2 + 2) / n, rel=0.12)


def test_estimator_variance_callable_matches_vectorised():
    gen = torch.Generator().manual_seed(10)
    a = G.estimator_variance(G.score_function_gradient, FUNCS["square"], MU, LOG_VAR, 20, 300, gen)
    b = G.estimator_variance("score", FUNCS["square"], MU, LOG_VAR, 20, 300, gen)
    # two independent estimates of the same variance: within 35 % (relative SE ~ 10 % each, heavy tails)
    assert torch.allclose(a.var_mu, b.var_mu, rtol=0.35)
    with pytest.raises(ValueError, match="pathwise"):
        G.estimator_variance("reinforce", FUNCS["square"], MU, LOG_VAR, 20, 10)
    with pytest.raises(ValueError, match=">= 2"):
        G.estimator_variance("score", FUNCS["square"], MU, LOG_VAR, 20, 1)


# --------------------------------------------------------------------------- contract details
@pytest.mark.parametrize("fn", [G.pathwise_gradient, G.score_function_gradient])
def test_seeded_shapes_and_inputs_untouched(fn):
    f = FUNCS["square"]
    a = fn(f, MU, LOG_VAR, 50, torch.Generator().manual_seed(11))
    b = fn(f, MU, LOG_VAR, 50, torch.Generator().manual_seed(11))
    c = fn(f, MU, LOG_VAR, 50, torch.Generator().manual_seed(12))
    assert isinstance(a, tuple) and len(a) == 2
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    assert a[0].shape == MU.shape and a[1].shape == LOG_VAR.shape
    assert not a[0].requires_grad and not a[1].requires_grad
    # parameters that require grad (nn.Parameter-like) are neither modified nor given a .grad
    mu, lv = MU.clone().requires_grad_(True), LOG_VAR.clone().requires_grad_(True)
    d = fn(f, mu, lv, 50, torch.Generator().manual_seed(11))
    torch.testing.assert_close(d[0], a[0])
    assert mu.grad is None and lv.grad is None
    assert not MU.requires_grad
    # float32 in, float32 out
    e = fn(f, MU.float(), LOG_VAR.float(), 50, torch.Generator().manual_seed(11))
    assert e[0].dtype == torch.float32


@pytest.mark.parametrize("estimator", ["pathwise", "score"])
def test_shared_log_var_collects_every_coordinate(estimator):
    """log_var of shape (1,) shared by D coordinates: its gradient is the sum over coordinates."""
    lv1 = torch.tensor([0.3], dtype=torch.float64)
    fn = {"pathwise": G.pathwise_gradient, "score": G.score_function_gradient}[estimator]
    g_mu, g_lv = fn(FUNCS["sin"], MU, lv1, 40, torch.Generator().manual_seed(13))
    h_mu, h_lv = fn(FUNCS["sin"], MU, lv1.expand(3).clone(), 40, torch.Generator().manual_seed(13))
    assert g_lv.shape == (1,)
    torch.testing.assert_close(g_mu, h_mu)
    torch.testing.assert_close(g_lv, h_lv.sum(0, keepdim=True))


def test_bad_inputs_raise_value_error():
    f = FUNCS["square"]
    with pytest.raises(ValueError, match="one value per sample"):
        G.pathwise_gradient(lambda z: z**2, MU, LOG_VAR, 5)
    with pytest.raises(ValueError, match="one value per sample"):
        G.score_function_gradient(lambda z: (z**2).sum(), MU, LOG_VAR, 5)
    with pytest.raises(ValueError, match="positive integer"):
        G.pathwise_gradient(f, MU, LOG_VAR, 0)
    with pytest.raises(ValueError, match=r"shape \(D,\)"):
        G.pathwise_gradient(f, MU[None], LOG_VAR[None], 5)
    with pytest.raises(ValueError, match="broadcast"):
        G.score_function_gradient(f, MU, LOG_VAR[:2], 5)
    with pytest.raises(ValueError, match="floating-point"):
        G.pathwise_gradient(f, torch.tensor([1, 2]), torch.tensor([0, 0]), 5)
