"""Grading throughput: notebooks per minute, sequential vs parallel, SQLite vs PostgreSQL.

A synthetic class of ``--students`` (default 50) hands in ``--assignments``
(default 2: ex01 twice, under its own name and as ``ex01b_maximum_likelihood``
when it is the only assignment) with a mix of submissions: 60% correct, 25%
wrong (a dropped constant, a sum for a mean), 10% blank, 5% broken (an
exception, a syntax error). Each configuration grades the whole class from a
fresh copy of the course through :func:`deepprob.grading.course.grade` (the
sandboxed kernel, the checker, feedback and export included) and prints::

    config                 notebooks  seconds  notebooks/min
    sqlite  jobs=1              100     ...        ...

Run: ``python benchmarks/grading.py [--students 50] [--jobs 1 2] [--pg URL] [--pg-jobs ...] [--cluster N]
[--plain] [--no-pg]``; ``--cluster 2`` adds a Dask ``LocalCluster`` of two workers (PostgreSQL);
``--plain`` adds the baseline, plain serial ``nbgrader autograde`` with nbgrader's defaults on the same
submissions, and prints each configuration's speed-up over it (issue #16: >= 3x with ``--jobs 2``).
Target (COURSE.md §6): >= 20 notebooks a minute on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from deepprob.grading import Case, build_submission, solution_sources  # noqa: E402
from deepprob.grading.course import grade, nbgrader  # noqa: E402

BASE = "ex01_maximum_likelihood"
MIX = (
    [("good", {})] * 12
    + [("wrong_const", {"gaussian_nll": "def gaussian_nll(y, mu, log_var):\n    return (0.5 * (log_var + (y - mu) ** 2 / torch.exp(log_var))).mean()\n"})] * 3
    + [("wrong_sum", {"bernoulli_nll": "def bernoulli_nll(y, logits):\n    return F.binary_cross_entropy_with_logits(logits, y, reduction='sum')\n"})] * 2
    + [("blank", None)] * 2
    + [("raises", {"gaussian_nll": "raise RuntimeError('oops')\n"})]
)


def make_course(dest: Path, names: list[str]) -> None:
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    for name in names:
        src = ROOT / "solutions" / BASE
        (dest / "solutions" / name).mkdir(parents=True)
        shutil.copy(src / f"{BASE}.ipynb", dest / "solutions" / name / f"{name}.ipynb")


def populate(course: Path, names: list[str], students: int, url: str) -> None:
    sols = solution_sources(ROOT / "solutions" / BASE / f"{BASE}.ipynb")
    for name in names:
        nbgrader(course, "generate_assignment", name, "--force", "--log-level=ERROR",
                 f"--CourseDirectory.db_url={url}", quiet=True)
        release = course / "exercises" / name / f"{name}.ipynb"
        for i in range(students):
            kind, replace = MIX[i % len(MIX)]
            case = Case(f"s{i:03d}", "full", blank=replace is None, replace=replace or {})
            folder = course / "submitted" / case.name / name
            folder.mkdir(parents=True)
            nbformat.write(build_submission(release, sols, case), str(folder / f"{name}.ipynb"))


def run(label: str, names: list[str], students: int, jobs: int, url_for, scheduler=None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        course = Path(tmp)
        make_course(course, names)
        url = url_for(course)
        populate(course, names, students, url)
        t0 = time.perf_counter()
        failed = 0
        for name in names:
            result = grade(course, name, jobs=jobs, quiet=True, db_url=url, scheduler=scheduler)
            failed += len(result.failed)
        dt = time.perf_counter() - t0
    n = students * len(names)
    config = f"{label} jobs={jobs}" if scheduler is None else f"{label} dask({jobs} workers)"
    row = {"config": config, "notebooks": n, "seconds": round(dt, 1),
           "per_minute": round(60 * n / dt, 1), "failed": failed}
    print(f"{row['config']:<22}{n:>10}{dt:>10.1f}{row['per_minute']:>15.1f}{failed:>8}", flush=True)
    return row


PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "deepprob"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
"""


