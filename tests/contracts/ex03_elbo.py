"""Grading contract of ex03_elbo: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex03_elbo"

KL, MC, ELBO = "test_kl_diag_gaussians", "test_monte_carlo_kl", "test_elbo"


def kl(body: str) -> str:
    return f"def kl_diag_gaussians(mu_q, log_var_q, mu_p, log_var_p):\n{body}\n"


def mc(body: str) -> str:
    return f"def monte_carlo_kl(mu_q, log_var_q, mu_p, log_var_p, n_samples, generator):\n{body}\n"


def elbo(body: str) -> str:
    return f"def elbo(X, y, q_mean, q_log_var, prior_var, noise_var):\n{body}\n"


# ----------------------------------------------------------------------------- building blocks
_KL_OK = (
    "    return 0.5 * (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p) - 1.0).sum(-1)"
)


def _mc_body(sample: str = "mu_q + torch.exp(0.5 * log_var_q) * eps", ratio: str = "lq - lp",
             eps: str = "torch.randn((n_samples,) + tuple(mu_q.shape), generator=generator, dtype=mu_q.dtype)",
             reduce: str = ".sum(-1).mean(0)") -> str:
    return (
        "    mu_q, log_var_q, mu_p, log_var_p = torch.broadcast_tensors(mu_q, log_var_q, mu_p, log_var_p)\n"
        f"    eps = {eps}\n"
        f"    z = {sample}\n"
        "    lq = -0.5 * (math.log(2 * math.pi) + log_var_q + (z - mu_q) ** 2 / torch.exp(log_var_q))\n"
        "    lp = -0.5 * (math.log(2 * math.pi) + log_var_p + (z - mu_p) ** 2 / torch.exp(log_var_p))\n"
        f"    return ({ratio}){reduce}"
    )


def _elbo_body(const: str = "-0.5 * n * math.log(2 * math.pi * noise_var)",
               trace: str = "((X ** 2).sum(0) * torch.exp(q_log_var)).sum()",
               fit: str = "0.5 * (resid @ resid + trace) / noise_var",
               kl_term: str = "kl_diag_gaussians(q_mean, q_log_var, torch.zeros_like(q_mean), torch.full_like(q_mean, math.log(prior_var)))",
               combine: str = "ell - kl") -> str:
    return (
        "    n = y.shape[0]\n"
        "    resid = y - X @ q_mean\n"
        f"    trace = {trace}\n"
        f"    ell = {const} - {fit}\n"
        f"    kl = {kl_term}\n"
        f"    return {combine}"
    )


CORRECT = [
    Case(
        "correct_distributions",
        "full",
        description="built on torch.distributions (KL, log_prob) with generator noise; ELBO as log-likelihood of the mean minus a trace term",
        replace={
            "kl_diag_gaussians": kl(
                "    from torch.distributions import Independent, Normal, kl_divergence\n"
                "    mu_q, log_var_q, mu_p, log_var_p = torch.broadcast_tensors(mu_q, log_var_q, mu_p, log_var_p)\n"
                "    q = Independent(Normal(mu_q, torch.exp(0.5 * log_var_q)), 1)\n"
                "    p = Independent(Normal(mu_p, torch.exp(0.5 * log_var_p)), 1)\n"
                "    return kl_divergence(q, p)"
            ),
            "monte_carlo_kl": mc(
                "    from torch.distributions import Normal\n"
                "    shape = torch.broadcast_shapes(mu_q.shape, log_var_q.shape, mu_p.shape, log_var_p.shape)\n"
                "    sd_q = torch.exp(0.5 * log_var_q)\n"
                "    eps = torch.randn(shape + (n_samples,), generator=generator, dtype=mu_q.dtype)\n"
                "    z = (mu_q + sd_q * eps.movedim(-1, 0))  # (S, ..., D)\n"
                "    q, p = Normal(mu_q, sd_q), Normal(mu_p, torch.exp(0.5 * log_var_p))\n"
                "    return (q.log_prob(z) - p.log_prob(z)).sum(-1).sum(0) / n_samples"
            ),
            "elbo": elbo(
                "    from torch.distributions import Normal\n"
                "    v = q_log_var.exp()\n"
                "    ll_at_mean = Normal(X @ q_mean, math.sqrt(noise_var)).log_prob(y).sum()\n"
                "    ell = ll_at_mean - 0.5 * torch.einsum('nd,d->', X * X, v) / noise_var\n"
                "    kl = 0.5 * ((v + q_mean ** 2) / prior_var - 1 - q_log_var + math.log(prior_var)).sum()\n"
                "    return ell - kl"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="KL as sum of per-dimension terms in another arrangement; MC over a loop of samples; ELBO with an explicit trace",
        replace={
            "kl_diag_gaussians": kl(
                "    var_q, var_p = log_var_q.exp(), log_var_p.exp()\n"
                "    per_dim = 0.5 * torch.log(var_p / var_q) + (var_q + (mu_q - mu_p) ** 2) / (2 * var_p) - 0.5\n"
                "    return torch.sum(per_dim, dim=-1)"
            ),
            "monte_carlo_kl": mc(
                "    mu_q, log_var_q, mu_p, log_var_p = torch.broadcast_tensors(mu_q, log_var_q, mu_p, log_var_p)\n"
                "    sd_q, sd_p = torch.exp(log_var_q / 2), torch.exp(log_var_p / 2)\n"
                "    total = torch.zeros(mu_q.shape[:-1], dtype=mu_q.dtype)\n"
                "    for _ in range(n_samples):\n"
                "        eps = torch.randn(mu_q.shape, generator=generator, dtype=torch.float64).to(mu_q.dtype)\n"
                "        z = mu_q + sd_q * eps\n"
                "        log_ratio = -torch.log(sd_q) - 0.5 * eps ** 2 + torch.log(sd_p) + 0.5 * ((z - mu_p) / sd_p) ** 2\n"
                "        total = total + log_ratio.sum(-1)\n"
                "    return total / n_samples"
            ),
            "elbo": elbo(
                "    n, d = X.shape\n"
                "    S = torch.diag(torch.exp(q_log_var))\n"
                "    r = y - X @ q_mean\n"
                "    ell = -n / 2 * math.log(2 * math.pi) - n / 2 * math.log(noise_var) - (r.dot(r) + torch.trace(X.T @ X @ S)) / (2 * noise_var)\n"
                "    kl = kl_diag_gaussians(q_mean, q_log_var, torch.zeros(d, dtype=q_mean.dtype), torch.tensor([math.log(prior_var)], dtype=q_mean.dtype))\n"
                "    return ell - kl"
            ),
        },
    ),
]

WRONG_KL = [
    ("swapped", "KL(p || q) computed instead of KL(q || p)",
     "    return 0.5 * (log_var_q - log_var_p + (torch.exp(log_var_p) + (mu_q - mu_p) ** 2) / torch.exp(log_var_q) - 1.0).sum(-1)"),
    ("missing_minus_one", "the -1 (or -D/2) dropped",
     "    return 0.5 * (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p)).sum(-1)"),
    ("missing_half", "the factor 1/2 dropped",
     "    return (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p) - 1.0).sum(-1)"),
    ("sigma_as_variance", "exp(log_var / 2), the standard deviation, used as the variance",
     "    vq, vp = torch.exp(0.5 * log_var_q), torch.exp(0.5 * log_var_p)\n"
     "    return 0.5 * (torch.log(vp) - torch.log(vq) + (vq + (mu_q - mu_p) ** 2) / vp - 1.0).sum(-1)"),
    ("mean_last_axis", "mean over the last axis instead of the sum",
     "    return 0.5 * (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p) - 1.0).mean(-1)"),
    ("vink_eq13", "Vink's eq. 13 for any p: 1/2 sum(1 + log var - mu^2 - var), the sign flipped",
     "    return -0.5 * (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p) - 1.0).sum(-1)"),
    ("sum_all_axes", "summed over every axis (no batch)",
     "    return 0.5 * (log_var_p - log_var_q + (torch.exp(log_var_q) + (mu_q - mu_p) ** 2) / torch.exp(log_var_p) - 1.0).sum()"),
]

WRONG_MC = [
    ("global_rng", "noise drawn from the global random state, the generator ignored",
     _mc_body(eps="torch.randn((n_samples,) + tuple(mu_q.shape), dtype=mu_q.dtype)")),
    ("wrong_sign", "log p - log q averaged (the sign flipped)", _mc_body(ratio="lp - lq")),
    ("variance_as_sd", "z = mu + exp(log_var) * eps: the variance used as the standard deviation",
     _mc_body(sample="mu_q + torch.exp(log_var_q) * eps")),
    ("sampled_from_p", "z drawn from p instead of q",
     _mc_body(sample="mu_p + torch.exp(0.5 * log_var_p) * eps")),
    ("mean_last_axis", "log-densities averaged over the last axis instead of summed",
     _mc_body(reduce=".mean(-1).mean(0)")),
    ("sum_over_samples", "summed over the samples instead of averaged", _mc_body(reduce=".sum(-1).sum(0)")),
    ("biased_divisor", "divided by n_samples - 1", _mc_body(reduce=".sum(-1).sum(0) / (n_samples - 1)")),
    ("reseeds_global", "torch.manual_seed fixed inside the function, the generator ignored",
     "    torch.manual_seed(0)\n" + _mc_body(eps="torch.randn((n_samples,) + tuple(mu_q.shape), dtype=mu_q.dtype)")),
]

WRONG_ELBO = [
    ("missing_kl", "the KL term dropped (expected log-likelihood only)", _elbo_body(combine="ell")),
    ("kl_added", "the KL added instead of subtracted", _elbo_body(combine="ell + kl")),
    ("missing_trace", "the variance (trace) term of the expected log-likelihood dropped",
     _elbo_body(trace="0.0")),
    ("noise_var_as_sd", "noise_var taken for a standard deviation", _elbo_body(
        const="-0.5 * n * math.log(2 * math.pi * noise_var ** 2)", fit="0.5 * (resid @ resid + trace) / noise_var ** 2")),
    ("no_constant", "the constant -N/2 log(2 pi s^2) dropped", _elbo_body(const="0.0")),
    ("kl_to_standard_normal", "KL to N(0, I) whatever prior_var",
     _elbo_body(kl_term="kl_diag_gaussians(q_mean, q_log_var, torch.zeros_like(q_mean), torch.zeros_like(q_mean))")),
    ("log_var_as_var", "q_log_var used as the variance in the trace term",
     _elbo_body(trace="((X ** 2).sum(0) * q_log_var).sum()")),
    ("missing_half_fit", "the 1/2 in front of the squared error dropped",
     _elbo_body(fit="(resid @ resid + trace) / noise_var")),
]

WRONG = (
    mistakes("kl", "kl_diag_gaussians", (KL,), WRONG_KL, wrap=kl)
    + mistakes("mc", "monte_carlo_kl", (MC,), WRONG_MC, wrap=mc)
    + mistakes("elbo", "elbo", (ELBO,), WRONG_ELBO, wrap=elbo)
)

# A cell that never ends is graded by the same timeout path in every assignment:
# ex01, ex02, ex05 and ex06 keep that case (20-40 s each), and tests/test_grading_safety.py
# runs the sleeper and CPU-burner budget batch.
ROBUSTNESS = robustness_cases(
    tamper=("test_kl_diag_gaussians", {"kl_diag_gaussians": kl("    return mu_q.sum(-1) * 0")}, (KL,)),
    edit_correct="test_elbo",
    delete=("test_monte_carlo_kl", {"monte_carlo_kl": mc("    return torch.zeros(mu_q.shape[:-1])")}, (MC,)),
    raises=("kl_diag_gaussians", kl(_KL_OK), (KL,)),
)

CASES = CORRECT + WRONG + ROBUSTNESS
