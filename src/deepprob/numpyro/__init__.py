"""NumPyro side of the course: ``from deepprob import numpyro as dpn``.

Imports JAX and NumPyro (and never torch or TensorFlow).
"""
__all__: list[str] = []
