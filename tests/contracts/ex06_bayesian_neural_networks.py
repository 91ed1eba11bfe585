"""Grading contract of ex06_bayesian_neural_networks: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex06_bayesian_neural_networks"

FWD, KL, ELBO = "test_forward", "test_kl_divergence", "test_negative_elbo"

INIT = """    def __init__(self, in_features, out_features, prior_sigma=1.0):
        super().__init__()
        self.prior_sigma = prior_sigma
        bound = 1.0 / math.sqrt(in_features)
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features).uniform_(-bound, bound))
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), -5.0))
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_rho = nn.Parameter(torch.full((out_features,), -5.0))
"""

FORWARD = """    def forward(self, x):
        weight = self.weight_mu + F.softplus(self.weight_rho) * torch.randn_like(self.weight_mu)
        bias = self.bias_mu + F.softplus(self.bias_rho) * torch.randn_like(self.bias_mu)
        return x @ weight.T + bias
"""

KL_BODY = """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            total = total + (
                math.log(self.prior_sigma) - torch.log(sigma)
                + (sigma**2 + mu**2) / (2 * self.prior_sigma**2) - 0.5
            ).sum()
        return total
"""


def layer(init=INIT, forward=FORWARD, kl=KL_BODY) -> str:
    return "class LinearVariational(nn.Module):\n" + init + "\n" + forward + "\n" + kl


def elbo(body: str) -> str:
    return f"def negative_elbo(model, x, y, noise_sigma, kl_weight):\n{body}\n"


CORRECT = [
    Case(
        "correct_distributions",
        "full",
        description="built on torch.distributions: rsample for the weights, kl_divergence, Normal.log_prob",
        replace={
            "LinearVariational": """class LinearVariational(nn.Module):
    def __init__(self, in_features, out_features, prior_sigma=1.0):
        super().__init__()
        self.prior = torch.distributions.Normal(0.0, prior_sigma)
        self.weight_mu = nn.Parameter(0.1 * torch.randn(out_features, in_features))
        self.weight_rho = nn.Parameter(-4.0 * torch.ones(out_features, in_features))
        self.bias_mu = nn.Parameter(torch.zeros(out_features))
        self.bias_rho = nn.Parameter(-4.0 * torch.ones(out_features))

    def _q(self):
        D = torch.distributions
        return (D.Normal(self.weight_mu, F.softplus(self.weight_rho)),
                D.Normal(self.bias_mu, F.softplus(self.bias_rho)))

    def forward(self, x):
        qw, qb = self._q()
        return F.linear(x, qw.rsample(), qb.rsample())

    def kl_divergence(self):
        return sum(torch.distributions.kl_divergence(q, torch.distributions.Normal(torch.zeros_like(q.loc), self.prior.scale)).sum()
                   for q in self._q())
""",
            "negative_elbo": elbo(
                "    dist = torch.distributions.Normal(model(x), noise_sigma)\n"
                "    kl = 0.0\n"
                "    for module in model.modules():\n"
                "        if isinstance(module, LinearVariational):\n"
                "            kl = kl + module.kl_divergence()\n"
                "    return -dist.log_prob(y).sum() + kl_weight * kl"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="log1p(exp) softplus, explicit eps with torch.randn, variance form of the KL, hasattr lookup",
        replace={
            "LinearVariational": layer(
                init="""    def __init__(self, in_features, out_features, prior_sigma=1.0):
        super(LinearVariational, self).__init__()
        self.log_prior_sigma = math.log(prior_sigma)
        self.weight_mu = nn.Parameter(torch.randn(out_features, in_features) / in_features ** 0.5)
        self.weight_rho = nn.Parameter(torch.full((out_features, in_features), -3.0))
        self.bias_mu = nn.Parameter(torch.zeros(out_features))
        self.bias_rho = nn.Parameter(torch.full((out_features,), -3.0))
""",
                forward="""    def forward(self, x):
        sw = torch.log1p(torch.exp(self.weight_rho))
        sb = torch.log1p(torch.exp(self.bias_rho))
        ew = torch.randn(self.weight_mu.shape, dtype=self.weight_mu.dtype)
        eb = torch.randn(self.bias_mu.shape, dtype=self.bias_mu.dtype)
        return torch.matmul(x, (self.weight_mu + sw * ew).t()) + (self.bias_mu + sb * eb)
""",
                kl="""    def kl_divergence(self):
        mu = torch.cat([self.weight_mu.flatten(), self.bias_mu])
        var = torch.log1p(torch.exp(torch.cat([self.weight_rho.flatten(), self.bias_rho]))) ** 2
        pvar = math.exp(2 * self.log_prior_sigma)
        return 0.5 * torch.sum(math.log(pvar) - torch.log(var) + (var + mu ** 2) / pvar - 1)
