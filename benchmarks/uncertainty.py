"""Predictive uncertainty of every registered method, on Vink's toy problem and the motorcycle data.

Usage (from the repository root)::

    nice python benchmarks/uncertainty.py                 # every method, n = 150 and 1000
    python benchmarks/uncertainty.py --list               # registered methods
    python benchmarks/uncertainty.py --methods 'MLE*' 'ensemble*' --n-train 1000 --budget 0.5

For each method and training size it prints one row: held-out NLL (nats per
point) on 100 000 points of the true process, its gap to the oracle
(``HeteroscedasticSine.ORACLE_NLL`` = 0.341 nats, the NLL of the true density),
the coverage of the central 90% interval, the CRPS (standardised units of y)
and the fit time; then the 5-fold cross-validated NLL (nats, y in g) and 90%
coverage on Silverman's motorcycle data (133 points). Target (COURSE.md §6): at
n = 1000 the best method within 0.10 nats of the oracle with coverage in
[0.88, 0.92]; the script says whether it is met.

Adding a method
---------------
Methods live in ``benchmarks/methods/`` and register themselves with
``@register(name)``; a fit function ``fit(x, y, *, seed, budget)`` takes
standardised float64 arrays ``(N, 1)`` and returns a *predictive* with
``log_prob(x, y)`` and one of ``normal(x)``, ``cdf(x, y)``, ``sample(x, n, seed)``.
See the docstring of ``benchmarks/methods/__init__.py``; dropping a new module
there (e.g. ``bnn.py``, ``mc_dropout.py``, ``mdn.py``) adds its rows, nothing
here changes.

How each column is computed
---------------------------
NLL: ``-mean log_prob`` (exact for every method). Coverage: closed form for a
``normal`` predictive, else through the PIT, ``0.05 <= F(y) <= 0.95``, with
``F`` from ``cdf`` or from 200 draws. CRPS: closed form for a Gaussian, else
the unbiased sample estimator on 200 draws (:func:`deepprob.metrics.crps_samples`).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import methods as registry  # noqa: E402
from deepprob import data, metrics  # noqa: E402

LEVEL = 0.9
N_TEST = 100_000
N_DRAWS = 200
CHUNK = 10_000
TEST_SEED = 20_251_122
TARGET_GAP, TARGET_COVERAGE = 0.10, (0.88, 0.92)


def score(predictive, x, y, *, seed=0):
    """NLL, its standard error, 90% coverage and CRPS of ``predictive`` on ``(x, y)``, in chunks."""
    log_prob, inside, crps = [], [], []
    alpha = 0.5 * (1.0 - LEVEL)
    for start in range(0, len(x), CHUNK):
        xc, yc = x[start:start + CHUNK], y[start:start + CHUNK]
        log_prob.append(np.asarray(predictive.log_prob(xc, yc), dtype=np.float64).reshape(yc.shape))
        if hasattr(predictive, "normal"):
            mu, sd = predictive.normal(xc)
            lo, hi = metrics.gaussian_interval(mu, sd, LEVEL)
            inside.append((yc >= lo) & (yc <= hi))
            crps.append(metrics.crps_gaussian(yc, mu, sd))
            continue
        draws = predictive.sample(xc, N_DRAWS, seed + start) if hasattr(predictive, "sample") else None
        pit = predictive.cdf(xc, yc) if hasattr(predictive, "cdf") else metrics.pit_samples(yc, draws)
        inside.append((pit >= alpha) & (pit <= 1.0 - alpha))
        crps.append(metrics.crps_samples(yc, draws, fair=True) if draws is not None else np.full(yc.shape, np.nan))
    lp = np.concatenate(log_prob)
    return {
        "nll": metrics.mean_nll(lp),
        "nll_se": metrics.nll_standard_error(lp),
        "coverage": float(np.mean(np.concatenate(inside))),
        "crps": float(np.mean(np.concatenate(crps))),
    }


def toy_rows(methods, sizes, seeds, budget):
    toy = data.HeteroscedasticSine()
    x_test, y_test = toy.sample(N_TEST, seed=TEST_SEED)
    oracle = metrics.mean_nll(toy.log_prob(x_test, y_test))
    rows = []
    for n in sizes:
        for method in methods:
            for seed in seeds:
                x, y = toy.sample(n, seed=1000 * n + seed)
                start = time.perf_counter()
                predictive = method.fit(x, y, seed=seed, budget=budget)
                fit_time = time.perf_counter() - start
                start = time.perf_counter()
                scores = score(predictive, x_test, y_test)
                row = {"method": method.name, "n": n, "seed": seed, "time": fit_time,
                       "predict_time": time.perf_counter() - start, **scores}
                row["gap"] = row["nll"] - toy.ORACLE_NLL
                rows.append(row)
                print(f"  done: {method.name} n={n} seed={seed} NLL {row['nll']:.3f} ({fit_time:.1f} s)",
                      file=sys.stderr, flush=True)
    return rows, oracle


def motorcycle_rows(methods, budget, k_folds=5):
    times, accel = data.load_motorcycle()
    folds = np.array_split(np.random.default_rng(0).permutation(len(times)), k_folds)
    rows = []
    for method in methods:
        log_probs, inside = [], []
        start = time.perf_counter()
        for k, test_idx in enumerate(folds):
            train_idx = np.setdiff1d(np.arange(len(times)), test_idx)
            xm, xs = times[train_idx].mean(), times[train_idx].std()
            ym, ys = accel[train_idx].mean(), accel[train_idx].std()
            predictive = method.fit((times[train_idx] - xm) / xs, (accel[train_idx] - ym) / ys, seed=k, budget=budget)
            s = score(predictive, (times[test_idx] - xm) / xs, (accel[test_idx] - ym) / ys, seed=k)
            n_test = len(test_idx)
            log_probs.append((-s["nll"] - math.log(ys), n_test))
            inside.append((s["coverage"], n_test))
        n_all = sum(n for _, n in log_probs)
        nll = -sum(lp * n for lp, n in log_probs) / n_all
        fold_nlls = np.array([-lp for lp, _ in log_probs])
        rows.append({
            "method": method.name,
            "nll": nll,
            "fold_se": float(fold_nlls.std(ddof=1) / math.sqrt(k_folds)),
            "coverage": sum(c * n for c, n in inside) / n_all,
            "time": time.perf_counter() - start,
        })
        print(f"  done: {method.name} motorcycle NLL {nll:.3f}", file=sys.stderr, flush=True)
    return rows


def print_toy(rows, oracle):
    toy = data.HeteroscedasticSine()
    print(f"Vink's toy (HeteroscedasticSine), {N_TEST} held-out points; oracle NLL {toy.ORACLE_NLL:.3f} nats "
          f"(on this test set {oracle:.3f})")
    head = f"{'method':42s} {'n_train':>7s} {'seed':>4s} {'NLL':>8s} {'± se':>6s} {'gap':>8s} {'cover90':>8s} {'CRPS':>7s} {'fit s':>7s}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['method']:42s} {r['n']:7d} {r['seed']:4d} {r['nll']:8.3f} {r['nll_se']:6.3f} {r['gap']:8.3f} "
              f"{r['coverage']:8.3f} {r['crps']:7.3f} {r['time']:7.1f}")


def print_motorcycle(rows, k_folds=5):
    print(f"\nMotorcycle data (MASS::mcycle, 133 points), {k_folds}-fold cross-validation; NLL in nats with y in g")
    head = f"{'method':42s} {'NLL':>8s} {'± se':>7s} {'cover90':>8s} {'total s':>8s}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['method']:42s} {r['nll']:8.3f} {r['fold_se']:7.3f} {r['coverage']:8.3f} {r['time']:8.1f}")


def check_target(rows):
    at_1000 = [r for r in rows if r["n"] == 1000]
    if not at_1000:
        return None
    best = min(at_1000, key=lambda r: r["nll"])
    ok = best["gap"] <= TARGET_GAP and TARGET_COVERAGE[0] <= best["coverage"] <= TARGET_COVERAGE[1]
    print(f"\nTarget (COURSE.md §6) at n = 1000: best method '{best['method']}' gap {best['gap']:.3f} nats "
          f"(<= {TARGET_GAP}), coverage {best['coverage']:.3f} (in {TARGET_COVERAGE}): {'MET' if ok else 'NOT MET'}")
    both = [r for r in at_1000
            if r["gap"] <= TARGET_GAP and TARGET_COVERAGE[0] <= r["coverage"] <= TARGET_COVERAGE[1]]
    names = ", ".join(f"'{r['method']}' (gap {r['gap']:.3f}, coverage {r['coverage']:.3f})" for r in both)
    print(f"Methods meeting both criteria at n = 1000: {names or 'none'}")
    return ok


CSV_COLUMNS = ["dataset", "method", "n_train", "seed", "nll", "nll_se", "gap", "coverage90", "crps", "fit_s", "predict_s"]


def write_csv(path, toy, motorcycle, argv, budget, seconds):
    """Write the rows as CSV at ``path`` and the provenance at ``path + '.meta.json'``.

    One row per (dataset, method, n_train, seed). Toy rows: NLL and gap in nats per
    held-out point (gap to ``HeteroscedasticSine.ORACLE_NLL``), CRPS in standardised
    units, ``fit_s`` the fit time and ``predict_s`` the time to score the 100 000
    test points. Motorcycle rows: 5-fold cross-validated NLL (nats, y in g),
    ``nll_se`` the standard error over folds, no oracle (``gap`` empty), no CRPS,
    ``fit_s`` the total time of the 5 fits and their scoring, ``n_train`` the mean
    fold's training size.
    """
    import csv
    import datetime
    import json
    import platform
    import shlex
    import subprocess

    n_motorcycle = len(data.load_motorcycle()[0])
    nan = float("nan")
    rows = [{"dataset": "vink_toy", "method": r["method"], "n_train": r["n"], "seed": r["seed"], "nll": r["nll"],
             "nll_se": r["nll_se"], "gap": r["gap"], "coverage90": r["coverage"], "crps": r["crps"],
             "fit_s": r["time"], "predict_s": r.get("predict_time", nan)} for r in toy]
    rows += [{"dataset": "motorcycle_cv5", "method": r["method"], "n_train": round(n_motorcycle * 4 / 5), "seed": 0,
              "nll": r["nll"], "nll_se": r["fold_se"], "gap": nan, "coverage90": r["coverage"], "crps": nan,
              "fit_s": r["time"], "predict_s": nan} for r in motorcycle]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else
                                 (f"{v:.6g}" if isinstance(v, float) else v)) for k, v in r.items()})
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "benchmarks"], cwd=ROOT, capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    meta = {
        "command": shlex.join(["python", "benchmarks/uncertainty.py", *argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "nproc": os.cpu_count(),
                    "threads": os.environ.get("OMP_NUM_THREADS"), "load_avg_at_end": list(os.getloadavg())},
        "git_commit": commit,
        "benchmarks_dir_modified": dirty,
        "budget": budget,
        "n_test": N_TEST,
        "oracle_nll": data.HeteroscedasticSine.ORACLE_NLL,
        "total_s": seconds,
        "columns": write_csv.__doc__,
    }
    Path(str(path) + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {path} ({len(rows)} rows) and {path}.meta.json", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="*", help="shell-style patterns of method names (default: all)")
    parser.add_argument("--n-train", nargs="*", type=int, default=[150, 1000], help="training sizes")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per method and size")
    parser.add_argument("--budget", type=float, default=1.0, help="fraction of each method's default steps")
    parser.add_argument("--no-motorcycle", action="store_true", help="skip the motorcycle cross-validation")
    parser.add_argument("--list", action="store_true", help="list the registered methods and exit")
    parser.add_argument("--csv", metavar="PATH", help="also write the rows as CSV to PATH (and PATH.meta.json)")
    args = parser.parse_args(argv)
    if args.list:
        for m in registry.load_all().values():
            print(f"{m.name:42s} chapter {m.chapter}  cost {m.cost:g}  ({m.module})")
        return 0
    chosen = registry.select(args.methods)
    start = time.perf_counter()
    rows, oracle = toy_rows(chosen, args.n_train, range(args.seeds), args.budget)
    print_toy(rows, oracle)
    moto = [] if args.no_motorcycle else motorcycle_rows(chosen, args.budget)
    if moto:
        print_motorcycle(moto)
    check_target(rows)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    if args.csv:
        write_csv(args.csv, rows, moto, sys.argv[1:] if argv is None else list(argv), args.budget,
                  time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
