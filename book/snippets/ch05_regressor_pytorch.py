# The heteroscedastic regressor in PyTorch, on the weights Keras learnt. From the chapter: x, y
# float32 arrays (N, 1); w1 (1, 50), b1 (50,), w2 (50, 2), b2 (2,), Keras' (in, out) layout.
import torch

from deepprob.torch import models

twin = models.HeteroscedasticMLP(1, 50, min_scale=0.0)  # tanh layer; scale softplus(r), no floor
with torch.no_grad():                                   # torch stores weights as (out, in)
    twin.body[0].weight.copy_(torch.from_numpy(w1.T)); twin.body[0].bias.copy_(torch.from_numpy(b1))
    twin.head.weight.copy_(torch.from_numpy(w2.T)); twin.head.bias.copy_(torch.from_numpy(b2))
    predictive = twin(torch.from_numpy(x))              # torch Normal, batch shape (N, 1)
    log_prob = predictive.log_prob(torch.from_numpy(y))[:, 0].numpy()  # (N,)
