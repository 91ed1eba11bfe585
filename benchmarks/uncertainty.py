"""Predictive uncertainty of every registered method, on Vink's toy problem and the motorcycle data.

Usage (from the repository root)::

    nice python benchmarks/uncertainty.py --csv benchmarks/results/uncertainty.csv   # all methods, 5 seeds
    python benchmarks/uncertainty.py --list               # registered methods
    python benchmarks/uncertainty.py --methods 'MLE*' 'ensemble*' --n-train 1000 --seeds 3 --budget 0.5
    DEEPPROB_SEED=7 python benchmarks/uncertainty.py      # another base seed: other data, inits and splits

Every row is a **mean ± standard error over ``--seeds`` replicates** (default 5).
Replicate ``r`` of a training size ``n`` draws its own training set, its own
test set and its own fit seed, each ``deepprob.seeds.derive("uncertainty", ...,
r, base_seed=B)`` from the base seed ``B`` (``--base-seed``, default
``$DEEPPROB_SEED``, 0 when unset); within a replicate every method sees the same
training and test data, so methods are compared on equal terms.

Vink's toy (``HeteroscedasticSine``): held-out NLL (nats per point) on
``--n-test`` fresh points of the true process (default 10 000), its **gap to the
oracle** measured *paired* — the method's NLL minus the NLL of the true density on
the same test points, so the test-set noise common to both cancels and the s.e.
of the gap is mostly the seed-to-seed spread of the fit — the coverage of the
central 90% interval, the CRPS (standardised units of y) and the fit time.
Motorcycle data (Silverman, 133 points): one random 80/20 split per replicate
(106 training, 27 test points), NLL in nats with y in g, coverage, CRPS in g.

Target (COURSE.md §6): on Vink's toy at n = 1000 a method within 0.05 nats of the
oracle whose 90% interval covers 88–92%; the script says whether one is, on the
means and with the standard errors.

Adding a method
---------------
Methods live in ``benchmarks/methods/`` and register themselves with
``@register(name)``; a fit function ``fit(x, y, *, seed, budget)`` takes
standardised float64 arrays ``(N, 1)`` and returns a *predictive* with
``log_prob(x, y)`` and one of ``normal(x)``, ``cdf(x, y)``, ``sample(x, n, seed)``.
The protocol is documented in :mod:`deepprob.predictive`, the registry in
``benchmarks/methods/__init__.py``; dropping a new module
there adds its rows, nothing here changes.

How each score is computed (:func:`deepprob.predictive.score`)
--------------------------------------------------------------
NLL: ``-mean log_prob`` (exact for every method). Coverage: closed form for a
``normal`` predictive, else through the PIT, ``0.05 <= F(y) <= 0.95``, with
``F`` from ``cdf`` or from 200 draws. CRPS: closed form for a Gaussian, else
the unbiased sample estimator on 200 draws (:func:`deepprob.metrics.crps_samples`).
The CSV columns are documented in :func:`write_csv`.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import math
import multiprocessing
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # the methods' own training bars; this script's bar is forced on
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from benchmarks import methods as registry  # noqa: E402
from benchmarks import report  # noqa: E402
from deepprob import data, metrics, seeds  # noqa: E402
from deepprob.predictive import score  # noqa: E402  (NLL, 90% coverage, CRPS; 200 draws where not Gaussian)

N_TEST = 10_000
MOTO_TEST_FRACTION = 0.2
TARGET_GAP, TARGET_COVERAGE = 0.05, (0.88, 0.92)   # COURSE.md §6
METRICS = ("nll", "gap", "coverage90", "crps", "fit_s", "predict_s")
CSV_COLUMNS = ["dataset", "method", "n_train", "n_seeds"] + [
    f"{m}_{stat}" for m in METRICS for stat in ("mean", "se", "sd")]
RUN_COLUMNS = ["dataset", "method", "n_train", "replicate", "data_seed", "test_seed", "fit_seed", "n_test",
               "nll", "oracle_nll", "gap", "coverage90", "crps", "fit_s", "predict_s"]


# ------------------------------------------------------------------ one replicate of one method
def toy_seeds(n, r, base_seed):
    """Training-data, test-data and fit seeds of replicate ``r`` at training size ``n``."""
    return {
        "data_seed": seeds.derive("uncertainty", "vink", "train", n, r, base_seed=base_seed),
        "test_seed": seeds.derive("uncertainty", "vink", "test", r, base_seed=base_seed),
        "fit_seed": seeds.derive("uncertainty", "vink", "fit", n, r, base_seed=base_seed),
    }


def motorcycle_seeds(r, base_seed):
    """Split and fit seeds of replicate ``r`` on the motorcycle data."""
    return {
        "data_seed": seeds.derive("uncertainty", "motorcycle", "split", r, base_seed=base_seed),
        "test_seed": seeds.derive("uncertainty", "motorcycle", "split", r, base_seed=base_seed),
        "fit_seed": seeds.derive("uncertainty", "motorcycle", "fit", r, base_seed=base_seed),
    }


def toy_run(method_name, n, r, base_seed, n_test, budget):
    """Fit ``method_name`` on replicate ``r`` of Vink's toy at size ``n`` and score it (one CSV run row)."""
    method = registry.load_all()[method_name]
    toy = data.HeteroscedasticSine()
    s = toy_seeds(n, r, base_seed)
    x_test, y_test = toy.sample(n_test, seed=s["test_seed"])
    oracle_lp = toy.log_prob(x_test, y_test)
    x, y = toy.sample(n, seed=s["data_seed"])
    start = time.perf_counter()
    predictive = method.fit(x, y, seed=s["fit_seed"], budget=budget)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    sc = score(predictive, x_test, y_test, seed=seeds.derive("uncertainty", "vink", "score", n, r,
                                                             base_seed=base_seed), oracle_log_prob=oracle_lp)
    return {"dataset": "vink_toy", "method": method_name, "n_train": n, "replicate": r, **s, "n_test": n_test,
            "nll": sc["nll"], "oracle_nll": metrics.mean_nll(oracle_lp), "gap": sc["gap"],
            "coverage90": sc["coverage"], "crps": sc["crps"], "fit_s": fit_s,
            "predict_s": time.perf_counter() - start}


