"""The instructor's workflow: release exercises, collect, autograde, feed back, export.

Every step calls nbgrader's own command line in the course root, so what this
module does is exactly what an instructor could type; it adds the glue that
nbgrader leaves to each course: LMS zips, a summary per student, keeping going
when one submission is broken, and never regrading what did not change.
"""
from __future__ import annotations

import csv
import stat
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import offline_math

__all__ = ["CourseResult", "assignments", "release", "grade", "submission_scores", "nbgrader"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs `alembic` by name: the environment's bin/ goes first.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("TF_USE_LEGACY_KERAS", "1")
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def nbgrader(root: Path | str, *args: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course root ``root``.

    Parameters
    ----------
    root : path
        Course root (the folder with ``nbgrader_config.py``).
    *args : str
        Arguments of the nbgrader command line, e.g. ``"autograde", "ex01_maximum_likelihood"``.
    check : bool
        Raise ``subprocess.CalledProcessError`` on a non-zero exit status.
    quiet : bool
        Capture the output instead of printing it.

    Returns
    -------
    subprocess.CompletedProcess
    """
    cmd = [sys.executable, "-m", "nbgrader", *args]
    kwargs = dict(cwd=root, env=_env(), text=True)
    if quiet:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    result = subprocess.run(cmd, **kwargs)
    if check and result.returncode != 0:
        raise subprocess.CalledProcessError(result.returncode, cmd, result.stdout)
    return result


def assignments(root: Path | str) -> list[str]:
    """Names of the assignments in ``root/solutions`` (``<name>/<name>.ipynb``), sorted."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").exists())


def _in_gradebook(root: Path, assignment: str, url: str | None = None) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(url or _db_url(root)) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False
        return True


def _db_url(root: Path) -> str:
    """The gradebook: ``$DEEPPROB_DB_URL`` (e.g. PostgreSQL) or ``<root>/gradebook.db``."""
    return os.environ.get("DEEPPROB_DB_URL") or "sqlite:///" + str(Path(root).resolve() / "gradebook.db")


def release(root: Path | str, assignment: str, quiet: bool = False) -> Path:
    """Generate the student version ``exercises/<assignment>`` from ``solutions/``.

    Also records the assignment's graded cells in the gradebook, which autograding
    needs. Returns the release folder.
    """
    root = Path(root)
    nbgrader(root, "generate_assignment", assignment, "--force", "--log-level=WARN", quiet=quiet)
    return root / "exercises" / assignment


