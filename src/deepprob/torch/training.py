"""The course's one training loop: seeded minibatch Adam with callbacks and a progress bar.

Every torch method of the course trains through :func:`fit` (as d2l's one
``Trainer`` with hooks): :func:`deepprob.torch.models.train_heteroscedastic`
adds :class:`EarlyStopping`, :func:`deepprob.torch.layers.fit_bayes_by_backprop`
a callback that sets the minibatch KL weight, :func:`deepprob.torch.dropout.fit_mc_dropout`
Gal's weight decay. A callback is any object with some of the methods of
:class:`Callback`; each receives the :class:`TrainState`.

Randomness is passed in, never left behind: ``seed`` seeds the shuffling and,
inside :func:`deepprob.seeds.torch_seeded`, the weight noise and dropout
masks of layers that sample; the caller's global generator is restored when
:func:`fit` returns.
"""
from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm

from .. import seeds
from .._validation import positive_int

__all__ = ["fit", "Callback", "TrainState", "EarlyStopping"]


@dataclass
class TrainState:
    """What a callback sees of a running :func:`fit`.

    Attributes
    ----------
    model : torch.nn.Module
        The model being trained.
    optimizer : torch.optim.Optimizer
        Its Adam optimizer.
    epoch : int
        Current epoch, from 0.
    step : int
        Optimiser steps taken so far.
    batch : int
        Index ``i`` of the current minibatch in its epoch, from 0.
    n_batches : int
        Minibatches per epoch ``M``.
    history : list of float
        Loss of each finished epoch.
    stop : bool
        Set it to ``True`` to end training before the next step.
    """

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    n_batches: int
    epoch: int = 0
    step: int = 0
    batch: int = 0
    history: list = field(default_factory=list)
    stop: bool = False


class Callback:
    """Hooks of :func:`fit`; override the ones you need (each gets the :class:`TrainState`)."""

    def on_fit_start(self, state: TrainState) -> None:
        """Before the first epoch."""

    def on_batch_start(self, state: TrainState) -> None:
        """Before each optimiser step (``state.batch``, ``state.step`` are set); may set ``state.stop``."""

    def on_epoch_end(self, state: TrainState) -> None:
        """After each epoch (``state.history[-1]`` is its loss); may set ``state.stop``."""

    def on_fit_end(self, state: TrainState) -> None:
        """After the last epoch, or once ``state.stop`` ended training."""


class EarlyStopping(Callback):
    """Keep the parameters with the lowest validation NLL; stop when it stops improving.

    Before every ``check_every``-th step (and once after the last), the mean
    validation NLL ``-model(x_val).log_prob(y_val).mean()`` is computed in eval
    mode. Training stops once ``patience`` checks in a row did not improve it,
    and the best parameters are loaded back into the model at the end.

    Parameters
    ----------
    x_val, y_val : torch.Tensor, shapes (N_val, D) and (N_val, 1)
        Validation data; the model returns a distribution.
    check_every : int, default 10
        Steps between checks.
    patience : int, default 20
        Checks without improvement before stopping.

    Attributes
    ----------
    val_nll, val_steps : list
        Validation NLL (nats per point) at each check, and the step of each.
    best_step : int
        Step whose parameters the model holds at the end.
    stopped_early : bool
        Whether patience ran out.

    Raises
    ------
    ValueError
        If ``check_every`` or ``patience`` is not a positive integer.
    """

    def __init__(self, x_val, y_val, check_every=10, patience=20):
        self.x_val, self.y_val = x_val, y_val
        self.check_every = positive_int(check_every, "check_every")
        self.patience = positive_int(patience, "patience")
        self.val_nll: list[float] = []
        self.val_steps: list[int] = []
        self.best_step = 0
        self.stopped_early = False
        self._best = math.inf
        self._best_params = None
        self._bad = 0

    def _check(self, state: TrainState) -> None:
        model = state.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            value = float(-model(self.x_val).log_prob(self.y_val).mean())
        model.train(was_training)
        self.val_nll.append(value)
        self.val_steps.append(state.step)
        if value < self._best:
            self._best, self._bad, self.best_step = value, 0, state.step
            self._best_params = copy.deepcopy(model.state_dict())
        else:
            self._bad += 1
            if self._bad >= self.patience:
                self.stopped_early = state.stop = True

    def on_batch_start(self, state):
        if state.step % self.check_every == 0:
            self._check(state)

    def on_fit_end(self, state):
        if not self.stopped_early:
            self._check(state)
        if self._best_params is not None:
            state.model.load_state_dict(self._best_params)


