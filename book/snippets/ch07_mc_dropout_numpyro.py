# MC dropout in JAX + NumPyro: explicit masks, vmapped over T passes. From the chapter: weights
# [(W (in, out), b), ...] of the trained network, p, x (N, 3) float32, y (N,), tau, T, seed.
import jax
import jax.numpy as jnp
import numpyro.distributions as dist


def net(key, x):  # one pass with a fresh dropout mask after each hidden layer, like nn.Dropout
    h = x
    for (W, b), k in zip(weights[:-1], jax.random.split(key, len(weights) - 1)):
        h = jax.nn.relu(h @ W + b)
        h = jnp.where(jax.random.bernoulli(k, 1 - p, h.shape), h / (1 - p), 0.0)
    W, b = weights[-1]
    return (h @ W + b)[:, 0]                                          # (N,)


f = jax.vmap(net, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(seed), T), x)   # (T, N)
predictive = dist.MixtureSameFamily(dist.Categorical(logits=jnp.zeros(T)), dist.Normal(f.T, tau ** -0.5))
log_lik = predictive.log_prob(y)                                      # (N,), by logsumexp
print(f"NumPyro MC dropout: held-out log-likelihood {float(log_lik.mean()):.4f} nats")
