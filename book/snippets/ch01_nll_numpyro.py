# The Gaussian NLL in NumPyro: a model whose site "y" is observed. From the chapter: y, mu, log_var (5, 1).
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer.util import log_likelihood


def model(mu, log_var, y=None):
    with numpyro.plate("points", mu.shape[0]):  # 5 independent points, each with event shape (1,)
        numpyro.sample("y", dist.Normal(mu, jnp.exp(0.5 * log_var)).to_event(1), obs=y)


log_lik = log_likelihood(model, {}, mu, log_var, y=y, batch_ndims=0)["y"]  # (5,): log p(y_i)
nll = -log_lik.mean()                                                        # nats per point
print(f"NumPyro NLL {float(nll):.12f}")
