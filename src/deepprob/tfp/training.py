"""Bayes by Backprop in TensorFlow: the minibatch negative ELBO of a Keras model with variational layers.

The TensorFlow twin of :func:`deepprob.torch.layers.fit_bayes_by_backprop`
(chapter 6): the same objective (Blundell et al. 2015, eq. 8 with the uniform
KL weight ``1/M`` of Graves 2011), the same shuffling, Adam with a piecewise
constant learning rate, each epoch run as one TensorFlow graph.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as tfk

from .._validation import positive_float, positive_int

__all__ = ["fit_bayes_by_backprop"]


def fit_bayes_by_backprop(model, x, y, *, noise_sigma, shuffle_seed, epochs=700, batch_size=20,
                          boundaries=(500,), learning_rates=(2e-2, 3e-3)) -> list[float]:
    r"""Adam on :math:`-\sum_{n \in B_i} \log\mathcal N(y_n; f_w(x_n), \sigma^2) + \mathrm{KL}(q\,\|\,p) / M`.

    ``f_w`` is one forward pass of ``model`` (its variational layers draw the
    weights); the KL is ``sum(model.losses)``, which ``tfp.layers.DenseVariational``
    and ``DenseFlipout`` fill with their divergence (give them ``kl_weight=1``
    or an exact KL function, so that the division by ``M`` here is the only weight).

    Parameters
    ----------
    model : tf_keras.Model
        Maps ``(N, D)`` inputs to ``(N, 1)`` means.
    x, y : array_like, shapes (N, D) and (N, 1)
        Training data; ``N`` a multiple of ``batch_size`` (the remainder is dropped).
    noise_sigma : float
        Standard deviation of the Gaussian noise, in the units of ``y``.
    shuffle_seed : int
        Seed of the NumPy generator that shuffles the minibatches each epoch.
    epochs, batch_size : int
        ``M = N // batch_size`` minibatches per epoch.
    boundaries : sequence of int
        Epochs at which the learning rate moves to the next entry of ``learning_rates``.
    learning_rates : sequence of float
        One more entry than ``boundaries``.

    Returns
    -------
    list of float
        Per epoch, the sum of its ``M`` minibatch losses: one noisy estimate
        of the negative ELBO of the whole data set, in nats.

    Raises
    ------
    ValueError
        If a size is not a positive integer, ``noise_sigma`` is not positive,
        there are fewer points than ``batch_size``, or the schedule's lengths disagree.
    """
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    noise_sigma = positive_float(noise_sigma, "noise_sigma")
    if len(learning_rates) != len(boundaries) + 1:
        raise ValueError("learning_rates needs one more entry than boundaries, e.g. (500,) and (2e-2, 3e-3).")
    x, y = tf.constant(x, tf.float32), tf.constant(y, tf.float32)
    n_batches = len(x) // batch_size
    if n_batches < 1:
        raise ValueError(f"need at least batch_size={batch_size} points; got {len(x)}.")
    schedule = tfk.optimizers.schedules.PiecewiseConstantDecay([int(b) * n_batches for b in boundaries],
                                                               list(learning_rates))
    opt = tfk.optimizers.Adam(schedule)
    shuffle = np.random.default_rng(shuffle_seed)
    normal = tfp.distributions.Normal

    @tf.function  # one epoch in one graph: M steps, each on the minibatch of the rows in idx[i]
    def epoch(idx):
        total = tf.constant(0.0)
        for i in tf.range(n_batches):
            xb, yb = tf.gather(x, idx[i]), tf.gather(y, idx[i])
            with tf.GradientTape() as tape:
                nll = -tf.reduce_sum(normal(model(xb, training=True), noise_sigma).log_prob(yb))
                loss = nll + tf.add_n(model.losses) / n_batches
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            total += loss
        return total

    used = n_batches * batch_size
    return [float(epoch(tf.constant(shuffle.permutation(len(x))[:used].reshape(n_batches, batch_size))))
            for _ in range(epochs)]
