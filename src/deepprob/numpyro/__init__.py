"""NumPyro side of the course: ``from deepprob import numpyro as dpn``.

Imports JAX and NumPyro (and never torch or TensorFlow).

* :mod:`deepprob.numpyro.models` -- chapter 2: :func:`linear_regression`,
  :func:`scaled_linear_regression`, :func:`log_likelihood` by hand, :func:`run_nuts`.
* :mod:`deepprob.numpyro.svi` -- chapter 3: SVI on conjugate Bayesian linear regression.
* :mod:`deepprob.numpyro.bnn` -- chapter 6: the BNN model, :func:`~deepprob.numpyro.bnn.sample_posterior`
  (NUTS through :func:`run_nuts`), posterior predictive.
"""
from . import bnn, models, svi
from .models import linear_regression, log_likelihood, run_nuts, scaled_linear_regression

__all__ = ["bnn", "models", "svi", "linear_regression", "scaled_linear_regression", "log_likelihood", "run_nuts"]
