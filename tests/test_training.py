"""deepprob.torch.training.fit: seeded, decreasing loss, clear errors."""
import pytest
import torch

from deepprob import torch as dpt


def _problem():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 1, generator=g)
    y = 2 * x + 0.1 * torch.randn(200, 1, generator=g)
    return x, y


def test_fit_is_seeded_and_learns():
    x, y = _problem()
    losses = []
    for _ in range(2):
        torch.manual_seed(1)
        model = torch.nn.Linear(1, 1)
        history = dpt.fit(model, lambda m, a, b: (m(a) - b).pow(2).mean(), x, y, epochs=50, batch_size=32, lr=0.05, seed=3, progress=False)
        losses.append(history)
    assert losses[0] == losses[1], "same seed, same run"
    assert losses[0][-1] < 0.1 * losses[0][0]
    assert model.weight.item() == pytest.approx(2.0, abs=0.05)


def test_fit_rejects_bad_input():
    x, y = _problem()
    model = torch.nn.Linear(1, 1)
    loss = lambda m, a, b: (m(a) - b).pow(2).mean()  # noqa: E731
    with pytest.raises(ValueError, match="same number of rows"):
        dpt.fit(model, loss, x, y[:10], progress=False)
    with pytest.raises(ValueError, match="epochs"):
        dpt.fit(model, loss, x, y, epochs=0, progress=False)
    with pytest.raises(ValueError, match="seed"):
        dpt.seed_everything(-1)
