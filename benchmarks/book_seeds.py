"""How much each chapter's measured numbers move with the base seed.

Executes chapters (the MyST sources in ``book/``) once per base seed
``DEEPPROB_SEED = 0 … n-1`` and collects every number a chapter publishes with
myst-nb ``glue``. The summary — mean, standard deviation, min and max over
seeds of each glued number — is the table behind the chapters' tolerances: a
claim a chapter asserts must hold at every seed here, with room to spare.

    python benchmarks/book_seeds.py --n-seeds 10 --jobs 2 \
        --csv benchmarks/results/book_seeds.csv
    python benchmarks/book_seeds.py --chapters ch08 --seeds 0 1 2   # while editing a chapter

A chapter that fails at some seed is reported with the cell and the error,
and the script exits 1.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import jupytext
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"


def chapters(prefixes, book=BOOK):
    found = sorted(Path(book).glob("ch[0-9][0-9]_*.md"))
    if not prefixes:
        return found
    chosen = [p for p in found if any(p.stem.startswith(x) for x in prefixes)]
    missing = [x for x in prefixes if not any(p.stem.startswith(x) for p in found)]
    if missing:
        sys.exit(f"no chapter matches {missing}; chapters are {[p.stem for p in found]}")
    return chosen


def glued_values(nb):
    """{name: value} of every glued output (floats where the repr parses)."""
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            data = out.get("data", {})
            # glue(..., display=False) stores its value under papermill's record mime type
            text = data.get("application/papermill.record/text/plain", data.get("text/plain", ""))
            if isinstance(text, list):
                text = "".join(text)
            text = text.strip()
            for prefix in ("np.float64(", "np.float32(", "np.int64(", "tensor("):
                if text.startswith(prefix) and text.endswith(")"):
                    text = text[len(prefix):-1]
            try:
                values[meta["name"]] = float(text)
            except ValueError:
                values[meta["name"]] = text
    return values


def run_one(path: Path, seed: int, timeout: int):
    nb = jupytext.read(path)
    env = {
        **os.environ,
        "DEEPPROB_SEED": str(seed),
        "TQDM_DISABLE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_USE_LEGACY_KERAS": "1",
        "PYTHONHASHSEED": "0",
    }
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.km = client.create_kernel_manager()
    start = time.perf_counter()
    error = ""
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
        error = lines[-1] if lines else repr(exc)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                src = cell.source.strip().splitlines()
                error = f"code cell {i} ({src[0][:60] if src else ''}…): {error}"
                break
    except Exception as exc:  # kernel died, timeout
        error = f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - start
    return {"chapter": path.stem, "seed": seed, "seconds": seconds, "error": error, "values": glued_values(nb)}


def read_runs(path):
    """The runs of a ``_runs.csv`` written by this script, as ``run_one`` returns them."""
    runs = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            run = runs.setdefault((row["chapter"], int(row["seed"])), {
                "chapter": row["chapter"], "seed": int(row["seed"]), "seconds": float(row["seconds"]),
                "error": row["error"], "values": {}})
            if row["name"]:
                try:
                    run["values"][row["name"]] = float(row["value"])
                except ValueError:
                    run["values"][row["name"]] = row["value"]
    return list(runs.values())


def summarise(runs):
    rows = []
    by_key = {}
    for run in runs:
        for name, value in run["values"].items():
            if isinstance(value, float) and math.isfinite(value):
                by_key.setdefault((run["chapter"], name), []).append(value)
    for (chapter, name), vals in sorted(by_key.items()):
        n = len(vals)
        mean = sum(vals) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else float("nan")
        rows.append({"chapter": chapter, "name": name, "n_seeds": n, "mean": mean, "sd": sd,
                     "min": min(vals), "max": max(vals)})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chapters", nargs="*", default=[], help="chapter prefixes, e.g. ch05 ch08 (default: all)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--seeds", nargs="*", type=int, help="base seeds to run")
    group.add_argument("--n-seeds", type=int, default=10, help="run base seeds 0 … n-1 (default 10)")
    parser.add_argument("--jobs", type=int, default=2, help="chapters executed at once (default 2)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--csv", type=Path, help="write the summary here (+ _runs.csv and .meta.json beside it)")
    parser.add_argument("--book", type=Path, default=BOOK,
                        help="folder of the chapters (default: the book's; the tests pass a tiny one)")
    parser.add_argument("--update", action="store_true",
                        help="with --csv: replace only the (chapter, seed) runs executed now in the existing "
                             "_runs.csv, keep the others, and summarise them all (after a chapter's claim changed)")
    args = parser.parse_args(argv)
    if args.update and not args.csv:
        parser.error("--update needs --csv, the table to update")

    seeds = args.seeds if args.seeds is not None else list(range(args.n_seeds))
    todo = [(p, s) for p in chapters(args.chapters, args.book) for s in seeds]
    runs = []
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = tqdm(total=len(todo), desc="chapter × seed", unit="run") if tqdm else None
    with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_one, p, s, args.timeout) for p, s in todo]
        for fut in cf.as_completed(futures):
            run = fut.result()
            runs.append(run)
            if bar:
                bar.update(1)
                if run["error"]:
                    bar.write(f"FAILED {run['chapter']} seed {run['seed']}: {run['error']}")
    if bar:
        bar.close()
    previous_meta = {}
    if args.update:
        done = {(r["chapter"], r["seed"]) for r in runs}
        kept = [r for r in read_runs(args.csv.with_name(args.csv.stem + "_runs.csv"))
                if (r["chapter"], r["seed"]) not in done]
        runs += kept
        meta_path = args.csv.with_suffix(args.csv.suffix + ".meta.json")
        if meta_path.exists():
            previous_meta = json.loads(meta_path.read_text())
    runs.sort(key=lambda r: (r["chapter"], r["seed"]))
    rows = summarise(runs)

    print(f"\n{'chapter':<34} {'glued number':<34} {'n':>3} {'mean':>11} {'sd':>10} {'min':>11} {'max':>11}")
    for r in rows:
        print(f"{r['chapter']:<34} {r['name']:<34} {r['n_seeds']:>3} {r['mean']:>11.4g} {r['sd']:>10.3g} "
              f"{r['min']:>11.4g} {r['max']:>11.4g}")
    failures = [r for r in runs if r["error"]]
    times = {}
    for r in runs:
        times.setdefault(r["chapter"], []).append(r["seconds"])
    print("\nexecution seconds per chapter (mean over seeds): "
          + ", ".join(f"{c} {sum(t) / len(t):.1f}" for c, t in times.items()))
    for r in failures:
        print(f"FAILED {r['chapter']} seed {r['seed']}: {r['error']}")

    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=["chapter", "name", "n_seeds", "mean", "sd", "min", "max"])
            writer.writeheader()
            for r in rows:
                writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
        runs_path = args.csv.with_name(args.csv.stem + "_runs.csv")
        with open(runs_path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["chapter", "seed", "seconds", "error", "name", "value"])
            for r in runs:
                for name, value in sorted(r["values"].items()):
                    writer.writerow([r["chapter"], r["seed"], f"{r['seconds']:.1f}", r["error"], name,
                                     f"{value:.6g}" if isinstance(value, float) else value])
                if not r["values"]:
                    writer.writerow([r["chapter"], r["seed"], f"{r['seconds']:.1f}", r["error"], "", ""])
        try:
            commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip()
        except OSError:
            commit = ""
        command = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
        meta = {
            "command": previous_meta.get("command", command),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "commit": commit,
            "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cores".strip(),
            "seeds": previous_meta.get("seeds", seeds),
            "failures": [f"{r['chapter']} seed {r['seed']}: {r['error']}" for r in failures],
        }
        if args.update:
            meta["updates"] = previous_meta.get("updates", []) + [
                {"command": command, "date": meta["date"], "commit": commit,
                 "runs": sorted(f"{p.stem} seed {s}" for p, s in todo)}]
        args.csv.with_suffix(args.csv.suffix + ".meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
