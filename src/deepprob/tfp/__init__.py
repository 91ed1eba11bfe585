"""TensorFlow Probability side of the course: ``from deepprob import tfp as dptfp``.

Importing this module sets ``TF_USE_LEGACY_KERAS=1`` (``tfp.layers`` need Keras 2,
COURSE.md §3) *before* TensorFlow is imported, and imports TensorFlow, tf_keras and
TFP with the process's standard error silenced: their C++ start-up lines
(``oneDNN custom operations are on``, ``Could not find cuda drivers``, absl's
``InitializeLog`` warning) would otherwise land in every notebook's output and
make nbgrader score a graded cell 0. It never imports torch or jax.
"""
import contextlib
import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _silenced_stderr():
    """Point file descriptor 2 at /dev/null (C++ code writes there, not to sys.stderr)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with _silenced_stderr():
    import tensorflow  # noqa: E402,F401
    import tensorflow_probability  # noqa: E402,F401
    import tf_keras  # noqa: E402,F401

from . import models, training  # noqa: E402
from .models import independent_normal_regressor  # noqa: E402

__all__ = ["models", "training", "independent_normal_regressor"]