""",
            ),
            "negative_elbo": elbo(
                "    mean = model(x)\n"
                "    n = y.numel()\n"
                "    nll = n * math.log(noise_sigma * math.sqrt(2 * math.pi)) + ((y - mean) ** 2).sum() / (2 * noise_sigma ** 2)\n"
                "    kls = [m.kl_divergence() for m in model.modules() if hasattr(m, 'kl_divergence')]\n"
                "    return nll + kl_weight * torch.stack([torch.as_tensor(k) for k in kls]).sum()"
            ),
        },
    ),
    Case(
        "correct_local_reparameterisation",
        "full",
        description="the local reparameterisation trick (samples the pre-activations; same marginals per row)",
        replace={
            "LinearVariational": layer(
                forward="""    def forward(self, x):
        mean = F.linear(x, self.weight_mu, self.bias_mu)
        var = F.linear(x ** 2, F.softplus(self.weight_rho) ** 2, F.softplus(self.bias_rho) ** 2)
        return mean + var.sqrt() * torch.randn_like(mean)
"""
            ),
        },
    ),
]

WRONG_FORWARD = [
    ("sigma_exp_rho", "sigma = exp(rho) where softplus is specified",
     """    def forward(self, x):
        weight = self.weight_mu + torch.exp(self.weight_rho) * torch.randn_like(self.weight_mu)
        bias = self.bias_mu + torch.exp(self.bias_rho) * torch.randn_like(self.bias_mu)
        return x @ weight.T + bias
"""),
    ("sampled_once", "weights sampled once and reused (no fresh sample per forward)",
     """    def forward(self, x):
        if not hasattr(self, "_eps"):
            self._eps = (torch.randn_like(self.weight_mu), torch.randn_like(self.bias_mu))
        weight = self.weight_mu + F.softplus(self.weight_rho) * self._eps[0].to(self.weight_mu.dtype)
        bias = self.bias_mu + F.softplus(self.bias_rho) * self._eps[1].to(self.bias_mu.dtype)
        return x @ weight.T + bias
"""),
    ("torch_normal", "torch.normal(mu, sigma): no reparameterisation, no gradient to mu and rho",
     """    def forward(self, x):
        weight = torch.normal(self.weight_mu, F.softplus(self.weight_rho))
        bias = torch.normal(self.bias_mu, F.softplus(self.bias_rho))
        return x @ weight.T + bias
"""),
    ("bias_not_sampled", "the bias is its mean (only the weights are sampled)",
     """    def forward(self, x):
        weight = self.weight_mu + F.softplus(self.weight_rho) * torch.randn_like(self.weight_mu)
        return x @ weight.T + self.bias_mu
"""),
    ("one_eps", "one noise value shared by every weight",
     """    def forward(self, x):
        eps = torch.randn(())
        weight = self.weight_mu + F.softplus(self.weight_rho) * eps
        bias = self.bias_mu + F.softplus(self.bias_rho) * eps
        return x @ weight.T + bias
"""),
    ("variance_as_scale", "softplus(rho) used as a variance: eps scaled by sigma^2",
     """    def forward(self, x):
        weight = self.weight_mu + F.softplus(self.weight_rho) ** 2 * torch.randn_like(self.weight_mu)
        bias = self.bias_mu + F.softplus(self.bias_rho) ** 2 * torch.randn_like(self.bias_mu)
        return x @ weight.T + bias
"""),
    ("detached_sample", "the sample detached from the graph (weights.data)",
     """    def forward(self, x):
        weight = (self.weight_mu + F.softplus(self.weight_rho) * torch.randn_like(self.weight_mu)).detach()
        bias = (self.bias_mu + F.softplus(self.bias_rho) * torch.randn_like(self.bias_mu)).detach()
        return x @ weight.T + bias
"""),
]

WRONG_INIT = [
    ("transposed_shapes", "weights of shape (in, out) instead of (out, in)",
     """    def __init__(self, in_features, out_features, prior_sigma=1.0):
        super().__init__()
        self.prior_sigma = prior_sigma
        self.weight_mu = nn.Parameter(0.1 * torch.randn(in_features, out_features))
        self.weight_rho = nn.Parameter(torch.full((in_features, out_features), -5.0))
        self.bias_mu = nn.Parameter(torch.zeros(out_features))
        self.bias_rho = nn.Parameter(torch.full((out_features,), -5.0))
""",
     """    def forward(self, x):
        weight = self.weight_mu + F.softplus(self.weight_rho) * torch.randn_like(self.weight_mu)
        bias = self.bias_mu + F.softplus(self.bias_rho) * torch.randn_like(self.bias_mu)
        return x @ weight + bias
"""),
]

WRONG_KL = [
    ("no_biases", "the KL of the biases omitted",
     """    def kl_divergence(self):
        sigma = F.softplus(self.weight_rho)
        return (math.log(self.prior_sigma) - torch.log(sigma)
                + (sigma**2 + self.weight_mu**2) / (2 * self.prior_sigma**2) - 0.5).sum()
