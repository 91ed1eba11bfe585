# The Gaussian NLL in TensorFlow Probability. From the chapter: y, mu, log_var, float64 arrays (5, 1).
from deepprob import tfp as dptfp  # noqa: F401  (sets TF_USE_LEGACY_KERAS, quiets TensorFlow's logs)
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

q = tfd.Normal(loc=mu, scale=np.exp(0.5 * log_var))  # batch shape (5, 1), float64
nll = -tf.reduce_mean(q.log_prob(y))                 # nats per point
print(f"TFP NLL     {nll.numpy():.12f}")
