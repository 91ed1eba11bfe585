"""Grading contract of ex08_mixture_density_networks: correct variants and common mistakes.

``test_mdn_training`` trains MixtureDensityNetwork(1, 5, 32) in the kernel (Adam, 500 steps) and
scores it on 5000 held-out points only the grader sees: NLL < -0.8 nats. Spreads of that check over
20 initialisation seeds: reference -1.004 to -0.910; the same network with one component -0.427 to
-0.035 (always fails), with two -0.877 to -0.638 (n_components is checked by ``test_mdn_structure``).
"""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex08_mixture_density_networks"

NLL, STRUCT, TRAIN = "test_mdn_nll", "test_mdn_structure", "test_mdn_training"


def nll(body: str) -> str:
    return f"def mdn_nll(logits, mu, log_sigma, y):\n{body}\n"


# A reference network whose forward builds (logits, mu, sigma) from `_parts`; wrong cases
# replace only the piece they get wrong.
_INIT = """class MixtureDensityNetwork(nn.Module):
    def __init__(self, in_features, n_components, hidden_features):
        super().__init__()
        self.k = n_components
        self.body = nn.Sequential(
            nn.Linear(in_features, hidden_features), nn.Tanh(),
            nn.Linear(hidden_features, hidden_features), nn.Tanh(),
        )
        self.head = nn.Linear(hidden_features, 3 * n_components)

    def _parts(self, x):
        logits, mu, raw = self.head(self.body(x)).chunk(3, dim=-1)
        return logits, mu, raw
"""


def network(forward_body: str, init: str = _INIT) -> str:
    return init + "\n    def forward(self, x):\n" + forward_body + "\n"