def motorcycle_run(method_name, r, base_seed, budget):
    """Fit ``method_name`` on a random 80/20 split ``r`` of the motorcycle data; NLL in nats with y in g."""
    method = registry.load_all()[method_name]
    times, accel = data.load_motorcycle()
    s = motorcycle_seeds(r, base_seed)
    perm = np.random.default_rng(s["data_seed"]).permutation(len(times))
    n_test = int(round(MOTO_TEST_FRACTION * len(times)))
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    xm, xs = times[train_idx].mean(), times[train_idx].std()
    ym, ys = accel[train_idx].mean(), accel[train_idx].std()
    start = time.perf_counter()
    predictive = method.fit((times[train_idx] - xm) / xs, (accel[train_idx] - ym) / ys, seed=s["fit_seed"],
                            budget=budget)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    sc = score(predictive, (times[test_idx] - xm) / xs, (accel[test_idx] - ym) / ys,
               seed=seeds.derive("uncertainty", "motorcycle", "score", r, base_seed=base_seed))
    nan = float("nan")
    return {"dataset": "motorcycle", "method": method_name, "n_train": len(train_idx), "replicate": r, **s,
            "n_test": n_test, "nll": sc["nll"] + math.log(ys), "oracle_nll": nan, "gap": nan,
            "coverage90": sc["coverage"], "crps": sc["crps"] * ys, "fit_s": fit_s,
            "predict_s": time.perf_counter() - start}


def _run_task(task):
    kind, *args = task
    return toy_run(*args) if kind == "toy" else motorcycle_run(*args)


def _task_key(task):
    return ("vink_toy", task[1], task[2], task[3]) if task[0] == "toy" else ("motorcycle", task[1], None, task[2])


def _run_key(run):
    return (run["dataset"], run["method"], run["n_train"] if run["dataset"] == "vink_toy" else None, run["replicate"])


