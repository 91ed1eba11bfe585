"""PyTorch side of the course: ``from deepprob import torch as dpt``.

Imports PyTorch (and only PyTorch). One module per idea:

=============  ==========================================================
``losses``     Gaussian and Bernoulli NLL, prior reweighting (chapter 1)
``training``   the one training loop (``fit``), its callbacks and early stopping
``heads``      ``NormalHead``: raw network outputs to a ``Normal`` (TFP's ``params_size``/``new``)
``kl``         analytic and Monte Carlo KL divergences (chapter 3)
``gradients``  reparameterization, pathwise and score-function gradients (chapter 4)
``models``     heteroscedastic networks, beta-NLL, ensembles (chapter 5)
``layers``     Bayes by Backprop: ``LinearVariational``, ``BayesianMLP`` (chapter 6)
``dropout``    MC dropout prediction and test log-likelihood (chapter 7)
``mdn``        mixture density networks (chapter 8)
``tabular``    MC dropout, deep ensembles, heteroscedastic nets in their papers' UCI settings (issue 14)
=============  ==========================================================
"""
from . import dropout, gradients, heads, kl, layers, losses, mdn, models, tabular, training
from .losses import bernoulli_nll, gaussian_nll, reweight_probabilities
from .training import Callback, EarlyStopping, fit

__all__ = [
    "dropout",
    "heads",
    "gradients",
    "kl",
    "layers",
    "losses",
    "mdn",
    "models",
    "tabular",
    "training",
    "gaussian_nll",
    "bernoulli_nll",
    "reweight_probabilities",
    "fit",
    "Callback",
    "EarlyStopping",
]