"""),
    ("ignores_prior_sigma", "the KL to N(0, 1) whatever prior_sigma",
     """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            total = total + (-torch.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5).sum()
        return total
"""),
    ("swapped", "KL(p || q) instead of KL(q || p)",
     """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            total = total + (torch.log(sigma) - math.log(self.prior_sigma)
                             + (self.prior_sigma**2 + mu**2) / (2 * sigma**2) - 0.5).sum()
        return total
"""),
    ("mean_not_sum", "the mean over parameters instead of the sum",
     """    def kl_divergence(self):
        parts = []
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            parts.append((math.log(self.prior_sigma) - torch.log(sigma)
                          + (sigma**2 + mu**2) / (2 * self.prior_sigma**2) - 0.5).flatten())
        return torch.cat(parts).mean()
"""),
    ("no_half", "the -1/2 constant dropped",
     """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            total = total + (math.log(self.prior_sigma) - torch.log(sigma)
                             + (sigma**2 + mu**2) / (2 * self.prior_sigma**2)).sum()
        return total
"""),
    ("log_var_for_log_sd", "log sigma^2 where log sigma belongs (a missing 1/2)",
     """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = F.softplus(rho)
            total = total + (2 * math.log(self.prior_sigma) - 2 * torch.log(sigma)
                             + (sigma**2 + mu**2) / (2 * self.prior_sigma**2) - 0.5).sum()
        return total
"""),
    ("exp_rho_in_kl", "sigma = exp(rho) in the KL where softplus is specified",
     """    def kl_divergence(self):
        total = 0.0
        for mu, rho in ((self.weight_mu, self.weight_rho), (self.bias_mu, self.bias_rho)):
            sigma = torch.exp(rho)
            total = total + (math.log(self.prior_sigma) - torch.log(sigma)
                             + (sigma**2 + mu**2) / (2 * self.prior_sigma**2) - 0.5).sum()
        return total
"""),
]

WRONG_ELBO = [
    ("mean_nll", "the mean NLL where the sum is specified",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).mean()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("kl_not_weighted", "the KL not multiplied by kl_weight",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl"),
    ("first_layer_only", "the KL of the first variational layer only",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = next(m for m in model.modules() if isinstance(m, LinearVariational)).kl_divergence()\n"
     "    return nll + kl_weight * kl"),
    ("no_constant", "the Gaussian constant 1/2 log(2 pi) dropped",
     "    f = model(x)\n"
     "    nll = (math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("sigma_as_variance", "noise_sigma used as the variance",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi * noise_sigma) + 0.5 * (y - f) ** 2 / noise_sigma).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("children_only", "model.children() instead of model.modules(): nested layers missed",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.children() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("nll_under_no_grad", "the likelihood term computed under torch.no_grad(): only the KL trains (issue #11)",
     "    with torch.no_grad():\n"
     "        f = model(x)\n"
     "        nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("kl_as_float", "the KL added as a Python float (.item()): the value is right, the KL does not train",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence().item() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll + kl_weight * kl"),
    ("kl_subtracted", "the KL subtracted instead of added",
     "    f = model(x)\n"
     "    nll = (0.5 * math.log(2 * math.pi) + math.log(noise_sigma) + 0.5 * ((y - f) / noise_sigma) ** 2).sum()\n"
     "    kl = sum(m.kl_divergence() for m in model.modules() if isinstance(m, LinearVariational))\n"
     "    return nll - kl_weight * kl"),
]

WRONG = (
    mistakes("fwd", "LinearVariational", (FWD,), WRONG_FORWARD, wrap=lambda b: layer(forward=b))
    + mistakes("init", "LinearVariational", (FWD,), [(n, d, layer(init=i, forward=f)) for n, d, i, f in WRONG_INIT])
    + mistakes("kl", "LinearVariational", (KL,), WRONG_KL, wrap=lambda b: layer(kl=b))
    + mistakes("elbo", "negative_elbo", (ELBO,), WRONG_ELBO, wrap=elbo)
)

ROBUSTNESS = robustness_cases(
    tamper=("test_negative_elbo", {"negative_elbo": elbo("    return torch.tensor(0.0)")}, (ELBO,)),
    edit_correct="test_kl_divergence",
    delete=("test_kl_divergence",
            {"LinearVariational": layer(kl="    def kl_divergence(self):\n        return torch.tensor(0.0)\n")}, (KL,)),
    raises=("negative_elbo", elbo("    return 0"), (ELBO,)),
    raises_name="raises_at_definition",
    never_returns=("LinearVariational",
                   layer(kl="    def kl_divergence(self):\n        while True:\n            pass\n"), (KL,)),
    descriptions={"infinite_loop": "a KL that never returns: the cell times out, the rest is graded"},
)

CASES = CORRECT + WRONG + ROBUSTNESS