def run_all(method_names, sizes, n_seeds, base_seed, *, n_test=N_TEST, budget=1.0, motorcycle=True, jobs=1,
            progress=True, checkpoint=None, resume=False):
    """Every (dataset, method, size, replicate) run, in a stable order; ``jobs`` processes at once.

    With ``checkpoint`` (a path), every finished run is appended to it as a JSON line, and
    ``resume=True`` first reloads the runs there that were made with the same base seed, test
    size and budget, and skips them: a run killed halfway is continued, not restarted.
    """
    import json

    from tqdm import tqdm

    applies = {name: registry.load_all()[name].datasets for name in method_names}
    tasks = [("toy", m, n, r, base_seed, n_test, budget) for n in sizes for m in method_names
             for r in range(n_seeds) if "vink_toy" in applies[m]]
    if motorcycle:
        tasks += [("moto", m, r, base_seed, budget) for m in method_names for r in range(n_seeds)
                  if "motorcycle" in applies[m]]
    settings = {"base_seed": base_seed, "n_test": n_test, "budget": budget}
    wanted = {_task_key(t) for t in tasks}
    runs = []
    if checkpoint is not None and resume and Path(checkpoint).is_file():
        for line in Path(checkpoint).read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # a line cut short when the run was killed
                continue
            if entry["settings"] == settings and _run_key(entry["run"]) in wanted:
                runs.append(entry["run"])
        print(f"resuming: {len(runs)} runs from {checkpoint}", file=sys.stderr)
    elif checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    have = {_run_key(r) for r in runs}
    todo = [t for t in tasks if _task_key(t) not in have]
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc="fits", unit="fit", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)

    def done(run):
        runs.append(run)
        if checkpoint is not None:
            with open(checkpoint, "a") as f:
                f.write(json.dumps({"settings": settings, "run": run}) + "\n")
        bar.set_postfix_str(f"{run['method'][:28]} n={run['n_train']} r={run['replicate']} "
                            f"NLL {run['nll']:.3f}", refresh=False)
        bar.update(1)

    if jobs <= 1:
        for task in todo:
            done(_run_task(task))
    elif todo:
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for fut in cf.as_completed([pool.submit(_run_task, t) for t in todo]):
                done(fut.result())
    bar.close()
    order = {_task_key(t): i for i, t in enumerate(tasks)}
    runs.sort(key=lambda r: order[_run_key(r)])
    return runs


def summarise(runs):
    """One row per (dataset, method, n_train): mean, standard error and sd over replicates of each score."""
    groups = {}
    for run in runs:
        groups.setdefault((run["dataset"], run["method"], run["n_train"]), []).append(run)
    rows = []
    for (dataset, method, n_train), rs in groups.items():
        row = {"dataset": dataset, "method": method, "n_train": n_train, "n_seeds": len(rs)}
        for m in METRICS:
            v = np.array([r[m] for r in rs], dtype=np.float64)
            if np.all(np.isnan(v)):
                mean = sd = se = float("nan")
            else:
                mean = float(np.mean(v))
                sd = float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
                se = sd / math.sqrt(len(v))
            row.update({f"{m}_mean": mean, f"{m}_se": se, f"{m}_sd": sd})
        rows.append(row)
    return rows


# ------------------------------------------------------------------ printing
def _pm(mean, se, width=7, digits=3):
    if math.isnan(mean):
        return " " * (2 * width + 3)
    return f"{mean:{width}.{digits}f} ± {se:<{width}.{digits}f}"


