"""A small, seeded training loop with a progress bar."""
from __future__ import annotations

import os
from typing import Callable

import torch
from tqdm.auto import tqdm

__all__ = ["fit", "seed_everything"]


def seed_everything(seed: int) -> torch.Generator:
    """Seed torch's global generator and return a fresh ``torch.Generator``.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.

    Returns
    -------
    torch.Generator
        A generator seeded with ``seed``, for data shuffling and sampling.
    """
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(int(seed))


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
    progress: bool = True,
    description: str = "training",
) -> list[float]:
    """Fit ``model`` by Adam on minibatches of ``(x, y)``; return the loss per epoch.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its parameters are updated in place.
    loss_fn : callable
        ``loss_fn(model, x_batch, y_batch)`` returning a scalar tensor, e.g.
        ``lambda m, x, y: -m(x).log_prob(y).mean()`` for a model that returns a
        ``torch.distributions.Distribution``.
    x, y : torch.Tensor
        Inputs ``(N, D)`` and targets ``(N, ...)`` with the same first dimension.
    epochs : int
        Passes over the data (> 0).
    batch_size : int, optional
        Minibatch size; the whole data set when ``None``.
    lr, weight_decay : float
        Adam's learning rate and (L2) weight decay.
    seed : int
        Seeds the parameter-free randomness of the loop (shuffling, and torch's
        global generator for layers that sample).
    progress : bool
        Show a tqdm progress bar (also switched off by the environment variable
        ``TQDM_DISABLE=1``, which the book build sets).
    description : str
        Label of the progress bar.

    Returns
    -------
    list of float
        Mean training loss of each epoch.

    Raises
    ------
    ValueError
        If ``x`` and ``y`` differ in length, or ``epochs``/``batch_size`` are not positive.
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    n = x.shape[0]
    batch_size = n if batch_size is None else int(batch_size)
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    generator = seed_everything(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history: list[float] = []
    model.train()
    # TQDM_DISABLE=1 (set by the book build) must also stop tqdm.notebook from creating
    # its widgets, which it does before reading the variable.
    disable = not progress or os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes")
    bar = tqdm(range(epochs), desc=description, leave=False, disable=disable)
    for _ in bar:
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model, x[idx], y[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        history.append(total / n)
        bar.set_postfix(loss=f"{history[-1]:.4f}")
    return history
