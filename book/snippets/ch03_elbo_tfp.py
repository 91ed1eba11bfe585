# The Monte Carlo ELBO in TensorFlow Probability. From the chapter: X (20, 2), y (20,), prior_sd,
# noise_sd, q_mean (2,), q_sd (2,) and w_samples (S, 2) drawn from q, float64 arrays.
from deepprob import tfp as dptfp  # noqa: F401  (sets TF_USE_LEGACY_KERAS, quiets TensorFlow's logs)
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions
q = tfd.MultivariateNormalDiag(loc=q_mean, scale_diag=q_sd)                # event shape (2,)
prior = tfd.MultivariateNormalDiag(loc=np.zeros(2), scale_diag=np.full(2, prior_sd))
likelihood = tfd.Independent(tfd.Normal(w_samples @ X.T, noise_sd), 1)   # batch (S,), event (20,)

log_weights = likelihood.log_prob(y) + prior.log_prob(w_samples) - q.log_prob(w_samples)  # (S,)
elbo = tf.reduce_mean(log_weights)                                       # nats
print(f"TFP ELBO     {elbo.numpy():.4f} nats")
