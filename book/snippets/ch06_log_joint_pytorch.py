# The BNN's log joint log p(w) + log p(D | w) in PyTorch. From the chapter: u (100, 1), y (100, 1);
# weights w1 (1, 16), b1 (16,), w2 (16, 1), b2 (1,), float64 arrays; NOISE and prior_sigma.
import torch
from torch.distributions import Normal

weights = [torch.as_tensor(p) for p in (w1, b1, w2, b2)]
W1, B1, W2, B2 = weights
f = torch.tanh(torch.as_tensor(u) @ W1 + B1) @ W2 + B2                    # (100, 1): the network
log_lik = Normal(f, NOISE).log_prob(torch.as_tensor(y)).sum()            # log p(D | w)
log_prior = sum(Normal(0.0, prior_sigma).log_prob(p).sum() for p in weights)  # log p(w), 49 weights
log_joint = log_lik + log_prior                                          # nats
print(f"PyTorch log p(w, D) = {log_joint.item():.4f} nats")
