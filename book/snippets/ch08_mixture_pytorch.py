# The MDN's mixture density in PyTorch. From the chapter: logits, mu, log_sigma, float32 arrays (N, K),
# the outputs of the PyTorch MDN (K = 16) on the test clusters; y (N,), their standardised log10 M.
import torch
from torch.distributions import Categorical, MixtureSameFamily, Normal

from deepprob.torch import mdn

logits_t, mu_t, log_sigma_t, y_t = (torch.from_numpy(a) for a in (logits, mu, log_sigma, y))
mixture = MixtureSameFamily(Categorical(logits=logits_t),          # weights softmax(logits), (N, K)
                            Normal(mu_t, torch.exp(log_sigma_t)))  # batch shape (N,), event shape ()
log_prob = mixture.log_prob(y_t).numpy()                           # (N,): targets of shape (N,), not (N, 1)
nll_by_hand = mdn.mdn_nll(logits_t, mu_t, log_sigma_t, y_t)        # exercise 8: the mean NLL by logsumexp
print(f"PyTorch: mean NLL {-log_prob.mean():.4f} nats (mdn_nll {nll_by_hand.item():.4f})")
