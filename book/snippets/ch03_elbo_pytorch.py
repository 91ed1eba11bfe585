# The Monte Carlo ELBO in PyTorch. From the chapter: X (20, 2), y (20,), prior_sd, noise_sd,
# the mean-field q = N(q_mean, diag(q_sd^2)) and w_samples (S, 2) drawn from it, float64 arrays.
import torch
from torch.distributions import Normal

X_t, y_t, w = (torch.as_tensor(a) for a in (X, y, w_samples))
q = Normal(torch.as_tensor(q_mean), torch.as_tensor(q_sd))      # batch shape (2,)

log_lik = Normal(w @ X_t.T, noise_sd).log_prob(y_t).sum(-1)     # (S,): log p(y | w_s)
log_prior = Normal(0.0, prior_sd).log_prob(w).sum(-1)           # (S,): log p(w_s)
log_weights = log_lik + log_prior - q.log_prob(w).sum(-1)       # (S,): log p(y, w_s) - log q(w_s)
elbo = log_weights.mean()                                       # nats
print(f"PyTorch ELBO {elbo.item():.4f} nats")
