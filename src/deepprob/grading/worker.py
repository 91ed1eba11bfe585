"""One grading worker: ``python -m deepprob.grading.worker ROOT ASSIGNMENT DB_URL STUDENT...``.

:func:`deepprob.grading.course.grade` starts ``jobs`` of these processes, each
with its share of the students. A worker loads nbgrader once and autogrades its
students one after the other (``NbGraderAPI.autograde``), so the start-up of
nbgrader is paid once per worker, not per student. After each student it
records the graded submission's fingerprint in the ledger
(:mod:`deepprob.grading.ledger`): a worker killed halfway leaves every finished
student recorded and the others not, so the next ``make grade`` regrades exactly those. The worker also writes each
graded student's feedback page (``generate_feedback``), so that this work is
shared by the workers too.

Workers sharing a SQLite gradebook take turns at it through a file lock
(:mod:`deepprob.grading.gradebook_lock`); PostgreSQL takes concurrent writers.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .ledger import fingerprint, write_ledger

__all__ = ["load_config", "grade_one", "main"]


def load_config(root: Path, db_url: str, timeout: int | None = None):
    """The course's ``nbgrader_config.py`` as a traitlets Config, pointed at ``db_url``."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    cfg.CourseDirectory.db_url = db_url
    if cfg.KernelManager.get("transport") == "ipc":
        # jupyter_client's default ipc prefix is "kernel-ipc" in the course root:
        # parallel workers would share sockets. One private prefix per worker.
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="deepprob-ipc-")
        atexit.register(shutil.rmtree, folder, True)
        cfg.KernelManager.ip = os.path.join(folder, "kernel-ipc")
    if timeout:
        cfg.Execute.timeout = int(timeout)
    return cfg


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m deepprob.grading.worker")
    parser.add_argument("root")
    parser.add_argument("assignment")
    parser.add_argument("db_url")
    parser.add_argument("students", nargs="*")
    parser.add_argument("--timeout", type=int, default=None)
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    os.chdir(root)
    from nbgrader.apps import NbGraderAPI

    from .gradebook_lock import serialised

    url = serialised(args.db_url, root / "autograded" / ".ledger" / "gradebook.lock")
    api = NbGraderAPI(config=load_config(root, url, args.timeout))
    for student in args.students:
        print(json.dumps(grade_one(api, root, args.assignment, student)), flush=True)
    return 0


def grade_one(api, root: Path, assignment: str, student: str, batch: str | None = None) -> dict:
    """Autograde one submission, write its feedback and its ledger record.

    Parameters
    ----------
    api : nbgrader.apps.NbGraderAPI
        nbgrader's API on the course (:func:`load_config`), made once per process.
    root : Path
        Course root.
    assignment, student : str
        What to grade.
    batch : str, optional
        An id of the grading run, kept in the ledger record (a rerun task of the same
        run then knows the work is done; :mod:`deepprob.grading.cluster`).

    Returns
    -------
    dict
        ``{"student", "success", "log"}`` (the log's tail only when it failed).
    """
    folder = Path(root) / "submitted" / student / assignment
    digest = fingerprint(folder)  # before grading: a resubmission meanwhile is seen next time
    result = api.autograde(assignment, student, force=True, create=True)
    ok = bool(result.get("success"))
    if ok:  # feedback here, in parallel, rather than for the whole class at the end
        feedback = api.generate_feedback(assignment, student, force=True)
        if not feedback.get("success"):
            print(feedback.get("log", "")[-2000:], file=sys.stderr)
    # failures are recorded too: an unchanged broken submission is not rerun
    write_ledger(root, assignment, student, {"fingerprint": digest, "success": ok, "batch": batch})
    return {"student": student, "success": ok, "log": result.get("log", "")[-4000:] if not ok else ""}


if __name__ == "__main__":
    sys.exit(main())
