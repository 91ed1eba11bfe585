"""Mixture density networks on Bishop's inverse problem: held-out NLL and its gap to the oracle.

Prints one table row per model: the held-out NLL (nats per point) on 20 000 fresh points,
its standard error, the gap to ``BishopInverse.ORACLE_NLL`` (the exact conditional density's
expected NLL, -1.2823 nats), the mean 90% central-interval coverage by PIT, and the fit time.
The course's target (COURSE.md §6) is a gap of at most 0.10 nats for the MDN.

Usage::

    python benchmarks/mdn_bishop.py            # the MDN row and two baselines
    python benchmarks/mdn_bishop.py --quick    # a smaller, faster run (smoke test)

The training recipe is :func:`fit_mdn`; ``benchmarks/methods/mdn.py`` reuses it.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from deepprob import data, metrics
from deepprob.torch import mdn

ORACLE = data.BishopInverse.ORACLE_NLL


def fit_mdn(t, x, *, n_components=32, hidden=128, epochs=200, batch_size=512, lr=5e-3, seed=0):
    """Train an MDN on ``(t, x)`` (arrays (N, 1)) with Adam and a one-cycle schedule.

    Components start spread over the targets (``init_from_targets``); returns the model
    and the training time in seconds.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    T = torch.tensor(t, dtype=torch.float32)
    X = torch.tensor(np.asarray(x).reshape(-1), dtype=torch.float32)
    model = mdn.MixtureDensityNetwork(T.shape[1], n_components, hidden).init_from_targets(X)
    n = len(X)
    steps = epochs * math.ceil(n / batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            loss = model.nll(T[idx], X[idx])
            loss.backward()
            opt.step()
            sched.step()
    return model, time.perf_counter() - start


def score(model, t, x):
    """Held-out log densities and PIT values of a fitted MDN (NumPy arrays (N,))."""
    with torch.no_grad():
        dist = model(torch.tensor(t, dtype=torch.float32))
        y = torch.tensor(np.asarray(x).reshape(-1), dtype=torch.float32)
        return dist.log_prob(y).double().numpy(), dist.cdf(y).double().numpy()


def row(name, log_prob, pit, seconds):
    nll = metrics.mean_nll(log_prob)
    return {
        "method": name,
        "nll": nll,
        "se": metrics.nll_standard_error(log_prob),
        "gap": nll - ORACLE,
        "coverage90": float(np.mean(np.abs(pit - 0.5) <= 0.45)),
        "fit_s": seconds,
    }


def run(quick=False, seed=0, **overrides):
    """Return the benchmark rows (dicts) for the MDN, a single Gaussian and the oracle.

    ``overrides`` (e.g. ``epochs=200``) are passed to :func:`fit_mdn` for the MDN.
    """
    torch.set_num_threads(1)
    bishop = data.BishopInverse()
    n_train = 4000 if quick else 20_000
    t, x = bishop.sample(n_train, seed=seed + 1)
    t_test, x_test = bishop.sample(20_000, seed=seed + 2)
    kw = dict(epochs=30, n_components=16, hidden=64, batch_size=256) if quick else {}
    rows = []
    model, sec = fit_mdn(t, x, seed=seed, **{**kw, **overrides})
    rows.append(row(f"MDN K={model.n_components}", *score(model, t_test, x_test), sec))
    oracle_lp = bishop.log_prob(t_test, x_test).ravel()
    paired = score(model, t_test, x_test)[0] - oracle_lp
    rows[0]["paired_gap"] = float(-paired.mean())
    rows[0]["paired_se"] = float(paired.std(ddof=1) / math.sqrt(len(paired)))
    model1, sec1 = fit_mdn(t, x, seed=seed, **{**kw, "n_components": 1, "epochs": kw.get("epochs", 50)})
    rows.append(row("one Gaussian (K=1)", *score(model1, t_test, x_test), sec1))
    lp = bishop.log_prob(t_test, x_test).ravel()
    rows.append({"method": "oracle (exact density)", "nll": metrics.mean_nll(lp),
                 "se": metrics.nll_standard_error(lp), "gap": metrics.mean_nll(lp) - ORACLE,
                 "coverage90": float("nan"), "fit_s": 0.0})
    return rows


def write_csv(path, rows, *, n_train, seed, argv, seconds):
    """Write ``rows`` as CSV at ``path`` (same columns as ``benchmarks/uncertainty.py --csv``, plus the
    paired gap) and the provenance (command, date, machine, git commit) at ``path + '.meta.json'``.

    NLL and gap in nats per held-out point (20 000 points), gap to ``BishopInverse.ORACLE_NLL``;
    ``coverage90`` of the central 90% interval by PIT; no CRPS (empty); ``fit_s`` the training time.
    """
    import csv
    import datetime
    import json
    import os
    import platform
    import shlex
    import subprocess
    from pathlib import Path

    columns = ["dataset", "method", "n_train", "seed", "nll", "nll_se", "gap", "coverage90", "crps", "fit_s",
               "predict_s", "paired_gap", "paired_se"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def fmt(v):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        return f"{v:.6g}" if isinstance(v, float) else v

    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: fmt(v) for k, v in {
                "dataset": "bishop_inverse", "method": r["method"], "n_train": n_train, "seed": seed,
                "nll": r["nll"], "nll_se": r["se"], "gap": r["gap"], "coverage90": r["coverage90"], "crps": None,
                "fit_s": r["fit_s"], "predict_s": None, "paired_gap": r.get("paired_gap"),
                "paired_se": r.get("paired_se")}.items()})
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "benchmarks"], cwd=root, capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    meta = {
        "command": shlex.join(["python", "benchmarks/mdn_bishop.py", *argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "nproc": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(), "load_avg_at_end": list(os.getloadavg())},
        "git_commit": commit,
        "benchmarks_dir_modified": dirty,
        "oracle_nll": ORACLE,
        "n_test": 20_000,
        "total_s": seconds,
        "columns": write_csv.__doc__,
    }
    Path(str(path) + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data and fewer epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the MDN's epochs")
    parser.add_argument("--components", type=int, default=None, help="override the MDN's number of components")
    parser.add_argument("--csv", metavar="PATH", help="also write the rows as CSV to PATH (and PATH.meta.json)")
    args = parser.parse_args()
    start = time.perf_counter()
    overrides = {k: v for k, v in (("epochs", args.epochs), ("n_components", args.components)) if v is not None}
    rows = run(quick=args.quick, seed=args.seed, **overrides)
    print(f"Bishop's inverse problem, oracle expected NLL {ORACLE:.4f} nats; target: MDN gap <= 0.10 nats")
    print(f"{'method':<24} {'NLL (nats)':>10} {'se':>6} {'gap':>7} {'90% cov':>8} {'fit (s)':>8}")
    for r in rows:
        print(f"{r['method']:<24} {r['nll']:>10.4f} {r['se']:>6.4f} {r['gap']:>7.4f} {r['coverage90']:>8.3f} {r['fit_s']:>8.1f}")
    mdn_gap = rows[0]["gap"]
    print(f"MDN gap to the oracle: {mdn_gap:.3f} nats -> {'PASS' if mdn_gap <= 0.10 else 'FAIL'} (target 0.10)")
    print(f"paired gap on the same test points (MDN NLL - oracle NLL): {rows[0]['paired_gap']:.3f} "
          f"± {rows[0]['paired_se']:.3f} nats")
    if args.csv:
        import sys

        write_csv(args.csv, rows, n_train=4000 if args.quick else 20_000, seed=args.seed, argv=sys.argv[1:],
                  seconds=time.perf_counter() - start)


if __name__ == "__main__":
    main()
