r"""Conjugate Bayesian linear regression: a model whose evidence and posterior are exact.

Framework-free (NumPy and SciPy). Chapter 3 uses it as the ground truth for the
ELBO: for any Gaussian :math:`q(w)`, ``elbo`` is computed in closed form and

.. math::

    \log p(\mathcal D) = \mathrm{ELBO}(q) + \mathrm{KL}\big(q(w)\,\|\,p(w\mid\mathcal D)\big),

so the gap between ``log_evidence`` and ``elbo`` is exactly ``kl_to_posterior``.

The model, with known prior and noise standard deviations :math:`\tau` and :math:`s`:

.. math::

    w \sim \mathcal N(0, \tau^2 I_D), \qquad
    y \mid X, w \sim \mathcal N(Xw, s^2 I_N).

Add a column of ones to ``X`` for an intercept.

References
----------
.. [Bishop2006] C. M. Bishop, *Pattern Recognition and Machine Learning*,
   Springer (2006): posterior eq. 3.49-3.51, evidence eq. 3.86, mean-field
   factorised Gaussian eq. 10.12-10.13.
.. [Blei2017] D. M. Blei, A. Kucukelbir and J. D. McAuliffe, "Variational
   inference: a review for statisticians", J. Amer. Statist. Assoc. 112(518),
   859-877 (2017), eq. 13 (ELBO = log evidence - KL).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from ._docs import fill_doc
from ._validation import positive_float

__all__ = ["BayesianLinearRegression", "kl_gaussians"]

_LOG_2PI = math.log(2.0 * math.pi)


# Docstring fragments: the data every method takes, and a Gaussian q(w) to score on it.
_DATA_PARAMETERS = """
    Parameters
    ----------
    X : array_like, shape (N, D)
    y : array_like, shape (N,)
"""
_Q_PARAMETERS = _DATA_PARAMETERS + """\
    q_mean : array_like, shape (D,)
    q_cov : array_like, shape (D, D) or (D,)
        Covariance of q, or its variances for a diagonal (mean-field) q.
