"""What every benchmark script writes: the summary CSV, the per-replicate runs CSV and a provenance file.

``write_results(path, rows, runs, meta, columns=..., run_columns=..., doc=...)``
writes ``path`` (one row per summary line), ``<stem>_runs.csv`` beside it (one
row per replicate) and ``path.meta.json`` (``meta`` plus the column
documentation ``doc``); :func:`provenance` is the command, date, machine and
git commit of the run, for ``meta``.
"""
from __future__ import annotations

import csv
import json
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

__all__ = ["fmt", "write_results", "provenance"]


def fmt(value):
    """A CSV cell: floats with 6 significant digits, NaN as an empty cell, anything else as is."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return value


def _write_table(path: Path, rows, columns) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: fmt(row[k]) for k in columns})


def write_results(path, rows, runs, meta, *, columns, run_columns, doc) -> None:
    """Write ``rows`` at ``path``, ``runs`` at ``<stem>_runs.csv`` and ``meta`` + ``doc`` at ``path.meta.json``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_table(path, rows, columns)
    runs_path = path.with_name(path.stem + "_runs.csv")
    _write_table(runs_path, runs, run_columns)
    Path(str(path) + ".meta.json").write_text(json.dumps({**meta, "columns": doc}, indent=2) + "\n")
    print(f"wrote {path} ({len(rows)} rows), {runs_path} ({len(runs)} runs) and {path}.meta.json", file=sys.stderr)


def provenance(script: str, argv, **machine) -> dict:
    """Command, date, machine (plus ``machine`` extras, e.g. torch's thread count) and git commit of this run."""
    import datetime
    import platform
    import shlex
    import subprocess

    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "benchmarks"], cwd=ROOT, capture_output=True,
                                    text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    return {
        "command": shlex.join(["python", script, *argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "nproc": os.cpu_count(),
                    "threads": os.environ.get("OMP_NUM_THREADS"), **machine,
                    "load_avg_at_end": list(os.getloadavg())},
        "git_commit": commit,
        "benchmarks_dir_modified": dirty,
    }
