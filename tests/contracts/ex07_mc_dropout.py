"""Grading contract of ex07_mc_dropout: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex07_mc_dropout"

PRED, LL = "test_mc_dropout_predict", "test_mc_log_likelihood"


def predict(body: str) -> str:
    return f"def mc_dropout_predict(model, x, n_samples):\n{body}\n"


def loglik(body: str) -> str:
    return f"def mc_log_likelihood(mu_samples, y, tau):\n{body}\n"


CORRECT = [
    Case(
        "correct_batched_distributions",
        "full",
        description="one batched pass over x repeated T times, unbiased std; mixture via torch.distributions",
        replace={
            "mc_dropout_predict": predict(
                "    saved = [(m, m.training) for m in model.modules()]\n"
                "    model.eval()\n"
                "    model.apply(lambda m: m.train() if isinstance(m, nn.Dropout) else None)\n"
                "    with torch.no_grad():\n"
                "        out = model(x.repeat(n_samples, *([1] * (x.dim() - 1))))\n"
                "    for m, t in saved:\n"
                "        m.training = t\n"
                "    out = out.reshape(n_samples, x.shape[0], *out.shape[1:])\n"
                "    return out.mean(0), out.std(0)"
            ),
            "mc_log_likelihood": loglik(
                "    T = mu_samples.shape[0]\n"
                "    mu = mu_samples.reshape(T, -1).double()\n"
                "    yy = y.reshape(-1).double()\n"
                "    normal = torch.distributions.Normal(mu, torch.tensor(tau, dtype=torch.float64).rsqrt())\n"
                "    lp = normal.log_prob(yy.expand_as(mu))\n"
                "    return (torch.logsumexp(lp, 0) - math.log(T)).mean()"
            ),
        },
    ),
    Case(
        "correct_by_hand",
        "full",
        description="explicit loop with stored flags and moments by hand; a hand-written logsumexp",
        replace={
            "mc_dropout_predict": predict(
                "    modules = list(model.modules())\n"
                "    old = [m.training for m in modules]\n"
                "    for m in modules:\n"
                "        m.training = isinstance(m, torch.nn.Dropout)\n"
                "    outs = []\n"
                "    with torch.no_grad():\n"
                "        for _ in range(n_samples):\n"
                "            outs.append(model(x))\n"
                "    for m, t in zip(modules, old):\n"
                "        m.training = t\n"
                "    s = torch.stack(outs)\n"
                "    m1 = s.sum(0) / n_samples\n"
                "    var = ((s - m1) ** 2).sum(0) / n_samples\n"
                "    return m1, var.sqrt()"
            ),
            "mc_log_likelihood": loglik(
                "    mu = mu_samples.squeeze(-1) if mu_samples.dim() == 3 else mu_samples\n"
                "    y = y.squeeze(-1) if y.dim() == 2 else y\n"
                "    a = -0.5 * tau * (y[None, :] - mu) ** 2\n"
                "    amax = a.max(dim=0, keepdim=True).values\n"
                "    lse = amax[0] + torch.log(torch.exp(a - amax).mean(dim=0))\n"
                "    return (lse + 0.5 * np.log(tau / (2 * np.pi))).mean()"
            ),
        },
    ),
]

# The parts the prediction mistakes are written from: switching modes, drawing, and a
# body that saves every module's flag, draws without gradients and puts the flags back.
EVAL = "    model.eval()\n"
DROPOUT_ON = (
    "    for m in model.modules():\n"
    "        if isinstance(m, nn.Dropout):\n"
    "            m.train()\n"
)
DRAW = "        s = torch.stack([model(x) for _ in range(n_samples)])\n"
MOMENTS = "    return s.mean(0), s.std(0)"


def restoring(switch: str, draw: str = DRAW, end: str = MOMENTS) -> str:
    """A body that saves the flags, runs ``switch``, draws with ``draw`` under no_grad, restores the flags, ``end``."""
    return (
        "    flags = {m: m.training for m in model.modules()}\n" + switch
        + "    with torch.no_grad():\n" + draw
        + "    for m, f in flags.items():\n"
        "        m.training = f\n" + end
    )


WRONG_PREDICT = [
    ("eval_switches_dropout_off", "model.eval(): dropout switched off at prediction",
     EVAL + "    with torch.no_grad():\n" + DRAW + MOMENTS),
    ("train_everything", "model.train(): BatchNorm in train mode too (flags restored)",
     restoring("    model.train()\n")),
    ("flags_not_restored", "dropout on, the rest in eval, flags never restored",
     EVAL + DROPOUT_ON + "    with torch.no_grad():\n" + DRAW + MOMENTS),
    ("top_level_flag_only", "only the top-level flag restored with model.train(was_training)",
     "    was = model.training\n" + EVAL + DROPOUT_ON + "    with torch.no_grad():\n" + DRAW
     + "    model.train(was)\n" + MOMENTS),
    ("only_dropout_switched", "dropout put in train mode, other modules left as they were",
     restoring(DROPOUT_ON)),
    ("train_but_batchnorm", "model.train() with only BatchNorm1d put back in eval: RReLU stays random (issue #11)",
     restoring(
         "    model.train()\n"
         "    for m in model.modules():\n"
         "        if isinstance(m, nn.BatchNorm1d):\n"
         "            m.eval()\n",
         end="    return s.mean(0), s.std(0, unbiased=False)",
     )),
    ("one_sample", "n_samples ignored: one stochastic pass",
     restoring(EVAL + DROPOUT_ON, draw="        out = model(x)\n", end="    return out, torch.zeros_like(out)")),
    ("variance_not_std", "the variance returned instead of the standard deviation",
     restoring(EVAL + DROPOUT_ON, end="    return s.mean(0), s.var(0)")),
    ("same_mask_every_pass", "the same dropout mask reused: the seed reset before each pass",
     restoring(
         EVAL + DROPOUT_ON + "    outs = []\n",
         draw="        for _ in range(n_samples):\n"
              "            torch.manual_seed(0)\n"
              "            outs.append(model(x))\n",
         end="    s = torch.stack(outs)\n" + MOMENTS,
     )),
]

WRONG_LOGLIK = [
    ("mean_of_logs", "the mean of the per-sample log-likelihoods instead of the log of the mean",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = -0.5 * tau * (y.reshape(1, -1) - mu) ** 2 - 0.5 * math.log(2 * math.pi) + 0.5 * math.log(tau)\n"
     "    return lp.mean()"),
    ("naive_log_mean_exp", "log of a mean of densities: underflows for far observations",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    dens = torch.exp(-0.5 * tau * (y.reshape(1, -1) - mu) ** 2) * math.sqrt(tau / (2 * math.pi))\n"
     "    return torch.log(dens.mean(0)).mean()"),
    ("tau_as_variance", "tau used as the variance",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = -0.5 * (y.reshape(1, -1) - mu) ** 2 / tau - 0.5 * math.log(2 * math.pi * tau)\n"
     "    return (torch.logsumexp(lp, 0) - math.log(mu.shape[0])).mean()"),
    ("tau_as_std", "tau used as the standard deviation",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = torch.distributions.Normal(mu, tau).log_prob(y.reshape(1, -1))\n"
     "    return (torch.logsumexp(lp, 0) - math.log(mu.shape[0])).mean()"),
    ("missing_log_T", "the log T dropped (a log of a sum, not of a mean)",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = -0.5 * tau * (y.reshape(1, -1) - mu) ** 2 - 0.5 * math.log(2 * math.pi) + 0.5 * math.log(tau)\n"
     "    return torch.logsumexp(lp, 0).mean()"),
    ("sum_over_points", "a sum over points instead of a mean",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = -0.5 * tau * (y.reshape(1, -1) - mu) ** 2 - 0.5 * math.log(2 * math.pi) + 0.5 * math.log(tau)\n"
     "    return (torch.logsumexp(lp, 0) - math.log(mu.shape[0])).sum()"),
    ("outer_broadcast", "(T, N, 1) minus (N,) broadcast to (T, N, N)",
     "    lp = -0.5 * tau * (y - mu_samples) ** 2 - 0.5 * math.log(2 * math.pi) + 0.5 * math.log(tau)\n"
     "    return (torch.logsumexp(lp, 0) - math.log(mu_samples.shape[0])).mean()"),
    ("missing_log_tau", "the normalising 1/2 log tau dropped",
     "    mu = mu_samples.reshape(mu_samples.shape[0], -1)\n"
     "    lp = -0.5 * tau * (y.reshape(1, -1) - mu) ** 2 - 0.5 * math.log(2 * math.pi)\n"
     "    return (torch.logsumexp(lp, 0) - math.log(mu.shape[0])).mean()"),
]

WRONG = (
    mistakes("pred", "mc_dropout_predict", (PRED,), WRONG_PREDICT, wrap=predict)
    + mistakes("ll", "mc_log_likelihood", (LL,), WRONG_LOGLIK, wrap=loglik)
)

# A cell that never ends is graded by the same timeout path in every assignment:
# ex01, ex02, ex05 and ex06 keep that case (20-40 s each), and tests/test_grading_safety.py
# runs the sleeper and CPU-burner budget batch.
ROBUSTNESS = robustness_cases(
    tamper=("test_mc_log_likelihood", {"mc_log_likelihood": loglik("    return torch.tensor(0.0)")}, (LL,)),
    edit_correct="test_mc_dropout_predict",
    delete=("test_mc_dropout_predict", {"mc_dropout_predict": predict("    out = model(x)\n    return out, out")}, (PRED,)),
    raises=("mc_log_likelihood", loglik("    return 0"), (LL,)),
)

CASES = CORRECT + WRONG + ROBUSTNESS
