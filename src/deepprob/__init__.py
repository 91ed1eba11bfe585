"""deepprob — the helper package of *Deep Probabilistic Learning*.

One package, one module per framework, in the style of ``from d2l import torch as d2l``::

    from deepprob import data, metrics, plotting   # NumPy, SciPy, matplotlib only
    from deepprob import torch as dpt              # PyTorch
    from deepprob import tfp as dptfp              # TensorFlow Probability (Keras 2)
    from deepprob import numpyro as dpn            # JAX + NumPyro

``import deepprob`` itself imports no framework, so a NumPyro notebook never pays
for TensorFlow's start-up.
"""
__version__ = "0.1.0"
