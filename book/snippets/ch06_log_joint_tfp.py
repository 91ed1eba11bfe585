# The BNN's log joint in TensorFlow Probability, as a joint distribution. From the chapter: u (100, 1),
# y (100, 1); weights w1 (1, 16), b1 (16,), w2 (16, 1), b2 (1,), float64 arrays; NOISE and prior_sigma.
from deepprob import tfp as dptfp  # noqa: F401  (sets TF_USE_LEGACY_KERAS, quiets TensorFlow's logs)
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions
prior = lambda shape: tfd.Sample(tfd.Normal(np.float64(0.0), prior_sigma), shape)  # noqa: E731
bnn = tfd.JointDistributionNamed(dict(
    w1=prior([1, 16]), b1=prior([16]), w2=prior([16, 1]), b2=prior([1]),
    y=lambda w1, b1, w2, b2: tfd.Independent(tfd.Normal(tf.tanh(u @ w1 + b1) @ w2 + b2, NOISE), 2),
))
log_joint = bnn.log_prob(w1=w1, b1=b1, w2=w2, b2=b2, y=y)  # log p(w) + log p(D | w), nats
print(f"TFP log p(w, D) = {log_joint.numpy():.4f} nats")
