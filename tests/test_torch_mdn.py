"""Tests of deepprob.torch.mdn against torch.distributions, scipy.stats and float64 logsumexp."""

import numpy as np
import pytest
import torch
from scipy import special, stats
from torch.distributions import Categorical, MixtureSameFamily, Normal

from deepprob import data
from deepprob.torch import mdn


def _params(n, k, seed, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    logits = 2.0 * torch.randn(n, k, generator=gen, dtype=dtype)
    mu = 3.0 * torch.randn(n, k, generator=gen, dtype=dtype)
    log_sigma = 0.7 * torch.randn(n, k, generator=gen, dtype=dtype)
    y = 3.0 * torch.randn(n, generator=gen, dtype=dtype)
    return logits, mu, log_sigma, y


def _reference(logits, mu, log_sigma, y):
    dist = MixtureSameFamily(Categorical(logits=logits), Normal(mu, log_sigma.exp()))
    return -dist.log_prob(y.reshape(-1)).mean()


@pytest.mark.parametrize("k", [1, 2, 5])
def test_mdn_nll_matches_mixture_same_family(k):
    logits, mu, log_sigma, y = _params(50, k, seed=k)
    out = mdn.mdn_nll(logits, mu, log_sigma, y)
    assert out.shape == ()
    torch.testing.assert_close(out, _reference(logits, mu, log_sigma, y), rtol=1e-12, atol=1e-12)


def test_mdn_nll_single_component_equals_scipy_normal():
    logits, mu, log_sigma, y = _params(40, 1, seed=7)
    want = -stats.norm.logpdf(y.numpy(), mu[:, 0].numpy(), np.exp(log_sigma[:, 0].numpy())).mean()
    assert mdn.mdn_nll(logits, mu, log_sigma, y).item() == pytest.approx(want, rel=1e-12)


def test_mdn_nll_accepts_column_targets_and_float32():
    logits, mu, log_sigma, y = _params(30, 3, seed=3)
    flat = mdn.mdn_nll(logits, mu, log_sigma, y)
    col = mdn.mdn_nll(logits, mu, log_sigma, y.reshape(-1, 1))
    torch.testing.assert_close(flat, col)
    f32 = mdn.mdn_nll(logits.float(), mu.float(), log_sigma.float(), y.float())
    assert f32.dtype == torch.float32
    assert f32.item() == pytest.approx(flat.item(), rel=1e-5)


def test_mdn_nll_finite_and_exact_far_from_every_component():
    logits, mu, log_sigma, _ = _params(20, 4, seed=11)
    for offset in (1e3, 1e4, -1e4):
        y = torch.full((20,), offset, dtype=torch.float64)
        # logsumexp in float64 with scipy: the exact value where naive sums underflow to log(0).
        comp = stats.norm.logpdf(offset, mu.numpy(), np.exp(log_sigma.numpy()))
        want = -special.logsumexp(special.log_softmax(logits.numpy(), axis=1) + comp, axis=1).mean()
        for dtype in (torch.float64, torch.float32):
            out = mdn.mdn_nll(logits.to(dtype), mu.to(dtype), log_sigma.to(dtype), y.to(dtype))
            assert torch.isfinite(out), f"not finite for y = {offset} in {dtype}"
            assert out.item() == pytest.approx(want, rel=1e-5 if dtype == torch.float32 else 1e-10)


def test_mdn_nll_logit_shift_invariance_and_gradients():
    logits, mu, log_sigma, y = _params(25, 3, seed=5)
    shift = 100.0 * torch.randn(25, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(
        mdn.mdn_nll(logits + shift, mu, log_sigma, y), mdn.mdn_nll(logits, mu, log_sigma, y)
    )
    params = [p.clone().requires_grad_(True) for p in (logits, mu, log_sigma)]
    grads = torch.autograd.grad(mdn.mdn_nll(*params, y), params)
    ref_params = [p.clone().requires_grad_(True) for p in (logits, mu, log_sigma)]
    ref_grads = torch.autograd.grad(_reference(*ref_params, y), ref_params)
    for g, r in zip(grads, ref_grads):
        torch.testing.assert_close(g, r)


def test_mdn_nll_rejects_bad_shapes():
    logits, mu, log_sigma, y = _params(10, 3, seed=1)
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        mdn.mdn_nll(logits, mu, log_sigma, y[:5])
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        mdn.mdn_nll(logits, mu, log_sigma, y.reshape(1, -1))
    with pytest.raises(ValueError, match="same shape|shape \\(N, K\\)"):
        mdn.mdn_nll(logits, mu[:, :2], log_sigma, y)


def test_network_returns_a_mixture_with_the_documented_shapes():
    torch.manual_seed(0)
    model = mdn.MixtureDensityNetwork(2, n_components=4, hidden_features=8)
    x = torch.randn(7, 2)
    dist = model(x)
    assert isinstance(dist, MixtureSameFamily)
    assert dist.batch_shape == (7,) and dist.event_shape == ()
    probs = dist.mixture_distribution.probs
    assert probs.shape == (7, 4)
    torch.testing.assert_close(probs.sum(-1), torch.ones(7))
    assert (dist.component_distribution.scale >= model.sigma_min).all()
    y = torch.randn(7)
    assert dist.log_prob(y).shape == (7,)
    # model.nll, mdn_nll on the parameters and the distribution's log_prob agree
    torch.testing.assert_close(model.nll(x, y.reshape(-1, 1)), -dist.log_prob(y).mean())
    torch.testing.assert_close(mdn.mdn_nll(*model.mixture_parameters(x), y), -dist.log_prob(y).mean())


def test_network_sigma_floor_holds_for_extreme_raw_scales():
    model = mdn.MixtureDensityNetwork(1, 3, 4, sigma_min=0.05)
    with torch.no_grad():
        model.scale_head.bias.fill_(-1e4)
    scale = model(torch.zeros(3, 1)).component_distribution.scale
    torch.testing.assert_close(scale, torch.full((3, 3), 0.05))


@pytest.mark.parametrize(
    "kwargs",
    [dict(in_features=0, n_components=2, hidden_features=3), dict(in_features=1, n_components=2.5, hidden_features=3),
     dict(in_features=1, n_components=2, hidden_features=3, sigma_min=-1.0)],
)
def test_network_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        mdn.MixtureDensityNetwork(**kwargs)


@pytest.fixture
def one_thread():
    """Small networks train fastest on one thread (and two threads crawl on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_network_learns_bishop_inverse_problem_better_than_a_gaussian(one_thread):
    torch.manual_seed(0)
    bishop = data.BishopInverse()
    t, x = bishop.sample(1000, seed=0)
    tt, xt = bishop.sample(4000, seed=1)
    t, x, tt, xt = (torch.tensor(a, dtype=torch.float32) for a in (t, x, tt, xt))
    model = mdn.MixtureDensityNetwork(1, 3, 20, hidden_layers=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(600):
        opt.zero_grad()
        loss = model.nll(t, x)
        loss.backward()
        opt.step()
    with torch.no_grad():
        nll = model.nll(tt, xt).item()
    # A single Gaussian cannot go below ~ -0.2 nats here; the oracle is -1.28.
    assert nll < -0.7
    assert nll > bishop.ORACLE_NLL - 0.05


def test_mixture_quantile_inverts_the_cdf_and_matches_scipy_for_one_component():
    logits, mu, log_sigma, _ = _params(6, 3, seed=2)
    dist = MixtureSameFamily(Categorical(logits=logits), Normal(mu, log_sigma.exp()))
    for q in (0.05, 0.5, 0.95):
        y = mdn.mixture_quantile(dist, q)
        torch.testing.assert_close(dist.cdf(y), torch.full((6,), q, dtype=torch.float64), atol=1e-9, rtol=0)
    one = MixtureSameFamily(Categorical(logits=logits[:, :1]), Normal(mu[:, :1], log_sigma[:, :1].exp()))
    want = stats.norm.ppf(0.9, mu[:, 0].numpy(), np.exp(log_sigma[:, 0].numpy()))
    np.testing.assert_allclose(mdn.mixture_quantile(one, 0.9).numpy(), want, rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError):
        mdn.mixture_quantile(dist, 1.0)
