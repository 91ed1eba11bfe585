# The BNN's log joint in NumPyro: the log density of the model NUTS samples. From the chapter:
# u (100, 1), y (100, 1); weights w1 (1, 16), b1 (16,), w2 (16, 1), b2 (1,); NOISE and prior_sigma.
from numpyro.infer.util import log_density

from deepprob.numpyro import bnn as nuts_bnn  # bnn_model: sites "w1", "b1", "w2", "b2", observed "y"

model_kwargs = dict(hidden=16, prior_sigma=prior_sigma, noise_sigma=NOISE)
weights = dict(w1=w1, b1=b1, w2=w2, b2=b2)
log_joint, _ = log_density(nuts_bnn.bnn_model, (u, y), model_kwargs, weights)  # nats
print(f"NumPyro log p(w, D) = {float(log_joint):.4f} nats")