"""


def _mean(m, d, name):
    m = np.asarray(m, dtype=np.float64)
    if m.shape != (d,):
        raise ValueError(f"{name} must have shape (D,) = ({d},), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} contains NaN or inf")
    return m


def _cov(c, d, name):
    """A covariance: (D, D) symmetric positive definite, or (D,) positive variances (diagonal)."""
    c = np.asarray(c, dtype=np.float64)
    if c.shape == (d,):
        if not np.all(c > 0) or not np.all(np.isfinite(c)):
            raise ValueError(f"{name} given as variances (shape (D,)) must be positive and finite")
        return np.diag(c)
    if c.shape != (d, d):
        raise ValueError(f"{name} must be a (D, D) covariance or (D,) variances with D = {d}, got shape {c.shape}")
    if not np.allclose(c, c.T, rtol=1e-10, atol=1e-12 * max(1.0, np.abs(c).max())):
        raise ValueError(f"{name} must be symmetric")
    return 0.5 * (c + c.T)


def _chol(c, name):
    try:
        return linalg.cholesky(c, lower=True)
    except linalg.LinAlgError as exc:
        raise ValueError(f"{name} is not positive definite") from exc


def kl_gaussians(mean_q, cov_q, mean_p, cov_p) -> float:
    r"""Exact :math:`\mathrm{KL}(\mathcal N(m_q, S_q)\,\|\,\mathcal N(m_p, S_p))` in nats.

    .. math::

        \tfrac12\Big[\operatorname{tr}(S_p^{-1}S_q) + (m_p-m_q)^\top S_p^{-1}(m_p-m_q) - D
        + \log\frac{\det S_p}{\det S_q}\Big]

    Parameters
    ----------
    mean_q, mean_p : array_like, shape (D,)
    cov_q, cov_p : array_like, shape (D, D) or (D,)
        Covariances, or variances of a diagonal covariance.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        On shapes that disagree or a covariance that is not positive definite.
    """
    mean_q = np.atleast_1d(np.asarray(mean_q, dtype=np.float64))
    d = mean_q.shape[0]
    mean_q, mean_p = _mean(mean_q, d, "mean_q"), _mean(mean_p, d, "mean_p")
    lq, lp = _chol(_cov(cov_q, d, "cov_q"), "cov_q"), _chol(_cov(cov_p, d, "cov_p"), "cov_p")
    a = linalg.solve_triangular(lp, lq, lower=True)  # Lp^-1 Lq: tr(Sp^-1 Sq) = ||A||_F^2
    b = linalg.solve_triangular(lp, mean_p - mean_q, lower=True)
    logdet = 2.0 * (np.log(np.diag(lp)).sum() - np.log(np.diag(lq)).sum())
    return float(0.5 * (np.sum(a**2) + np.sum(b**2) - d + logdet))


class BayesianLinearRegression:
    r"""Bayesian linear regression with a Gaussian prior and known noise: everything exact.

    Parameters
    ----------
    prior_sd : float
        :math:`\tau > 0`: the prior is :math:`w \sim \mathcal N(0, \tau^2 I_D)`.
    noise_sd : float
        :math:`s > 0`: the likelihood is :math:`y \mid X, w \sim \mathcal N(Xw, s^2 I_N)`.

    Raises
    ------
    ValueError
        If a standard deviation is not positive and finite.

    Examples
    --------
    >>> import numpy as np
    >>> blr = BayesianLinearRegression(prior_sd=1.0, noise_sd=0.5)
    >>> X = np.c_[np.ones(3), [0.0, 1.0, 2.0]]; y = np.array([0.1, 0.9, 2.2])
    >>> m, S = blr.posterior(X, y)
    >>> bool(abs(blr.elbo(X, y, m, S) - blr.log_evidence(X, y)) < 1e-10)
    True
    """

    def __init__(self, prior_sd: float, noise_sd: float):
        self.prior_sd = positive_float(prior_sd, "prior_sd")
        self.noise_sd = positive_float(noise_sd, "noise_sd")

    def __repr__(self):
        return f"BayesianLinearRegression(prior_sd={self.prior_sd!r}, noise_sd={self.noise_sd!r})"

    # ------------------------------------------------------------------ inputs
    @staticmethod
    def _data(X, y):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (N, D), got {X.shape}; reshape a single feature with X[:, None]")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape (N,) = ({X.shape[0]},), got {y.shape}; flatten it with y.ravel()")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("X and y must be finite (no NaN or inf)")
        return X, y

    # ------------------------------------------------------------------ exact
    def posterior_precision(self, X) -> np.ndarray:
        r""":math:`\Lambda = X^\top X / s^2 + I/\tau^2`, shape (D, D)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"X must have shape (N, D), got {X.shape}")
        return X.T @ X / self.noise_sd**2 + np.eye(X.shape[1]) / self.prior_sd**2

    @fill_doc(parameters=_DATA_PARAMETERS)
    def posterior(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        r"""Exact posterior :math:`p(w\mid\mathcal D) = \mathcal N(m, \Sigma)`.

        :math:`\Sigma = \Lambda^{-1}`, :math:`m = \Sigma X^\top y / s^2` ([Bishop2006]_ eq. 3.50-3.51).

        %(parameters)s

        Returns
        -------
        mean : ndarray, shape (D,)
        cov : ndarray, shape (D, D)
        """
        X, y = self._data(X, y)
        lam = self.posterior_precision(X)
        chol = linalg.cho_factor(lam, lower=True)
        cov = linalg.cho_solve(chol, np.eye(X.shape[1]))
        mean = linalg.cho_solve(chol, X.T @ y) / self.noise_sd**2
        return mean, 0.5 * (cov + cov.T)

    @fill_doc(parameters=_DATA_PARAMETERS)
    def log_evidence(self, X, y) -> float:
        r"""Exact :math:`\log p(\mathcal D) = \log \mathcal N(y;\ 0,\ s^2 I + \tau^2 X X^\top)`.

        Computed in :math:`O(ND^2 + D^3)` from the identity
        :math:`\log p(\mathcal D) = \log p(y\mid m) + \log p(m) - \log p(m\mid\mathcal D)`
        at the posterior mean :math:`m` ([Bishop2006]_ eq. 3.86), not from the
        :math:`N\times N` covariance.

        %(parameters)s

        Returns
        -------
        float
            In nats.
        """
        X, y = self._data(X, y)
        n, d = X.shape
        mean, cov = self.posterior(X, y)
        s2, t2 = self.noise_sd**2, self.prior_sd**2
        resid = y - X @ mean
        log_lik = -0.5 * n * (_LOG_2PI + math.log(s2)) - 0.5 * resid @ resid / s2
        log_prior = -0.5 * d * (_LOG_2PI + math.log(t2)) - 0.5 * mean @ mean / t2
        logdet_cov = 2.0 * np.log(np.diag(_chol(cov, "posterior covariance"))).sum()
        log_post = -0.5 * d * _LOG_2PI - 0.5 * logdet_cov
        return float(log_lik + log_prior - log_post)

    # ------------------------------------------------------------------ variational
    @fill_doc(parameters=_Q_PARAMETERS)
    def expected_log_likelihood(self, X, y, q_mean, q_cov) -> float:
        r"""Analytic :math:`\mathbb E_{q(w)}[\log p(y\mid X, w)]` for :math:`q = \mathcal N(\mu, S)`.

        .. math::

            -\frac N2\log(2\pi s^2) - \frac{1}{2s^2}\Big[\lVert y - X\mu\rVert^2
            + \operatorname{tr}(X^\top X\,S)\Big]

        %(parameters)s

        Returns
        -------
        float
        """
        X, y = self._data(X, y)
        n, d = X.shape
        mu, cov = _mean(q_mean, d, "q_mean"), _cov(q_cov, d, "q_cov")
        s2 = self.noise_sd**2
        resid = y - X @ mu
        trace = np.sum((X @ cov) * X)  # tr(X S X^T) = tr(X^T X S)
        return float(-0.5 * n * (_LOG_2PI + math.log(s2)) - 0.5 * (resid @ resid + trace) / s2)

    def kl_to_prior(self, q_mean, q_cov) -> float:
        r""":math:`\mathrm{KL}(q\,\|\,\mathcal N(0, \tau^2 I))` in nats; ``q_cov`` (D, D) or (D,)."""
        mu = np.atleast_1d(np.asarray(q_mean, dtype=np.float64))
        d = mu.shape[0]
        return kl_gaussians(mu, q_cov, np.zeros(d), np.full(d, self.prior_sd**2))

    @fill_doc(parameters=_Q_PARAMETERS)
    def elbo(self, X, y, q_mean, q_cov) -> float:
        r"""Analytic ELBO :math:`\mathbb E_q[\log p(y\mid X,w)] - \mathrm{KL}(q\,\|\,p(w))`.

        %(parameters)s

        Returns
        -------
        float
            :math:`\le` :meth:`log_evidence`, with equality iff q is the exact posterior.

        Raises
        ------
        ValueError
            On shapes that disagree or a covariance that is not positive definite.
        """
        return self.expected_log_likelihood(X, y, q_mean, q_cov) - self.kl_to_prior(q_mean, q_cov)

    def kl_to_posterior(self, X, y, q_mean, q_cov) -> float:
        r""":math:`\mathrm{KL}(q\,\|\,p(w\mid\mathcal D))`: the gap ``log_evidence - elbo``, in nats."""
        mean, cov = self.posterior(X, y)
        return kl_gaussians(q_mean, q_cov, mean, cov)

    def mean_field(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        r"""The best diagonal Gaussian q: it maximises the ELBO over all mean-field Gaussians.

        Its mean is the posterior mean and its variances are :math:`1/\Lambda_{dd}`,
        the inverse diagonal of the posterior precision ([Bishop2006]_ eq. 10.12-10.13):
        smaller than the posterior marginal variances :math:`\Sigma_{dd}` whenever the
        weights are correlated a posteriori.

        Returns
        -------
        mean : ndarray, shape (D,)
        var : ndarray, shape (D,)
            Variances (pass them as ``q_cov``).
        """
        X, y = self._data(X, y)
        mean, _ = self.posterior(X, y)
        return mean, 1.0 / np.diag(self.posterior_precision(X))
