"""Grade a class on a Dask distributed cluster (issue #16).

``make grade ASSIGNMENT=... SCHEDULER=tcp://host:8786`` (``python -m
deepprob.grading grade ... --scheduler tcp://host:8786``) hands each changed
submission to a `Dask distributed <https://distributed.dask.org>`_ cluster as
one task, :func:`grade_task`: autograde in the worker's sandbox (warm kernels,
:mod:`deepprob.grading.warm`), write the feedback, record the ledger. Nothing
here schedules: Dask's scheduler places the tasks and, when a worker dies,
runs its tasks again on another worker.

What a cluster needs:

* every worker sees the course root at the **same path** (a shared file system:
  NFS, a Kubernetes volume...) with the course's environment installed
  (``deepprob``, nbgrader, bubblewrap);
* a **PostgreSQL** gradebook (``--db-url`` / ``DEEPPROB_DB_URL``): the workers
  write it at once from several machines, which SQLite does not allow;
* workers with one thread each (``dask worker tcp://host:8786 --nthreads 1``):
  a worker grades one notebook at a time, in its course folder.

A task that runs twice (its worker died after grading but before reporting)
finds its ledger record (:mod:`deepprob.grading.ledger`) matching the
submission and returns without grading again; a task whose worker died while
grading runs again from the start (nbgrader replaces the half-made submission),
so every student is graded and recorded once in the gradebook.
"""
from __future__ import annotations

import os
import socket
import sys
import uuid
from pathlib import Path

__all__ = ["grade_task", "autograde_on_cluster"]

_APIS: dict[tuple, object] = {}


def grade_task(
    root: str, assignment: str, student: str, db_url: str, timeout: int | None = None, batch: str | None = None,
) -> dict:
    """Grade one submission on a Dask worker (runs in the worker process).

    nbgrader's API is loaded once per worker process and reused.

    Parameters
    ----------
    root : str
        Course root, at the same path on every worker.
    assignment, student : str
        What to grade.
    db_url : str
        The gradebook (PostgreSQL on a cluster).
    timeout : int, optional
        Seconds per cell.
    batch : str, optional
        Id of this grading run: a ledger record of the same run means the task
        already ran to the end (a rerun after its worker died before reporting).

    Returns
    -------
    dict
        ``{"student", "success", "log", "worker", "skipped"}``; ``skipped`` when the
        ledger shows this run graded the submission already.

    Raises
    ------
    FileNotFoundError
        If the course root is not visible on this worker.
    """
    from .gradebook_lock import serialised
    from .nbgrader_cli import nbgrader_env
    from .ledger import fingerprint, read_ledger
    from .worker import grade_one, load_config

    course = Path(root)
    if not (course / "nbgrader_config.py").is_file():
        raise FileNotFoundError(
            f"the course root {root} is not visible on worker {socket.gethostname()}: every Dask worker must see "
            "the course at the same path (a shared file system)"
        )
    where = f"{socket.gethostname()}:{os.getpid()}"
    record = read_ledger(course, assignment, student)
    if batch is not None and record and record.get("batch") == batch and \
            record.get("fingerprint") == fingerprint(course / "submitted" / student / assignment):
        return {"student": student, "success": bool(record.get("success")), "log": "", "worker": where, "skipped": True}
    os.chdir(course)  # nbgrader resolves the course's relative paths from here
    key = (str(course), db_url, timeout)
    api = _APIS.get(key)
    if api is None:
        from nbgrader.apps import NbGraderAPI

        if not _APIS:
            os.environ.update(nbgrader_env())  # once per worker: nbgrader runs `alembic` by name

        url = serialised(db_url, course / "autograded" / ".ledger" / "gradebook.lock")
        api = _APIS[key] = NbGraderAPI(config=load_config(course, url, timeout))
    out = grade_one(api, course, assignment, student, batch=batch)
    return {**out, "worker": where, "skipped": False}


def autograde_on_cluster(
    root: Path, assignment: str, students: list[str], db_url: str, timeout: int | None, scheduler, quiet: bool = False,
) -> list[str]:
    """Grade ``students`` on a Dask cluster; return those whose grading failed.

    Parameters
    ----------
    root : Path
        Course root (the same path on the workers).
    assignment : str
        Assignment name.
    students : list of str
        Students to grade.
    db_url : str
        Gradebook URL; PostgreSQL unless ``scheduler`` is a client of a cluster on this machine.
    timeout : int, optional
        Seconds per cell.
    scheduler : str or distributed.Client
        The scheduler's address (``tcp://host:8786``) or a connected client.
    quiet : bool
        No progress bar and no failure logs.

    Returns
    -------
    list of str
        Students whose autograde failed or whose task could not run.

    Raises
    ------
    ValueError
        If the gradebook is SQLite and the cluster is not all on this machine.
    """
    from distributed import Client, as_completed
    from tqdm import tqdm

    if not students:
        return []
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        if db_url.startswith("sqlite"):
            hosts = {_host(addr) for addr in client.scheduler_info().get("workers", {})}
            if not hosts <= {"127.0.0.1", "localhost", socket.gethostname(), _ip()}:
                raise ValueError(
                    "grading on a cluster of several machines needs a PostgreSQL gradebook: pass --db-url "
                    "postgresql://user:password@host/db (or set DEEPPROB_DB_URL); SQLite takes one machine's writers only"
                )
        # the students first, by one writer: the tasks then only add submissions
        from .gradebook import add_students

        add_students(db_url, students)
        batch = uuid.uuid4().hex
        futures = {
            client.submit(grade_task, str(root), assignment, s, db_url, timeout, batch,
                          key=f"grade-{assignment}-{s}-{batch[:8]}", retries=1): s
            for s in students
        }
        failed = []
        with tqdm(total=len(students), desc=f"grading {assignment} on {client.scheduler.address}", unit="notebook",
                  disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
            for future in as_completed(futures):
                student = futures[future]
                try:
                    rec = future.result()
                except Exception as err:  # the task raised twice, or its workers kept dying
                    failed.append(student)
                    if not quiet:
                        bar.write(f"autograde failed for {student}: {type(err).__name__}: {err}")
                else:
                    if not rec["success"]:
                        failed.append(student)
                        if not quiet:
                            bar.write(f"autograde failed for {student} on {rec['worker']}:\n{rec['log']}")
                bar.update(1)
        return failed
    finally:
        if own:
            client.close()


def _host(address: str) -> str:
    return address.split("://", 1)[-1].rsplit(":", 1)[0]


def _ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
