# The MDN's mixture density in NumPyro, the distribution `numpyro.sample("y", mixture, obs=y)` scores.
# From the chapter: logits, mu, log_sigma, float32 arrays (N, K) from the PyTorch MDN; y (N,).
import jax.numpy as jnp
import numpyro.distributions as dist

mixture = dist.MixtureSameFamily(dist.Categorical(logits=logits),       # (N, K) weights
                                 dist.Normal(mu, jnp.exp(log_sigma)))   # batch shape (N,), event ()
log_prob = mixture.log_prob(y)                                          # (N,)
print(f"NumPyro: mean NLL {-float(log_prob.mean()):.4f} nats")
