"""Figures of the course: predictive bands, reliability diagrams, PIT histograms.

Framework-free (NumPy and matplotlib). Every function draws on ``ax`` (a new
figure when ``ax`` is None), labels every axis, and returns the
:class:`matplotlib.axes.Axes`, so figures compose::

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    plot_predictive(x, mu, lo, hi, x_data=x_train, y_data=y_train, ax=axes[0])
    plot_reliability(levels, metrics.coverage_curve(y, mu, sd, levels), ax=axes[1])
    plot_pit_histogram(metrics.pit_gaussian(y, mu, sd), ax=axes[2])

Inputs of shape ``(N, 1)`` (the course's convention for data) and ``(N,)`` are
both accepted.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ._validation import as_float_array, positive_int, probabilities

__all__ = ["plot_predictive", "plot_reliability", "plot_pit_histogram"]


def _vector(value, name):
    """Return a 1-D float array from shape (N,) or (N, 1); refuse anything else.

    NaN is let through: matplotlib leaves a gap there.
    """
    arr = as_float_array(value, name, allow_nan=True)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,) or (N, 1); got {arr.shape}. Plot one output at a time."
        )
    return arr


def _same_length(**arrays):
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
        raise ValueError(f"arrays must have the same length: {desc} points.")


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots()
    return ax


def plot_predictive(
    x,
    mean,
    lower,
    upper,
    *,
    x_data=None,
    y_data=None,
    ax=None,
    label="predictive mean",
    interval_label="predictive interval",
    data_label="data",
    xlabel="x (standardised)",
    ylabel="y (standardised)",
    color=None,
):
    """Predictive mean as a line, an interval as a band, and optionally the data.

    Parameters
    ----------
    x : array_like, shape (N,) or (N, 1)
        Inputs at which the predictive was evaluated (a grid); sorted here.
    mean, lower, upper : array_like, shape (N,) or (N, 1)
        Predictive mean and interval bounds at ``x``, e.g. from
        :func:`deepprob.metrics.gaussian_interval`.
    x_data, y_data : array_like, shape (M,) or (M, 1), optional
        Observations drawn as a scatter; give both or neither.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    label, interval_label, data_label : str
        Legend entries of the line, the band and the scatter (say the level in
        ``interval_label``, e.g. ``"90% interval"``).
    xlabel, ylabel : str
        Axis labels.
    color : color, optional
        Colour of the line and band (matplotlib's next colour when None).

    Returns
    -------
    matplotlib.axes.Axes
        With one line (the mean), one filled band, one scatter if data are
        given, axis labels and a legend.

    Raises
    ------
    ValueError
        If the arrays are not of shape ``(N,)``/``(N, 1)``, their lengths
        differ, only one of ``x_data``/``y_data`` is given, or
        ``lower > upper`` somewhere.
    """
    x = _vector(x, "x")
    mean = _vector(mean, "mean")
    lower = _vector(lower, "lower")
    upper = _vector(upper, "upper")
    _same_length(x=x, mean=mean, lower=lower, upper=upper)
    if np.any(lower > upper):
        raise ValueError("lower must not exceed upper; did you swap the bounds?")
    if (x_data is None) != (y_data is None):
        raise ValueError("give both x_data and y_data, or neither.")

    ax = _axes(ax)
    order = np.argsort(x, kind="stable")
    (line,) = ax.plot(x[order], mean[order], color=color, label=label, zorder=3)
    ax.fill_between(
        x[order], lower[order], upper[order], color=line.get_color(), alpha=0.25,
        linewidth=0, label=interval_label, zorder=2,
    )
    if x_data is not None:
        xd = _vector(x_data, "x_data")
        yd = _vector(y_data, "y_data")
        _same_length(x_data=xd, y_data=yd)
        ax.scatter(xd, yd, s=6, color="0.3", alpha=0.5, label=data_label, zorder=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return ax


def plot_reliability(levels, observed, ax=None, label="model"):
    """Reliability diagram: observed against nominal coverage of central intervals.

    Points on the diagonal mean calibrated intervals; below it, intervals too
    narrow (over-confident); above it, too wide. Compute ``observed`` with
    :func:`deepprob.metrics.coverage_curve` (Gaussian predictives) or
    :func:`deepprob.metrics.interval_coverage` at each level.

    Parameters
    ----------
    levels : array_like, shape (L,)
        Nominal coverage levels in ``(0, 1)``.
    observed : array_like, shape (L,)
        Observed coverage at each level, in ``[0, 1]``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    label : str, default "model"
        Legend entry of the curve (call again on the same ``ax`` to compare
        models; the diagonal is drawn each time).

    Returns
    -------
    matplotlib.axes.Axes
        With two lines (the curve and the dashed diagonal), axes labelled
        "nominal coverage" and "observed coverage", limits ``[0, 1]``.

    Raises
    ------
    ValueError
        If the lengths differ, a level is outside ``(0, 1)`` or an observed
        coverage is outside ``[0, 1]``.
    """
    levels = _vector(probabilities(levels, "levels"), "levels")
    observed = _vector(observed, "observed")
    _same_length(levels=levels, observed=observed)
    if not np.all((observed >= 0) & (observed <= 1)):
        raise ValueError("observed coverages must lie in [0, 1]; pass fractions, not percentages.")

    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], linestyle="--", color="0.5", label="ideal")
    ax.plot(levels, observed, marker="o", label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("observed coverage")
    ax.legend(loc="upper left")
    return ax


def plot_pit_histogram(pit, bins=20, ax=None, label="PIT"):
    """Histogram of probability integral transform values, as a density.

    A calibrated predictive gives a flat histogram at height 1 (drawn as a
    dashed line); a U shape means over-confidence, a hump under-confidence, a
    slope a biased mean. Compute ``pit`` with
    :func:`deepprob.metrics.pit_gaussian` or :func:`deepprob.metrics.pit_samples`.

    Parameters
    ----------
    pit : array_like, shape (N,) or (N, 1)
        PIT values in ``[0, 1]``.
    bins : int, default 20
        Number of equal-width bins on ``[0, 1]``, ``>= 1``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure when None.
    label : str, default "PIT"
        Legend entry of the histogram.

    Returns
    -------
    matplotlib.axes.Axes
        With ``bins`` bars (density-normalised, total area 1), one horizontal
        line at 1, axes labelled "PIT value" and "density".

    Raises
    ------
    ValueError
        If ``pit`` is empty, not of shape ``(N,)``/``(N, 1)``, has values
        outside ``[0, 1]``, or ``bins`` is not a positive integer.
    """
    pit = _vector(pit, "pit")
    if pit.size == 0:
        raise ValueError("pit is empty; pass one PIT value per observation.")
    if not np.all((pit >= 0) & (pit <= 1)):
        raise ValueError(
            "PIT values are probabilities and must lie in [0, 1]; pass Phi((y - mu) / sigma), "
            "not the standardised residual."
        )
    bins = positive_int(bins, "bins")

    ax = _axes(ax)
    ax.hist(pit, bins=bins, range=(0.0, 1.0), density=True, alpha=0.7, label=label)
    ax.axhline(1.0, linestyle="--", color="0.3", label="uniform (calibrated)")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT value")
    ax.set_ylabel("density")
    ax.legend(loc="best")
    return ax
