# MC dropout in Keras + TFP, as in Lanusse's slides: dropout kept on at prediction. From the chapter:
# weights [(W (in, out), b), ...] of the trained network, p, x (N, 3) float32, y (N,), tau, T, seed.
from deepprob import tfp as dptfp  # noqa: F401  (sets TF_USE_LEGACY_KERAS, quiets TensorFlow's logs)
import tensorflow as tf
import tensorflow_probability as tfp
import tf_keras as tfk

tfd = tfp.distributions
net = tfk.Sequential([tfk.Input(shape=(3,)), tfk.layers.Dense(64, "relu"), tfk.layers.Dropout(p),
                      tfk.layers.Dense(64, "relu"), tfk.layers.Dropout(p), tfk.layers.Dense(1)])
net.set_weights([a for W, b in weights for a in (W, b)])
tf.random.set_seed(seed)
f = tf.reshape(net(tf.tile(x, [T, 1]), training=True), (T, -1))   # (T, N): dropout on, a mask per copy
predictive = tfd.MixtureSameFamily(tfd.Categorical(logits=tf.zeros(T)),   # equal weights 1/T
                                   tfd.Normal(tf.transpose(f), tau ** -0.5))  # batch (N,), T components
log_lik = predictive.log_prob(y.astype("float32"))                      # (N,), by logsumexp
print(f"TFP MC dropout: held-out log-likelihood {tf.reduce_mean(log_lik).numpy():.4f} nats")