CORRECT = [
    Case(
        "correct_distributions",
        "full",
        description="mdn_nll by MixtureSameFamily.log_prob; one tanh layer, three heads, exp scales with a floor",
        replace={
            "mdn_nll": nll(
                "    mix = MixtureSameFamily(Categorical(logits=logits), Normal(mu, torch.exp(log_sigma)))\n"
                "    return -mix.log_prob(y.reshape(-1)).mean()"
            ),
            "MixtureDensityNetwork": (
                "class MixtureDensityNetwork(nn.Module):\n"
                "    def __init__(self, in_features, n_components, hidden_features):\n"
                "        super().__init__()\n"
                "        self.hidden = nn.Linear(in_features, hidden_features)\n"
                "        self.pi = nn.Linear(hidden_features, n_components)\n"
                "        self.mu = nn.Linear(hidden_features, n_components)\n"
                "        self.log_sigma = nn.Linear(hidden_features, n_components)\n"
                "\n"
                "    def forward(self, x):\n"
                "        h = torch.tanh(self.hidden(x))\n"
                "        sigma = torch.exp(self.log_sigma(h).clamp(-7.0, 7.0))\n"
                "        return MixtureSameFamily(Categorical(logits=self.pi(h)), Normal(self.mu(h), sigma))\n"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="log-sum-exp with the max subtracted by hand, logits normalised by hand; ModuleList, probs=softmax",
        replace={
            "mdn_nll": nll(
                "    y = y.view(-1).unsqueeze(1)\n"
                "    log_w = logits - torch.logsumexp(logits, dim=1, keepdim=True)\n"
                "    sigma = log_sigma.exp()\n"
                "    a = log_w - log_sigma - 0.5 * math.log(2 * math.pi) - (y - mu) ** 2 / (2 * sigma ** 2)\n"
                "    m = a.max(dim=1, keepdim=True).values\n"
                "    per_point = m.squeeze(1) + torch.log(torch.exp(a - m).sum(dim=1))\n"
                "    return -per_point.sum() / per_point.shape[0]"
            ),
            "MixtureDensityNetwork": (
                "class MixtureDensityNetwork(nn.Module):\n"
                "    def __init__(self, in_features, n_components, hidden_features):\n"
                "        super().__init__()\n"
                "        self.layers = nn.ModuleList([nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, hidden_features)])\n"
                "        self.out = nn.Linear(hidden_features, 3 * n_components)\n"
                "        self.k = n_components\n"
                "\n"
                "    def forward(self, x):\n"
                "        h = x\n"
                "        for layer in self.layers:\n"
                "            h = torch.tanh(layer(h))\n"
                "        out = self.out(h)\n"
                "        k = self.k\n"
                "        probs = torch.softmax(out[:, :k], dim=-1)\n"
                "        mu, sigma = out[:, k:2 * k], F.softplus(out[:, 2 * k:]) + 1e-4\n"
                "        return MixtureSameFamily(Categorical(probs=probs), Normal(mu, sigma))\n"
            ),
        },
    ),
]

_LOG_COMP = "-0.5 * math.log(2 * math.pi) - log_sigma - 0.5 * ((y - mu) / torch.exp(log_sigma)) ** 2"

WRONG_NLL = [
    ("naive_log_of_sum", "the log of a sum of exponentials computed naively (underflows for distant y)",
     "    y = y.reshape(-1, 1)\n"
     "    w = torch.softmax(logits, dim=-1)\n"
     "    dens = torch.exp(-0.5 * ((y - mu) / torch.exp(log_sigma)) ** 2) / (math.sqrt(2 * math.pi) * torch.exp(log_sigma))\n"
     "    return -torch.log((w * dens).sum(dim=-1)).mean()"),
    ("raw_logits_as_log_weights", "the logits used as log-weights without normalisation",
     "    y = y.reshape(-1, 1)\n"
     f"    return -torch.logsumexp(logits + {_LOG_COMP}, dim=-1).mean()"),
    ("exp_logits_unnormalised", "exp(logits) used as weights, normalised over the whole batch instead of per point",
     "    y = y.reshape(-1, 1)\n"
     "    log_w = logits - torch.logsumexp(logits.reshape(-1), dim=0)\n"
     f"    return -torch.logsumexp(log_w + {_LOG_COMP}, dim=-1).mean()"),
    ("softmax_wrong_axis", "the softmax taken over points (dim=0) instead of components",
     "    y = y.reshape(-1, 1)\n"
     f"    return -torch.logsumexp(torch.log_softmax(logits, dim=0) + {_LOG_COMP}, dim=-1).mean()"),
    ("sigma_is_log_sigma", "log_sigma used as the standard deviation",
     "    y = y.reshape(-1, 1)\n"
     "    sigma = log_sigma.abs() + 1e-6\n"
     "    comp = -0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * ((y - mu) / sigma) ** 2\n"
     "    return -torch.logsumexp(torch.log_softmax(logits, dim=-1) + comp, dim=-1).mean()"),
    ("log_sigma_as_log_variance", "log_sigma read as a log-variance (sigma = exp(log_sigma / 2))",
     "    y = y.reshape(-1, 1)\n"
     "    sigma = torch.exp(0.5 * log_sigma)\n"
     "    comp = -0.5 * math.log(2 * math.pi) - torch.log(sigma) - 0.5 * ((y - mu) / sigma) ** 2\n"
     "    return -torch.logsumexp(torch.log_softmax(logits, dim=-1) + comp, dim=-1).mean()"),
    ("no_constant", "the Gaussian constant 0.5*log(2*pi) dropped",
     "    y = y.reshape(-1, 1)\n"
     "    comp = -log_sigma - 0.5 * ((y - mu) / torch.exp(log_sigma)) ** 2\n"
     "    return -torch.logsumexp(torch.log_softmax(logits, dim=-1) + comp, dim=-1).mean()"),
    ("sum_not_mean", "a sum over points instead of a mean",
     "    y = y.reshape(-1, 1)\n"
     f"    return -torch.logsumexp(torch.log_softmax(logits, dim=-1) + {_LOG_COMP}, dim=-1).sum()"),
    ("outer_broadcast", "y always unsqueezed: y of shape (N, 1) becomes (N, 1, 1) and an (N, N) table is averaged",
     "    y = y.unsqueeze(-1)\n"
     f"    return -torch.logsumexp(torch.log_softmax(logits, dim=-1) + {_LOG_COMP}, dim=-1).mean()"),
    ("sign_flipped", "the log-likelihood returned instead of its negative",
     "    y = y.reshape(-1, 1)\n"
     f"    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + {_LOG_COMP}, dim=-1).mean()"),
]

_OK_SIGMA = "        logits, mu, raw = self._parts(x)\n        sigma = 1e-3 + F.softplus(raw)\n"

WRONG_NET = [
    ("single_normal", "a single Normal returned instead of a mixture", (STRUCT, TRAIN),
     network(_OK_SIGMA + "        return Normal(mu[:, 0], sigma[:, 0])")),
    ("scale_not_positive", "the raw linear output used as the scale", (STRUCT, TRAIN),
     network("        logits, mu, raw = self._parts(x)\n"
             "        return MixtureSameFamily(Categorical(logits=logits), Normal(mu, raw))")),
    ("categorical_probs_logits", "Categorical(probs=logits): unnormalised, possibly negative weights", (STRUCT, TRAIN),
     network(_OK_SIGMA + "        return MixtureSameFamily(Categorical(probs=logits), Normal(mu, sigma))")),
    ("batch_shape_n1", "parameters of shape (N, 1, K): batch shape (N, 1)", (STRUCT,),
     network(_OK_SIGMA + "        return MixtureSameFamily(Categorical(logits=logits.unsqueeze(1)), "
             "Normal(mu.unsqueeze(1), sigma.unsqueeze(1)))")),
    ("event_shape_1", "Independent components: event shape (1,) instead of ()", (STRUCT,),
     network(_OK_SIGMA + "        comp = torch.distributions.Independent(Normal(mu.unsqueeze(-1), sigma.unsqueeze(-1)), 1)\n"
             "        return MixtureSameFamily(Categorical(logits=logits), comp)")),
    ("fixed_three_components", "n_components ignored: always three components", (STRUCT,),
     network("        logits, mu, raw = self._parts(x)\n"
             "        sigma = 1e-3 + F.softplus(raw)\n"
             "        k = min(3, self.k)\n"
             "        return MixtureSameFamily(Categorical(logits=logits[:, :k]), Normal(mu[:, :k], sigma[:, :k]))")),
    ("layers_in_plain_list", "layers kept in a Python list: no registered parameters, nothing trains", (STRUCT, TRAIN),
     "class MixtureDensityNetwork(nn.Module):\n"
     "    def __init__(self, in_features, n_components, hidden_features):\n"
     "        super().__init__()\n"
     "        self.layers = [nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, 3 * n_components)]\n"
     "\n"
     "    def forward(self, x):\n"
     "        logits, mu, raw = self.layers[1](torch.tanh(self.layers[0](x))).chunk(3, dim=-1)\n"
     "        return MixtureSameFamily(Categorical(logits=logits), Normal(mu, 1e-3 + F.softplus(raw)))\n"),
    ("ignores_input", "free parameters that do not depend on x", (STRUCT, TRAIN),
     "class MixtureDensityNetwork(nn.Module):\n"
     "    def __init__(self, in_features, n_components, hidden_features):\n"
     "        super().__init__()\n"
     "        self.logits = nn.Parameter(torch.zeros(n_components))\n"
     "        self.mu = nn.Parameter(torch.randn(n_components))\n"
     "        self.raw = nn.Parameter(torch.zeros(n_components))\n"
     "\n"
     "    def forward(self, x):\n"
     "        n = x.shape[0]\n"
     "        k = self.mu.shape[0]\n"
     "        sigma = 1e-3 + F.softplus(self.raw)\n"
     "        return MixtureSameFamily(Categorical(logits=self.logits.expand(n, k)), Normal(self.mu.expand(n, k), sigma.expand(n, k)))\n"),
    ("ignores_hidden_features", "hidden layers of a fixed width 24 whatever hidden_features says", (STRUCT,),
     network(_OK_SIGMA + "        return MixtureSameFamily(Categorical(logits=logits), Normal(mu, sigma))",
             init=_INIT.replace("hidden_features", "24").replace("n_components, 24)", "n_components, hidden_features)"))),
    ("detached_parameters", "the mixture built from detached outputs: no gradient reaches the network", (TRAIN,),
     network(_OK_SIGMA + "        return MixtureSameFamily(Categorical(logits=logits.detach()), "
             "Normal(mu.detach(), sigma.detach()))")),
]

WRONG = (
    mistakes("nll", "mdn_nll", (NLL,), WRONG_NLL, wrap=nll)
    + mistakes("net", "MixtureDensityNetwork", (), [(n, d, src, lose) for n, d, lose, src in WRONG_NET])
)

# A cell that never ends is graded by the same timeout path in every assignment:
# ex01, ex02, ex05 and ex06 keep that case (20-40 s each), and tests/test_grading_safety.py
# runs the sleeper and CPU-burner budget batch.
ROBUSTNESS = robustness_cases(
    tamper=("test_mdn_nll", {"mdn_nll": nll("    return torch.tensor(0.0)")}, (NLL,)),
    edit_correct="test_mdn_structure",
    delete=("test_mdn_structure",
            {"MixtureDensityNetwork": network(_OK_SIGMA + "        return Normal(mu[:, 0], sigma[:, 0])")}, (STRUCT,)),
    raises=("mdn_nll", nll("    return 0"), (NLL,)),
)

CASES = CORRECT + WRONG + ROBUSTNESS
