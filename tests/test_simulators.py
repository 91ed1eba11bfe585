"""Tests of deepprob.simulators: shapes, seeding, the prior and the scaling law it encodes."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from deepprob import simulators as sim


def test_shapes_dtypes_and_seed_reproducibility():
    features, log_mass = sim.simulate_clusters(50, seed=0)
    assert features.shape == (50, len(sim.FEATURE_NAMES)) and log_mass.shape == (50,)
    assert features.dtype == np.float64 and log_mass.dtype == np.float64
    assert np.all(np.isfinite(features))
    again = sim.simulate_clusters(50, seed=0)
    np.testing.assert_array_equal(features, again[0])
    np.testing.assert_array_equal(log_mass, again[1])
    other = sim.simulate_clusters(50, seed=1)
    assert not np.allclose(log_mass, other[1])


def test_details_are_consistent_with_the_features():
    features, log_mass, det = sim.simulate_clusters(30, seed=3, return_details=True)
    for i, v in enumerate(det["velocities"]):
        assert len(v) == det["n_members"][i] + det["n_interlopers"][i]
        assert np.all(np.abs(v) <= 4000.0)
        assert features[i, 0] == pytest.approx(math.log10(np.std(v, ddof=1)), rel=1e-12)
        mad = 1.482602218505602 * np.median(np.abs(v - np.median(v)))
        assert features[i, 1] == pytest.approx(math.log10(mad), rel=1e-12)
        assert features[i, 2] == pytest.approx(math.log10(len(v)), rel=1e-12)
        assert features[i, 3] == pytest.approx(stats.kurtosis(v, fisher=True, bias=True), rel=1e-9, abs=1e-12)


def test_dispersion_scaling_law_recovered_by_regression():
    # ln sigma_v = ln 1083 + (1/3) ln(M / 1e15) + 0.1 eps: ordinary least squares recovers
    # the slope and the scatter within a few standard errors.
    _, log_mass, det = sim.simulate_clusters(4000, seed=5, return_details=True)
    res = stats.linregress(log_mass - 15.0, np.log10(det["sigma_v"]))
    assert abs(res.slope - 1.0 / 3.0) < 4 * res.stderr
    assert abs(res.intercept - math.log10(1083.0)) < 4 * res.intercept_stderr
    resid = np.log(det["sigma_v"]) - (math.log(1083.0) + (log_mass - 15.0) * math.log(10.0) / 3.0)
    assert abs(resid.std(ddof=1) - 0.1) < 4 * 0.1 / math.sqrt(2 * (len(resid) - 1))


def test_sample_dispersion_follows_the_law_without_interlopers():
    # Many members, no interlopers, no intrinsic scatter: the sample sd estimates sigma_v,
    # so regressing log10(std) on log10 M gives slope 1/3 (bias of log s is ~1/(4 N ln 10), constant here).
    features, log_mass = sim.simulate_clusters(
        3000, seed=6, interloper_fraction=0.0, scatter=0.0, richness_pivot=400.0, richness_slope=0.0,
        richness_scatter=0.0, velocity_window=1e6,
    )
    res = stats.linregress(log_mass, features[:, 0])
    assert abs(res.slope - 1.0 / 3.0) < 4 * res.stderr
    # the robust scale estimates the same sd for Gaussian members (kurtosis near 0)
    assert abs(np.mean(features[:, 1] - features[:, 0])) < 0.01
    # E[sample excess kurtosis] of N normal draws is -6 / (N + 1) (about -0.015 here)
    n = 10 ** features[:, 2]
    assert abs(np.mean(features[:, 3] + 6 / (n + 1))) < 4 * np.std(features[:, 3]) / math.sqrt(3000)


def test_interlopers_make_the_observed_fraction_and_heavy_tails():
    features, _, det = sim.simulate_clusters(3000, seed=7, interloper_fraction=0.3, return_details=True)
    frac = det["n_interlopers"].sum() / (det["n_interlopers"] + det["n_members"]).sum()
    assert abs(frac - 0.3) < 0.02
    clean, _ = sim.simulate_clusters(3000, seed=7, interloper_fraction=0.0)
    assert features[:, 3].mean() > clean[:, 3].mean() + 0.3


@pytest.mark.parametrize("slope", [0.0, 1.7])
def test_prior_density_is_normalised_and_matches_samples(slope):
    total = integrate.quad(lambda m: math.exp(sim.log_mass_prior_logpdf(m, slope)), 14.0, 15.5)[0]
    assert total == pytest.approx(1.0, rel=1e-10)
    draws = sim.sample_log_mass(20000, 0, slope)
    if slope == 0.0:
        cdf = stats.uniform(14.0, 1.5).cdf
    else:  # closed form of the truncated power law in M
        cdf = lambda m: (1 - 10 ** (-slope * (m - 14.0))) / (1 - 10 ** (-slope * 1.5))  # noqa: E731
    assert stats.kstest(draws, cdf).pvalue > 1e-3
    assert sim.log_mass_prior_logpdf(13.9, slope) == -math.inf


def test_prior_slope_changes_the_masses():
    _, flat = sim.simulate_clusters(2000, seed=8)
    _, steep = sim.simulate_clusters(2000, seed=8, prior_slope=1.7)
    assert steep.mean() < flat.mean() - 0.2


@pytest.mark.parametrize(
    "kwargs",
    [dict(n=0), dict(n=2.5), dict(interloper_fraction=1.0), dict(sigma_pivot=-1.0), dict(scatter=-0.1),
     dict(log_mass_range=(15.0, 14.0)), dict(prior_slope=-1.0)],
)
def test_bad_arguments_raise(kwargs):
    kwargs = {"n": 10, **kwargs}
    with pytest.raises(ValueError):
        sim.simulate_clusters(seed=0, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [dict(n=True), dict(min_galaxies=True), dict(sigma_pivot=True), dict(sigma_pivot=math.inf),
     dict(velocity_window=math.nan), dict(mass_pivot=0.0), dict(scatter=math.inf),
     dict(richness_scatter=None), dict(interloper_fraction=True), dict(interloper_fraction=math.nan),
     dict(prior_slope=math.inf), dict(prior_slope=True)],
)
def test_shared_checks_refuse_bools_inf_nan_and_zero(kwargs):
    """True and inf used to pass as 1 and as a valid scale; None raised a TypeError."""
    with pytest.raises(ValueError, match="bool|number|integer|between 0 and 1|in \\[0, 1\\)"):
        sim.simulate_clusters(**{"n": 10, "seed": 0, **kwargs})


def test_prior_functions_share_their_checks():
    for slope in (math.inf, math.nan, True, -1.0):
        with pytest.raises(ValueError, match="slope"):
            sim.log_mass_prior_logpdf(14.5, slope=slope)
        with pytest.raises(ValueError, match="slope"):
            sim.sample_log_mass(3, 0, slope=slope)
    with pytest.raises(ValueError, match="low < high"):
        sim.sample_log_mass(3, 0, log_mass_range=(15.0, 15.0))
    assert sim.log_mass_prior_logpdf(14.5, slope=0) == pytest.approx(-math.log(1.5))
