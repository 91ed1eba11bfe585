"""Keras 2 (``tf_keras``) models whose output is a ``tfp`` distribution."""
from __future__ import annotations

import tensorflow_probability as tfp
import tf_keras as tfk

tfd = tfp.distributions
tfpl = tfp.layers

__all__ = ["independent_normal_regressor"]


def independent_normal_regressor(in_features: int = 1, hidden_units: int | None = None, seed: int = 0) -> tfk.Model:
    """Lanusse's regressor: ``Dense(2)`` followed by ``tfp.layers.IndependentNormal``.

    The network outputs two numbers per input, a location and an unconstrained
    scale, and ``IndependentNormal`` turns them into a ``tfd.Independent(Normal)``
    of event shape ``(1,)`` whose scale is ``softplus`` of the second output.
    Train it with the loss ``lambda y, yhat: -yhat.log_prob(y)``.

    Parameters
    ----------
    in_features : int
        Number of input features ``D`` (inputs have shape ``(N, D)``).
    hidden_units : int, optional
        If given, a ``tanh`` hidden layer of this width comes first (a
        heteroscedastic model needs one: with ``Dense(2)`` alone the scale is a
        softplus of a linear function of ``x``).
    seed : int
        Seed of the weight initialisers.

    Returns
    -------
    tf_keras.Model
        ``model(x)`` is a distribution with batch shape ``(N,)`` and event shape ``(1,)``.

    Raises
    ------
    ValueError
        If ``in_features`` or ``hidden_units`` is not positive.

    Notes
    -----
    F. Lanusse, *Introduction to Deep Probabilistic Learning* (2019), slide
    "IndependentNormal"; the layer is documented in ``tfp.layers.IndependentNormal``.
    """
    if in_features <= 0 or (hidden_units is not None and hidden_units <= 0):
        raise ValueError("in_features and hidden_units must be positive integers")
    init = tfk.initializers.GlorotUniform(seed=seed)
    layers = [tfk.Input(shape=(in_features,))]
    if hidden_units is not None:
        layers.append(tfk.layers.Dense(hidden_units, activation="tanh", kernel_initializer=init))
    layers += [
        tfk.layers.Dense(tfpl.IndependentNormal.params_size(1), kernel_initializer=init),
        tfpl.IndependentNormal(1),
    ]
    return tfk.Sequential(layers)
