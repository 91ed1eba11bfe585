"""deepprob.torch.training.fit: seeded, decreasing loss, clear errors."""
import pytest
import torch

from deepprob import seeds
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
        seeds.seed_torch(-1)
    with pytest.raises(ValueError, match="epoch_loss"):
        dpt.fit(model, loss, x, y, epoch_loss="median", progress=False)


def test_fit_leaves_the_callers_global_generator_alone():
    """Dropout masks inside fit are seeded by `seed`, and the caller's stream continues untouched."""
    x, y = _problem()
    model = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 1))
    loss = lambda m, a, b: (m(a) - b).pow(2).mean()  # noqa: E731
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    first = dpt.fit(model, loss, x, y, epochs=3, seed=5, progress=False)
    assert torch.equal(torch.rand(3), expected), "fit changed the caller's global random state"
    state = {k: v.clone() for k, v in model.state_dict().items()}
    # the same seed gives the same masks whatever the global state was before
    torch.manual_seed(99)
    model.load_state_dict(state)
    second = dpt.fit(model, loss, x, y, epochs=3, seed=5, progress=False)
    model.load_state_dict(state)
    torch.manual_seed(12345)
    assert dpt.fit(model, loss, x, y, epochs=3, seed=5, progress=False) == second
    assert first != second  # (different starting parameters)


class _Recorder(dpt.Callback):
    def __init__(self, stop_at=None):
        self.events, self.stop_at = [], stop_at

    def on_fit_start(self, state):
        self.events.append(("start", state.n_batches))

    def on_batch_start(self, state):
        self.events.append(("batch", state.epoch, state.batch, state.step))
        if state.step == self.stop_at:
            state.stop = True

    def on_epoch_end(self, state):
        self.events.append(("epoch", state.epoch, len(state.history)))

    def on_fit_end(self, state):
        self.events.append(("end", state.step))


def test_callbacks_see_every_step_and_can_stop():
    x, y = _problem()
    loss = lambda m, a, b: (m(a) - b).pow(2).mean()  # noqa: E731
    rec = _Recorder()
    history = dpt.fit(torch.nn.Linear(1, 1), loss, x, y, epochs=2, batch_size=64, callbacks=[rec], progress=False)
    assert rec.events[0] == ("start", 4) and rec.events[-1] == ("end", 8)
    batches = [e for e in rec.events if e[0] == "batch"]
    assert [(e[1], e[2], e[3]) for e in batches] == [(ep, b, 4 * ep + b) for ep in range(2) for b in range(4)]
    assert len(history) == 2
    rec = _Recorder(stop_at=5)  # stops before step 5: one full epoch recorded, the second cut short
    history = dpt.fit(torch.nn.Linear(1, 1), loss, x, y, epochs=3, batch_size=64, callbacks=[rec], progress=False)
    assert len(history) == 1 and rec.events[-1] == ("end", 5)


def test_epoch_loss_sum_adds_the_minibatch_losses():
    x, y = _problem()
    loss = lambda m, a, b: (m(a) - b).pow(2).sum()  # noqa: E731
    torch.manual_seed(0)
    model = torch.nn.Linear(1, 1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    summed = dpt.fit(model, loss, x, y, epochs=1, batch_size=50, lr=0.0, epoch_loss="sum", progress=False)
    model.load_state_dict(state)
    with torch.no_grad():
        whole = float(loss(model, x, y))
    assert summed[0] == pytest.approx(whole, rel=1e-5)


def test_early_stopping_keeps_the_best_parameters():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(30, 1, generator=gen)
    y = x + 0.5 * torch.randn(30, 1, generator=gen)
    x_val = torch.randn(30, 1, generator=gen)
    y_val = x_val + 0.5 * torch.randn(30, 1, generator=gen)
    torch.manual_seed(0)
    model = dpt.models.HeteroscedasticMLP(1, 64)
    stopper = dpt.EarlyStopping(x_val, y_val, check_every=5, patience=3)
    nll = lambda m, a, b: -m(a).log_prob(b).mean()  # noqa: E731
    dpt.fit(model, nll, x, y, epochs=3000, lr=0.02, callbacks=[stopper], progress=False)
    assert stopper.stopped_early, "an over-parameterised model on 30 points must start to overfit"
    assert len(stopper.val_nll) < 3000 // 5
    with torch.no_grad():
        now = float(-model(x_val).log_prob(y_val).mean())
    assert now == pytest.approx(min(stopper.val_nll), abs=1e-6)
    assert stopper.val_steps[stopper.val_nll.index(min(stopper.val_nll))] == stopper.best_step
    with pytest.raises(ValueError, match="patience"):
        dpt.EarlyStopping(x_val, y_val, patience=0)
