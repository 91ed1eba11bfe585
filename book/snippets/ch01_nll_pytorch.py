# The Gaussian NLL in PyTorch. From the chapter: y, mu, log_var, float64 arrays of shape (5, 1).
import torch

from deepprob import torch as dpt

y_t, mu_t, log_var_t = (torch.as_tensor(a) for a in (y, mu, log_var))

# by hand (exercise 1): 0.5 log 2pi + 0.5 log sigma^2 + (y - mu)^2 / (2 sigma^2), mean over points
nll_by_hand = dpt.gaussian_nll(y_t, mu_t, log_var_t)

q = torch.distributions.Normal(mu_t, torch.exp(0.5 * log_var_t))  # batch shape (5, 1)
nll = -q.log_prob(y_t).mean()                                     # nats per point
print(f"PyTorch NLL {nll.item():.12f} (by hand {nll_by_hand.item():.12f})")
