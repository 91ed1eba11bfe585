"""Input checks of the torch modules that need torch (the framework-free ones are in ``deepprob._validation``)."""
from __future__ import annotations

import torch


def broadcast_shape(hint: str, **shapes) -> torch.Size:
    """The broadcast of named shapes; a ``ValueError`` that lists them and says what to do (``hint``)."""
    try:
        return torch.broadcast_shapes(*shapes.values())
    except RuntimeError as err:
        listed = ", ".join(f"{name} {tuple(shape)}" for name, shape in shapes.items())
        raise ValueError(f"shapes do not broadcast: {listed}; {hint}") from err


def broadcast(hint: str, **tensors) -> list[torch.Tensor]:
    """``torch.broadcast_tensors`` of named tensors, with :func:`broadcast_shape`'s error."""
    broadcast_shape(hint, **{name: t.shape for name, t in tensors.items()})
    return list(torch.broadcast_tensors(*tensors.values()))
