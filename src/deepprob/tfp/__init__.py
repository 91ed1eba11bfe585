"""TensorFlow Probability side of the course: ``from deepprob import tfp as dptfp``.

Importing this module sets ``TF_USE_LEGACY_KERAS=1`` (``tfp.layers`` need Keras 2,
COURSE.md §3) and quiets TensorFlow's C++ start-up logs, *before* TensorFlow is
imported. It never imports torch or jax.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from . import models  # noqa: E402
from .models import independent_normal_regressor  # noqa: E402

__all__ = ["models", "independent_normal_regressor"]
