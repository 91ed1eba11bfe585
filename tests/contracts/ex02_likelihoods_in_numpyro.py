"""Grading contract of ex02_likelihoods_in_numpyro: correct variants and common mistakes."""
from deepprob.grading import Case, mistakes, robustness_cases

ASSIGNMENT = "ex02_likelihoods_in_numpyro"

SITES, LIK, LL = "test_model_sites", "test_model_likelihood", "test_log_likelihood"


def model(body: str) -> str:
    return f"def linear_regression(X, y=None):\n{body}\n"


def loglik(body: str) -> str:
    return f"def log_likelihood(params, X, y):\n{body}\n"


# The reference model, with one line swapped in: most mistakes are one line.
_REF = {
    "head": "    N, D = X.shape",
    "w": '    w = numpyro.sample("w", dist.Normal(0.0, 10.0).expand([D]).to_event(1))',
    "b": '    b = numpyro.sample("b", dist.Normal(0.0, 10.0))',
    "sigma": '    sigma = numpyro.sample("sigma", dist.HalfNormal(5.0))',
    "mu": "    mu = X @ w + b",
    "y": '    with numpyro.plate("data", N):\n        return numpyro.sample("y", dist.Normal(mu, sigma), obs=y)',
}


def model_with(**lines: str) -> str:
    return model("\n".join(lines.get(k, v) for k, v in _REF.items()))


CORRECT = [
    Case(
        "correct_plate_exponential",
        "full",
        description="w in a plate over features, Exponential prior on sigma, jax.scipy.stats.norm.logpdf",
        replace={
            "linear_regression": model(
                "    n, d = X.shape\n"
                '    with numpyro.plate("features", d):\n'
                '        w = numpyro.sample("w", dist.Normal(0.0, 10.0))\n'
                '    b = numpyro.sample("b", dist.Normal(0.0, 10.0))\n'
                '    sigma = numpyro.sample("sigma", dist.Exponential(1.0))\n'
                '    with numpyro.plate("obs", n):\n'
                '        y = numpyro.sample("y", dist.Normal(jnp.dot(X, w) + b, sigma), obs=y)\n'
                "    return y"
            ),
            "log_likelihood": loglik(
                "    mu = jnp.dot(X, params['w']) + params['b']\n"
                "    return jax.scipy.stats.norm.logpdf(y, loc=mu, scale=params['sigma']).sum()"
            ),
        },
    ),
    Case(
        "correct_mvn_lognormal",
        "full",
        description="MultivariateNormal prior on w, LogNormal sigma, no data plate, expanded Gaussian formula",
        replace={
            "linear_regression": model(
                "    D = X.shape[-1]\n"
                '    w = numpyro.sample("w", dist.MultivariateNormal(jnp.zeros(D), 100.0 * jnp.eye(D)))\n'
                '    b = numpyro.sample("b", dist.Normal(0.0, 10.0))\n'
                '    sigma = numpyro.sample("sigma", dist.LogNormal(0.0, 1.0))\n'
                '    return numpyro.sample("y", dist.Normal((X * w).sum(-1) + b, sigma), obs=y)'
            ),
            "log_likelihood": loglik(
                "    w, b, sigma = params['w'], params['b'], params['sigma']\n"
                "    resid = y - (X @ w + b)\n"
                "    n = y.shape[0]\n"
                "    return -0.5 * n * jnp.log(2 * jnp.pi * sigma ** 2) - jnp.sum(resid ** 2) / (2 * sigma ** 2)"
            ),
        },
    ),
    Case(
        "correct_independent_numpy",
        "full",
        description="Normal(zeros(D), 10).to_event(1), HalfCauchy sigma, sampled-then-returned y; NumPy log-likelihood",
        replace={
            "linear_regression": model(
                "    D = X.shape[1]\n"
                '    w = numpyro.sample("w", dist.Normal(jnp.zeros(D), 10.0 * jnp.ones(D)).to_event(1))\n'
                '    b = numpyro.sample("b", dist.Normal(0.0, 10.0))\n'
                '    sigma = numpyro.sample("sigma", dist.HalfCauchy(2.0))\n'
                "    mean = jnp.einsum('nd,d->n', X, w) + b\n"
                '    with numpyro.plate("N", X.shape[0]):\n'
                '        y_site = numpyro.sample("y", dist.Normal(mean, sigma), obs=y)\n'
                "    return y_site"
            ),
            "log_likelihood": loglik(
                "    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)\n"
                "    s = float(params['sigma'])\n"
                "    mu = X @ np.asarray(params['w'], dtype=float) + float(params['b'])\n"
                "    return jnp.asarray(np.sum(-np.log(s) - 0.5 * math.log(2 * math.pi) - (y - mu) ** 2 / (2 * s * s)))"
            ),
        },
    ),
]

WRONG_SITES = [
    ("w_scalar", "w as a scalar site (shape () instead of (D,))",
     model_with(w='    w = numpyro.sample("w", dist.Normal(0.0, 10.0))')),
    ("wrong_names", "site names that are not the contract's",
     model_with(w='    w = numpyro.sample("weights", dist.Normal(0.0, 10.0).expand([D]).to_event(1))',
                b='    b = numpyro.sample("bias", dist.Normal(0.0, 10.0))')),
    ("y_not_observed", "the data never passed: obs= missing",
     model_with(y='    with numpyro.plate("data", N):\n        return numpyro.sample("y", dist.Normal(mu, sigma))')),
    ("y_none_fails", "the model reads y.shape, so it cannot generate data with y=None",
     model_with(head="    N, D = y.shape[0], X.shape[1]")),
    ("y_column", "the forum's column: y site of shape (N, 1)",
     model_with(y='    obs = None if y is None else y[:, None]\n'
                  '    return numpyro.sample("y", dist.Normal(mu[:, None], sigma), obs=obs)')),
    ("w_per_feature", "one site per feature (w_0, w_1, ...) instead of one site 'w'",
     model_with(w='    w = jnp.stack([numpyro.sample(f"w_{i}", dist.Normal(0.0, 10.0)) for i in range(D)])')),
    ("no_return", "the model does not return y",
     model_with(y='    with numpyro.plate("data", N):\n        numpyro.sample("y", dist.Normal(mu, sigma), obs=y)')),
]

