"""Grading contract of ex04_reparameterization: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex04_reparameterization"

REPAR, PATH, SCORE = "test_reparameterize", "test_pathwise_gradient", "test_score_function_gradient"


def repar(body: str) -> str:
    return f"def reparameterize(mu, log_var, eps):\n{body}\n"


def pathwise(body: str) -> str:
    return f"def pathwise_gradient(f, mu, log_var, n_samples, generator):\n{body}\n"


def score(body: str) -> str:
    return f"def score_function_gradient(f, mu, log_var, n_samples, generator):\n{body}\n"


CORRECT = [
    Case(
        "correct_distributions",
        "full",
        description="sqrt(exp(log_var)); backward() on fresh leaves with noise from Tensor.normal_; "
        "score by autograd of torch.distributions' log_prob at detached samples",
        replace={
            "reparameterize": repar("    return mu + torch.sqrt(torch.exp(log_var)) * eps"),
            "pathwise_gradient": pathwise(
                "    m = mu.detach().clone().requires_grad_()\n"
                "    lv = log_var.detach().clone().requires_grad_()\n"
                "    eps = torch.empty((n_samples,) + tuple(mu.shape), dtype=mu.dtype).normal_(generator=generator)\n"
                "    loss = f(reparameterize(m, lv, eps)).mean()\n"
                "    loss.backward()\n"
                "    return m.grad, lv.grad"
            ),
            "score_function_gradient": score(
                "    m = mu.detach().clone().requires_grad_(True)\n"
                "    lv = log_var.detach().clone().requires_grad_(True)\n"
                "    q = torch.distributions.Normal(m, torch.exp(0.5 * lv))\n"
                "    eps = torch.randn(n_samples, len(mu), generator=generator, dtype=mu.dtype)\n"
                "    z = (mu.detach() + torch.exp(0.5 * log_var.detach()) * eps)\n"
                "    with torch.no_grad():\n"
                "        fz = f(z)\n"
                "    surrogate = (fz * q.log_prob(z).sum(-1)).mean()\n"
                "    g_mu, g_lv = torch.autograd.grad(surrogate, (m, lv))\n"
                "    return (g_mu, g_lv)"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="addcmul; pathwise by the chain rule through z = mu - sigma*eps (valid in distribution); "
        "explicit scores written in z, float32 noise cast to mu's dtype",
        replace={
            "reparameterize": repar("    return torch.addcmul(mu, torch.exp(log_var / 2), eps)"),
            "pathwise_gradient": pathwise(
                "    sigma = torch.exp(log_var.detach() / 2)\n"
                "    eps = torch.normal(0.0, 1.0, size=(n_samples, mu.shape[0]), generator=generator).to(mu.dtype)\n"
                "    z = (mu.detach() - sigma * eps).requires_grad_(True)\n"
                "    (slope,) = torch.autograd.grad(f(z).sum(), z)\n"
                "    grad_mu = slope.mean(dim=0)\n"
                "    grad_log_var = (slope * (-0.5 * sigma * eps)).mean(dim=0)\n"
                "    return grad_mu.detach(), grad_log_var.detach()"
            ),
            "score_function_gradient": score(
                "    mu, log_var = mu.detach(), log_var.detach()\n"
                "    var = log_var.exp()\n"
                "    z = mu + var.sqrt() * torch.randn(n_samples, mu.numel(), generator=generator).to(mu.dtype)\n"
                "    w = f(z).detach().reshape(-1, 1)\n"
                "    d_mu = (z - mu) / var\n"
                "    d_lv = -0.5 + 0.5 * (z - mu) ** 2 / var\n"
                "    return (w * d_mu).sum(0) / n_samples, (w * d_lv).sum(0) / n_samples"
            ),
        },
    ),
]

WRONG_REPAR = [
    ("variance_not_sd", "exp(log_var) * eps: the variance instead of the standard deviation",
     "    return mu + torch.exp(log_var) * eps"),
    ("half_outside", "0.5 * exp(log_var) * eps: the 1/2 outside the exponential",
     "    return mu + 0.5 * torch.exp(log_var) * eps"),
    ("minus_sigma_eps", "mu - sigma * eps: valid in distribution, but not the stated function of eps",
     "    return mu - torch.exp(0.5 * log_var) * eps"),
    ("log_var_as_sd", "log_var used as the standard deviation",
     "    return mu + log_var * eps"),
    ("precision", "exp(-log_var / 2): divided by sigma",
     "    return mu + torch.exp(-0.5 * log_var) * eps"),
    ("fresh_noise", "eps ignored, new noise drawn",
     "    return mu + torch.exp(0.5 * log_var) * torch.randn_like(eps)"),
    ("not_differentiable", "computed in numpy and wrapped in a new tensor",
     "    z = mu.detach().numpy() + np.exp(0.5 * log_var.detach().numpy()) * eps.detach().numpy()\n"
     "    return torch.tensor(z)"),
]

_PATH_HEAD = (
    "    mu = mu.detach().clone().requires_grad_(True)\n"
    "    log_var = log_var.detach().clone().requires_grad_(True)\n"
)
WRONG_PATH = [
    ("variance_not_sd", "z = mu + exp(log_var) * eps inside the estimator",
     _PATH_HEAD
     + "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    z = mu + torch.exp(log_var) * eps\n"
     "    return torch.autograd.grad(f(z).mean(), (mu, log_var))"),
    ("grad_wrt_sigma", "the gradient with respect to sigma instead of log_var",
     "    mu = mu.detach().clone().requires_grad_(True)\n"
     "    sigma = torch.exp(0.5 * log_var.detach()).requires_grad_(True)\n"
     "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    return torch.autograd.grad(f(mu + sigma * eps).mean(), (mu, sigma))"),
    ("sum_not_mean", "the sum over samples instead of the mean",
     _PATH_HEAD
     + "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    return torch.autograd.grad(f(reparameterize(mu, log_var, eps)).sum(), (mu, log_var))"),
    ("ignores_generator", "noise from the global generator, not `generator`",
     _PATH_HEAD
     + "    eps = torch.randn(n_samples, mu.shape[-1], dtype=mu.dtype)\n"
     "    return torch.autograd.grad(f(reparameterize(mu, log_var, eps)).mean(), (mu, log_var))"),
    ("sample_not_rsample", "q.sample() instead of a reparameterized sample: no gradient, zeros returned",
     "    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))\n"
     "    z = q.sample((n_samples,))\n"
     "    loss = f(z).mean()\n"
     "    if not loss.requires_grad:\n"
     "        return torch.zeros_like(mu), torch.zeros_like(log_var)\n"
     "    return torch.autograd.grad(loss, (mu, log_var))"),
    ("chain_rule_no_half", "chain rule by hand with dz/dlog_var = sigma * eps (the 1/2 missing)",
     "    sigma = torch.exp(0.5 * log_var.detach())\n"
     "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    z = (mu.detach() + sigma * eps).requires_grad_(True)\n"
     "    (slope,) = torch.autograd.grad(f(z).sum(), z)\n"
     "    return slope.mean(0), (slope * sigma * eps).mean(0)"),
    ("accumulates_grad", "backward() into the caller's tensors: gradients accumulate from call to call",
     "    mu.requires_grad_(True)\n"
     "    log_var.requires_grad_(True)\n"
     "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    f(reparameterize(mu, log_var, eps)).mean().backward()\n"
     "    return mu.grad.clone(), log_var.grad.clone()"),
]

_SCORE_HEAD = (
    "    mu, log_var = mu.detach(), log_var.detach()\n"
    "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
    "    sigma = torch.exp(0.5 * log_var)\n"
    "    z = mu + sigma * eps\n"
    "    v = f(z).detach()[:, None]\n"
)
WRONG_SCORE = [
    ("no_score", "f averaged without the gradient of log q (f * 1)",
     _SCORE_HEAD + "    return v.mean(0).expand_as(mu).clone(), v.mean(0).expand_as(log_var).clone()"),
    ("chain_rule_missing", "d log q / d sigma^2 used for log_var (chain rule factor sigma^2 missing)",
     _SCORE_HEAD + "    return (v * eps / sigma).mean(0), (v * (eps ** 2 - 1) / (2 * sigma ** 2)).mean(0)"),
    ("grad_wrt_sigma", "d log q / d sigma instead of d log q / d log_var",
     _SCORE_HEAD + "    return (v * eps / sigma).mean(0), (v * (eps ** 2 - 1) / sigma).mean(0)"),
    ("missing_half", "the 1/2 missing in d log q / d log_var",
     _SCORE_HEAD + "    return (v * eps / sigma).mean(0), (v * (eps ** 2 - 1)).mean(0)"),
    ("no_division_by_var", "d log q / d mu = z - mu (division by sigma^2 forgotten)",
     _SCORE_HEAD + "    return (v * (z - mu)).mean(0), (v * 0.5 * (eps ** 2 - 1)).mean(0)"),
    ("sum_not_mean", "the sum over samples instead of the mean",
     _SCORE_HEAD + "    return (v * eps / sigma).sum(0), (v * 0.5 * (eps ** 2 - 1)).sum(0)"),
    ("ignores_generator", "noise from the global generator",
     "    mu, log_var = mu.detach(), log_var.detach()\n"
     "    eps = torch.randn(n_samples, mu.shape[-1], dtype=mu.dtype)\n"
     "    sigma = torch.exp(0.5 * log_var)\n"
     "    v = f(mu + sigma * eps).detach()[:, None]\n"
     "    return (v * eps / sigma).mean(0), (v * 0.5 * (eps ** 2 - 1)).mean(0)"),
    ("f_not_detached", "surrogate f(z) * log q(z) differentiated through z as well (f not detached)",
     "    m = mu.detach().clone().requires_grad_(True)\n"
     "    lv = log_var.detach().clone().requires_grad_(True)\n"
     "    eps = torch.randn(n_samples, mu.shape[-1], generator=generator, dtype=mu.dtype)\n"
     "    z = reparameterize(m, lv, eps)\n"
     "    log_q = torch.distributions.Normal(m, torch.exp(0.5 * lv)).log_prob(z).sum(-1)\n"
     "    fz = f(z)\n"
     "    if not fz.requires_grad:\n"
     "        fz = fz + 0 * z.sum(-1)\n"
     "    return torch.autograd.grad((fz * log_q).mean(), (m, lv))"),
]

WRONG = (
    mistakes("repar", "reparameterize", (REPAR,), WRONG_REPAR, wrap=repar)
    + mistakes("path", "pathwise_gradient", (PATH,), WRONG_PATH, wrap=pathwise)
    + mistakes("score", "score_function_gradient", (SCORE,), WRONG_SCORE, wrap=score)
)

# A cell that never ends is graded by the same timeout path in every assignment:
# ex01, ex02, ex05 and ex06 keep that case (20-40 s each), and tests/test_grading_safety.py
# runs the sleeper and CPU-burner budget batch.
ROBUSTNESS = robustness_cases(
    tamper=("test_score_function_gradient",
            {"score_function_gradient": score("    return torch.zeros_like(mu), torch.zeros_like(log_var)")}, (SCORE,)),
    edit_correct="test_reparameterize",
    delete=("test_pathwise_gradient", {"pathwise_gradient": pathwise("    return mu, log_var")}, (PATH,)),
    raises=("reparameterize", repar("    return mu"), (REPAR,)),
)

CASES = CORRECT + WRONG + ROBUSTNESS