def print_rows(rows):
    n_seeds = sorted({r["n_seeds"] for r in rows})
    toy = [r for r in rows if r["dataset"] == "vink_toy"]
    if toy:
        print(f"Vink's toy (HeteroscedasticSine); oracle NLL {data.HeteroscedasticSine.ORACLE_NLL:.3f} nats; "
              f"mean ± s.e. over {'/'.join(map(str, n_seeds))} seeds; gap paired with the oracle on each test set")
        head = (f"{'method':42s} {'n':>5s} {'NLL (nats)':^17s} {'gap (nats)':^17s} {'90% coverage':^17s} "
                f"{'CRPS':^17s} {'fit (s)':^13s}")
        print(head)
        print("-" * len(head))
        for r in toy:
            print(f"{r['method']:42s} {r['n_train']:5d} {_pm(r['nll_mean'], r['nll_se'])} "
                  f"{_pm(r['gap_mean'], r['gap_se'])} {_pm(r['coverage90_mean'], r['coverage90_se'])} "
                  f"{_pm(r['crps_mean'], r['crps_se'])} {_pm(r['fit_s_mean'], r['fit_s_se'], 5, 1)}")
    moto = [r for r in rows if r["dataset"] == "motorcycle"]
    if moto:
        print(f"\nMotorcycle data (133 points), random 80/20 splits (one per seed); NLL in nats and CRPS in g")
        head = f"{'method':42s} {'NLL (nats)':^19s} {'90% coverage':^17s} {'CRPS (g)':^19s} {'fit (s)':^13s}"
        print(head)
        print("-" * len(head))
        for r in moto:
            print(f"{r['method']:42s} {_pm(r['nll_mean'], r['nll_se'], 8)} "
                  f"{_pm(r['coverage90_mean'], r['coverage90_se'])} {_pm(r['crps_mean'], r['crps_se'], 8)} "
                  f"{_pm(r['fit_s_mean'], r['fit_s_se'], 5, 1)}")


def check_target(rows):
    """COURSE.md §6 at n = 1000: a method within TARGET_GAP of the oracle with coverage in TARGET_COVERAGE."""
    at_1000 = [r for r in rows if r["dataset"] == "vink_toy" and r["n_train"] == 1000]
    if not at_1000:
        return None
    lo, hi = TARGET_COVERAGE

    def meets(r, k=0.0):
        return (r["gap_mean"] + k * r["gap_se"] <= TARGET_GAP
                and lo <= r["coverage90_mean"] - k * r["coverage90_se"]
                and r["coverage90_mean"] + k * r["coverage90_se"] <= hi)

    on_means = [r for r in at_1000 if meets(r)]
    clearly = [r for r in at_1000 if meets(r, 2.0)]
    best = min(at_1000, key=lambda r: r["gap_mean"])
    print(f"\nTarget (COURSE.md §6) at n = 1000: a method with gap <= {TARGET_GAP} nats and 90% coverage in "
          f"[{lo}, {hi}]")
    print(f"  smallest gap: '{best['method']}' {best['gap_mean']:.3f} ± {best['gap_se']:.3f} nats, "
          f"coverage {best['coverage90_mean']:.3f} ± {best['coverage90_se']:.3f}")
    names = ", ".join(f"'{r['method']}' (gap {r['gap_mean']:.3f} ± {r['gap_se']:.3f}, coverage "
                      f"{r['coverage90_mean']:.3f} ± {r['coverage90_se']:.3f})" for r in on_means)
    print(f"  meeting both on the means: {names or 'none'}")
    print(f"  meeting both with 2 s.e. to spare: {', '.join(repr(r['method']) for r in clearly) or 'none'}")
    print(f"  -> {'MET' if on_means else 'NOT MET'}")
    return bool(on_means)


