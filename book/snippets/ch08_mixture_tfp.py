# The MDN's mixture density in TFP, through the MixtureNormal layer. From the chapter: logits, mu,
# log_sigma, float32 arrays (N, K) from the PyTorch MDN on the test clusters; y (N,).
from deepprob import tfp as dptfp  # noqa: F401  (sets TF_USE_LEGACY_KERAS, quiets TensorFlow's logs)
import tensorflow as tf
import tensorflow_probability as tfp

K = logits.shape[1]
raw_scale = tfp.math.softplus_inverse(tf.exp(log_sigma))           # MixtureNormal applies a softplus
per_component = tf.reshape(tf.stack([mu, raw_scale], -1), (-1, 2 * K))  # (N, 2K): loc_k, raw scale_k pairs
params = tf.concat([logits, per_component], -1)                    # (N, 3K): what the last Dense outputs
mixture = tfp.layers.MixtureNormal(K, [1])(params)                 # batch (N,), event shape (1,)
log_prob = mixture.log_prob(y[:, None]).numpy()                    # (N,): targets as a column (N, 1)
print(f"TFP: mean NLL {-log_prob.mean():.4f} nats")
