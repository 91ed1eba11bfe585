"""deepprob.torch.tabular: the tabular methods of issue 14 return seeded Gaussian-mixture predictives."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from deepprob import tabular
from deepprob.torch import tabular as tt


def toy(n=120, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = (x[:, :1] - 0.5 * x[:, 1:2] + 0.3 * rng.standard_normal((n, 1)))
    return (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std()


def test_mixture_predictive_caches_components_and_has_an_exact_mean():
    calls = []

    def components(x):
        calls.append(len(x))
        mu = np.stack([x[:, :1], x[:, :1] + 2.0], axis=-1)
        return mu, np.ones_like(mu)

    pred = tabular.GaussianMixturePredictive(components)
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(pred.mean(x), x[:, :1] + 1.0)
    pred.log_prob(x, np.zeros((3, 1)))
    pred.cdf(x, np.zeros((3, 1)))
    assert calls == [3]                      # once per distinct x
    pred.mean(x + 1.0)
    assert calls == [3, 3]


def test_mc_dropout_is_seeded_and_has_T_components():
    x, y = toy()
    a = tt.mc_dropout(x, y, seed=1, p=0.1, tau=4.0, epochs=3, n_samples=64)
    b = tt.mc_dropout(x, y, seed=1, p=0.1, tau=4.0, epochs=3, n_samples=64)
    c = tt.mc_dropout(x, y, seed=2, p=0.1, tau=4.0, epochs=3, n_samples=64)
    mu, sd = a.components(x[:10])
    assert mu.shape == sd.shape == (10, 1, 64)
    np.testing.assert_allclose(sd, 0.5)
    assert mu.std(axis=-1).min() > 0                              # dropout on at prediction
    np.testing.assert_array_equal(a.log_prob(x[:10], y[:10]), b.log_prob(x[:10], y[:10]))
    assert not np.array_equal(a.log_prob(x[:10], y[:10]), c.log_prob(x[:10], y[:10]))
    # the network drops its inputs (Gal) unless told not to
    dropouts = [m for m in torch.nn.Module.modules(tt.dpd.MCDropoutMLP(3, 5, 0.1, n_hidden=1, input_dropout=True))
                if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 2


def test_mc_dropout_with_learnt_noise_has_per_pass_scales():
    x, y = toy()
    pred = tt.mc_dropout(x, y, seed=1, p=0.1, epochs=3, n_samples=32, noise="heteroscedastic")
    mu, sd = pred.components(x[:10])
    assert mu.shape == sd.shape == (10, 1, 32)
    assert np.all(sd > 0) and sd.std() > 0                      # input- and mask-dependent noise
    with pytest.raises(ValueError, match="noise"):
        tt.mc_dropout(x, y, seed=1, noise="student")


def test_batched_mc_means_match_separate_passes_in_distribution():
    """One pass of x repeated T times (per-point masks) = T passes (shared masks), point by point."""
    from deepprob import seeds

    seeds.seed_torch(0)
    model = tt.dpd.MCDropoutMLP(2, 30, 0.3, n_hidden=1, input_dropout=True)
    x = np.array([[0.5, -1.0], [2.0, 1.0]])
    batched = tt._mc_means(model, x, 4000, seed=3)
    with seeds.torch_seeded(4):
        separate = tt.dpd.mc_dropout_samples(model, torch.as_tensor(x, dtype=torch.float32), 4000).loc[..., 0].T
    separate = separate.double().numpy()
    np.testing.assert_allclose(batched.mean(axis=1), separate.mean(axis=1), atol=4 * separate.std(axis=1).max() / 40)
    np.testing.assert_allclose(batched.std(axis=1), separate.std(axis=1), rtol=0.1)


@pytest.mark.parametrize("kwargs", [{}, {"adversarial": True}, {"loss": "beta_nll"}])
def test_deep_ensemble_members_and_scores(kwargs):
    x, y = toy()
    pred = tt.deep_ensemble(x, y, seed=0, n_members=3, epochs=20, lr=0.01, **kwargs)
    mu, sd = pred.components(x)
    assert mu.shape == sd.shape == (120, 1, 3) and np.all(sd > 0)
    assert not np.allclose(mu[..., 0], mu[..., 1])                # members differ (own seeds)
    scaler = tabular.Standardiser(np.zeros(3), np.ones(3), 0.0, 1.0)
    scores = tabular.score_predictive(pred, x, y, scaler)
    assert scores["rmse"] < 0.6 and scores["ll"] > -1.0          # it learnt the linear signal
    one = tt.heteroscedastic(x, y, seed=0, epochs=20, lr=0.01)
    assert one.components(x)[0].shape == (120, 1, 1)
    with pytest.raises(ValueError, match="loss"):
        tt.deep_ensemble(x, y, seed=0, loss="mse")


@pytest.mark.parametrize("noise", ["learned", "heteroscedastic"])
def test_bayes_by_backprop_mixes_weight_draws_and_learns(noise):
    x, y = toy()
    pred = tt.bayes_by_backprop(x, y, seed=0, epochs=60, batch_size=32, n_samples=40, noise=noise)
    again = tt.bayes_by_backprop(x, y, seed=0, epochs=60, batch_size=32, n_samples=40, noise=noise)
    mu, sd = pred.components(x)
    assert mu.shape == sd.shape == (120, 1, 40) and np.all(sd > 0)
    assert mu.std(axis=-1).min() > 0                             # weight uncertainty: the draws differ
    if noise == "learned":
        np.testing.assert_allclose(sd, np.broadcast_to(sd[:1, :, :1], sd.shape))  # one noise sd for every point and draw
    np.testing.assert_array_equal(pred.log_prob(x, y), again.log_prob(x, y))
    scaler = tabular.Standardiser(np.zeros(3), np.ones(3), 0.0, 1.0)
    scores = tabular.score_predictive(pred, x, y, scaler)
    assert scores["rmse"] < 0.7                                   # it learnt the linear signal (sd of y is 1)
    with pytest.raises(ValueError, match="noise"):
        tt.bayes_by_backprop(x, y, seed=0, noise="fixed")
