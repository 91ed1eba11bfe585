"""Every model in ``deepprob.torch`` returns a ``torch.distributions.Distribution`` (issue 15).

The test enumerates the public ``nn.Module`` classes of every module of the
package, so a model added later without a distribution output -- or without
an entry here -- fails it.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
import torch
from torch import nn

import deepprob.torch as dpt
from deepprob.torch import dropout, layers, mdn, models

#: how to build each model, and an input for it
MODELS = {
    models.HeteroscedasticMLP: lambda: (models.HeteroscedasticMLP(2, 8), torch.randn(5, 2)),
    models.GaussianEnsemble: lambda: (models.GaussianEnsemble([models.HeteroscedasticMLP(2, 8)] * 2), torch.randn(5, 2)),
    layers.BayesianMLP: lambda: (layers.BayesianMLP(2, 8), torch.randn(5, 2)),
    dropout.MCDropoutMLP: lambda: (dropout.MCDropoutMLP(2, 8, 0.1), torch.randn(5, 2)),
    mdn.MixtureDensityNetwork: lambda: (mdn.MixtureDensityNetwork(2, 3, 8), torch.randn(5, 2)),
}
#: building blocks that are not models, with the reason
LAYERS = {
    layers.LinearVariational: "a layer: returns the pre-activations of one weight draw",
    dpt.heads.NormalHead: "the head that turns raw outputs into a Normal",
}


def _public_modules():
    found = set()
    for info in pkgutil.iter_modules(dpt.__path__):
        module = importlib.import_module(f"deepprob.torch.{info.name}")
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, nn.Module) and obj.__module__ == module.__name__ and not name.startswith("_"):
                found.add(obj)
    return found


def test_every_public_module_is_listed():
    assert _public_modules() == set(MODELS) | set(LAYERS), (
        "a public nn.Module of deepprob.torch is missing from MODELS (models must return a distribution) "
        "or LAYERS (with the reason it is not a model)")


@pytest.mark.parametrize("cls", list(MODELS), ids=lambda c: c.__name__)
def test_model_returns_a_distribution(cls):
    model, x = MODELS[cls]()
    out = model(x)
    assert isinstance(out, torch.distributions.Distribution), f"{cls.__name__}.forward returned {type(out).__name__}"
    assert out.batch_shape[0] == x.shape[0]
    y = out.sample()
    assert torch.isfinite(out.log_prob(y)).all()