def run_plain(names: list[str], students: int) -> dict:
    """The baseline: plain, serial ``nbgrader autograde`` with nbgrader's defaults (default kernel, no sandbox,
    hidden tests run in the student's kernel; nbgrader generates no feedback here) on the same submissions."""
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
        course = Path(tmp)
        make_course(course, names)
        (course / "nbgrader_config.py").write_text(PLAIN_CONFIG)
        url = f"sqlite:///{course}/gradebook.db"
        populate(course, names, students, url)
        t0 = time.perf_counter()
        for name in names:
            nbgrader(course, "autograde", name, "--create", "--log-level=ERROR", check=False, quiet=True)
        dt = time.perf_counter() - t0
    n = students * len(names)
    row = {"config": "plain nbgrader serial", "notebooks": n, "seconds": round(dt, 1),
           "per_minute": round(60 * n / dt, 1), "failed": 0}
    print(f"{row['config']:<22}{n:>10}{dt:>10.1f}{row['per_minute']:>15.1f}{'-':>8}", flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--assignments", type=int, default=2)
    p.add_argument("--jobs", type=int, nargs="*", default=[1, 2])
    p.add_argument("--pg", default=os.environ.get("DEEPPROB_TEST_PG_URL", "postgresql+psycopg2://postgres:postgres@127.0.0.1:5432/postgres"))
    p.add_argument("--json", default=None, help="also write the rows to this file")
    p.add_argument("--plain", action="store_true", help="also time plain serial `nbgrader autograde` (the baseline) "
                   "and print each configuration's speed-up over it")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL (and the cluster)")
    p.add_argument("--pg-jobs", type=int, nargs="*", default=None, help="jobs for the PostgreSQL rows (default --jobs)")
    p.add_argument("--cluster", type=int, default=0, metavar="N",
                   help="also grade on a Dask LocalCluster of N workers (PostgreSQL gradebook)")
    args = p.parse_args(argv)
    names = [BASE] + [f"ex01{chr(ord('b') + i)}_maximum_likelihood" for i in range(args.assignments - 1)]
    print(f"class: {args.students} students x {len(names)} assignments; cores: {len(os.sched_getaffinity(0))}")
    print(f"{'config':<22}{'notebooks':>10}{'seconds':>10}{'notebooks/min':>15}{'failed':>8}")
    rows = [run_plain(names, args.students)] if args.plain else []
    for jobs in args.jobs:
        rows.append(run("sqlite", names, args.students, jobs, lambda c: f"sqlite:///{c}/gradebook.db"))
    if args.plain:
        base = rows[0]["seconds"]
        for row in rows[1:]:
            print(f"speed-up over plain serial nbgrader, {row['config']}: {base / row['seconds']:.2f}x")
    try:
        if args.no_pg:
            raise RuntimeError("--no-pg")
        import psycopg2

        admin = psycopg2.connect(args.pg.replace("+psycopg2", ""), connect_timeout=3)
        admin.autocommit = True
    except Exception as err:  # no driver or no server
        print(f"postgresql: skipped ({type(err).__name__}: {str(err).strip()[:120]})")
    else:
        for jobs in (args.jobs if args.pg_jobs is None else args.pg_jobs):
            db = f"deepprob_bench_{uuid.uuid4().hex[:8]}"
            admin.cursor().execute(f"CREATE DATABASE {db}")
            try:
                url = args.pg.rsplit("/", 1)[0] + "/" + db
                rows.append(run("postgresql", names, args.students, jobs, lambda c, u=url: u))
            finally:
                admin.cursor().execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        if args.cluster:
            from distributed import Client, LocalCluster

            db = f"deepprob_bench_{uuid.uuid4().hex[:8]}"
            admin.cursor().execute(f"CREATE DATABASE {db}")
            try:
                url = args.pg.rsplit("/", 1)[0] + "/" + db
                with LocalCluster(n_workers=args.cluster, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, Client(cluster) as client:
                    rows.append(run("postgresql", names, args.students, args.cluster, lambda c, u=url: u,
                                    scheduler=client))
            finally:
                admin.cursor().execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
