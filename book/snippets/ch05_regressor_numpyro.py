# The heteroscedastic regressor as a NumPyro model, on the weights Keras learnt. From the chapter:
# x, y float32 arrays (N, 1); w1 (1, 50), b1 (50,), w2 (50, 2), b2 (2,).
import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.infer.util import log_likelihood


def regressor(x, y=None, *, w1, b1, w2, b2):
    out = jnp.tanh(x @ w1 + b1) @ w2 + b2                 # (N, 2): location, unconstrained scale
    loc, scale = out[:, :1], jax.nn.softplus(out[:, 1:])  # (N, 1) each
    with numpyro.plate("data", x.shape[0]):
        numpyro.sample("y", dist.Normal(loc, scale).to_event(1), obs=y)


weights = dict(w1=w1, b1=b1, w2=w2, b2=b2)
log_prob = log_likelihood(regressor, {}, x, y, batch_ndims=0, **weights)["y"]  # (N,)