def _progress_disabled(progress: bool) -> bool:
    # TQDM_DISABLE=1 (set by the book build) must also stop tqdm.notebook from creating
    # its widgets, which it does before reading the variable.
    return not progress or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")


def fit(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 100,
    batch_size: int | None = None,
    lr: float = 1e-2,
    weight_decay: float = 0.0,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    epoch_loss: str = "mean",
    progress: bool = True,
    description: str = "training",
) -> list[float]:
    """Fit ``model`` by Adam on shuffled minibatches of ``(x, y)``; return the loss per epoch.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its parameters are updated in place and it is left in train mode.
    loss_fn : callable
        ``loss_fn(model, x_batch, y_batch)`` returning a scalar tensor, e.g.
        ``lambda m, x, y: -m(x).log_prob(y).mean()`` for a model that returns a
        ``torch.distributions.Distribution``.
    x, y : torch.Tensor
        Inputs ``(N, D)`` and targets ``(N, ...)`` with the same first dimension.
    epochs : int
        Passes over the data (> 0).
    batch_size : int, optional
        Minibatch size; the whole data set (one step per epoch) when ``None``.
    lr, weight_decay : float
        Adam's learning rate and (L2) weight decay.
    seed : int
        Seeds the shuffling and, for the duration of the fit, torch's global
        generator (weight noise, dropout masks); the caller's generator state
        is restored afterwards. Seed the model's initialisation yourself
        (:func:`deepprob.seeds.seed_torch`) before building it.
    callbacks : sequence of Callback
        Hooks called in order, e.g. :class:`EarlyStopping`.
    epoch_loss : {"mean", "sum"}
        How an epoch's loss is recorded: the batch-size-weighted mean of the
        minibatch losses (a per-point average loss) or their sum (a loss
        already summed over its minibatch, e.g. the minibatch negative ELBO).
    progress : bool
        Show a tqdm progress bar (also switched off by the environment variable
        ``TQDM_DISABLE=1``, which the book build sets).
    description : str
        Label of the progress bar.

    Returns
    -------
    list of float
        Loss of each epoch that ran.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, ``epochs``/``batch_size`` are not
        positive integers or ``epoch_loss`` is unknown.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    epochs = positive_int(epochs, "epochs")
    n = x.shape[0]
    batch_size = n if batch_size is None else positive_int(batch_size, "batch_size")
    if epoch_loss not in ("mean", "sum"):
        raise ValueError(f"epoch_loss must be 'mean' or 'sum'; got {epoch_loss!r}.")
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    state = TrainState(model=model, optimizer=optimizer, n_batches=math.ceil(n / batch_size))
    model.train()
    with seeds.torch_seeded(seed) as generator:
        for callback in callbacks:
            callback.on_fit_start(state)
        bar = tqdm(range(epochs), desc=description, leave=False, disable=_progress_disabled(progress))
        for state.epoch in bar:
            order = torch.randperm(n, generator=generator)
            total = 0.0
            for state.batch in range(state.n_batches):
                for callback in callbacks:
                    callback.on_batch_start(state)
                if state.stop:
                    break
                idx = order[state.batch * batch_size : (state.batch + 1) * batch_size]
                optimizer.zero_grad()
                loss = loss_fn(model, x[idx], y[idx])
                loss.backward()
                optimizer.step()
                state.step += 1
                total += loss.item() * (len(idx) / n if epoch_loss == "mean" else 1.0)
            if state.stop:
                break
            state.history.append(total)
            bar.set_postfix(loss=f"{total:.4f}")
            for callback in callbacks:
                callback.on_epoch_end(state)
            if state.stop:
                break
        for callback in callbacks:
            callback.on_fit_end(state)
    return state.history
