"""PyTorch side of the course: ``from deepprob import torch as dpt``.

Imports PyTorch (and only PyTorch).
"""
from . import losses, training
from .losses import bernoulli_nll, gaussian_nll, reweight_probabilities
from .training import fit, seed_everything

__all__ = [
    "losses",
    "training",
    "gaussian_nll",
    "bernoulli_nll",
    "reweight_probabilities",
    "fit",
    "seed_everything",
]
