# The Monte Carlo ELBO in NumPyro, from the model's own log density. From the chapter: X (20, 2),
# y (20,), prior_sd, noise_sd, q_mean (2,), q_sd (2,) and w_samples (S, 2) drawn from q.
import jax
import numpyro.distributions as dist
from numpyro.infer.util import log_density

from deepprob.numpyro import svi  # bayesian_linear_regression: site "w" (2,), observed "y" (20,)


def log_joint(w):  # log p(y, w) at one w (2,)
    kwargs = dict(prior_sd=prior_sd, noise_sd=noise_sd)
    return log_density(svi.bayesian_linear_regression, (X, y), kwargs, {"w": w})[0]


q = dist.Normal(q_mean, q_sd).to_event(1)                              # event shape (2,)
log_weights = jax.vmap(log_joint)(w_samples) - q.log_prob(w_samples)   # (S,)
elbo = log_weights.mean()                                              # nats
print(f"NumPyro ELBO {float(elbo):.4f} nats")
