"""``benchmarks/uci.py`` runs end to end (issue 14), in the style of tests/test_benchmarks_smoke.py.

The script runs as a subprocess, as a user would, with ``--quick`` (a few epochs, 2-member ensembles,
200 MC samples, a 2 x 2 grid) on 2 splits of two data sets: about 15 s. The test checks the table,
the CSV columns, one row per (data set, method), finite scores and their standard errors, the per-split
runs with the chosen hyper-parameters, and the provenance. The numbers mean nothing at these settings.
"""
from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = ["mc_dropout", "deep_ensemble", "heteroscedastic_beta"]
DATASETS = ["boston", "motorcycle"]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_uci_benchmark_quick(tmp_path):
    out = tmp_path / "uci.csv"
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    args = ["benchmarks/uci.py", "--quick", "--splits", "2", "--datasets", *DATASETS, "--methods", *METHODS,
            "--base-seed", "3", "--no-progress", "--csv", str(out)]
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    # the table, with the published rows beside Boston and the target check
    assert "Gal & Ghahramani 2016, Table 1" in result.stdout and "Lakshminarayanan et al. 2017" in result.stdout
    assert "target boston mc_dropout" in result.stdout and "target boston deep_ensemble" in result.stdout

    rows = read_csv(out)
    assert [(r["dataset"], r["method"]) for r in rows] == [(d, m) for d in DATASETS for m in METHODS]
    for r in rows:
        assert int(r["n_splits"]) == 2
        assert int(r["n_train"]) + int(r["n_test"]) == {"boston": 506, "motorcycle": 133}[r["dataset"]]
        for m in ("ll", "rmse", "coverage90", "crps", "fit_s"):
            mean, se, sd = (float(r[f"{m}_{s}"]) for s in ("mean", "se", "sd"))
            assert math.isfinite(mean) and math.isfinite(se), (r["dataset"], r["method"], m)
            assert se == pytest.approx(sd / math.sqrt(2), rel=1e-4, abs=1e-9)
        assert 0.0 <= float(r["coverage90_mean"]) <= 1.0 and float(r["rmse_mean"]) > 0

    runs = read_csv(out.with_name("uci_runs.csv"))
    assert len(runs) == 2 * len(rows)
    for r in runs:
        params = json.loads(r["params"])
        if r["method"] == "mc_dropout":  # chosen on validation, maybe past the quick grid's edge
            assert set(params) == {"p", "tau"} and int(r["n_fits"]) >= 5
        else:
            assert params == {} and int(r["n_fits"]) == 1
    # the same splits for every method of a data set
    for d in DATASETS:
        assert len({(r["split"], r["split_seed"]) for r in runs if r["dataset"] == d}) == 2

    meta = json.loads(Path(str(out) + ".meta.json").read_text())
    assert meta["base_seed"] == 3 and meta["splits"] == 2 and meta["quick"] is True
    assert "git_commit" in meta and meta["versions"]["torch"]