@dataclass
class CourseResult:
    """Scores of one assignment after :func:`grade`.

    Attributes
    ----------
    scores : dict
        ``student_id -> (score, max_score, needs_manual_grade)``.
    failed : list of str
        Students whose submission could not be autograded (see the nbgrader log).
    csv_path : Path
        The exported ``grades.csv``.
    graded : list of str
        Students (re)graded by this run; the others were unchanged.
    renamed : list of str
        Students whose only notebook was renamed to the assignment's name.
    refused : dict
        ``student_id -> reason`` of submissions not graded because they hold a
        symbolic link, a device or other special file, or an oversized file
        (:func:`unsafe_entries`); they score 0 until resubmitted.
    """

    scores: dict[str, tuple[float, float, bool]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    csv_path: Path | None = None
    graded: list[str] = field(default_factory=list)
    renamed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


def submission_scores(root: Path | str, assignment: str, db_url: str | None = None) -> dict[str, tuple[float, float, bool]]:
    """Read ``student_id -> (score, max_score, needs_manual_grade)`` from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(db_url or _db_url(Path(root))) as gb:
        for sub in gb.assignment_submissions(assignment):
            out[sub.student_id] = (float(sub.score), float(sub.max_score), bool(sub.needs_manual_grade))
    return out


#: largest file a submission may hold (bytes); a notebook with its figures is well below
MAX_SUBMITTED_FILE_BYTES = 50 << 20


def unsafe_entries(folder: Path, max_bytes: int = MAX_SUBMITTED_FILE_BYTES) -> list[str]:
    """What in a submission folder the grader refuses to touch, as messages.

    Symbolic links (at any depth, including the folder itself and its student
    folder), anything that is not a regular file or folder (devices, FIFOs,
    sockets) and files larger than ``max_bytes``. Nothing is followed: the
    folder is walked with ``lstat``.
    """
    folder = Path(folder)
    problems = []
    for p in (folder.parent, folder):
        if p.is_symlink():
            problems.append(f"{p.name} is a symbolic link")
    if problems:
        return problems
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder)
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                problems.append(f"{rel} is a symbolic link")
            elif stat.S_ISDIR(st.st_mode):
                continue
            elif not stat.S_ISREG(st.st_mode):
                problems.append(f"{rel} is not a regular file")
            elif st.st_size > max_bytes:
                problems.append(f"{rel} is {st.st_size / 2**20:.0f} MiB (at most {max_bytes / 2**20:.0f} MiB)")
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
    return problems


def _submitted_students(root: Path, assignment: str) -> list[str]:
    sub = root / "submitted"
    if not sub.is_dir():
        return []
    return sorted(p.name for p in sub.iterdir() if (p / assignment).is_dir() or (p / assignment).is_symlink())


def grade(
    root: Path | str,
    assignment: str,
    jobs: int = 1,
    timeout: int | None = None,
    quiet: bool = False,
    db_url: str | None = None,
    force: bool = False,
    scheduler=None,
) -> CourseResult:
    """Collect, autograde, generate feedback and export grades for one assignment.

    1. If the gradebook does not know the assignment yet, record it
       (``generate_assignment``).
    2. LMS zips in ``downloaded/<assignment>/archive/`` are unpacked into
       ``submitted/`` (``zip_collect``); a submission whose only notebook has
       another name (``ex01_maximum_likelihood (1).ipynb``) is renamed.
    3. ``autograde``, only for what changed: each graded submission's
       fingerprint (SHA-256 of its files) is kept in
       ``autograded/.ledger/<assignment>/<student>.json``; a submission is
       graded again only if its files changed, its ledger entry or autograded
       notebook is missing (a crash halfway), or ``force``. Manual grades and
       comments stay in the gradebook (nbgrader keeps them and flags the
       notebook for review). ``jobs`` worker processes share the students
       (:mod:`deepprob.grading.worker`); SQLite writes are serialised by a file
       lock, PostgreSQL takes concurrent writers. A submission that fails is
       reported and does not stop the others.
    4. ``generate_feedback`` (hidden tests redacted, see
       :class:`deepprob.grading.feedback.RedactHiddenTests`): by the workers for
       the students graded now, here for the others (manual grades given since
       appear); ``export`` to ``grades.csv``. A progress bar (tqdm, on stderr)
       counts the graded notebooks and estimates the time left.

    Parameters
    ----------
    root : path
        Course root.
    assignment : str
        Assignment name, e.g. ``"ex01_maximum_likelihood"``.
    jobs : int
        Worker processes grading at once.
    timeout : int, optional
        Per-cell execution timeout in seconds (overrides ``nbgrader_config.py``).
    quiet : bool
        Capture nbgrader's output instead of printing it.
    db_url : str, optional
        Gradebook URL, e.g. ``postgresql://user:pw@host/db``; default the
        ``DEEPPROB_DB_URL`` environment variable, else ``sqlite:///<root>/gradebook.db``.
    force : bool
        Regrade every submission.
    scheduler : str or distributed.Client, optional
        Grade on a Dask distributed cluster instead of ``jobs`` local workers: the
        scheduler's address (``tcp://host:8786``) or a client
        (:mod:`deepprob.grading.cluster`; the course root must be at the same path
        on the workers, and the gradebook PostgreSQL when they are on other machines).

    Returns
    -------
    CourseResult

    Raises
    ------
    ValueError
        If ``assignment`` is not one of the course's assignments, or ``jobs < 1``.
    """
    from .worker import fingerprint, read_ledger

    root = Path(root).resolve()
    if assignment not in assignments(root):
        raise ValueError(f"unknown assignment {assignment!r}; choose one of {assignments(root)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    url = db_url or _db_url(root)
    dbarg = f"--CourseDirectory.db_url={url}"
    if not _in_gradebook(root, assignment, url):
        nbgrader(root, "generate_assignment", assignment, "--force", "--log-level=WARN", dbarg, quiet=True)
    archive = root / "downloaded" / assignment / "archive"
    if archive.is_dir() and any(archive.iterdir()):
        nbgrader(root, "zip_collect", assignment, "--force", dbarg, quiet=quiet)

    students = _submitted_students(root, assignment)
    refused = {}
    for student in students:
        problems = unsafe_entries(root / "submitted" / student / assignment)
        if problems:
            refused[student] = "; ".join(problems[:5])
            if not quiet:
                print(f"REFUSED {student}: {refused[student]} -- ask for a plain resubmission", file=sys.stderr)
    students_ok = [s for s in students if s not in refused]
    renamed = _fix_notebook_names(root, assignment, students_ok)
    todo = []
    for student in students_ok:
        record = read_ledger(root, assignment, student)
        graded_nb = root / "autograded" / student / assignment / f"{assignment}.ipynb"
        unchanged = record is not None and record.get("fingerprint") == fingerprint(
            root / "submitted" / student / assignment
        )
        if force or not unchanged or (record.get("success") and not graded_nb.exists()):
            todo.append(student)
    if scheduler is not None:
        from .cluster import autograde_on_cluster

        failed = autograde_on_cluster(root, assignment, todo, url, timeout, scheduler, quiet)
    else:
        failed = _autograde_parallel(root, assignment, todo, jobs, url, timeout, quiet)
    for student in students_ok:
        record = read_ledger(root, assignment, student)
        if record is not None and not record.get("success") and student not in failed:
            failed.append(student)
    failed += [s for s in refused if s not in failed]
    if failed:  # no notebook, not JSON...: nbgrader records nothing; the student gets a 0
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(url) as gb:
            for student in failed:
                try:
                    gb.find_submission(assignment, student)
                except MissingEntry:
                    gb.update_or_create_student(student)
                    gb.add_submission(assignment, student)

    # the workers wrote the feedback of the students graded now; the others' is regenerated here (an
    # instructor's manual grades and comments since the last run appear in it)
    others = [s for s in students_ok if s not in set(todo)]
    if others:
        exclude = [f"--CourseDirectory.student_id_exclude={','.join(todo)}"] if todo else []
        nbgrader(root, "generate_feedback", assignment, "--force", "--log-level=WARN", dbarg, *exclude,
                 check=False, quiet=quiet)
    offline_math(root / "feedback", assignment)
    csv_path = root / "grades.csv"
    nbgrader(root, "export", f"--to={csv_path}", "--log-level=WARN", dbarg, check=False, quiet=True)
    scores = submission_scores(root, assignment, url)
    result = CourseResult(scores=scores, failed=sorted(set(failed)), csv_path=csv_path)
    result.graded = todo
    result.renamed = renamed
    result.refused = refused
    return result


def _fix_notebook_names(root: Path, assignment: str, students: list[str]) -> list[str]:
    """Rename a submission's only notebook to ``<assignment>.ipynb`` (LMSs and students rename files)."""
    fixed = []
    for student in students:
        folder = root / "submitted" / student / assignment
        target = folder / f"{assignment}.ipynb"
        if target.exists():
            continue
        notebooks = [p for p in folder.glob("*.ipynb") if p.is_file()]
        if len(notebooks) == 1:
            notebooks[0].rename(target)
            fixed.append(student)
    return fixed


def _autograde_parallel(
    root: Path, assignment: str, students: list[str], jobs: int, url: str, timeout: int | None, quiet: bool
) -> list[str]:
    """Grade ``students`` with ``jobs`` worker processes; return those that failed."""
    if not students:
        return []
    # create the students first, one writer: workers then only add submissions
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        for student in students:
            gb.update_or_create_student(student)
    jobs = min(jobs, len(students))
    chunks = [students[i::jobs] for i in range(jobs)]
    extra = [f"--timeout={int(timeout)}"] if timeout else []
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "deepprob.grading.worker", str(root), assignment, url, *chunk, *extra],
            cwd=root, env=_env(), text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL if quiet else None,
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


def print_summary(result: CourseResult, assignment: str) -> None:
    """Print one line per student: score, maximum and what still needs a human."""
    print(f"\n{assignment}: {len(result.scores)} submission(s), {len(result.graded)} (re)graded now")
    print(f"{'student':<24}{'score':>8}{'max':>8}  status")
    for student, (score, max_score, manual) in sorted(result.scores.items()):
        status = []
        if student in result.refused:
            status.append(f"REFUSED: {result.refused[student]}")
        elif student in result.failed:
            status.append("AUTOGRADE ERROR (see log)")
        if manual:
            status.append("needs manual grading")
        print(f"{student:<24}{score:>8.1f}{max_score:>8.1f}  {', '.join(status) or 'done'}")
    for student in result.failed:
        if student not in result.scores:
            print(f"{student:<24}{'-':>8}{'-':>8}  AUTOGRADE ERROR (see log)")
    if result.csv_path is not None and result.csv_path.exists():
        with open(result.csv_path) as fh:
            rows = sum(1 for _ in csv.reader(fh)) - 1
        print(f"grades: {result.csv_path} ({rows} rows); feedback: feedback/<student>/{assignment}/")
