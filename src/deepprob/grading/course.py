"""The instructor's workflow: release exercises, collect, autograde, feed back, export.

Every step calls nbgrader's own command line in the course root
(:mod:`deepprob.grading.nbgrader_cli`), so what this module does is exactly what an
instructor could type; it adds the glue that nbgrader leaves to each course: LMS
zips, a summary per student, keeping going when one submission is broken, and
never regrading what did not change. The jobs it strings together live in their
own modules: :mod:`~deepprob.grading.gradebook` (reads and the rows it adds),
:mod:`~deepprob.grading.submissions` (the submitted folders),
:mod:`~deepprob.grading.ledger` (what changed since the last grading),
:mod:`~deepprob.grading.parallel` and :mod:`~deepprob.grading.cluster` (grading it),
:mod:`~deepprob.grading.worker` (one worker).
"""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .feedback import offline_math
from .gradebook import add_missing_submissions, default_db_url, has_assignment, submission_scores
from .ledger import failed_last_time, to_grade
from .nbgrader_cli import nbgrader
from .parallel import autograde_parallel
from .submissions import fix_notebook_names, refused_submissions, submitted_students, unsafe_entries

__all__ = [
    "CourseResult", "assignments", "release", "grade", "print_summary", "submission_scores", "nbgrader",
    "unsafe_entries",
]


def assignments(root: Path | str) -> list[str]:
    """Names of the assignments in ``root/solutions`` (``<name>/<name>.ipynb``), sorted."""
    src = Path(root) / "solutions"
    return sorted(p.name for p in src.iterdir() if (p / f"{p.name}.ipynb").exists())


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
    root = Path(root).resolve()
    if assignment not in assignments(root):
        raise ValueError(f"unknown assignment {assignment!r}; choose one of {assignments(root)}")
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    url = db_url or default_db_url(root)
    dbarg = f"--CourseDirectory.db_url={url}"
    if not has_assignment(url, assignment):
        nbgrader(root, "generate_assignment", assignment, "--force", "--log-level=WARN", dbarg, quiet=True)
    archive = root / "downloaded" / assignment / "archive"
    if archive.is_dir() and any(archive.iterdir()):
        nbgrader(root, "zip_collect", assignment, "--force", dbarg, quiet=quiet)

    students = submitted_students(root, assignment)
    refused = refused_submissions(root, assignment, students)
    if not quiet:
        for student, reason in refused.items():
            print(f"REFUSED {student}: {reason} -- ask for a plain resubmission", file=sys.stderr)
    students_ok = [s for s in students if s not in refused]
    renamed = fix_notebook_names(root, assignment, students_ok)
    todo = to_grade(root, assignment, students_ok, force)
    if scheduler is not None:
        from .cluster import autograde_on_cluster

        failed = autograde_on_cluster(root, assignment, todo, url, timeout, scheduler, quiet)
    else:
        failed = autograde_parallel(root, assignment, todo, jobs, url, timeout, quiet)
    failed += [s for s in failed_last_time(root, assignment, students_ok) if s not in failed]
    failed += [s for s in refused if s not in failed]
    if failed:  # no notebook, not JSON...: nbgrader records nothing; the student gets a 0
        add_missing_submissions(url, assignment, failed)

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
