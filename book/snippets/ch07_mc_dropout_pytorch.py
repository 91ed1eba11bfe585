# MC dropout's held-out log-likelihood in PyTorch. From the chapter: model, the trained MCDropoutMLP
# (3 -> 64 -> 64 -> 1, ReLU, dropout p); x (N, 3) float32 features, y (N,) targets; tau; T; seed.
import torch

from deepprob.torch import dropout as dpd

torch.manual_seed(seed)
f = dpd.mc_dropout_samples(model, torch.from_numpy(x), T).loc[..., 0]  # (T, N): T dropout masks
y_t = torch.as_tensor(y, dtype=torch.float64)
log_lik = dpd.mc_log_likelihood(f.double(), y_t, tau, reduction="none")  # (N,): log mean_t N(y; f_t, 1/tau)
print(f"PyTorch MC dropout: held-out log-likelihood {log_lik.mean().item():.4f} nats")
