"""Autograde a class with ``jobs`` local worker processes and a progress bar.

Each worker (:mod:`deepprob.grading.worker`) grades its share of the students
and prints one JSON record per student; :func:`autograde_parallel` reads the
records as they come. :mod:`deepprob.grading.cluster` does the same on a Dask cluster.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .gradebook import add_students
from .nbgrader_cli import nbgrader_env

__all__ = ["autograde_parallel"]


def autograde_parallel(
    root: Path, assignment: str, students: list[str], jobs: int, url: str, timeout: int | None, quiet: bool
) -> list[str]:
    """Grade ``students`` with ``jobs`` worker processes; return those that failed."""
    if not students:
        return []
    add_students(url, students)
    jobs = min(jobs, len(students))
    chunks = [students[i::jobs] for i in range(jobs)]
    extra = [f"--timeout={int(timeout)}"] if timeout else []
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "deepprob.grading.worker", str(root), assignment, url, *chunk, *extra],
            cwd=root, env=nbgrader_env(), text=True, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if quiet else None,
        )
        for chunk in chunks
    ]
    return _collect(procs, chunks, assignment, quiet)


def _collect(procs: list, chunks: list[list[str]], assignment: str, quiet: bool) -> list[str]:
    """Read the workers' one-line records as they come, with a progress bar; return the failed students."""
    import json
    import queue
    import threading

    from tqdm import tqdm

    records: queue.Queue = queue.Queue()

    def read(index: int) -> None:
        for line in procs[index].stdout:
            records.put((index, line))
        records.put((index, None))

    for i in range(len(procs)):
        threading.Thread(target=read, args=(i,), daemon=True).start()
    seen: set[str] = set()
    failed: list[str] = []
    open_pipes = len(procs)
    total = sum(len(c) for c in chunks)
    with tqdm(total=total, desc=f"grading {assignment}", unit="notebook", disable=quiet, file=sys.stderr,
              dynamic_ncols=True) as bar:
        while open_pipes:
            _, line = records.get()
            if line is None:
                open_pipes -= 1
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            seen.add(rec["student"])
            bar.update(1)
            if not rec["success"]:
                failed.append(rec["student"])
                if not quiet:
                    bar.write(f"autograde failed for {rec['student']}:\n{rec['log']}")
    for proc in procs:
        proc.wait()
    failed += [s for chunk in chunks for s in chunk if s not in seen]  # a worker died before it
    return failed
