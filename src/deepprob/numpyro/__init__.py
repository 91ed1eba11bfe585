"""NumPyro side of the course: ``from deepprob import numpyro as dpn``.

Imports JAX and NumPyro (and never torch or TensorFlow).

* :mod:`deepprob.numpyro.models` -- chapter 2: :func:`linear_regression`,
  :func:`scaled_linear_regression`, :func:`log_likelihood` by hand, :func:`run_nuts`.
"""
from . import models
from .models import linear_regression, log_likelihood, run_nuts, scaled_linear_regression

__all__ = ["models", "linear_regression", "scaled_linear_regression", "log_likelihood", "run_nuts"]
