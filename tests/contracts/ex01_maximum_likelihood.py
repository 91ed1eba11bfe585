"""Grading contract of ex01_maximum_likelihood: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex01_maximum_likelihood"

GAUSS, BERN, REW = "test_gaussian_nll", "test_bernoulli_nll", "test_reweight_probabilities"


def gaussian(body: str) -> str:
    return f"def gaussian_nll(y, mu, log_var):\n{body}\n"


def bernoulli(body: str) -> str:
    return f"def bernoulli_nll(y, logits):\n{body}\n"


def reweight(body: str) -> str:
    return f"def reweight_probabilities(p, train_prior, target_prior):\n{body}\n"


CORRECT = [
    Case(
        "correct_distributions",
        "full",
        description="built on torch.distributions / F.binary_cross_entropy_with_logits / log-odds shift",
        replace={
            "gaussian_nll": gaussian(
                "    return -torch.distributions.Normal(mu, torch.exp(0.5 * log_var)).log_prob(y).mean()"
            ),
            "bernoulli_nll": bernoulli("    return F.binary_cross_entropy_with_logits(logits, y)"),
            "reweight_probabilities": reweight(
                "    shift = math.log(target_prior / (1 - target_prior)) - math.log(train_prior / (1 - train_prior))\n"
                "    return torch.sigmoid(torch.logit(p) + shift)"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="explicit broadcasting, logsigmoid, odds in numpy",
        replace={
            "gaussian_nll": gaussian(
                "    y, mu, log_var = torch.broadcast_tensors(y, mu, log_var)\n"
                "    var = log_var.exp()\n"
                "    per_point = 0.5 * torch.log(2 * torch.pi * var) + 0.5 * (y - mu).pow(2) / var\n"
                "    return per_point.sum() / per_point.numel()"
            ),
            "bernoulli_nll": bernoulli(
                "    return -(y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).mean()"
            ),
            "reweight_probabilities": reweight(
                "    p = np.asarray(p, dtype=float)\n"
                "    odds = p / (1 - p) * (target_prior / (1 - target_prior)) / (train_prior / (1 - train_prior))\n"
                "    return odds / (1 + odds)"
            ),
        },
    ),
]

WRONG_GAUSSIAN = [
    ("no_constant", "the constant 0.5*log(2*pi) dropped",
     "    return 0.5 * (log_var + (y - mu) ** 2 / torch.exp(log_var)).mean()"),
    ("sum_not_mean", "a sum instead of a mean",
     "    return 0.5 * (math.log(2 * math.pi) + log_var + (y - mu) ** 2 / torch.exp(log_var)).sum()"),
    ("var_as_logvar", "log_var used as the variance",
     "    return 0.5 * (math.log(2 * math.pi) + torch.log(log_var.abs() + 1e-12) + (y - mu) ** 2 / log_var.abs().clamp_min(1e-12)).mean()"),
    ("sigma_is_exp_logvar", "exp(log_var) taken as sigma, not sigma^2",
     "    sigma = torch.exp(log_var)\n"
     "    return (0.5 * math.log(2 * math.pi) + torch.log(sigma) + (y - mu) ** 2 / (2 * sigma ** 2)).mean()"),
    ("missing_half_logvar", "the 1/2 in front of log sigma^2 missing",
     "    return (0.5 * math.log(2 * math.pi) + log_var + 0.5 * (y - mu) ** 2 / torch.exp(log_var)).mean()"),
    ("missing_half_square", "the 1/2 in front of the squared error missing",
     "    return (0.5 * math.log(2 * math.pi) + 0.5 * log_var + (y - mu) ** 2 / torch.exp(log_var)).mean()"),
    ("sign_flipped", "the log-likelihood returned instead of its negative",
     "    return -0.5 * (math.log(2 * math.pi) + log_var + (y - mu) ** 2 / torch.exp(log_var)).mean()"),
    ("not_differentiable", "the value computed in numpy and wrapped in a new tensor",
     "    v = 0.5 * (np.log(2 * np.pi) + log_var.detach().numpy() + (y.detach().numpy() - mu.detach().numpy()) ** 2 / np.exp(log_var.detach().numpy()))\n"
     "    return torch.tensor(v.mean())"),
    ("no_broadcast_flatten", "inputs flattened before combining (breaks broadcasting)",
     "    y, mu, log_var = y.reshape(-1), mu.reshape(-1), log_var.reshape(-1)\n"
     "    n = min(len(y), len(mu), len(log_var))\n"
     "    y, mu, log_var = y[:n], mu[:n], log_var[:n]\n"
     "    return 0.5 * (math.log(2 * math.pi) + log_var + (y - mu) ** 2 / torch.exp(log_var)).mean()"),
]

WRONG_BERNOULLI = [
    ("naive_log_sigmoid", "log(sigmoid(l)) computed naively: overflows for large logits",
     "    p = torch.sigmoid(logits)\n"
     "    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()"),
    ("bce_on_sigmoid", "F.binary_cross_entropy on sigmoid: clamps log at -100, wrong for large logits",
     "    return F.binary_cross_entropy(torch.sigmoid(logits), y)"),
    ("sum_not_mean", "a sum instead of a mean",
     "    return F.binary_cross_entropy_with_logits(logits, y, reduction='sum')"),
    ("sign_flipped", "the sign flipped",
     "    return (y * F.logsigmoid(logits) + (1 - y) * F.logsigmoid(-logits)).mean()"),
    ("labels_swapped", "the labels swapped (y and 1 - y)",
     "    return -((1 - y) * F.logsigmoid(logits) + y * F.logsigmoid(-logits)).mean()"),
    ("clamped_logits", "logits clamped to [-20, 20] for 'stability'",
     "    logits = logits.clamp(-20, 20)\n"
     "    return (F.softplus(logits) - y * logits).mean()"),
]

WRONG_REWEIGHT = [
    ("not_normalised", "multiplied by the prior ratio without renormalising",
     "    return p * target_prior / train_prior"),
    ("inverted_ratio", "the prior ratio inverted",
     "    w1, w0 = train_prior / target_prior, (1 - train_prior) / (1 - target_prior)\n"
     "    return p * w1 / (p * w1 + (1 - p) * w0)"),
    ("class0_side_unchanged", "only the class-1 side reweighted",
     "    w1 = target_prior / train_prior\n"
     "    return p * w1 / (p * w1 + (1 - p))"),
    ("returns_class0", "the probability of class 0 returned",
     "    w1, w0 = target_prior / train_prior, (1 - target_prior) / (1 - train_prior)\n"
     "    return (1 - p) * w0 / (p * w1 + (1 - p) * w0)"),
    ("logodds_wrong_sign", "the log-odds shifted the wrong way",
     "    shift = math.log(target_prior / (1 - target_prior)) - math.log(train_prior / (1 - train_prior))\n"
     "    return torch.sigmoid(torch.logit(p) - shift)"),
    ("target_only", "the training prior ignored",
     "    return p * target_prior / (p * target_prior + (1 - p) * (1 - target_prior))"),
]

# the three functions are independent: a mistake in one costs only its own test
WRONG = (
    mistakes("gauss", "gaussian_nll", (GAUSS,), WRONG_GAUSSIAN, wrap=gaussian, must_keep=(BERN, REW))
    + mistakes("bern", "bernoulli_nll", (BERN,), WRONG_BERNOULLI, wrap=bernoulli, must_keep=(GAUSS, REW))
    + mistakes("rew", "reweight_probabilities", (REW,), WRONG_REWEIGHT, wrap=reweight, must_keep=(GAUSS, BERN))
)

ROBUSTNESS = robustness_cases(
    tamper=("test_gaussian_nll", {"gaussian_nll": gaussian("    return torch.tensor(0.0)")}, (GAUSS,)),
    edit_correct="test_bernoulli_nll",
    delete=("test_reweight_probabilities", {"reweight_probabilities": reweight("    return p")}, (REW,)),
    raises=("gaussian_nll", gaussian("    return 0"), (GAUSS,)),
    never_returns=("bernoulli_nll", bernoulli("    while True:\n        pass"), (BERN,)),
)

CASES = CORRECT + WRONG + ROBUSTNESS
