"""Tests of deepprob.plotting: what is drawn, the labels, and refused input."""

import matplotlib

matplotlib.use("Agg")  # before pyplot is imported anywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection  # noqa: E402

from deepprob import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _band(n=50):
    x = np.linspace(-1.5, 1.5, n).reshape(-1, 1)
    mean = np.sin(x)
    return x, mean, mean - 0.5, mean + 0.5


def test_plot_predictive_with_data():
    x, mean, lo, hi = _band()
    rng = np.random.default_rng(0)
    xd = rng.uniform(-1.5, 1.5, size=(30, 1))
    yd = np.sin(xd) + 0.3 * rng.standard_normal((30, 1))
    ax = plotting.plot_predictive(x, mean, lo, hi, x_data=xd, y_data=yd,
                                  interval_label="90% interval")
    assert ax.get_xlabel() == "x (standardised)"
    assert ax.get_ylabel() == "y (standardised)"
    assert len(ax.lines) == 1
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 1  # the band
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == 1  # the scatter
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["predictive mean", "90% interval", "data"]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), mean.ravel())


def test_plot_predictive_sorts_x_and_reuses_axes():
    x, mean, lo, hi = _band(20)
    perm = np.random.default_rng(1).permutation(20)
    fig, ax = plt.subplots()
    out = plotting.plot_predictive(x[perm, 0], mean[perm, 0], lo[perm], hi[perm], ax=ax,
                                   xlabel="time (ms)", ylabel="acceleration (g)")
    assert out is ax
    assert np.all(np.diff(ax.lines[0].get_xdata()) > 0)
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "acceleration (g)"
    assert not any(isinstance(c, PathCollection) for c in ax.collections)  # no data given


def test_plot_predictive_rejects_bad_input():
    x, mean, lo, hi = _band()
    with pytest.raises(ValueError, match="same length"):
        plotting.plot_predictive(x, mean[:-1], lo, hi)
    with pytest.raises(ValueError, match="same length"):
        plotting.plot_predictive(x, mean, lo, hi, x_data=np.zeros(3), y_data=np.zeros(4))
    with pytest.raises(ValueError, match="both"):
        plotting.plot_predictive(x, mean, lo, hi, x_data=np.zeros(3))
    with pytest.raises(ValueError, match="swap"):
        plotting.plot_predictive(x, mean, hi, lo)
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        plotting.plot_predictive(np.zeros((5, 2)), np.zeros(5), np.zeros(5), np.zeros(5))


def test_plot_reliability():
    levels = np.linspace(0.1, 0.9, 9)
    observed = levels**1.5
    ax = plotting.plot_reliability(levels, observed)
    assert ax.get_xlabel() == "nominal coverage"
    assert ax.get_ylabel() == "observed coverage"
    assert len(ax.lines) == 2  # diagonal + curve
    diagonal = [ln for ln in ax.lines if ln.get_linestyle() == "--"]
    assert len(diagonal) == 1 and list(diagonal[0].get_xdata()) == [0, 1]
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    assert ax.get_legend() is not None


def test_plot_reliability_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        plotting.plot_reliability([0.5, 0.9], [0.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        plotting.plot_reliability([50, 90], [0.5, 0.9])
    with pytest.raises(ValueError, match="fractions"):
        plotting.plot_reliability([0.5, 0.9], [50, 90])


def test_plot_pit_histogram_is_a_density():
    pit = np.random.default_rng(2).uniform(size=1000)
    ax = plotting.plot_pit_histogram(pit, bins=10)
    assert ax.get_xlabel() == "PIT value" and ax.get_ylabel() == "density"
    bars = ax.patches
    assert len(bars) == 10
    # Density normalisation: total area of the bars is 1.
    area = sum(b.get_width() * b.get_height() for b in bars)
    assert area == pytest.approx(1.0, rel=1e-12)
    assert len(ax.lines) == 1 and list(ax.lines[0].get_ydata()) == [1, 1]


@pytest.mark.parametrize("pit, bins", [([0.2, 1.3], 10), ([], 10), ([0.2, 0.5], 0),
                                       ([0.2, 0.5], 2.5)])
def test_plot_pit_histogram_rejects_bad_input(pit, bins):
    with pytest.raises(ValueError):
        plotting.plot_pit_histogram(pit, bins=bins)


@pytest.mark.parametrize("bins", [True, float("inf"), float("nan"), 0])
def test_plot_pit_histogram_refuses_bool_inf_nan_and_zero_bins(bins):
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        plotting.plot_pit_histogram([0.2, 0.5], bins=bins)


@pytest.mark.parametrize("levels", [[True, False], [0.5, float("inf")], [0.5, float("nan")], [0.0, 0.5]])
def test_plot_reliability_refuses_bool_inf_nan_and_zero_levels(levels):
    with pytest.raises(ValueError, match="not bools|between 0 and 1"):
        plotting.plot_reliability(levels, [0.5, 0.9])


def test_plots_keep_nan_gaps_in_data():
    ax = plotting.plot_predictive([0.0, 1.0, 2.0], [0.0, np.nan, 1.0], [-1, -1, -1], [1, 1, 2])
    assert len(ax.lines) == 1