WRONG_LIKELIHOOD = [
    ("sigma_normal_prior", "a Normal prior on sigma: sigma can be negative",
     model_with(sigma='    sigma = numpyro.sample("sigma", dist.Normal(1.0, 1.0))')),
    ("sigma_abs_normal", "|Normal| used for sigma: the site itself is still Normal",
     model_with(sigma='    sigma = jnp.abs(numpyro.sample("sigma", dist.Normal(0.0, 5.0)))')),
    ("sigma_uniform_negative", "a Uniform(-1, 10) prior on sigma",
     model_with(sigma='    sigma = numpyro.sample("sigma", dist.Uniform(-1.0, 10.0))')),
    ("variance_as_scale", "sigma^2 passed as the scale of y",
     model_with(y='    with numpyro.plate("data", N):\n        return numpyro.sample("y", dist.Normal(mu, sigma ** 2), obs=y)')),
    ("no_intercept", "the intercept left out of the mean",
     model_with(mu="    mu = X @ w")),
    ("sigma_unused", "unit noise: the sampled sigma never used",
     model_with(y='    with numpyro.plate("data", N):\n        return numpyro.sample("y", dist.Normal(mu, 1.0), obs=y)')),
    ("student_t", "a Student-t likelihood instead of a Gaussian",
     model_with(y='    with numpyro.plate("data", N):\n        return numpyro.sample("y", dist.StudentT(4.0, mu, sigma), obs=y)')),
]

WRONG_LOGLIK = [
    ("no_constant", "the constant -1/2 log(2 pi) dropped",
     "    mu = X @ params['w'] + params['b']\n    s = params['sigma']\n"
     "    return jnp.sum(-jnp.log(s) - 0.5 * ((y - mu) / s) ** 2)"),
    ("variance_as_scale", "sigma used as the variance",
     "    mu = X @ params['w'] + params['b']\n    v = params['sigma']\n"
     "    return jnp.sum(-0.5 * jnp.log(2 * jnp.pi * v) - 0.5 * (y - mu) ** 2 / v)"),
    ("mean_not_sum", "a mean over points instead of the sum",
     "    mu = X @ params['w'] + params['b']\n    s = params['sigma']\n"
     "    return jnp.mean(-0.5 * jnp.log(2 * jnp.pi) - jnp.log(s) - 0.5 * ((y - mu) / s) ** 2)"),
    ("sign_flipped", "the negative log-likelihood returned",
     "    mu = X @ params['w'] + params['b']\n    s = params['sigma']\n"
     "    return -jnp.sum(-0.5 * jnp.log(2 * jnp.pi) - jnp.log(s) - 0.5 * ((y - mu) / s) ** 2)"),
    ("missing_half", "the 1/2 in front of the squared residual missing",
     "    mu = X @ params['w'] + params['b']\n    s = params['sigma']\n"
     "    return jnp.sum(-0.5 * jnp.log(2 * jnp.pi) - jnp.log(s) - ((y - mu) / s) ** 2)"),
    ("half_log_sigma", "-1/2 log sigma instead of -log sigma (= -1/2 log sigma^2)",
     "    mu = X @ params['w'] + params['b']\n    s = params['sigma']\n"
     "    return jnp.sum(-0.5 * jnp.log(2 * jnp.pi) - 0.5 * jnp.log(s) - 0.5 * ((y - mu) / s) ** 2)"),
    ("no_intercept", "b left out of the mean",
     "    mu = X @ params['w']\n    s = params['sigma']\n"
     "    return jnp.sum(-0.5 * jnp.log(2 * jnp.pi) - jnp.log(s) - 0.5 * ((y - mu) / s) ** 2)"),
    ("pointwise", "the N pointwise terms returned, not their sum",
     "    mu = X @ params['w'] + params['b']\n"
     "    return jax.scipy.stats.norm.logpdf(y, mu, params['sigma'])"),
]

WRONG = (
    mistakes("sites", "linear_regression", (SITES,), WRONG_SITES)
    + mistakes("lik", "linear_regression", (LIK,), WRONG_LIKELIHOOD)
    + mistakes("ll", "log_likelihood", (LL,), WRONG_LOGLIK, wrap=loglik)
)

ROBUSTNESS = robustness_cases(
    tamper=("test_log_likelihood", {"log_likelihood": loglik("    return jnp.array(0.0)")}, (LL,)),
    edit_correct="test_model_sites",
    delete=("test_model_likelihood",
            {"linear_regression": model_with(sigma='    sigma = numpyro.sample("sigma", dist.Normal(1.0, 1.0))')},
            (LIK,)),
    raises=("log_likelihood", loglik("    return 0.0"), (LL,)),
    never_returns=("linear_regression", model("    while True:\n        pass"), (SITES, LIK)),
    descriptions={"infinite_loop": "a model that never returns: the cells time out, the rest is graded"},
)

CASES = CORRECT + WRONG + ROBUSTNESS