# ------------------------------------------------------------------ CSV
def write_csv(path, rows, runs, meta):
    """Write the summary rows at ``path``, the per-replicate runs beside it and the provenance.

    ``path``: one row per (dataset, method, n_train) with ``n_seeds`` replicates;
    for each score ``m`` the columns ``m_mean``, ``m_se`` (standard error of the
    mean over replicates, ``sd / sqrt(n_seeds)``) and ``m_sd`` (their standard
    deviation, ddof = 1: the spread of one run). Scores: ``nll`` (held-out NLL,
    nats per point), ``gap`` (Vink's toy only: the paired gap to the oracle, the
    method's NLL minus the true density's NLL on the same test points, nats),
    ``coverage90`` (fraction of test points in the central 90% interval),
    ``crps`` (standardised units of y on Vink's toy, g on the motorcycle data),
    ``fit_s`` (wall-clock seconds of the fit, one thread) and ``predict_s``
    (seconds to score the test set). Datasets: ``vink_toy`` (test sets of
    ``n_test`` points, ``n_train`` 150 or 1000) and ``motorcycle`` (one random
    80/20 split per replicate, 106 training and 27 test points, NLL with y in g,
    no oracle so no gap). Empty cells are not applicable.

    ``<stem>_runs.csv``: one row per replicate with its seeds (``data_seed``,
    ``test_seed``, ``fit_seed``, all derived from the base seed of the meta
    file), ``oracle_nll`` (the true density's NLL on that test set) and the raw
    scores; rows of one replicate share their training and test data across
    methods, so differences between methods can be paired.
    """
    report.write_results(path, rows, runs, meta, columns=CSV_COLUMNS, run_columns=RUN_COLUMNS, doc=write_csv.__doc__)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="*", help="shell-style patterns of method names (default: all)")
    parser.add_argument("--n-train", nargs="*", type=int, default=[150, 1000], help="training sizes on Vink's toy")
    parser.add_argument("--seeds", type=int, default=5, help="replicates (seeds) per method and size (default 5)")
    parser.add_argument("--base-seed", type=int, default=None,
                        help="base seed of every derived seed (default: $DEEPPROB_SEED, 0 when unset)")
    parser.add_argument("--n-test", type=int, default=N_TEST, help=f"test points per replicate (default {N_TEST})")
    parser.add_argument("--budget", type=float, default=1.0, help="fraction of each method's default steps")
    parser.add_argument("--no-motorcycle", action="store_true", help="skip the motorcycle splits")
    parser.add_argument("--jobs", type=int, default=1, help="fits run at once, in separate processes (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--resume", action="store_true",
                        help="continue a run that was stopped: reuse the finished fits of PATH.partial.jsonl")
    parser.add_argument("--list", action="store_true", help="list the registered methods and exit")
    parser.add_argument("--csv", metavar="PATH",
                        help="also write the rows as CSV to PATH (and PATH_runs.csv, PATH.meta.json); finished fits "
                             "are kept in PATH.partial.jsonl until the end (see --resume)")
    args = parser.parse_args(argv)
    if args.list:
        for m in registry.load_all().values():
            print(f"{m.name:42s} chapter {m.chapter}  cost {m.cost:g}  ({m.module})")
        return 0
    if args.seeds < 1 or args.n_test < 2:
        parser.error("--seeds must be >= 1 and --n-test >= 2")
    base_seed = seeds.base() if args.base_seed is None else args.base_seed
    chosen = [m.name for m in registry.select(args.methods)]
    start = time.perf_counter()
    checkpoint = Path(str(args.csv) + ".partial.jsonl") if args.csv else None
    if checkpoint is not None:
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
    runs = run_all(chosen, args.n_train, args.seeds, base_seed, n_test=args.n_test, budget=args.budget,
                   motorcycle=not args.no_motorcycle, jobs=args.jobs, progress=not args.no_progress,
                   checkpoint=checkpoint, resume=args.resume)
    rows = summarise(runs)
    print_rows(rows)
    met = check_target(rows)
    seconds = time.perf_counter() - start
    print(f"\nbase seed {base_seed}, {args.seeds} seeds, {args.n_test} test points, budget {args.budget}: "
          f"total {seconds:.0f} s")
    if args.csv:
        argv_list = sys.argv[1:] if argv is None else list(argv)
        meta = {**report.provenance("benchmarks/uncertainty.py", argv_list), "base_seed": base_seed,
                "n_seeds": args.seeds, "n_test": args.n_test, "n_train": args.n_train, "budget": args.budget,
                "jobs": args.jobs, "oracle_nll": data.HeteroscedasticSine.ORACLE_NLL,
                "target": {"gap": TARGET_GAP, "coverage90": list(TARGET_COVERAGE), "met_on_means": met},
                "total_s": seconds}
        write_csv(args.csv, rows, runs, meta)
        checkpoint.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
